/**
 * Per-device locks: flock(2) on a file, so a lock held by a process that dies (even by SIGKILL)
 * is released by the kernel, and a waiter gives up after a bounded time with "try again later".
 */
import * as fs from "node:fs";
import { CniError, ErrorCode } from "../cni/errors.ts";
import * as sys from "../sys/libc.ts";
import { O_CLOEXEC } from "../sys/libc.ts";

export interface Lock {
  release(): void;
}

const POLL_MS = 5;
const MAX_POLL_MS = 50;

export function acquireLock(file: string, timeoutMs: number, what: string): Lock {
  let fd: number;
  try {
    const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600);
  } catch (e) {
    throw new CniError(ErrorCode.StateFailure, `state: cannot open lock file ${file}: ${(e as Error).message}`);
  }
  const deadline = Date.now() + timeoutMs;
  let wait = POLL_MS;
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
  } catch (e) {
    fs.closeSync(fd);
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.StateFailure, `state: cannot lock ${file}: ${(e as Error).message}`);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      fs.closeSync(fd); // closing the only fd drops the flock
    },
  };
}
