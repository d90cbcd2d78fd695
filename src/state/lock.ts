/**
 * Lock files: flock(2) on a file, so a lock held by a process that dies (even by SIGKILL) is
 * released by the kernel, and a waiter gives up after a bounded time with "try again later".
 *
 * A holder may delete its lock file before it lets go (`release({ removeFile: true })`), so files
 * do not pile up for devices and attachments that come and go. That is safe because every
 * acquirer checks, once it holds the flock, that the file it locked is still the one at the path
 * (same device and inode, not unlinked): a waiter that opened the file before its holder deleted
 * it gets a flock on an orphaned inode, sees that, and starts again on the path. So at any time
 * at most one process holds the flock of the file that is at the path, which is the lock.
 */
import { CniError, ErrorCode } from "../errors.ts";
import * as fs from "../sys/fs.ts";
import * as sys from "../sys/libc.ts";

export interface Lock {
  /**
   * Drops the lock. With removeFile, first deletes the lock file (while still holding it: see
   * above); nothing is lost, the next caller creates it again.
   */
  release(opts?: { removeFile?: boolean }): void;
}

const POLL_MS = 5;
const MAX_POLL_MS = 50;

/** True when `fd` is the file now at `file`: not unlinked, not replaced. */
export function isCurrentFile(fd: number, file: string): boolean {
  const held = fs.fstatSync(fd);
  if (held.nlink === 0) return false;
  let now: fs.Stat;
  try {
    now = fs.lstatSync(file);
  } catch (e) {
    if ((e as fs.FsError).code === "ENOENT") return false;
    throw e;
  }
  return now.dev === held.dev && now.ino === held.ino;
}

export function acquireLock(file: string, timeoutMs: number, what: string): Lock {
  const deadline = Date.now() + timeoutMs;
  let wait = POLL_MS;
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.O_RDWR | fs.O_CREAT | fs.O_NOFOLLOW | fs.O_CLOEXEC, 0o600);
    } catch (e) {
      throw new CniError(ErrorCode.StateFailure, `state: cannot open lock file ${file}: ${(e as Error).message}`);
    }
    try {
      while (!sys.flock(fd, sys.LOCK_EX | sys.LOCK_NB)) {
        if (Date.now() >= deadline) {
          throw new CniError(
            ErrorCode.TryAgainLater,
            `${what} is busy: another CNI call holds its lock ${file} (waited ${timeoutMs} ms)`,
          );
        }
        Bun.sleepSync(Math.min(wait, Math.max(1, deadline - Date.now())));
        wait = Math.min(wait * 2, MAX_POLL_MS);
      }
      if (isCurrentFile(fd, file)) return heldLock(fd, file);
    } catch (e) {
      fs.closeSync(fd);
      if (e instanceof CniError) throw e;
      throw new CniError(ErrorCode.StateFailure, `state: cannot lock ${file}: ${(e as Error).message}`);
    }
    // The previous holder deleted the file after this process had opened it: the flock just
    // taken guards nothing. Start again on whatever is at the path now (a new file, or none),
    // within the same wait, so a file that never holds still cannot make this spin forever.
    fs.closeSync(fd);
    if (Date.now() >= deadline) {
      throw new CniError(ErrorCode.TryAgainLater, `${what} is busy: its lock file ${file} kept being replaced (waited ${timeoutMs} ms)`);
    }
  }
}

function heldLock(fd: number, file: string): Lock {
  let held = true;
  return {
    release(opts) {
      if (!held) return;
      held = false;
      if (opts?.removeFile) {
        // Only the holder of the current file deletes it, so the path still names this file.
        try {
          fs.unlinkSync(file);
        } catch {
          // Best effort: a file left behind costs nothing and doctor reports it.
        }
      }
      fs.closeSync(fd); // closing the only fd drops the flock
    },
  };
}
