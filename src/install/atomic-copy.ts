/**
 * Puts an executable into a directory so that a reader (the kubelet's runtime exec'ing the
 * plugin) sees either the old file or the new one, never a partial one: the bytes go to a temp
 * file beside the target, are fsynced, checked, and only then renamed over the target name;
 * the directory is fsynced so the rename survives a crash.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { O_CLOEXEC } from "../sys/libc.ts";
import { describeErrno, errnoCode, InstallError } from "./errors.ts";

const CHUNK_BYTES = 1024 * 1024;
const EXECUTABLE_MODE = 0o755;

interface AtomicInstall {
  source: string;
  dir: string;
  name: string;
  /** Called with the complete, fsynced temp file before it is renamed; throws to abort. */
  check?: (tempPath: string) => void;
}

/** The temp name's prefix; a leftover from a killed run is removed by the next one. */
export function tempPrefix(name: string): string {
  return `.${name}.install-`;
}

/** Copies, checks and renames; returns the installed path and its size. */
export function installAtomically(req: AtomicInstall): { path: string; bytes: number } {
  requireDirectory(req.dir);
  removeLeftovers(req.dir, req.name);
  const target = path.join(req.dir, req.name);
  const temp = path.join(req.dir, `${tempPrefix(req.name)}${process.pid}`);
  const bytes = copyToTemp(req.source, temp, req.dir);
  try {
    req.check?.(temp);
    try {
      fs.renameSync(temp, target);
    } catch (e) {
      throw new InstallError(`cannot rename ${temp} to ${target}: ${describeErrno(e)}`);
    }
  } catch (e) {
    removeQuietly(temp);
    throw e;
  }
  syncDirectory(req.dir);
  return { path: target, bytes };
}

/** Cleanup after a failure must not replace the failure's own message. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // the caller is already throwing the error that matters
  }
}

function requireDirectory(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const hint = errnoCode(e) === "ENOENT" ? " (is the host's CNI bin dir mounted there? see --cni-bin-dir)" : "";
    throw new InstallError(`CNI bin dir ${dir} is not usable: ${describeErrno(e)}${hint}`);
  }
  if (!st.isDirectory()) throw new InstallError(`CNI bin dir ${dir} is not usable: ENOTDIR (not a directory)`);
}

function removeLeftovers(dir: string, name: string): void {
  const prefix = tempPrefix(name);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return; // the copy below reports what is wrong with the directory
  }
  for (const entry of entries) {
    if (entry.startsWith(prefix)) removeQuietly(path.join(dir, entry));
  }
}

function copyToTemp(source: string, temp: string, dir: string): number {
  let src: number;
  try {
    src = fs.openSync(source, fs.constants.O_RDONLY | O_CLOEXEC);
  } catch (e) {
    throw new InstallError(`cannot read the executable to install, ${source}: ${describeErrno(e)}`);
  }
  try {
    let dst: number;
    try {
      // O_EXCL|O_NOFOLLOW: a file or symlink planted under the temp name is refused, not followed.
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW | O_CLOEXEC;
      dst = fs.openSync(temp, flags, EXECUTABLE_MODE);
    } catch (e) {
      throw new InstallError(`cannot write into CNI bin dir ${dir}: ${describeErrno(e)}`);
    }
    try {
      const bytes = copyBytes(src, dst, temp);
      const expected = fs.fstatSync(src).size;
      if (bytes !== expected) throw new InstallError(`copied ${bytes} bytes of ${source} but it has ${expected}; was it replaced while copying?`);
      // The umask may have narrowed the mode given to open.
      fs.fchmodSync(dst, EXECUTABLE_MODE);
      fs.fsyncSync(dst);
      return bytes;
    } catch (e) {
      removeQuietly(temp);
      if (e instanceof InstallError) throw e;
      throw new InstallError(`cannot write ${temp} in CNI bin dir ${dir}: ${describeErrno(e)}`);
    } finally {
      fs.closeSync(dst);
    }
  } finally {
    fs.closeSync(src);
  }
}

function copyBytes(src: number, dst: number, temp: string): number {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let total = 0;
  for (;;) {
    const n = fs.readSync(src, buf, 0, buf.length, null);
    if (n === 0) return total;
    let off = 0;
    while (off < n) {
      const w = fs.writeSync(dst, buf, off, n - off);
      if (w <= 0) throw new InstallError(`short write to ${temp}`);
      off += w;
    }
    total += n;
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | O_CLOEXEC);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new InstallError(`installed, but cannot fsync CNI bin dir ${dir}, so the rename may not survive a crash: ${describeErrno(e)}`);
  }
}
