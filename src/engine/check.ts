/**
 * `rdma engine --check`: a health probe that asks the engine what the shim would, a CNI VERSION
 * call over the engine's socket in the shim's wire format, and is satisfied only by the right
 * answer. So it fails when nothing listens, when the engine drains after SIGTERM (its listener
 * refuses connections), and when the engine accepts but cannot run the plugin. It prints nothing
 * on stdout: a reason on stderr, and the exit status, are the verdict.
 */
import { LATEST_VERSION, SUPPORTED_VERSIONS } from "../config/version.ts";
import { decodeReply, encodeRequest } from "./protocol.ts";

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

/** What a correct VERSION answer is; the reason it is not otherwise. */
export function versionReplyProblem(bytes: Uint8Array): string | undefined {
  let reply: ReturnType<typeof decodeReply>;
  try {
    reply = decodeReply(bytes);
  } catch (e) {
    return bytes.length === 0 ? "the engine closed the connection without an answer" : `malformed answer: ${(e as Error).message}`;
  }
  const stdout = new TextDecoder().decode(reply.stdout);
  if (reply.status !== 0) return `VERSION failed with status ${reply.status}: ${stdout.trim().slice(0, 200)}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return `VERSION answer is not JSON: ${stdout.slice(0, 200)}`;
  }
  const r = parsed as { cniVersion?: unknown; supportedVersions?: unknown };
  if (r.cniVersion !== LATEST_VERSION || JSON.stringify(r.supportedVersions) !== JSON.stringify(SUPPORTED_VERSIONS)) {
    return `unexpected VERSION answer: ${stdout.slice(0, 200)}`;
  }
  return undefined;
}

/**
 * Sends one request and reads the whole answer (the engine closes after answering). At the timeout
 * the connection is closed too: an open one would keep the process alive past its verdict (while
 * every engine thread is busy, the request waits unanswered in the listen backlog).
 */
function exchange(socketPath: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let settled = false;
    let socket: { terminate(): void } | undefined;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.terminate();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    Bun.connect({
      unix: socketPath,
      socket: {
        open: (s) => {
          socket = s;
          s.write(request);
        },
        data: (_s, d) => void chunks.push(new Uint8Array(d)),
        close: () => finish(),
        end: (s) => void s.end(),
        error: (_s, e) => finish(e),
        connectError: (_s, e) => finish(e),
      },
    }).catch((e: Error) => finish(e));
  });
}

/** Exit status of `rdma engine --check`: 0 only for a correct VERSION answer. */
export async function checkEngine(socketPath: string, timeoutMs: number, stderr: (s: string) => void): Promise<number> {
  const request = encodeRequest({ env: { CNI_COMMAND: "VERSION" }, stdin: new TextEncoder().encode(JSON.stringify({ cniVersion: LATEST_VERSION })) });
  let problem: string | undefined;
  try {
    problem = versionReplyProblem(await exchange(socketPath, request, timeoutMs));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    problem = `cannot reach the engine at ${socketPath}: ${err.code ?? err.message}`;
  }
  if (problem === undefined) return 0;
  stderr(`rdma engine --check: ${problem.replace(/\s+/g, " ")}\n`);
  return 1;
}
