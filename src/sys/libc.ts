/**
 * The libc calls JavaScript cannot make, through bun:ffi. This is the only file that touches FFI;
 * everything above it sees plain numbers, Uint8Arrays and thrown SysErrors.
 */
import { dlopen, FFIType, read } from "bun:ffi";

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
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
  16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 110: "ETIMEDOUT",
};
export const Errno = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EAGAIN: 11, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22,
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
