/**
 * The engine's line per call: `rdma engine --log-level info` (run from source) behind the real
 * shim writes one JSON line per served call on its stdout, none for VERSION, and nothing else there.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { buildShim } from "../shim/build.ts";

const MAIN = `${import.meta.dir}/../../src/main.ts`;
let tmp: string;
let shim: string;
let socket: string;
let engine: ReturnType<typeof Bun.spawn>;
let out = "";

beforeAll(async () => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-callline-`);
  shim = `${tmp}/rdma`;
  buildShim(shim, { ENGINE_NAME: '"/nonexistent/rdma-engine"' });
  socket = `${tmp}/run/engine.sock`;
  engine = Bun.spawn([process.execPath, MAIN, "engine", "--socket", socket, "--log-level", "info", "--max-workers", "1"], { stdout: "pipe", stderr: "ignore" });
  (async () => {
    for await (const chunk of engine.stdout as ReadableStream<Uint8Array>) out += Buffer.from(chunk).toString();
  })();
  const end = Date.now() + 10_000;
  while (!fs.existsSync(socket) && Date.now() < end) await Bun.sleep(20);
});
afterAll(() => {
  engine.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function call(env: Record<string, string>, stdin: string): Promise<number> {
  const p = Bun.spawn([shim], { env: { RDMA_CNI_ENGINE_SOCKET: socket, RDMA_CNI_STATE_DIR: `${tmp}/state`, ...env }, stdin: new TextEncoder().encode(stdin), stdout: "ignore", stderr: "ignore" });
  return p.exited;
}

test("one line per call on stdout, with verb, container, interface, code and duration; none for VERSION", async () => {
  const env = { CNI_CONTAINERID: "ctr-9", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "net7", CNI_PATH: "/opt/cni/bin" };
  expect(await call({ CNI_COMMAND: "VERSION" }, "")).toBe(0);
  expect(await call({ ...env, CNI_COMMAND: "DEL" }, JSON.stringify({ cniVersion: "1.0.0", name: "net-a", type: "rdma", deviceID: "0000:03:00.5" }))).toBe(0);
  expect(await call({ ...env, CNI_COMMAND: "ADD" }, "{not json")).toBe(1);
  const end = Date.now() + 5_000;
  while (out.split("\n").filter(Boolean).length < 2 && Date.now() < end) await Bun.sleep(20);
  const lines = out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({ level: "info", msg: "call", component: "engine", verb: "DEL", container: "ctr-9", interface: "net7", network: "net-a", deviceID: "0000:03:00.5", code: 0 });
  expect(lines[1]).toMatchObject({ level: "info", msg: "call", verb: "ADD", code: 6 });
  expect(String(lines[1].error)).toContain("not valid JSON");
  for (const l of lines) expect(typeof l.ms).toBe("number");
});
