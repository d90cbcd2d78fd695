/**
 * Replaces a file so that a reader sees the old content or the new, never part of it: write a
 * temp file beside it (O_EXCL, O_NOFOLLOW), fsync, rename over the target.
 */
import * as fs from "../sys/fs.ts";
import { O_CLOEXEC, O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } from "../sys/fs.ts";

/** Temp files start with this, so listings can tell them from real files. */
const TEMP_PREFIX = ".tmp-";

let written = 0;

export function writeFileAtomic(file: string, text: string, mode: number): void {
  // Unique per process and call; O_EXCL refuses anything already there. (No node:crypto: its
  // import slows every call's start-up, docs/bench.md.)
  const tmp = `${fs.dirname(file)}/${TEMP_PREFIX}${process.pid}-${Date.now().toString(36)}-${++written}`;
  try {
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    try {
      fs.writeAllSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.unlinkIfExists(tmp);
    throw e;
  }
}
