/**
 * shim/rdma-shim.c as a real process, against fake engines (unix socket servers in this test
 * process) and a fake one-shot engine (a shell script next to the shim): what it forwards, what
 * it prints, and what it does when the engine is missing, dead, slow or talks nonsense.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { decodeEnv, decodeRequestHeader, encodeReply, REQUEST_HEADER_BYTES } from "../../src/engine/protocol.ts";
import { acceptNow, closeFd, listenUnix, readExactly, writeAll } from "../../src/sys/unix-socket.ts";
import { buildShim } from "./build.ts";

let tmp: string;
let shim: string;

// The one-shot engine stand-in: says it ran, with the environment and stdin it got.
const FAKE_ONE_SHOT = `#!/bin/sh
echo "one-shot CNI_COMMAND=$CNI_COMMAND OTHER=$OTHER stdin=$(cat)"
exit 7
`;

beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-shim-`);
  shim = `${tmp}/rdma`;
  buildShim(shim);
  fs.writeFileSync(`${tmp}/rdma-engine`, FAKE_ONE_SHOT, { mode: 0o755 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Received {
  env: Record<string, string>;
  stdinLen: number;
  stdin: Buffer;
}

/** A fake engine: collects one request, then lets `respond` answer (or not) on the socket. */
async function fakeEngine(name: string, respond: (sock: net.Socket, req: Received) => void): Promise<{ path: string; got: Promise<Received>; close(): void }> {
  const path = `${tmp}/${name}.sock`;
  let resolveGot: (r: Received) => void = () => {};
  const got = new Promise<Received>((r) => {
    resolveGot = r;
  });
  // allowHalfOpen: the shim shuts its write side after the request; the answer still goes back.
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < REQUEST_HEADER_BYTES) return;
      const { envLen, stdinLen } = decodeRequestHeader(buf.subarray(0, REQUEST_HEADER_BYTES));
      if (buf.length < REQUEST_HEADER_BYTES + envLen + stdinLen) return;
      const body = buf.subarray(REQUEST_HEADER_BYTES);
      const req = { env: decodeEnvRaw(body.subarray(0, envLen)), stdinLen, stdin: body.subarray(envLen, envLen + stdinLen) };
      resolveGot(req);
      respond(sock, req);
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, got, close: () => server.close() };
}

/** Every name the shim sent, unfiltered (decodeEnv would drop what the shim must not send). */
function decodeEnvRaw(block: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Buffer.from(block).toString().split("\0").filter(Boolean)) {
    const i = e.indexOf("=");
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

async function runShim(env: Record<string, string>, stdin: string | Uint8Array<ArrayBuffer>, exe = shim) {
  const started = performance.now();
  const p = Bun.spawn([exe], { env: { PATH: "/usr/bin:/bin", ...env }, stdin: typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(stdout);
  } catch {}
  return { status, stdout, stderr, json, ms: performance.now() - started };
}

const reply = (status: number, stdout: string, stderr = "") => Buffer.from(encodeReply({ status, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) }));

describe("shim with an engine", () => {
  test("forwards CNI_* and RDMA_CNI_* and stdin, prints the answer with its status", async () => {
    const eng = await fakeEngine("ok", (s) => s.end(reply(3, '{"result":1}\n', "a log line\n")));
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "ADD", CNI_NETNS: "/x", RDMA_CNI_STATE_DIR: "/s", OTHER: "secret", HOME: "/root" }, '{"cniVersion":"1.0.0"}');
    const got = await eng.got;
    eng.close();
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('{"result":1}\n');
    expect(r.stderr).toBe("a log line\n");
    expect(got.env).toEqual({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "ADD", CNI_NETNS: "/x", RDMA_CNI_STATE_DIR: "/s" });
    expect(got.stdin.toString()).toBe('{"cniVersion":"1.0.0"}');
    expect(decodeEnv(new Uint8Array(0))).toEqual({});
  });

  test("connects only once stdin is read: the engine never waits on the runtime's pipe", async () => {
    let connections = 0;
    const path = `${tmp}/counting.sock`;
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      connections++;
      let buf = Buffer.alloc(0);
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const { envLen, stdinLen } = decodeRequestHeader(buf.subarray(0, REQUEST_HEADER_BYTES));
        if (buf.length === REQUEST_HEADER_BYTES + envLen + stdinLen) sock.end(Buffer.from(encodeReply({ status: 0, stdout: buf.subarray(REQUEST_HEADER_BYTES + envLen), stderr: new Uint8Array(0) })));
      });
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(path, r));
    const p = Bun.spawn([shim], { env: { PATH: "/usr/bin:/bin", RDMA_CNI_ENGINE_SOCKET: path, CNI_COMMAND: "ADD" }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    p.stdin.write("first half, ");
    p.stdin.flush();
    await Bun.sleep(300);
    expect(connections).toBe(0);
    p.stdin.write("second half");
    p.stdin.end();
    const [out, status] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    server.close();
    expect(status).toBe(0);
    expect(out).toBe("first half, second half");
    expect(connections).toBe(1);
  });

  test("stdin beyond 4 MiB is cut at 4 MiB + 1 byte, for the plugin to refuse", async () => {
    const eng = await fakeEngine("big", (s) => s.end(reply(0, "")));
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "ADD" }, new Uint8Array(new ArrayBuffer(5 * 1024 * 1024)).fill(32));
    const got = await eng.got;
    eng.close();
    expect(r.status).toBe(0);
    expect(got.stdinLen).toBe(4 * 1024 * 1024 + 1);
  });

  test("a reply with a bad header is an I/O error (code 5), not passed on", async () => {
    const eng = await fakeEngine("badmagic", (s) => s.end(Buffer.from("HTTP/1.1 200 OK\r\n\r\n")));
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "DEL" }, "{}");
    eng.close();
    expect(r.status).toBe(1);
    expect(r.json.code).toBe(5);
    expect(String(r.json.msg)).toContain("malformed answer");
  });

  test("a reply announcing more than the limit is refused before it is buffered", async () => {
    const header = Buffer.alloc(16);
    header.write("RCR1");
    header.writeUInt32LE(0, 4);
    header.writeUInt32LE(0xffffffff, 8);
    const eng = await fakeEngine("huge", (s) => s.end(header));
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "DEL" }, "{}");
    eng.close();
    expect(r.json.code).toBe(5);
  });

  test("a reply cut short, or longer than announced, is an I/O error", async () => {
    const full = reply(0, '{"a":1}\n');
    for (const bytes of [full.subarray(0, full.length - 2), Buffer.concat([full, Buffer.from("x")]), full.subarray(0, 10)]) {
      const eng = await fakeEngine("short", (s) => s.end(bytes));
      const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "DEL" }, "{}");
      eng.close();
      expect(r.status).toBe(1);
      expect(r.json.code).toBe(5);
    }
  });

  test("a slow engine: the shim waits a bounded time, then says try again later (code 11)", async () => {
    const eng = await fakeEngine("slow", () => {});
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, RDMA_CNI_SHIM_TIMEOUT_MS: "300", CNI_COMMAND: "ADD" }, "{}");
    eng.close();
    expect(r.status).toBe(1);
    expect(r.json.code).toBe(11);
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms).toBeLessThan(3000);
  });
});

