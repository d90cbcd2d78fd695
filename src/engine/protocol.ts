/**
 * The shim's wire format, pure functions over bytes (integers are little-endian u32):
 *   request  "RCQ1" envLen stdinLen  env: NUL-terminated KEY=VALUE strings  stdin
 *   reply    "RCR1" status stdoutLen stderrLen  stdout  stderr
 * shim/rdma-shim.c is the other side; docs/engine.md says why each limit is what it is.
 */
import { MAX_STDIN_BYTES } from "../config/settings.ts";

const REQUEST_MAGIC = "RCQ1";
const REPLY_MAGIC = "RCR1";
export const REQUEST_HEADER_BYTES = 12;
const REPLY_HEADER_BYTES = 16;
/** One byte more than the plugin's limit reaches the plugin, which turns it into the CNI error. */
export const MAX_REQUEST_STDIN = MAX_STDIN_BYTES + 1;
export const MAX_REQUEST_ENV = 256 * 1024;
const MAX_REPLY_STDOUT = 8 * 1024 * 1024;
const MAX_REPLY_STDERR = 1024 * 1024;

export interface EngineRequest {
  env: Record<string, string>;
  stdin: Uint8Array;
}

interface EngineReply {
  status: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Only what the shim forwards: the runtime's CNI_* variables and this plugin's RDMA_CNI_* settings. */
function forwardedVariable(name: string): boolean {
  return name.startsWith("CNI_") || name.startsWith("RDMA_CNI_");
}

const ascii = (b: Uint8Array, at: number) => String.fromCharCode(b[at] ?? 0, b[at + 1] ?? 0, b[at + 2] ?? 0, b[at + 3] ?? 0);

/** The lengths a request header announces, checked against the limits before anything is buffered. */
export function decodeRequestHeader(header: Uint8Array): { envLen: number; stdinLen: number } {
  if (header.length < REQUEST_HEADER_BYTES) throw new ProtocolError("short request header");
  if (ascii(header, 0) !== REQUEST_MAGIC) throw new ProtocolError("bad request magic");
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const envLen = view.getUint32(4, true);
  const stdinLen = view.getUint32(8, true);
  if (envLen > MAX_REQUEST_ENV) throw new ProtocolError(`request environment of ${envLen} bytes is over the limit of ${MAX_REQUEST_ENV}`);
  if (stdinLen > MAX_REQUEST_STDIN) throw new ProtocolError(`request stdin of ${stdinLen} bytes is over the limit of ${MAX_REQUEST_STDIN}`);
  return { envLen, stdinLen };
}

/** The environment block: NUL-terminated KEY=VALUE strings; anything not forwarded is dropped. */
export function decodeEnv(block: Uint8Array): Record<string, string> {
  const env: Record<string, string> = {};
  if (block.length === 0) return env;
  if (block[block.length - 1] !== 0) throw new ProtocolError("environment block is not NUL-terminated");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(block.subarray(0, block.length - 1));
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new ProtocolError("environment entry without a name");
    const name = entry.slice(0, eq);
    if (forwardedVariable(name)) env[name] = entry.slice(eq + 1);
  }
  return env;
}

export function encodeRequest(req: EngineRequest): Uint8Array {
  const env = new TextEncoder().encode(
    Object.entries(req.env)
      .filter(([k]) => forwardedVariable(k))
      .map(([k, v]) => `${k}=${v}\0`)
      .join(""),
  );
  const out = new Uint8Array(REQUEST_HEADER_BYTES + env.length + req.stdin.length);
  out.set(new TextEncoder().encode(REQUEST_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, env.length, true);
  view.setUint32(8, req.stdin.length, true);
  out.set(env, REQUEST_HEADER_BYTES);
  out.set(req.stdin, REQUEST_HEADER_BYTES + env.length);
  return out;
}

/** A reply; stderr beyond its limit is cut (it is the log, the result is on stdout). */
export function encodeReply(reply: EngineReply): Uint8Array {
  if (reply.stdout.length > MAX_REPLY_STDOUT) throw new ProtocolError(`reply stdout of ${reply.stdout.length} bytes is over the limit of ${MAX_REPLY_STDOUT}`);
  const stderr = reply.stderr.subarray(0, MAX_REPLY_STDERR);
  const out = new Uint8Array(REPLY_HEADER_BYTES + reply.stdout.length + stderr.length);
  out.set(new TextEncoder().encode(REPLY_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, reply.status & 0xff, true);
  view.setUint32(8, reply.stdout.length, true);
  view.setUint32(12, stderr.length, true);
  out.set(reply.stdout, REPLY_HEADER_BYTES);
  out.set(stderr, REPLY_HEADER_BYTES + reply.stdout.length);
  return out;
}

export function decodeReply(bytes: Uint8Array): EngineReply {
  if (bytes.length < REPLY_HEADER_BYTES || ascii(bytes, 0) !== REPLY_MAGIC) throw new ProtocolError("bad reply header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const status = view.getUint32(4, true);
  const outLen = view.getUint32(8, true);
  const errLen = view.getUint32(12, true);
  if (bytes.length !== REPLY_HEADER_BYTES + outLen + errLen) throw new ProtocolError("reply length does not match its header");
  const stdout = bytes.subarray(REPLY_HEADER_BYTES, REPLY_HEADER_BYTES + outLen);
  return { status, stdout, stderr: bytes.subarray(REPLY_HEADER_BYTES + outLen) };
}
