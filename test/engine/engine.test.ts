/**
 * `rdma engine` as a real process (run from source) with the real shim in front of it: the
 * socket's permissions, one engine per socket, calls served in-process with the caller's
 * environment, and a call whose caller gave up before its turn is dropped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { serveRequest } from "../../src/engine/connection.ts";
import { decodeReply, encodeRequest } from "../../src/engine/protocol.ts";
import { attachmentKey, FileStore } from "../../src/state/store.ts";
import { productionFuncs } from "../../src/wiring.ts";
import { buildShim } from "../shim/build.ts";

const BUN = process.execPath;
const MAIN = `${import.meta.dir}/../../src/main.ts`;
let tmp: string;
let shim: string;
let socket: string;
let engine: ReturnType<typeof Bun.spawn>;
let engineLog = "";

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out; engine log:\n${engineLog}`);
    await Bun.sleep(20);
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-engine-`);
  shim = `${tmp}/rdma`;
  buildShim(shim, { ENGINE_NAME: '"/nonexistent/rdma-engine"' });
  socket = `${tmp}/run/engine.sock`;
  engine = Bun.spawn([BUN, MAIN, "engine", "--socket", socket, "--log-level", "debug"], { stdout: "ignore", stderr: "pipe" });
  (async () => {
    for await (const chunk of engine.stderr as ReadableStream<Uint8Array>) engineLog += Buffer.from(chunk).toString();
  })();
  await waitFor(() => fs.existsSync(socket), 10_000);
});
afterAll(() => {
  engine.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function call(env: Record<string, string>, stdin: string) {
  const p = Bun.spawn([shim], { env: { RDMA_CNI_ENGINE_SOCKET: socket, ...env }, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, status };
}

describe("rdma engine", () => {
  test("the socket is root's alone: directory 0700, socket 0600", () => {
    expect(fs.statSync(`${tmp}/run`).mode & 0o777).toBe(0o700);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(socket).isSocket()).toBe(true);
  });

  test("answers VERSION through the shim", async () => {
    const r = await call({ CNI_COMMAND: "VERSION" }, "{}");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });

  test("serves with the caller's environment: RDMA_CNI_STATE_DIR of the call, not the engine's", async () => {
    const stateDir = `${tmp}/state-a`;
    const env = { CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: stateDir };
    const r = await call(env, JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "rdma" }));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(fs.existsSync(stateDir)).toBe(true);
  });

  test("errors come back as the plugin prints them, with exit 1 and the log on stderr", async () => {
    const r = await call({ CNI_COMMAND: "ADD" }, JSON.stringify({ cniVersion: "0.4.0", name: "n", type: "rdma" }));
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: "0.4.0", code: 4 });
    expect(r.stderr).toContain('"level":"error"');
  });

  test("stdin over 4 MiB is the plugin's decoding error (code 6)", async () => {
    const r = await call({ CNI_COMMAND: "ADD" }, " ".repeat(4 * 1024 * 1024 + 10));
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 6 });
  });

  test("32 calls at once are all answered", async () => {
    const rs = await Promise.all(Array.from({ length: 32 }, () => call({ CNI_COMMAND: "VERSION" }, "{}")));
    expect(rs.map((r) => r.status)).toEqual(Array(32).fill(0));
  });

  test("a second engine on the same socket refuses to start and leaves the first serving", async () => {
    const second = Bun.spawnSync([BUN, MAIN, "engine", "--socket", socket, "--lock-wait-ms", "300"], { stderr: "pipe" });
    expect(second.exitCode).toBe(1);
    expect(second.stderr.toString()).toContain("another engine serves this socket");
    expect((await call({ CNI_COMMAND: "VERSION" }, "{}")).status).toBe(0);
  });

  test("a call whose caller left before its turn is not run", async () => {
    // An engine with one worker thread: hold it with a call that waits on a device lock, queue a DEL
    // behind it whose shim gives up, and check the DEL never ran (its state dir was never created).
    const sock = `${tmp}/run-one/engine.sock`;
    const one = Bun.spawn([BUN, MAIN, "engine", "--socket", sock, "--max-workers", "1", "--log-level", "debug"], { stdout: "ignore", stderr: "pipe" });
    let oneLog = "";
    (async () => {
      for await (const chunk of one.stderr as ReadableStream<Uint8Array>) oneLog += Buffer.from(chunk).toString();
    })();
    try {
      await waitFor(() => fs.existsSync(sock), 10_000);
      const via = { RDMA_CNI_ENGINE_SOCKET: sock };
      const locked = `${tmp}/state-b`;
      const lockedStore = new FileStore(locked).init();
      const holder = Bun.spawn(["flock", lockedStore.deviceLockPath("0000:03:00.5"), "sleep", "2"]);
      await Bun.sleep(100);
      const slowEnv = { ...via, CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: locked, RDMA_CNI_LOCK_TIMEOUT_MS: "1500" };
      fs.writeFileSync(
        lockedStore.recordPath(attachmentKey("n", "c1", "net1")),
        JSON.stringify({ version: 1, network: "n", containerId: "c1", ifName: "net1", deviceId: "0000:03:00.5", rdmaDevice: "mlx5_0", rdmaIndex: 1, netns: "/nonexistent", phase: "attached", createdAt: "x", updatedAt: "x" }),
      );
      const busy = call(slowEnv, JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "rdma" }));
      await Bun.sleep(200);
      const dropped = `${tmp}/state-c`;
      const gaveUp = await call({ ...via, CNI_COMMAND: "DEL", CNI_CONTAINERID: "c2", CNI_NETNS: "", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: dropped, RDMA_CNI_SHIM_TIMEOUT_MS: "300" }, JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "rdma" }));
      expect(JSON.parse(gaveUp.stdout)).toMatchObject({ code: 11 });
      const first = await busy;
      expect(JSON.parse(first.stdout)).toMatchObject({ code: 11 }); // its lock wait ran out while flock held it
      await holder.exited;
      expect((await call({ ...via, CNI_COMMAND: "VERSION" }, "{}")).status).toBe(0);
      expect(fs.existsSync(dropped)).toBe(false);
      await waitFor(() => oneLog.includes("the caller left before its turn"), 2000);
    } finally {
      one.kill();
      await one.exited;
    }
  });
});

describe("rdma engine under signals", () => {
  test("a signal while the engine waits for the rest of a request does not drop the call (poll's EINTR)", async () => {
    // The sampling profiler interrupts the engine's thread with a signal every 100 µs: any wait
    // the engine does is cut short many times, as any signal with a handler would.
    const sock = `${tmp}/run-signals/engine.sock`;
    const e = Bun.spawn([BUN, MAIN, "engine", "--socket", sock], {
      env: { ...process.env, BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${tmp}/prof --cpu-prof-interval=100` },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      await waitFor(() => fs.existsSync(sock), 10_000);
      const req = encodeRequest({ env: { CNI_COMMAND: "VERSION" }, stdin: new TextEncoder().encode("{}") });
      const chunks: Uint8Array[] = [];
      let closed!: () => void;
      const done = new Promise<void>((resolve) => {
        closed = resolve;
      });
      const client = await Bun.connect({
        unix: sock,
        socket: { data: (_s, d) => void chunks.push(new Uint8Array(d)), close: () => closed(), error: () => closed() },
      });
      client.write(req.subarray(0, 5)); // the engine now waits in poll for the rest
      await Bun.sleep(300);
      client.write(req.subarray(5));
      await Promise.race([done, Bun.sleep(10_000)]);
      const reply = decodeReply(Buffer.concat(chunks));
      expect(reply.status).toBe(0);
      expect(JSON.parse(new TextDecoder().decode(reply.stdout)).cniVersion).toBe("1.1.0");
    } finally {
      e.kill();
      await e.exited;
    }
  });
});

describe("serveRequest", () => {
  test("runs one call in-process and captures stdout, stderr and the status", () => {
    const r = serveRequest({ env: { CNI_COMMAND: "VERSION" }, stdin: new Uint8Array(0) }, productionFuncs());
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).cniVersion).toBe("1.1.0");
  });
});