describe("shim falls back to the one-shot engine", () => {
  test("no socket: execs the engine next to it with the whole environment and stdin (replayed)", async () => {
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: `${tmp}/none.sock`, CNI_COMMAND: "ADD", OTHER: "kept" }, "the-config");
    expect(r.stdout).toBe("one-shot CNI_COMMAND=ADD OTHER=kept stdin=the-config\n");
    expect(r.stderr).toBe(""); // no engine is a normal state (a node without the DaemonSet): nothing to log
    expect(r.status).toBe(7);
  });

  test("a stale socket nobody listens on (a crashed engine): connection refused, one-shot", async () => {
    const path = `${tmp}/stale.sock`;
    closeFd(listenUnix(path, 1));
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: path, CNI_COMMAND: "DEL" }, "cfg");
    expect(r.stdout).toBe("one-shot CNI_COMMAND=DEL OTHER= stdin=cfg\n");
  });

  test("an engine that closes without answering: one-shot, with stdin replayed", async () => {
    const eng = await fakeEngine("closes", (s) => s.end());
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: eng.path, CNI_COMMAND: "ADD" }, "replayed-config");
    eng.close();
    expect(r.stderr).toBe("rdma-shim: the engine closed the connection without an answer; running the call one-shot\n");
    expect(r.stdout).toBe("one-shot CNI_COMMAND=ADD OTHER= stdin=replayed-config\n");
    expect(r.status).toBe(7);
  });

  test("no engine and no one-shot engine: a CNI error on stdout, exit 1", async () => {
    const lone = `${tmp}/lone`;
    fs.mkdirSync(lone, { recursive: true });
    fs.copyFileSync(shim, `${lone}/rdma`);
    fs.chmodSync(`${lone}/rdma`, 0o755);
    const r = await runShim({ RDMA_CNI_ENGINE_SOCKET: `${tmp}/none.sock`, CNI_COMMAND: "ADD" }, "{}", `${lone}/rdma`);
    expect(r.status).toBe(1);
    expect(r.json.code).toBe(5);
    expect(String(r.json.msg)).toContain(`${lone}/rdma-engine`);
  });
});

/**
 * A fake engine on raw sockets (bun:ffi), for what node:net cannot do: leave a connection in the
 * backlog, or close an accepted one with the request unread, which a unix stream socket turns into
 * a reset (the client's read fails with ECONNRESET, as when an engine is killed).
 */
const rawLibc = dlopen("libc.so.6", { poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } }).symbols;
const POLLIN = 1;

/** Waits (a bounded time, never blocking the test for good) until fd is readable: a connection is queued, or data came. */
function waitReadable(fd: number, ms = 10_000): void {
  const pfd = new Int32Array([fd, POLLIN]);
  if (rawLibc.poll(pfd, 1, ms) !== 1) throw new Error(`nothing arrived on fd ${fd} within ${ms} ms`);
}

