/**
 * The engine: a long-running process that serves CNI calls forwarded by the shim, in-process,
 * through the same runCni the one-shot executable runs. One call at a time on the one JavaScript
 * thread: the plugin enters pod netns with setns on that thread for the way back, and the kernel
 * serialises RDMA netns moves anyway (docs/engine.md has the measurements behind this choice).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CniIo, DepsFactory } from "../cni/dispatch.ts";
import { runCni } from "../cni/dispatch.ts";
import type { Logger } from "../log.ts";
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
  /** Builds the plugin's dependencies for one call, from that call's environment. */
  depsFor(env: Record<string, string>): DepsFactory;
  log: Logger;
  /** Only peers with this uid are served; 0 in production. */
  allowedUid: number;
  /** Stops after this many connections (tests); unbounded when undefined. */
  maxConnections?: number;
  /** Runs after every connection (production: check the thread is back in the engine's netns). */
  afterCall?: () => void;
}

/** Runs one CNI call in-process, capturing what the executable would print and its status. */
export function serveRequest(req: EngineRequest, depsFactory: DepsFactory): { status: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const io: CniIo = {
    env: req.env,
    readStdin: (max) => req.stdin.subarray(0, max + 1),
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  };
  const status = runCni(io, depsFactory);
  return { status, stdout, stderr };
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
    opts.log.debug("engine: served", { command: req.env.CNI_COMMAND, status: out.status, ms: Math.round((performance.now() - started) * 1000) / 1000 });
  } catch (e) {
    opts.log.warn("engine: connection failed", { error: (e as Error).message });
  } finally {
    if (open) us.closeFd(fd);
  }
}

/** The accept loop. Returns only after maxConnections (tests) or when accept fails. */
export function serve(listenFd: number, opts: EngineOptions): void {
  for (let n = 0; opts.maxConnections === undefined || n < opts.maxConnections; n++) {
    serveConnection(us.accept(listenFd), opts);
    opts.afterCall?.();
  }
}
