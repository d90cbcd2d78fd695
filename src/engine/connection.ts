/**
 * One connection from a shim, served on the worker thread that accepted it: check the peer, read
 * the request, run the call in-process through the same runCni the one-shot executable runs, and
 * answer. All synchronous, so a setns into a pod's netns moves only this thread, and only for this
 * call (docs/engine.md).
 */
import { threadId } from "node:worker_threads";
import type { CallFacts } from "../cni/call-line.ts";
import { type CniIo, runCni } from "../cni/dispatch.ts";
import type { Logger } from "../log.ts";
import type { CniFuncs } from "../plugin/verbs.ts";
import * as us from "../sys/unix-socket.ts";
import {
  decodeEnv,
  decodeRequestHeader,
  type EngineRequest,
  encodeReply,
  ProtocolError,
  REQUEST_HEADER_BYTES,
} from "./protocol.ts";

/** How long a connected shim may take to send its request (it has it in memory already). */
const REQUEST_READ_TIMEOUT_MS = 5_000;
/** How long the engine tries to hand an answer to a shim that does not read it. */
const REPLY_WRITE_TIMEOUT_MS = 5_000;

/** What every connection of a worker is served with. */
export interface EngineOptions {
  /** The plugin's verbs each call runs (their dependencies are built per call from its own settings). */
  plugin: CniFuncs;
  log: Logger;
  /** Only peers with this uid are served; 0 in production. */
  allowedUid: number;
  /** Each served call's facts, once its answer is sent: the engine's line per call. */
  onCall?(facts: CallFacts): void;
}

/** Runs one CNI call in-process, capturing what the executable would print and its status. */
export function serveRequest(req: EngineRequest, plugin: CniFuncs): { status: number; stdout: string; stderr: string; facts?: CallFacts } {
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
  const status = runCni(io, plugin);
  return { status, stdout, stderr, facts };
}

/** Reads one request from a connection; undefined when the peer sent nothing at all. */
function readRequest(fd: number, deadline: number): EngineRequest | undefined {
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
    const out = serveRequest(req, opts.plugin);
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