/** Starts the shim against a raw listener, lets `engine` act on the listening fd, then closes it. */
async function runShimAgainstRaw(name: string, stdin: string | Uint8Array<ArrayBuffer>, engine: (listenFd: number) => Promise<void> | void) {
  const path = `${tmp}/${name}.sock`;
  fs.rmSync(path, { force: true });
  const listenFd = listenUnix(path, 4);
  const run = runShim({ RDMA_CNI_ENGINE_SOCKET: path, CNI_COMMAND: "ADD" }, stdin);
  try {
    await engine(listenFd);
  } finally {
    closeFd(listenFd); // a connection still queued is reset now
  }
  return await run;
}

/** The connection waitReadable saw queued (the listener is non-blocking, as the engine's workers need). */
function accept(listenFd: number): number {
  const fd = acceptNow(listenFd);
  if (fd === undefined) throw new Error("no connection queued on the listener");
  return fd;
}

/** Accepts the shim's connection and reads only the request's header, leaving the rest unread. */
function acceptReadingHeaderOnly(listenFd: number): number {
  waitReadable(listenFd);
  const fd = accept(listenFd);
  expect(readExactly(fd, REQUEST_HEADER_BYTES, Date.now() + 10_000)).toHaveLength(REQUEST_HEADER_BYTES);
  waitReadable(fd); // the rest of the request is queued: closing now resets the connection
  return fd;
}

describe("shim and a reset connection (a killed engine)", () => {
  test("a listener closed with the connection still in its backlog: one-shot, with stdin replayed", async () => {
    const r = await runShimAgainstRaw("backlog", "config-from-the-backlog", async (listenFd) => {
      waitReadable(listenFd); // the shim's connection is queued
      await Bun.sleep(200); // and its request, sent right after connect, sits in that connection
    });
    expect(r.stderr).toBe("rdma-shim: the engine reset the connection without an answer; running the call one-shot\n");
    expect(r.stdout).toBe("one-shot CNI_COMMAND=ADD OTHER= stdin=config-from-the-backlog\n");
    expect(r.status).toBe(7);
  });

  test("a reset before any byte of the answer: one-shot, with stdin replayed", async () => {
    const r = await runShimAgainstRaw("reset-before-answer", "config-reset", (listenFd) => closeFd(acceptReadingHeaderOnly(listenFd)));
    expect(r.stderr).toBe("rdma-shim: the engine reset the connection without an answer; running the call one-shot\n");
    expect(r.stdout).toBe("one-shot CNI_COMMAND=ADD OTHER= stdin=config-reset\n");
    expect(r.status).toBe(7);
  });

  test("a reset while the request is still being sent: one-shot, with all of stdin replayed", async () => {
    const big = "x".repeat(3 * 1024 * 1024); // more than a unix socket buffers: the shim is still sending
    const r = await runShimAgainstRaw("reset-while-sending", big, (listenFd) => {
      waitReadable(listenFd);
      const fd = accept(listenFd);
      readExactly(fd, REQUEST_HEADER_BYTES, Date.now() + 10_000);
      closeFd(fd);
    });
    // EPIPE or ECONNRESET, whichever send meets first
    expect(r.stderr).toMatch(/^rdma-shim: the engine went away before it had the request \((Broken pipe|Connection reset by peer)\); running the call one-shot\n$/);
    expect(r.stdout).toBe(`one-shot CNI_COMMAND=ADD OTHER= stdin=${big}\n`);
    expect(r.status).toBe(7);
  });

  test("a reset right after the whole answer: the answer counts, printed with its status", async () => {
    const r = await runShimAgainstRaw("reset-after-answer", "cfg", (listenFd) => {
      const fd = acceptReadingHeaderOnly(listenFd);
      writeAll(fd, reply(4, '{"whole":true}\n', "log\n"), Date.now() + 10_000);
      closeFd(fd);
    });
    expect(r.stdout).toBe('{"whole":true}\n');
    expect(r.stderr).toBe("log\n");
    expect(r.status).toBe(4);
  });

  for (const [label, partial] of [
    ["part of the header", reply(0, '{"a":1}\n').subarray(0, 8)],
    ["the header and part of the body", reply(0, '{"cniVersion":"1.0.0"}\n').subarray(0, 20)],
  ] as const) {
    test(`a reset after ${label} of the answer: an I/O error (code 5), no one-shot run`, async () => {
      const r = await runShimAgainstRaw("reset-mid-answer", "cfg", (listenFd) => {
        const fd = acceptReadingHeaderOnly(listenFd);
        writeAll(fd, partial, Date.now() + 10_000);
        closeFd(fd);
      });
      expect(r.status).toBe(1);
      expect(r.json.code).toBe(5);
      expect(String(r.json.msg)).toBe(`rdma-shim: reading the engine's answer after ${partial.length} bytes: Connection reset by peer`);
      expect(r.stdout).not.toContain("one-shot");
    });
  }
});
