/**
 * The engine's serving side: a long-running process serves CNI calls forwarded by the shim,
 * in-process, through the same runCni the one-shot executable runs. Each worker thread
 * (worker.ts) runs serveUntilStopped: it takes one connection at a time from the shared listening
 * socket and serves it synchronously, so a setns into a pod's netns moves only that thread, and
 * only for that call (docs/engine.md).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { threadId } from "node:worker_threads";
import type { CniIo } from "../cni/dispatch.ts";
import { runCni } from "../cni/dispatch.ts";
import type { CallFacts } from "../cni/call-line.ts";
import type { Logger } from "../log.ts";
import type { CniFuncs } from "../plugin/verbs.ts";
import {
  decodeEnv,
  decodeRequestHeader,
  encodeReply,
  type EngineRequest,
  ProtocolError,
  REQUEST_HEADER_BYTES,
} from "./protocol.ts";
import * as us from "../sys/unix-socket.ts";

/** How long a connected shim may take to send its request (it has it in memory already). */
export const REQUEST_READ_TIMEOUT_MS = 5_000;
/** How long the engine tries to hand an answer to a shim that does not read it. */
export const REPLY_WRITE_TIMEOUT_MS = 5_000;
const LISTEN_BACKLOG = 512;

export interface EngineOptions {
  socketPath: string;
  /** The plugin's verbs for one call, from that call's environment. */
  depsFor(env: Record<string, string>): CniFuncs;
  log: Logger;
  /** Only peers with this uid are served; 0 in production. */
  allowedUid: number;
  /** Each served call's facts, once its answer is sent: the engine's line per call. */
  onCall?(facts: CallFacts): void;
}

/** Runs one CNI call in-process, capturing what the executable would print and its status. */
export function serveRequest(req: EngineRequest, funcs: CniFuncs): { status: number; stdout: string; stderr: string; facts?: CallFacts } {
  let stdout = "";
  let stderr = "";
  let facts: CallFacts | undefined;
  const io: CniIo = {
    report: (f) => {
      facts = f;
    },
    env: req.env,
    readStdin: (max) => req.stdin.subarray(0, max + 1),
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  };
  const status = runCni(io, funcs);
  return { status, stdout, stderr, facts };
}

/**
 * Prepares the socket's directory: created 0700 if missing; an existing one must be a real
 * directory of this uid, and is tightened to 0700. Nobody but root reaches the socket.
 */
