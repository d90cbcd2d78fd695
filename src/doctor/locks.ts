/**
 * The lock files of the state dir (state/store.ts lists and names them), probed without changing
 * anything: doctor never creates, writes or deletes a lock file.
 */
import * as fs from "node:fs";
import * as sys from "../sys/libc.ts";
import { O_CLOEXEC } from "../sys/libc.ts";

/** "free": nobody holds the flock; "held": a process holds it now. */
export type LockProbe = "free" | "held";

/**
 * Tries flock(LOCK_EX | LOCK_NB) on a fresh read-only fd and releases it at once. The plugin locks
 * with LOCK_EX, so this conflicts exactly with a plugin call that holds the lock; a plugin call
 * that arrives during the probe's microseconds sees the lock busy and retries (it polls).
 * O_NONBLOCK: a FIFO planted at the name must not hang doctor.
 */
export function tryLockFile(file: string): LockProbe {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error("not a regular file");
    if (!sys.flock(fd, sys.LOCK_EX | sys.LOCK_NB)) return "held";
    sys.flock(fd, sys.LOCK_UN);
    return "free";
  } finally {
    fs.closeSync(fd); // closing drops the flock in any case
  }
}
