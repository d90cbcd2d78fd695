/**
 * Socket activation: the LISTEN_PID/LISTEN_FDS protocol read from the environment, the checks of
 * the passed fd (a listening unix stream socket bound to a path), and an engine started on a
 * passed socket behind the real shim: it serves, tightens the socket node, stops when idle and
 * leaves the socket where it is for the next one.
 */

import { dlopen, FFIType } from "bun:ffi";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { adoptPassedListener, forgetListenEnv, passedListener } from "../../src/engine/activation.ts";
import { exitWhenIdle, type PoolActivity } from "../../src/engine/idle-exit.ts";
import * as us from "../../src/sys/unix-socket.ts";
import { buildShim } from "../shim/build.ts";

const BUN = process.execPath;
const MAIN = `${import.meta.dir}/../../src/main.ts`;
const { i32, u32, ptr } = FFIType;
const libc = dlopen("libc.so.6", {
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, ptr, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
}).symbols;
const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

let tmp: string;
let shim: string;
const opened: number[] = [];
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-activation-`);
  shim = `${tmp}/rdma`;
  // No one-shot fallback: a call the engine does not answer fails visibly.
  buildShim(shim, { ENGINE_NAME: '"/nonexistent/rdma-engine"' });
});
afterAll(() => {
  for (const fd of opened) libc.close(fd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function unixAddr(path: string): Uint8Array {
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(new TextEncoder().encode(path), 2);
  return addr;
}
/** A blocking socket as a service manager makes one: bound to `path` (if any), listening if asked. */
function socketFd(domain: number, type: number, path: string | undefined, listening: boolean): number {
  const fd = libc.socket(domain, type, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  opened.push(fd);
  if (path !== undefined) expect(libc.bind(fd, unixAddr(path), 110)).toBe(0);
  if (listening) expect(libc.listen(fd, 16)).toBe(0);
  return fd;
}

describe("the LISTEN_PID/LISTEN_FDS environment", () => {
  test("no variables: nothing passed", () => {
    expect(passedListener({}, 42)).toEqual({ passed: false });
  });
  test("one socket for this process: fd 3", () => {
    expect(passedListener({ LISTEN_PID: "42", LISTEN_FDS: "1" }, 42)).toEqual({ passed: true, fd: 3 });
  });
  test("sockets meant for another process pass nothing (inherited through a fork)", () => {
    expect(passedListener({ LISTEN_PID: "41", LISTEN_FDS: "1" }, 42)).toEqual({ passed: false });
  });
  test("LISTEN_FDS=0 passes nothing", () => {
    expect(passedListener({ LISTEN_PID: "42", LISTEN_FDS: "0" }, 42)).toEqual({ passed: false });
  });
  test("more than one socket is refused, naming the count", () => {
    expect(passedListener({ LISTEN_PID: "42", LISTEN_FDS: "2" }, 42)).toEqual({ error: "LISTEN_FDS is 2: the engine serves exactly one socket" });
  });
  test("malformed values are refused, naming the variable", () => {
    expect(passedListener({ LISTEN_FDS: "1" }, 42)).toEqual({ error: 'LISTEN_PID "" is not a process id' });
    expect(passedListener({ LISTEN_PID: "x42", LISTEN_FDS: "1" }, 42)).toEqual({ error: 'LISTEN_PID "x42" is not a process id' });
    expect(passedListener({ LISTEN_PID: "42", LISTEN_FDS: "one" }, 42)).toEqual({ error: 'LISTEN_FDS "one" is not a number' });
  });
  test("the variables are forgotten once read, the rest of the environment kept", () => {
    const env: Record<string, string | undefined> = { LISTEN_PID: "1", LISTEN_FDS: "1", LISTEN_FDNAMES: "x", PATH: "/bin" };
    forgetListenEnv(env);
    expect(env).toEqual({ PATH: "/bin" });
  });
});

describe("the passed fd", () => {
  test("a listening unix stream socket is adopted, non-blocking, and its path returned", () => {
    const path = `${tmp}/ok.sock`;
    const fd = socketFd(AF_UNIX, SOCK_STREAM, path, true);
    expect(adoptPassedListener(fd, undefined)).toBe(path);
    expect(adoptPassedListener(fd, path)).toBe(path);
    // Blocking, this accept would wait forever for a connection nobody makes.
    expect(us.acceptNow(fd)).toBeUndefined();
  });
  test("a socket bound elsewhere than --socket is refused", () => {
    const path = `${tmp}/elsewhere.sock`;
    const fd = socketFd(AF_UNIX, SOCK_STREAM, path, true);
    expect(() => adoptPassedListener(fd, `${tmp}/other.sock`)).toThrow(`fd ${fd} (LISTEN_FDS) is bound to ${path}, not to --socket ${tmp}/other.sock`);
  });
  test("a pipe is not a socket", () => {
    const [r, w] = us.pipe();
    try {
      expect(() => adoptPassedListener(r, undefined)).toThrow(`fd ${r} (LISTEN_FDS) is not a socket`);
    } finally {
      us.closeFd(r);
      us.closeFd(w);
    }
  });
  test("a closed fd is not a socket", () => {
    expect(() => adoptPassedListener(1000, undefined)).toThrow("fd 1000 (LISTEN_FDS) is not a socket");
  });
  test("an internet socket is not a unix socket", () => {
    const fd = socketFd(AF_INET, SOCK_STREAM, undefined, true);
    expect(() => adoptPassedListener(fd, undefined)).toThrow(`fd ${fd} (LISTEN_FDS) is not a unix socket (address family 2)`);
  });
  test("a unix datagram socket is not a stream socket", () => {
    const fd = socketFd(AF_UNIX, SOCK_DGRAM, `${tmp}/dgram.sock`, false);
    expect(() => adoptPassedListener(fd, undefined)).toThrow(`fd ${fd} (LISTEN_FDS) is not a stream socket (type 2)`);
  });
  test("a stream socket that does not listen is refused", () => {
    const fd = socketFd(AF_UNIX, SOCK_STREAM, `${tmp}/bound.sock`, false);
    expect(() => adoptPassedListener(fd, undefined)).toThrow(`fd ${fd} (LISTEN_FDS) is not listening`);
  });
  test("a listener in the abstract namespace is refused (the shim connects to a path)", () => {
    const fd = socketFd(AF_UNIX, SOCK_STREAM, undefined, false);
    const name = new TextEncoder().encode(`rdma-activation-test-${process.pid}`);
    const addr = unixAddr("");
    addr.set(name, 3); // sun_path[0] = 0: an abstract name
    expect(libc.bind(fd, addr, 3 + name.length)).toBe(0);
    expect(libc.listen(fd, 16)).toBe(0);
    expect(() => adoptPassedListener(fd, undefined)).toThrow(`fd ${fd} (LISTEN_FDS) is not bound to a path`);
  });
});

describe("the idle exit", () => {
  async function idleAfter(idleMs: number, activity: () => PoolActivity, waitMs: number): Promise<number | undefined> {
    const started = Date.now();
    let at: number | undefined;
    const stop = exitWhenIdle(idleMs, activity, () => {
      at = Date.now() - started;
    });
    await Bun.sleep(waitMs);
    stop();
    return at;
  }
  test("a quiet pool exits after the idle time, not before", async () => {
    const at = await idleAfter(200, () => ({ taken: 3, quiet: true }), 600);
    expect(at).toBeDefined();
    expect(at ?? 0).toBeGreaterThanOrEqual(200);
    expect(at ?? 0).toBeLessThan(400);
  });
  test("a pool with a call in progress never exits", async () => {
    expect(await idleAfter(100, () => ({ taken: 1, quiet: false }), 400)).toBeUndefined();
  });
  test("every new call starts the idle time again", async () => {
    let taken = 0;
    let lastCallAt = 0;
    const started = Date.now();
    const calls = setInterval(() => {
      taken++;
      lastCallAt = Date.now() - started;
    }, 50);
    const at = idleAfter(150, () => ({ taken, quiet: true }), 700);
    await Bun.sleep(300);
    clearInterval(calls);
    // Calls came every 50 ms for 300 ms: the exit comes no sooner than 150 ms after the last one.
    expect(lastCallAt).toBeGreaterThanOrEqual(200);
    expect((await at) ?? 0).toBeGreaterThanOrEqual(lastCallAt + 145);
  });
});

describe("an engine started on a passed socket", () => {
  /** Runs `rdma engine ARGS` from source with `fd` as its fd 3 and LISTEN_PID set to its own pid (sh execs it). */
  function activated(fd: number, env: Record<string, string>, ...args: string[]) {
    const proc = Bun.spawn(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", BUN, MAIN, "engine", "--log-level", "debug", ...args], {
      stdio: ["ignore", "pipe", "pipe", fd],
      env: { ...process.env, LISTEN_FDS: "1", ...env },
    });
    const stderr = new Response(proc.stderr).text();
    return { proc, stderr };
  }
  async function version(socket: string) {
    const p = Bun.spawn([shim], { env: { RDMA_CNI_ENGINE_SOCKET: socket, CNI_COMMAND: "VERSION" }, stdin: new TextEncoder().encode('{"cniVersion":"1.0.0"}'), stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { stdout, stderr, status };
  }

  test("serves calls, stops when idle with status 0, and leaves the socket open for the next engine", async () => {
    const dir = `${tmp}/run`;
    fs.mkdirSync(dir, { mode: 0o755 });
    const socket = `${dir}/engine.sock`;
    const old = process.umask(0o022);
    const fd = socketFd(AF_UNIX, SOCK_STREAM, socket, true);
    process.umask(old);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o755); // as systemd-socket-activate leaves it, or wider
    // A call before the engine runs waits in the backlog, as with a service manager.
    const early = version(socket);
    const first = activated(fd, {}, "--idle-exit-ms", "700");
    const r1 = await early;
    expect(r1.status).toBe(0);
    expect(JSON.parse(r1.stdout).supportedVersions).toContain("1.1.0");
    expect((await version(socket)).status).toBe(0);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(await first.proc.exited).toBe(0);
    const log1 = await first.stderr;
    expect(log1).toContain('"msg":"engine listening"');
    expect(log1).toContain('"activated":true');
    expect(log1.match(/"msg":"engine: served"/g)?.length).toBe(2);
    expect(log1).toContain('"msg":"engine draining","component":"engine","reason":"idle"');
    // The socket is still there and still listens (its fd is ours, as it would be the service
    // manager's): a call now waits in the backlog until the next engine takes it.
    expect(fs.statSync(socket).isSocket()).toBe(true);
    const waiting = version(socket);
    const second = activated(fd, {}, "--idle-exit-ms", "500");
    const r2 = await waiting;
    expect(r2.status).toBe(0);
    expect(await second.proc.exited).toBe(0);
    expect((await second.stderr).match(/"msg":"engine: served"/g)?.length).toBe(1);
  }, 30_000);

  test("SIGTERM drains and exits 0, the socket left in place", async () => {
    const socket = `${tmp}/term.sock`;
    const fd = socketFd(AF_UNIX, SOCK_STREAM, socket, true);
    const e = activated(fd, {}, "--socket", socket);
    expect((await version(socket)).status).toBe(0);
    e.proc.kill("SIGTERM");
    expect(await e.proc.exited).toBe(0);
    expect(await e.stderr).toContain('"reason":"SIGTERM"');
    expect(fs.statSync(socket).isSocket()).toBe(true);
  }, 30_000);

  test("a passed fd that is no socket: exit 1, saying so", async () => {
    const [r, w] = us.pipe();
    const e = activated(r, {});
    expect(await e.proc.exited).toBe(1);
    expect(await e.stderr).toContain("fd 3 (LISTEN_FDS) is not a socket");
    us.closeFd(r);
    us.closeFd(w);
  }, 30_000);

  test("a passed socket bound elsewhere than --socket: exit 1, naming both", async () => {
    const socket = `${tmp}/mismatch.sock`;
    const fd = socketFd(AF_UNIX, SOCK_STREAM, socket, true);
    const e = activated(fd, {}, "--socket", `${tmp}/wanted.sock`);
    expect(await e.proc.exited).toBe(1);
    expect(await e.stderr).toContain(`fd 3 (LISTEN_FDS) is bound to ${socket}, not to --socket ${tmp}/wanted.sock`);
    expect(fs.existsSync(`${tmp}/wanted.sock`)).toBe(false);
  }, 30_000);

  test("LISTEN_FDS=2: exit 2, nothing bound", async () => {
    const socket = `${tmp}/two.sock`;
    const fd = socketFd(AF_UNIX, SOCK_STREAM, socket, true);
    const e = activated(fd, { LISTEN_FDS: "2" }, "--socket", `${tmp}/two-own.sock`);
    expect(await e.proc.exited).toBe(2);
    expect(await e.stderr).toContain("LISTEN_FDS is 2: the engine serves exactly one socket");
    expect(fs.existsSync(`${tmp}/two-own.sock`)).toBe(false);
  }, 30_000);

  test("--idle-exit-ms without a passed socket: exit 2, nothing bound", async () => {
    const socket = `${tmp}/own.sock`;
    const p = Bun.spawn([BUN, MAIN, "engine", "--socket", socket, "--idle-exit-ms", "100"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, LISTEN_FDS: undefined, LISTEN_PID: undefined } });
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stderr).text()).toContain("--idle-exit-ms needs a socket passed by a service manager");
    expect(fs.existsSync(socket)).toBe(false);
  }, 30_000);
});