export function prepareSocketDir(socketPath: string): void {
  const dir = path.dirname(socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== process.getuid?.()) throw new Error(`${dir} belongs to uid ${st.uid}, not to this process`);
  if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

/** Binds the socket as 0600, replacing a stale one (the caller holds the engine lock). */
export function bindEngineSocket(socketPath: string): number {
  try {
    const st = fs.lstatSync(socketPath);
    if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
    fs.unlinkSync(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const old = process.umask(0o177);
  try {
    return us.listenUnix(socketPath, LISTEN_BACKLOG);
  } finally {
    process.umask(old);
  }
}

/** Reads one request from a connection; undefined when the peer sent nothing at all. */
export function readRequest(fd: number, deadline: number): EngineRequest | undefined {
  const header = us.readExactly(fd, REQUEST_HEADER_BYTES, deadline);
  if (header.length === 0) return undefined;
  if (header.length < REQUEST_HEADER_BYTES) throw new ProtocolError("request ends inside its header");
  const { envLen, stdinLen } = decodeRequestHeader(header);
  const body = us.readExactly(fd, envLen + stdinLen, deadline);
  if (body.length < envLen + stdinLen) throw new ProtocolError("request ends before its announced length");
  return { env: decodeEnv(body.subarray(0, envLen)), stdin: body.subarray(envLen) };
}

/** Serves one accepted connection: check the peer, read, run, answer. Never throws. */
export function serveConnection(fd: number, opts: EngineOptions): void {
  const started = performance.now();
  let open = true;
  try {
    const peer = us.peerCredentials(fd);
    if (peer.uid !== opts.allowedUid) {
      opts.log.warn("engine: refused a connection from a peer that is not root", { pid: peer.pid, uid: peer.uid });
      return;
    }
    const req = readRequest(fd, Date.now() + REQUEST_READ_TIMEOUT_MS);
    if (!req) return;
    if (us.peerGone(fd)) {
      // The shim gave up (its bounded wait ran out) while this call queued: nobody would see the result.
      opts.log.warn("engine: the caller left before its turn; call dropped", { pid: peer.pid, command: req.env.CNI_COMMAND });
      return;
    }
    const out = serveRequest(req, opts.depsFor(req.env));
    const enc = new TextEncoder();
    us.writeAll(fd, encodeReply({ status: out.status, stdout: enc.encode(out.stdout), stderr: enc.encode(out.stderr) }), Date.now() + REPLY_WRITE_TIMEOUT_MS);
    // The shim reads to EOF: close before anything else, so it is not kept waiting on the log.
    us.closeFd(fd);
    open = false;
    if (out.facts) opts.onCall?.(out.facts);
    opts.log.debug("engine: served", { command: req.env.CNI_COMMAND, status: out.status, thread: threadId, ms: Math.round((performance.now() - started) * 1000) / 1000 });
  } catch (e) {
    opts.log.warn("engine: connection failed", { error: (e as Error).message });
  } finally {
    if (open) us.closeFd(fd);
  }
}

/** Where a worker thread stands with its network namespace after a call. */
export type GuardVerdict = "home" | "restored" | "stuck";

export interface NetnsGuardOps {
  /** Inode of the thread's current netns (/proc/thread-self/ns/net). */
  currentInode(): number;
  /** Enters the home netns (setns); throws on failure. */
  enterHome(): void;
}

/**
 * After each call: a thread that is still in a pod's netns (a restore inside the plugin failed)
 * is put back; if even that fails it is "stuck" and must never serve again, since its next call
 * would move devices from and to the wrong place.
 */
export function checkNetns(homeInode: number, ops: NetnsGuardOps): GuardVerdict {
  if (ops.currentInode() === homeInode) return "home";
  try {
    ops.enterHome();
  } catch {
    return "stuck";
  }
  return ops.currentInode() === homeInode ? "restored" : "stuck";
}

export interface WorkerLoopOptions {
  listenFd: number;
  /** Readable (or hung up) once the engine drains: serve what is queued, then leave. */
  wakeFd: number;
  /** A worker idle this long may retire: one worker per `idleMs`, never below `keepIdle` idle. */
  idleMs: number;
  keepIdle: number;
  /** Shared with the pool and every worker (poolCounters). */
  counters: PoolCounters;
  /**
   * Runs once the worker has its place among the listener's waiters and before it counts as idle
   * (the first worker rehearses here, rehearsal.ts). `callWaiting` says whether a connection waits
   * to be accepted: preparing stops for it.
   */
  prepare?(callWaiting: () => boolean): void;
  /** Called once this worker counts as idle (the pool counts it as started). */
  onReady(): void;
  /** Called when this worker takes a connection, with how many stay idle (the pool may start another). */
  onBusy(idleLeft: number): void;
  /** After every call; false when the thread could not be brought home. */
  guard(): boolean;
}

/**
 * What the pool's threads share, over one SharedArrayBuffer of POOL_COUNTERS_BYTES: how many
 * workers wait for a connection, and when (Date.now()) a worker last retired.
 */
export interface PoolCounters {
  idle: Int32Array;
  lastRetiredMs: BigInt64Array;
}
export const POOL_COUNTERS_BYTES = 16;

export function poolCounters(shared: SharedArrayBuffer): PoolCounters {
  return { idle: new Int32Array(shared, 0, 1), lastRetiredMs: new BigInt64Array(shared, 8, 1) };
}

export type WorkerExit = "drained" | "retired" | "stuck";

/** Leaves the idle count by one if more than `keep` would remain; false if this worker must stay. */
function tryLeaveIdle(idle: Int32Array, keep: number): boolean {
  for (;;) {
    const n = Atomics.load(idle, 0);
    if (n <= keep) return false;
    if (Atomics.compareExchange(idle, 0, n, n - 1) === n) return true;
  }
}

/**
 * Whether an idle worker may retire at `nowMs`: only while more than `keep` workers are idle,
 * and only one worker per `gapMs` in the whole pool. A pool that a burst grew to 16 threads
 * shrinks back one thread at a time rather than all at once, so the next wave of pods (a rollout,
 * a job's next batch) finds most threads still started: starting one costs far more CPU than
 * keeping it (docs/engine.md).
 */
export function tryRetire(c: PoolCounters, keep: number, nowMs: number, gapMs: number): boolean {
  const last = Atomics.load(c.lastRetiredMs, 0);
  const now = BigInt(Math.floor(nowMs));
  if (now - last < BigInt(gapMs)) return false;
  if (Atomics.compareExchange(c.lastRetiredMs, 0, last, now) !== last) return false; // another worker took this turn
  if (tryLeaveIdle(c.idle, keep)) return true;
  Atomics.compareExchange(c.lastRetiredMs, 0, now, last); // nobody may leave: give the turn back
  return false;
}

/** One worker's life: accept, serve, check the netns, until the engine drains or the worker retires. */
export function serveUntilStopped(opts: EngineOptions, loop: WorkerLoopOptions): WorkerExit {
  // Registered first: the kernel offers a connection to the listener's waiters in this order.
  const waiter = us.connectionWaiter(loop.listenFd, loop.wakeFd);
  const idle = loop.counters.idle;
  let counted = false;
  const serveOne = (fd: number): boolean => {
    serveConnection(fd, opts);
    return loop.guard();
  };
  try {
    loop.prepare?.(() => us.connectionWaiting(loop.listenFd));
    Atomics.add(idle, 0, 1);
    counted = true;
    loop.onReady();
    let idleSince = Date.now();
    for (;;) {
      const left = idleSince + loop.idleMs - Date.now();
      const event = left > 0 ? waiter.wait(left) : "timeout";
      if (event === "wake") {
        Atomics.sub(idle, 0, 1);
        counted = false;
        // The listener is shut down: connect() is refused now, but what the backlog holds was sent
        // by shims waiting for an answer; every worker takes from it until it is empty.
        for (let fd = us.acceptNow(loop.listenFd); fd !== undefined; fd = us.acceptNow(loop.listenFd)) {
          if (!serveOne(fd)) return "stuck";
        }
        return "drained";
      }
      if (event === "timeout") {
        if (Date.now() - idleSince < loop.idleMs) continue; // a signal cut the wait short
        if (tryRetire(loop.counters, loop.keepIdle, Date.now(), loop.idleMs)) {
          counted = false;
          return "retired";
        }
        idleSince = Date.now();
        continue;
      }
      const fd = us.acceptNow(loop.listenFd);
      if (fd === undefined) continue; // another worker was faster (a connection a busy thread's waiter still saw)
      const idleLeft = Atomics.sub(idle, 0, 1) - 1;
      counted = false;
      loop.onBusy(idleLeft);
      if (!serveOne(fd)) return "stuck";
      Atomics.add(idle, 0, 1);
      counted = true;
      idleSince = Date.now();
    }
  } finally {
    waiter.close();
    if (counted) Atomics.sub(idle, 0, 1);
  }
}
