/** The layer rules of `make lint` (.dependency-cruiser.cjs) hold for src/, and do fail on an upward import. */
import { afterEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const ROOT = `${import.meta.dir}/../..`;
const CONFIG = `${ROOT}/.dependency-cruiser.cjs`;

function depcruise(cwd: string): { status: number; out: string } {
  const p = Bun.spawnSync([process.execPath, `${ROOT}/node_modules/.bin/depcruise`, "--config", CONFIG, "src"], { cwd, stdout: "pipe", stderr: "pipe" });
  return { status: p.exitCode ?? -1, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-layers-`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(`${dir}/${name.slice(0, name.lastIndexOf("/"))}`, { recursive: true });
    fs.writeFileSync(`${dir}/${name}`, text);
  }
  return dir;
}

test("src/ imports only down its layers", () => {
  const r = depcruise(ROOT);
  expect(r.out).toContain("no dependency violations found");
  expect(r.status).toBe(0);
});

test("an upward import fails: the state layer importing the plugin layer", () => {
  tmp = tree({
    "src/plugin/deps.ts": "export const x = 1;\n",
    "src/state/store.ts": 'import { x } from "../plugin/deps.ts";\nexport const y = x;\n',
  });
  const r = depcruise(tmp);
  expect(r.out).toContain("domain-not-to-plugin: src/state/store.ts → src/plugin/deps.ts");
  expect(r.status).not.toBe(0);
});

test("a leaf importing the layers above it fails, and a module outside every layer too", () => {
  tmp = tree({
    "src/errors.ts": 'import { run } from "./cni/dispatch.ts";\nexport const e = run;\n',
    "src/cni/dispatch.ts": "export const run = 1;\n",
    "src/misc/thing.ts": 'import { e } from "../errors.ts";\nexport const t = e;\n',
  });
  const r = depcruise(tmp);
  expect(r.out).toContain("leaves-not-to-cni: src/errors.ts → src/cni/dispatch.ts");
  expect(r.out).toContain("in-a-layer: src/misc/thing.ts");
  expect(r.status).not.toBe(0);
});
