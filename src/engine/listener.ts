/**
 * The listening socket the engine binds itself, when no service manager passed it one
 * (activation.ts): a root-only directory, and in it the socket, mode 0600.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as us from "../sys/unix-socket.ts";

/** Calls beyond the busy workers wait here for the next free one (docs/engine.md, "Size"). */
const LISTEN_BACKLOG = 512;

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
