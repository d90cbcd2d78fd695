/**
 * The file operations of the CNI verbs, over libc (sys/libc.ts) rather than node:fs: Bun evaluates
 * node:fs at its first require, which costs a one-shot call more than everything here, and the
 * ADD and DEL load libc for netlink anyway (docs/bench.md). Failures throw FsErrors shaped like
 * node's (code, syscall, path and the same message), so callers and their messages are unchanged.
 * The engine's per-call path shares this; doctor and install keep node:fs.
 */
import { errnoName, Errno, accessPath, closeFd, fsyncFd, listDir, mkdirPath, openFile, readFd, renamePath, statxPath, unlinkPath, writeFd } from "./libc.ts";
export { O_CLOEXEC } from "./libc.ts";

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_APPEND = 0o2000;
/** Differs by architecture: arm and powerpc have their own value; x86 and the generic ABI this one. */
export const O_NOFOLLOW = process.arch === "arm64" || process.arch === "arm" || process.arch === "ppc64" ? 0o100000 : 0o400000;
export const W_OK = 2;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;

/** libuv's wording, which node:fs (and so this plugin's messages) used. */
const DESCRIPTIONS: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ESRCH: "no such process",
  EIO: "i/o error",
  ENXIO: "no such device or address",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "not enough memory",
  EACCES: "permission denied",
  EBUSY: "resource busy or locked",
  EEXIST: "file already exists",
  EXDEV: "cross-device link not permitted",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EISDIR: "illegal operation on a directory",
  EINVAL: "invalid argument",
  ENFILE: "file table overflow",
  EMFILE: "too many open files",
  EFBIG: "file too large",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  EMLINK: "too many links",
  ENAMETOOLONG: "name too long",
  ENOTEMPTY: "directory not empty",
  ELOOP: "too many symbolic links encountered",
  EDQUOT: "disk quota exceeded",
};

/** A failed file operation, as node:fs reports one: `ENOENT: no such file or directory, open '/x'`. */
export class FsError extends Error {
  readonly code: string;
  constructor(
    readonly errno: number,
    readonly syscall: string,
    readonly path?: string,
    dest?: string,
  ) {
    const code = errnoName(errno);
    const where = path === undefined ? "" : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
    super(`${code}: ${DESCRIPTIONS[code] ?? "unknown error"}, ${syscall}${where}`);
    this.name = "FsError";
    this.code = code;
  }
}

function check(rc: number, syscall: string, path?: string, dest?: string): number {
  if (rc < 0) throw new FsError(-rc, syscall, path, dest);
  return rc;
}

export function openSync(path: string, flags: number, mode = 0o666): number {
  for (;;) {
    const rc = openFile(path, flags, mode);
    if (rc !== -Errno.EINTR) return check(rc, "open", path);
  }
}

export function closeSync(fd: number): void {
  check(closeFd(fd), "close");
}

export function fsyncSync(fd: number): void {
  check(fsyncFd(fd), "fsync");
}

/** One read(2) into `buf`; 0 at end of file. EINTR is retried. */
export function readSync(fd: number, buf: Uint8Array): number {
  for (;;) {
    const rc = readFd(fd, buf);
    if (rc !== -Errno.EINTR) return check(rc, "read");
  }
}

/** Reads `fd` to its end, as UTF-8 text. */
export function readText(fd: number): string {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(16 * 1024);
    const n = readSync(fd, buf);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Writes all of `data` (a string as UTF-8), however many write(2) calls that takes. */
export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let off = 0;
  while (off < bytes.length) {
    const rest = off === 0 ? bytes : bytes.subarray(off);
    const rc = writeFd(fd, rest, rest.length);
    if (rc === -Errno.EINTR) continue;
    if (rc === -Errno.EAGAIN) {
      Bun.sleepSync(1); // a non-blocking pipe that is full
      continue;
    }
    off += check(rc, "write");
  }
}

export function renameSync(from: string, to: string): void {
  check(renamePath(from, to), "rename", from, to);
}

/** unlink(2); a missing file is not an error (node's rmSync with force, for a file). */
export function unlinkIfExists(path: string): void {
  const rc = unlinkPath(path);
  if (rc !== -Errno.ENOENT) check(rc, "unlink", path);
}

export function unlinkSync(path: string): void {
  check(unlinkPath(path), "unlink", path);
}

/** Creates `dir` and its missing parents with `mode`; an existing directory is fine. */
export function mkdirp(dir: string, mode: number): void {
  const rc = mkdirPath(dir, mode);
  if (rc >= 0) return;
  if (rc === -Errno.EEXIST) {
    const st = statOrUndefined(dir);
    if (st?.isDirectory()) return;
    check(rc, "mkdir", dir);
  }
  const parent = dirname(dir);
  if (rc !== -Errno.ENOENT || parent === dir) check(rc, "mkdir", dir);
  mkdirp(parent, mode);
  const again = mkdirPath(dir, mode);
  if (again !== -Errno.EEXIST) check(again, "mkdir", dir);
}

export function accessSync(path: string, mode: number): void {
  check(accessPath(path, mode), "access", path);
}

export function readdirSync(dir: string): string[] {
  const r = listDir(dir);
  if (typeof r === "number") throw new FsError(-r, "scandir", dir);
  return r;
}

/** What the plugin reads of a stat: type, size, links, identity. */
export class Stat {
  constructor(
    readonly mode: number,
    readonly nlink: number,
    readonly size: number,
    readonly dev: string,
    readonly ino: bigint,
  ) {}
  isFile(): boolean {
    return (this.mode & 0o170000) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & 0o170000) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & 0o170000) === 0o120000;
  }
}

const statBuf = new Uint8Array(256);
const statView = new DataView(statBuf.buffer);

function statx(dirfd: number, path: string, flags: number): Stat | number {
  const rc = statxPath(dirfd, path, flags, statBuf);
  if (rc < 0) return rc;
  // struct statx: stx_nlink u32 @16, stx_mode u16 @28, stx_ino u64 @32, stx_size u64 @40,
  // stx_dev_major u32 @136, stx_dev_minor u32 @140.
  const v = statView;
  return new Stat(
    v.getUint16(28, true),
    v.getUint32(16, true),
    Number(v.getBigUint64(40, true)),
    `${v.getUint32(136, true)}:${v.getUint32(140, true)}`,
    v.getBigUint64(32, true),
  );
}

function stated(r: Stat | number, syscall: string, path?: string): Stat {
  if (typeof r === "number") throw new FsError(-r, syscall, path);
  return r;
}

/** stat of the path itself, a symlink not followed. */
export function lstatSync(path: string): Stat {
  return stated(statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW), "lstat", path);
}

export function fstatSync(fd: number): Stat {
  return stated(statx(fd, "", AT_EMPTY_PATH), "fstat");
}

function statOrUndefined(path: string): Stat | undefined {
  const r = statx(AT_FDCWD, path, 0);
  return typeof r === "number" ? undefined : r;
}

/** True when something is at `path` (symlinks followed), as node's existsSync. */
export function existsSync(path: string): boolean {
  return statOrUndefined(path) !== undefined;
}

/** The directory part of a path, as node's path.dirname. */
export function dirname(p: string): string {
  let end = p.length;
  while (end > 1 && p.charCodeAt(end - 1) === 47) end--;
  const i = p.lastIndexOf("/", end - 1);
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}
