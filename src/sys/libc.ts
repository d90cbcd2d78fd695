/**
 * The libc calls JavaScript cannot make, through bun:ffi: those of every CNI call. The engine's
 * socket calls are in sys/unix-socket.ts, bound by a dlopen of their own that a one-shot call never
 * makes.
 * FFI stays in these two files: everything above sees plain numbers, Uint8Arrays and thrown
 * SysErrors.
 */
import { CString, dlopen, FFIType, type Pointer, read } from "bun:ffi";

const { i32, u32, u64, i64, ptr } = FFIType;

/** The plugin's libc symbols; bench/ffi-cost.ts measures what loading exactly this set costs. */
export const LIBC_SYMBOLS = {
  socket: { args: [i32, i32, i32], returns: i32 },
  send: { args: [i32, ptr, u64, i32], returns: i64 },
  recv: { args: [i32, ptr, u64, i32], returns: i64 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  close: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  ioctl: { args: [i32, u64, u64], returns: i32 },
  __errno_location: { args: [], returns: ptr },
  // File operations (sys/fs.ts): node:fs costs a one-shot call more to load than these (docs/bench.md).
  open: { args: [ptr, i32, u32], returns: i32 },
  read: { args: [i32, ptr, u64], returns: i64 },
  write: { args: [i32, ptr, u64], returns: i64 },
  fsync: { args: [i32], returns: i32 },
  rename: { args: [ptr, ptr], returns: i32 },
  mkdir: { args: [ptr, u32], returns: i32 },
  unlink: { args: [ptr], returns: i32 },
  access: { args: [ptr, i32], returns: i32 },
  statx: { args: [i32, ptr, i32, u32, ptr], returns: i32 },
  opendir: { args: [ptr], returns: ptr },
  readdir: { args: [ptr], returns: ptr },
  closedir: { args: [ptr], returns: i32 },
} as const;

let lib: ReturnType<typeof open> | undefined;
function open() {
  return dlopen("libc.so.6", LIBC_SYMBOLS);
}
function libc() {
  lib ??= open();
  return lib.symbols;
}

/** A failed libc call: errno and the call's name, so messages can say what failed and why. */
export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${errnoName(errno)} (errno ${errno})`);
    this.name = "SysError";
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN",
  12: "ENOMEM", 13: "EACCES", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR",
  21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 27: "EFBIG", 28: "ENOSPC",
  30: "EROFS", 31: "EMLINK", 36: "ENAMETOOLONG", 39: "ENOTEMPTY", 40: "ELOOP", 93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 110: "ETIMEDOUT", 122: "EDQUOT",
};
export const Errno = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EBADF: 9, EAGAIN: 11, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22,
  EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, ETIMEDOUT: 110,
} as const;
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** errno of the last failed libc call on this thread (any library's: errno is per thread). */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}
const errno = lastErrno;

function check(call: string, rc: number | bigint): number {
  const n = Number(rc);
  if (n < 0) throw new SysError(call, errno());
  return n;
}

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
/** open(2) flag, missing from node:fs constants. */
export const O_CLOEXEC = 0o2000000;
export const NETLINK_RDMA = 20;
export const CLONE_NEWNET = 0x40000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
/** NS_GET_NSTYPE = _IO(0xb7, 0x3): the namespace type of an nsfs fd. */
const NS_GET_NSTYPE = 0xb703;

export function socket(domain: number, type: number, protocol: number): number {
  return check("socket", libc().socket(domain, type, protocol));
}

/** Sets SO_RCVTIMEO so a receive never blocks for longer than `ms`. */
let timeval: { ms: number; tv: BigInt64Array } | undefined;
export function setReceiveTimeout(fd: number, ms: number): void {
  if (timeval?.ms !== ms) timeval = { ms, tv: new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]) };
  const tv = timeval.tv;
  check("setsockopt(SO_RCVTIMEO)", libc().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16));
}

export function send(fd: number, data: Uint8Array): void {
  for (;;) {
    const rc = Number(libc().send(fd, data, data.length, 0));
    if (rc >= 0) return;
    const e = errno();
    if (e !== Errno.EINTR) throw new SysError("send", e);
  }
}

/** Receives one datagram into `buf`; returns its length. */
export function recv(fd: number, buf: Uint8Array): number {
  for (;;) {
    const rc = Number(libc().recv(fd, buf, buf.length, 0));
    if (rc >= 0) return rc;
    const e = errno();
    if (e !== Errno.EINTR) throw new SysError("recv", e === Errno.EAGAIN ? Errno.ETIMEDOUT : e);
  }
}

export function close(fd: number): void {
  libc().close(fd);
}

/** Moves the calling thread into the network namespace behind `fd`. */
export function setns(fd: number, nstype: number = CLONE_NEWNET): void {
  check("setns", libc().setns(fd, nstype));
}

/** Returns the CLONE_NEW* type of a namespace fd, or throws (ENOTTY: not a namespace). */
export function namespaceType(fd: number): number {
  return check("ioctl(NS_GET_NSTYPE)", libc().ioctl(fd, NS_GET_NSTYPE, 0));
}

/** flock(2); returns false instead of throwing when LOCK_NB finds the lock held. */
export function flock(fd: number, op: number): boolean {
  for (;;) {
    const rc = libc().flock(fd, op);
    if (rc === 0) return true;
    const e = errno();
    if (e === Errno.EAGAIN) return false;
    if (e !== Errno.EINTR) throw new SysError("flock", e);
  }
}

// --- Files: plain calls returning -1 and errno; sys/fs.ts makes node-like errors of them. ---

/** A NUL-terminated copy of a path, for libc. */
function cstr(s: string): Uint8Array {
  return Buffer.from(`${s}\0`, "utf8");
}

/** The call's result, or -errno. */
function rcOrErrno(rc: number | bigint): number {
  const n = Number(rc);
  return n < 0 ? -errno() : n;
}

export function openFile(path: string, flags: number, mode: number): number {
  return rcOrErrno(libc().open(cstr(path), flags, mode));
}
export function readFd(fd: number, buf: Uint8Array, len: number = buf.length): number {
  return rcOrErrno(libc().read(fd, buf, len));
}
export function writeFd(fd: number, buf: Uint8Array, len: number): number {
  return rcOrErrno(libc().write(fd, buf, len));
}
export function fsyncFd(fd: number): number {
  return rcOrErrno(libc().fsync(fd));
}
export function closeFd(fd: number): number {
  return rcOrErrno(libc().close(fd));
}
export function renamePath(from: string, to: string): number {
  return rcOrErrno(libc().rename(cstr(from), cstr(to)));
}
export function mkdirPath(path: string, mode: number): number {
  return rcOrErrno(libc().mkdir(cstr(path), mode));
}
export function unlinkPath(path: string): number {
  return rcOrErrno(libc().unlink(cstr(path)));
}
export function accessPath(path: string, mode: number): number {
  return rcOrErrno(libc().access(cstr(path), mode));
}
/** statx(2) into `buf` (256 bytes); `path` "" with AT_EMPTY_PATH stats `dirfd` itself. */
export function statxPath(dirfd: number, path: string, flags: number, buf: Uint8Array): number {
  return rcOrErrno(libc().statx(dirfd, cstr(path), flags, 0x7ff /* STATX_BASIC_STATS */, buf));
}

/** The names in a directory, without "." and ".."; or -errno. */
export function listDir(path: string): string[] | number {
  const c = libc();
  const dir = c.opendir(cstr(path));
  if (dir === null) return -errno();
  const names: string[] = [];
  try {
    for (;;) {
      const ent = c.readdir(dir) as Pointer | null;
      if (ent === null) break;
      // struct dirent (64-bit glibc): d_ino 8, d_off 8, d_reclen 2, d_type 1, then d_name.
      const name = new CString(ent, 19).toString();
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    c.closedir(dir);
  }
  return names;
}
