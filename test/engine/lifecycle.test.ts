/**
 * The engine's threads and life cycle, as real processes (run from source) behind the real shim:
 * calls served at the same time, the drain on SIGTERM (calls in flight and queued are answered,
 * the socket goes, a new engine can start at once), `rdma engine --check`, and the netns guard
 * each worker thread runs after a call.
 *
 * A slow call here is a DEL whose device lock the test holds: the engine's thread sleeps in the
 * lock wait until RDMA_CNI_LOCK_TIMEOUT_MS and answers "try again later" (code 11), as it would
 * sleep in the kernel during a slow move.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { versionReplyProblem } from "../../src/engine/check.ts";
import { checkNetns } from "../../src/engine/netns-guard.ts";
import { countBusy, countIdle, idleCount, POOL_COUNTERS_BYTES, poolCounters, tryRetire } from "../../src/engine/pool-counters.ts";
import { encodeReply } from "../../src/engine/protocol.ts";
import { attachmentKey, FileStore } from "../../src/state/store.ts";
import * as sys from "../../src/sys/libc.ts";
import { buildShim } from "../shim/build.ts";

const BUN = process.execPath;
const MAIN = `${import.meta.dir}/../../src/main.ts`;
const NETCONF = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "rdma" });
let tmp: string;
let shim: string;
const held: number[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-engine-life-`);
  shim = `${tmp}/rdma`;
  // No one-shot fallback: a call that is not answered by the engine fails visibly.
  buildShim(shim, { ENGINE_NAME: '"/nonexistent/rdma-engine"' });
});
afterAll(() => {
  for (const fd of held) fs.closeSync(fd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Engine {
  proc: ReturnType<typeof Bun.spawn>;
  socket: string;
  log(): string;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function startEngine(socket: string, ...args: string[]): Promise<Engine> {
  const proc = Bun.spawn([BUN, MAIN, "engine", "--socket", socket, "--log-level", "debug", ...args], { stdout: "pipe", stderr: "pipe" });
  let log = "";
  (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) log += Buffer.from(chunk).toString();
  })();
  await waitFor(() => fs.existsSync(socket), 10_000, `the engine's socket ${socket}`);
  return { proc, socket, log: () => log };
}

async function call(socket: string, env: Record<string, string>, stdin: string) {
  const p = Bun.spawn([shim], { env: { RDMA_CNI_ENGINE_SOCKET: socket, ...env }, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, status };
}

/** A state dir with an attachment on `deviceId` whose lock this test holds: a DEL of it waits. */
function heldAttachment(name: string, deviceId: string): string {
  const dir = `${tmp}/${name}`;
  const store = new FileStore(dir).init();
  fs.writeFileSync(
    store.recordPath(attachmentKey("n", "c1", "net1")),
    JSON.stringify({ version: 1, network: "n", containerId: "c1", ifName: "net1", deviceId, rdmaDevice: "mlx5_0", rdmaIndex: 1, netns: "/nonexistent", phase: "attached", createdAt: "x", updatedAt: "x" }),
  );
  const fd = fs.openSync(store.deviceLockPath(deviceId), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  expect(sys.flock(fd, sys.LOCK_EX | sys.LOCK_NB)).toBe(true);
  held.push(fd);
  return dir;
}

function slowDel(socket: string, stateDir: string, lockMs: number) {
  const env = { CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: stateDir, RDMA_CNI_LOCK_TIMEOUT_MS: String(lockMs) };
  return call(socket, env, NETCONF);
}

function check(socket: string, ...extra: string[]) {
  const r = Bun.spawnSync([BUN, MAIN, "engine", "--check", "--socket", socket, ...extra], { stdout: "pipe", stderr: "pipe" });
  return { status: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("rdma engine serves calls at the same time", () => {
  test("8 calls that each wait 1 s finish together in about 1 s, not 8 s", async () => {
    const e = await startEngine(`${tmp}/run-par/engine.sock`);
    try {
      const dirs = Array.from({ length: 8 }, (_, i) => heldAttachment(`par-${i}`, `0000:04:00.${i}`));
      await Bun.sleep(300); // the first spare workers are up
      const started = performance.now();
      const rs = await Promise.all(dirs.map((d) => slowDel(e.socket, d, 1000)));
      const ms = performance.now() - started;
      for (const r of rs) expect(JSON.parse(r.stdout)).toMatchObject({ code: 11 }); // each waited its full second
      expect(ms).toBeGreaterThan(1000);
      expect(ms).toBeLessThan(3500); // one at a time: more than 8000
    } finally {
      e.proc.kill();
      await e.proc.exited;
    }
  });

  test("--max-workers bounds the threads: with 1, two slow calls take one after the other", async () => {
    const e = await startEngine(`${tmp}/run-one/engine.sock`, "--max-workers", "1");
    try {
      const dirs = [heldAttachment("one-a", "0000:05:00.1"), heldAttachment("one-b", "0000:05:00.2")];
      await Bun.sleep(300);
      const started = performance.now();
      const rs = await Promise.all(dirs.map((d) => slowDel(e.socket, d, 700)));
      for (const r of rs) expect(JSON.parse(r.stdout)).toMatchObject({ code: 11 });
      expect(performance.now() - started).toBeGreaterThan(1400);
    } finally {
      e.proc.kill();
      await e.proc.exited;
    }
  });
});

describe("a quiet node: calls one after another", () => {
  test("are all served by the first thread, which rehearsed ADD and DEL first and left no scratch directory", async () => {
    const e = await startEngine(`${tmp}/run-seq/engine.sock`);
    try {
      await waitFor(() => e.log().includes("rehearsed ADD and DEL"), 30_000, "the first thread's rehearsal");
      await Bun.sleep(1000); // the spare threads are up and waiting too
      for (let i = 0; i < 8; i++) {
        expect((await call(e.socket, { CNI_COMMAND: "VERSION" }, "{}")).status).toBe(0);
        await Bun.sleep(50);
      }
      const threads = e
        .log()
        .split("\n")
        .filter((l) => l.includes('"engine: served"'))
        .map((l) => JSON.parse(l).thread as number);
      expect(threads).toHaveLength(8);
      expect(new Set(threads).size).toBe(1);
      const rehearsed = JSON.parse(e.log().split("\n").find((l) => l.includes("rehearsed ADD and DEL")) ?? "{}");
      expect(rehearsed.cycles).toBeGreaterThan(0);
      expect(fs.readdirSync(`${tmp}/run-seq`).filter((n) => n.startsWith("rehearsal-"))).toEqual([]);
    } finally {
      e.proc.kill();
      await e.proc.exited;
    }
  });
});

describe("idle threads retire one at a time", () => {
  test("a thread counts itself idle and busy in the memory every thread shares", () => {
    const shared = new SharedArrayBuffer(POOL_COUNTERS_BYTES);
    const worker = poolCounters(shared);
    const pool = poolCounters(shared); // another thread's view of the same memory
    countIdle(worker);
    countIdle(worker);
    expect(idleCount(pool)).toBe(2);
    expect(countBusy(worker)).toBe(1); // how many stay idle, for the pool to start another
    expect(idleCount(pool)).toBe(1);
    expect(Number(pool.lastRetiredMs[0])).toBe(0); // the idle count does not spill into the next field
  });

  test("tryRetire: never below the kept idle ones, and one worker per gap in the whole pool", () => {
    const c = poolCounters(new SharedArrayBuffer(POOL_COUNTERS_BYTES));
    c.idle[0] = 6;
    expect(tryRetire(c, 4, 100_000, 1000)).toBe(true);
    expect(c.idle[0]).toBe(5);
    expect(tryRetire(c, 4, 100_500, 1000)).toBe(false); // the pool's last retirement was 500 ms ago
    expect(c.idle[0]).toBe(5);
    expect(tryRetire(c, 4, 101_000, 1000)).toBe(true);
    expect(c.idle[0]).toBe(4);
    expect(tryRetire(c, 4, 105_000, 1000)).toBe(false); // only the kept ones are idle
    expect(c.idle[0]).toBe(4);
    expect(Number(c.lastRetiredMs[0])).toBe(101_000); // a turn nobody used is given back
  });

  test("after a burst the engine ends its extra threads one per --worker-idle-ms, down to 4", async () => {
    const e = await startEngine(`${tmp}/run-retire/engine.sock`, "--worker-idle-ms", "700");
    try {
      const dirs = Array.from({ length: 8 }, (_, i) => heldAttachment(`retire-${i}`, `0000:06:00.${i}`));
      await Bun.sleep(300);
      const rs = await Promise.all(dirs.map((d) => slowDel(e.socket, d, 1000)));
      for (const r of rs) expect(JSON.parse(r.stdout)).toMatchObject({ code: 11 });
      const retired = () => e.log().split("\n").filter((l) => l.includes('"exit":"retired"'));
      // 8 calls at once grew the pool past 8 threads; all but 4 retire, 700 ms apart at least
      await waitFor(() => retired().length >= 4, 20_000, "4 threads to retire");
      for (let n = -1; n !== retired().length; ) {
        n = retired().length;
        await Bun.sleep(2100); // three turns without a retirement: the pool is down to what it keeps
      }
      const times = retired().map((l) => Date.parse(JSON.parse(l).time));
      const ended = (e.log().match(/"msg":"engine: a worker thread ended"/g) ?? []).length;
      expect(ended).toBe(times.length); // nothing ended but by retiring
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(650);
    } finally {
      e.proc.kill();
      await e.proc.exited;
    }
    // on SIGTERM the engine reports how many threads it still had: the 4 kept ready
    await waitFor(() => e.log().includes("engine draining"), 5000, "the drain");
    expect(JSON.parse(e.log().split("\n").find((l) => l.includes("engine draining")) ?? "{}").workers).toBe(4);
  }, 60_000);
});

describe("rdma engine on SIGTERM", () => {
  test("answers the call in flight and the one queued, refuses new ones, lets a new engine start, exits 0", async () => {
    const socket = `${tmp}/run-drain/engine.sock`;
    const e = await startEngine(socket, "--max-workers", "1");
    await Bun.sleep(300);
    const inFlight = slowDel(socket, heldAttachment("drain", "0000:06:00.1"), 1500);
    await Bun.sleep(300);
    const queued = call(socket, { CNI_COMMAND: "VERSION" }, "{}"); // waits in the backlog: the one thread is busy
    await Bun.sleep(300);
    const signalled = performance.now();
    e.proc.kill("SIGTERM");
    await waitFor(() => !fs.existsSync(socket), 2000, "the socket file to go");
    const draining = check(socket, "--timeout-ms", "1000");
    expect(draining.status).toBe(1);
    expect(draining.stdout).toBe("");
    expect(draining.stderr).toContain("cannot reach the engine");
    // A new engine starts at once on the same path and serves while the old one drains.
    const next = await startEngine(socket, "--lock-wait-ms", "5000");
    try {
      expect(check(socket).status).toBe(0);
      const a = await inFlight;
      expect(JSON.parse(a.stdout)).toMatchObject({ code: 11 }); // answered, not reset
      const b = await queued;
      expect(b.status).toBe(0);
      expect(JSON.parse(b.stdout).cniVersion).toBe("1.1.0");
      expect(await e.proc.exited).toBe(0);
      expect(performance.now() - signalled).toBeLessThan(10_000);
      expect(e.log()).toContain('"msg":"engine stopped"');
    } finally {
      next.proc.kill("SIGINT");
      expect(await next.proc.exited).toBe(0);
    }
    expect(fs.existsSync(socket)).toBe(false);
    const refused = await Bun.connect({ unix: socket, socket: { data() {} } }).then(
      () => "connected",
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(refused).toBe("ENOENT");
  });
});

describe("rdma engine --check", () => {
  test("exits 0 with nothing on stdout when the engine answers VERSION", async () => {
    const e = await startEngine(`${tmp}/run-check/engine.sock`);
    try {
      const r = check(e.socket);
      expect(r).toEqual({ status: 0, stdout: "", stderr: "" });
    } finally {
      e.proc.kill();
      await e.proc.exited;
    }
  });

  test("fails with one line on stderr when no engine listens", () => {
    const r = check(`${tmp}/nowhere/engine.sock`);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^rdma engine --check: cannot reach the engine at .*: ENOENT\n$/);
  });

  test("fails when something else answers on the socket", async () => {
    const path = `${tmp}/impostor.sock`;
    // It answers once it has the request (closing with the request unread would reset the connection).
    const server = Bun.listen({ unix: path, socket: { data: (s) => void s.end("HTTP/1.1 400 Bad Request\r\n\r\n") } });
    try {
      const r = Bun.spawn([BUN, MAIN, "engine", "--check", "--socket", path, "--timeout-ms", "3000"], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, status] = await Promise.all([new Response(r.stdout).text(), new Response(r.stderr).text(), r.exited]);
      expect(status).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toContain("malformed answer");
      expect(stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      server.stop(true);
    }
  });

  test("gives up and exits at its timeout when the engine holds the request without answering (every thread busy)", async () => {
    const path = `${tmp}/silent.sock`;
    // takes the request and never answers, as an engine whose threads are all busy
    const server = Bun.listen({ unix: path, socket: { data: () => {} } });
    try {
      const started = Date.now();
      const r = Bun.spawn([BUN, MAIN, "engine", "--check", "--socket", path, "--timeout-ms", "500"], { stdout: "pipe", stderr: "pipe" });
      const ended = await Promise.race([r.exited, Bun.sleep(20_000).then(() => "still running")]);
      if (ended === "still running") r.kill("SIGKILL");
      expect(ended).toBe(1);
      expect(await new Response(r.stderr).text()).toContain("no answer within 500 ms");
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      server.stop(true);
    }
  }, 30_000);

  test("accepts only the plugin's own VERSION answer", () => {
    const reply = (status: number, stdout: string) => encodeReply({ status, stdout: new TextEncoder().encode(stdout), stderr: new Uint8Array(0) });
    const good = JSON.stringify({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
    expect(versionReplyProblem(reply(0, good))).toBeUndefined();
    expect(versionReplyProblem(reply(1, good))).toContain("status 1");
    expect(versionReplyProblem(reply(0, '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'))).toContain("unexpected VERSION answer");
    expect(versionReplyProblem(reply(0, "not json"))).toContain("not JSON");
    expect(versionReplyProblem(new Uint8Array(0))).toContain("without an answer");
  });
});

describe("the worker threads' netns guard", () => {
  test("at home: nothing to do", () => {
    expect(checkNetns(7, { currentInode: () => 7, enterHome: () => expect.unreachable() })).toBe("home");
  });

  test("left in another netns: brought back", () => {
    let at = 9;
    const enterHome = () => {
      at = 7;
    };
    expect(checkNetns(7, { currentInode: () => at, enterHome })).toBe("restored");
  });

  test("stuck when setns fails, or when the thread is still elsewhere after it", () => {
    expect(checkNetns(7, { currentInode: () => 9, enterHome: () => { throw new Error("EPERM"); } })).toBe("stuck");
    expect(checkNetns(7, { currentInode: () => 9, enterHome: () => {} })).toBe("stuck");
  });

  test("a worker thread that entered another netns is brought home, and the main thread never left", async () => {
    const pod = Bun.spawn(["unshare", "--net", "sleep", "30"]);
    const worker = new Worker(`${import.meta.dir}/../helpers/netns-guard-worker.ts`);
    try {
      const mine = fs.statSync("/proc/thread-self/ns/net").ino;
      await waitFor(() => fs.readlinkSync(`/proc/${pod.pid}/ns/net`) !== fs.readlinkSync("/proc/self/ns/net"), 5000, "unshare");
      const report = new Promise<{ home: number; entered: number; verdict: string; after: number }>((resolve) => {
        worker.addEventListener("message", (ev: MessageEvent) => resolve(ev.data));
      });
      worker.postMessage(`/proc/${pod.pid}/ns/net`);
      const r = await report;
      expect(r.home).toBe(mine);
      expect(r.entered).not.toBe(mine);
      expect(fs.statSync("/proc/thread-self/ns/net").ino).toBe(mine); // setns moved the worker's thread only
      expect(r.verdict).toBe("restored");
      expect(r.after).toBe(mine);
    } finally {
      worker.terminate();
      pod.kill();
    }
  });
});
