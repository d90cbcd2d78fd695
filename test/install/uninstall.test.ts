/**
 * `rdma install --uninstall` as a process (build/rdma, build/rdma-shim beside it): our shim and
 * engine leave the CNI bin dir, an `rdma` that is not ours stays, and the state dir's attachments
 * are handed over (their handover in detail: test/plugin/go-plugin.test.ts); with --systemd-units
 * the units `rdma install --systemd-units` wrote go too (in detail: systemd-units.test.ts).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const ROOT = `${import.meta.dir}/../..`;
setDefaultTimeout(60_000);
const BIN = `${ROOT}/build/rdma`;
let tmp: string;
let n = 0;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  if (!fs.existsSync(`${ROOT}/build/rdma-shim`)) {
    const made = Bun.spawnSync(["make", "-s", "build/rdma-shim"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`make build/rdma-shim failed: ${made.stderr.toString()}`);
  }
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-uninstall-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], state: string) {
  const r = Bun.spawnSync([BIN, "install", ...args], {
    env: { PATH: "/usr/bin:/bin", RDMA_CNI_STATE_DIR: state, RDMA_CNI_GO_STATE_DIR: `${state}-go` },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { status: r.exitCode, stderr: r.stderr.toString() };
}

/** A CNI bin dir with our shim as rdma and the engine as rdma-engine, as the DaemonSet's installer leaves it. */
function installed(...extra: string[]): { dir: string; state: string } {
  const dir = `${tmp}/bin-${++n}`;
  fs.mkdirSync(dir);
  const state = `${tmp}/state-${n}`;
  const r = run(["--no-sleep", "--cni-bin-dir", dir, ...extra], state);
  expect(r.status).toBe(0);
  expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
  return { dir, state };
}

test("removes our shim and engine; with no state dir there is nothing to hand over", () => {
  const { dir, state } = installed();
  const r = run(["--uninstall", "--cni-bin-dir", dir], state);
  expect(r.status).toBe(0);
  expect(fs.readdirSync(dir)).toEqual([]);
  expect(r.stderr).toContain(`removed ${dir}/rdma`);
  expect(r.stderr).toContain(`removed ${dir}/rdma-engine`);
  expect(fs.existsSync(`${state}-go`)).toBe(false);
});

test("leaves an rdma that is not ours (the Go plugin's, copied over our shim)", () => {
  const { dir, state } = installed();
  fs.rmSync(`${dir}/rdma`);
  fs.writeFileSync(`${dir}/rdma`, "#!/bin/sh\necho the Go rdma-cni\n", { mode: 0o755 });
  const r = run(["--uninstall", "--cni-bin-dir", dir], state);
  expect(r.status).toBe(0);
  expect(fs.readdirSync(dir)).toEqual(["rdma"]);
  expect(fs.readFileSync(`${dir}/rdma`, "utf8")).toContain("Go rdma-cni");
  expect(r.stderr).toContain("it is not this plugin's");
});

test("--systemd-units: the units install wrote stay without it and go with it", () => {
  const units = `${tmp}/units-kept-then-removed`;
  fs.mkdirSync(units);
  const { dir, state } = installed("--systemd-units", units);
  expect(fs.readdirSync(units).sort()).toEqual(["rdma-engine.service", "rdma-engine.socket"]);

  const without = run(["--uninstall", "--cni-bin-dir", dir], state);
  expect(without.status).toBe(0);
  expect(fs.readdirSync(units).sort()).toEqual(["rdma-engine.service", "rdma-engine.socket"]);
  expect(without.stderr).not.toContain(units);

  const r = run(["--uninstall", "--cni-bin-dir", dir, "--systemd-units", units], state);
  expect(r.status).toBe(0);
  expect(fs.readdirSync(units)).toEqual([]);
  expect(r.stderr).toContain(`removed ${units}/rdma-engine.socket`);
  expect(r.stderr).toContain(`removed ${units}/rdma-engine.service`);
  expect(r.stderr).toContain("systemctl stop rdma-engine.socket rdma-engine.service; systemctl disable rdma-engine.socket; systemctl daemon-reload");
});

test("--systemd-units: a unit of our name that someone else wrote stays, with a warning, and the uninstall succeeds", () => {
  const units = `${tmp}/units-foreign`;
  fs.mkdirSync(units);
  const { dir, state } = installed("--systemd-units", units);
  fs.writeFileSync(`${units}/rdma-engine.service`, "[Service]\nExecStart=/usr/local/bin/my-engine\n");
  const r = run(["--uninstall", "--cni-bin-dir", dir, "--systemd-units", units], state);
  expect(r.status).toBe(0);
  expect(fs.readdirSync(dir)).toEqual([]);
  expect(fs.readdirSync(units)).toEqual(["rdma-engine.service"]);
  expect(fs.readFileSync(`${units}/rdma-engine.service`, "utf8")).toContain("my-engine");
  const warning = r.stderr.split("\n").find((l) => l.includes('"level":"warn"'));
  expect(warning).toContain(`left ${units}/rdma-engine.service`);
  expect(r.stderr).toContain(`removed ${units}/rdma-engine.socket`);
});

test("an --uninstall that finds nothing installed succeeds", () => {
  const dir = `${tmp}/empty`;
  fs.mkdirSync(dir);
  expect(run(["--uninstall", "--cni-bin-dir", dir], `${tmp}/nostate`).status).toBe(0);
});

test("a record it cannot hand over (here the host kernel has no RDMA to ask) fails the uninstall, says why, and removes nothing", () => {
  const { dir, state } = installed();
  fs.mkdirSync(`${state}/attachments`, { recursive: true });
  fs.mkdirSync(`${state}/locks`, { recursive: true });
  const rec = { version: 1, network: "n", containerId: "c", ifName: "net1", deviceId: "0000:03:00.5", rdmaDevice: "mlx5_3", rdmaIndex: 7, netns: "/proc/self/ns/net", phase: "attached", createdAt: "t", updatedAt: "t" };
  fs.writeFileSync(`${state}/attachments/n.c.net1.json`, JSON.stringify(rec));
  const r = run(["--uninstall", "--cni-bin-dir", dir], state);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("attachment not handed over");
  expect(fs.existsSync(`${state}/attachments/n.c.net1.json`)).toBe(true);
  expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
});

test("--wait-replaced keeps our plugin until the Go plugin's rdma replaces it, then removes the engine", async () => {
  const { dir, state } = installed();
  const p = Bun.spawn([BIN, "install", "--uninstall", "--wait-replaced", "--cni-bin-dir", dir], {
    env: { PATH: "/usr/bin:/bin", RDMA_CNI_STATE_DIR: state, RDMA_CNI_GO_STATE_DIR: `${state}-go` },
    stdout: "pipe",
    stderr: "pipe",
  });
  await Bun.sleep(1500);
  expect(p.exitCode).toBeNull(); // still waiting
  expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
  // What the Go DaemonSet's entrypoint does: cp -f of its own rdma over ours.
  fs.writeFileSync(`${dir}/rdma`, "#!/bin/sh\necho the Go rdma-cni\n");
  expect(await p.exited).toBe(0);
  expect(fs.readdirSync(dir)).toEqual(["rdma"]);
  expect(await new Response(p.stderr).text()).toContain(`removed ${dir}/rdma-engine`);
});

test("--wait-replaced without --uninstall is a usage error", () => {
  const r = run(["--wait-replaced"], `${tmp}/nostate`);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("--wait-replaced goes with --uninstall");
});
