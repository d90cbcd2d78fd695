/**
 * The libc calls the engine's unix socket needs (bun:ffi): a listening socket, accept, the peer's
 * credentials (SO_PEERCRED), and reads and writes bounded by a deadline. Synchronous on purpose:
 * each engine worker thread serves one CNI call at a time, blocking only itself (docs/engine.md).
 * It opens libc a second time, beside src/sys/libc.ts (the calls of every CNI call): these are the
 * engine's alone, in a library of their own so that a one-shot plugin call does not pay for
 * compiling their trampolines.
 */
import { dlopen, FFIType } from "bun:ffi";
import { Errno, lastErrno, O_CLOEXEC, SOCK_CLOEXEC, SysError } from "./libc.ts";

const { i32, u32, u64, i64, ptr } = FFIType;

let lib: ReturnType<typeof load> | undefined;
function load() {
  return dlopen("libc.so.6", {
    socket: { args: [i32, i32, i32], returns: i32 },
    bind: { args: [i32, ptr, u32], returns: i32 },
    listen: { args: [i32, i32], returns: i32 },
    accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
    shutdown: { args: [i32, i32], returns: i32 },
    pipe2: { args: [ptr, i32], returns: i32 },
    getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
    getsockname: { args: [i32, ptr, ptr], returns: i32 },
    fcntl: { args: [i32, i32, i32], returns: i32 },
    poll: { args: [ptr, u64, i32], returns: i32 },
    recv: { args: [i32, ptr, u64, i32], returns: i64 },
    send: { args: [i32, ptr, u64, i32], returns: i64 },
    close: { args: [i32], returns: i32 },
    epoll_create1: { args: [i32], returns: i32 },
    epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
    epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
  });
}
function libc() {
  lib ??= load();
  return lib.symbols;
}


const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLHUP = 0x10;
const { EINTR, EAGAIN, EINVAL, ETIMEDOUT } = Errno;
const SUN_PATH_MAX = 108;


function check(call: string, rc: number | bigint): number {
  const n = Number(rc);
  if (n < 0) throw new SysError(call, lastErrno());
  return n;
}

/** A listening unix stream socket bound at `path` (which must not exist). */
export function listenUnix(path: string, backlog: number): number {
  const name = new TextEncoder().encode(path);
  if (name.length >= SUN_PATH_MAX) throw new SysError(`socket path ${path} is too long`, 36);
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  // Non-blocking: every idle worker polls this one socket, and all of them wake for a connection
  // only one of them gets; the others must find EAGAIN rather than block in accept.
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  try {
    check(`bind ${path}`, libc().bind(fd, addr, addr.length));
    check("listen", libc().listen(fd, backlog));
  } catch (e) {
    libc().close(fd);
    throw e;
  }
  return fd;
}

/** The next queued connection as a non-blocking fd, or undefined when the queue is empty. */
export function acceptNow(listenFd: number): number | undefined {
  for (;;) {
    const fd = Number(libc().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd >= 0) return fd;
    const e = lastErrno();
    // EINVAL: an empty queue after shutdownListener (a blocking accept would report the shutdown so).
    if (e === EAGAIN || e === EINVAL) return undefined;
    if (e !== EINTR && e !== 103 /* ECONNABORTED */) throw new SysError("accept4", e);
  }
}

/**
 * Stops a listener from taking new connections while keeping the ones already queued acceptable:
 * after shutdown(SHUT_RD) a connect() gets ECONNREFUSED (the shim then runs the call one-shot),
 * but accept() still hands out what the backlog holds. Closing the listener instead would reset
 * those queued connections.
 */
export function shutdownListener(listenFd: number): void {
  check("shutdown", libc().shutdown(listenFd, 0 /* SHUT_RD */));
}

/** A close-on-exec pipe: [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", libc().pipe2(fds, O_CLOEXEC));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

const EPOLL_CTL_ADD = 1;
const EPOLLIN = 0x1;
const EPOLLEXCLUSIVE = 1 << 28;
// struct epoll_event { u32 events; u64 data; } is packed on x86-64 and aligned elsewhere (arm64).
const EPOLL_EVENT_BYTES = process.arch === "x64" ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === "x64" ? 4 : 8;

/** One engine worker's wait for the next connection on the shared listener (or the drain's wake). */
interface ConnectionWaiter {
  /** Waits at most `ms`: "connection", "wake" (wins over a connection), or "timeout". */
  wait(ms: number): "connection" | "wake" | "timeout";
  close(): void;
}

/**
 * A waiter of its own for one worker thread: an epoll instance with the listener registered
 * EPOLLEXCLUSIVE, so a connection wakes one waiting thread, not all of them. The kernel tries the
 * listener's exclusive waiters in the order they were registered and skips those not waiting (busy
 * serving): of the idle threads, the oldest takes the call. Calls one after another therefore run on
 * one thread, whose compiled code is warm, and a younger thread only serves while the older ones
 * are busy (docs/engine.md). `wakeFd` (the drain's pipe) wakes every waiter.
 */
export function connectionWaiter(listenFd: number, wakeFd: number): ConnectionWaiter {
  const ep = check("epoll_create1", libc().epoll_create1(O_CLOEXEC));
  const ev = new Uint8Array(EPOLL_EVENT_BYTES * 2);
  const view = new DataView(ev.buffer);
  const register = (fd: number, events: number) => {
    view.setUint32(0, events, true);
    view.setBigUint64(EPOLL_DATA_OFFSET, BigInt(fd), true);
    check("epoll_ctl", libc().epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev));
  };
  try {
    register(wakeFd, EPOLLIN);
    register(listenFd, EPOLLIN | EPOLLEXCLUSIVE);
  } catch (e) {
    libc().close(ep);
    throw e;
  }
  return {
    wait(ms) {
      const n = Number(libc().epoll_wait(ep, ev, 2, Math.max(0, Math.min(ms, 2_147_483_647))));
      if (n < 0) {
        const e = lastErrno();
        if (e === EINTR) return "timeout";
        throw new SysError("epoll_wait", e);
      }
      for (let i = 0; i < n; i++) {
        if (Number(view.getBigUint64(i * EPOLL_EVENT_BYTES + EPOLL_DATA_OFFSET, true)) === wakeFd) return "wake";
      }
      return n === 0 ? "timeout" : "connection";
    },
    close() {
      libc().close(ep);
    },
  };
}

interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export function peerCredentials(fd: number): PeerCredentials {
  const cred = new Int32Array(3);
  const len = new Uint32Array([12]);
  check("getsockopt(SO_PEERCRED)", libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return { pid: cred[0] ?? 0, uid: cred[1] ?? -1, gid: cred[2] ?? -1 };
}

/**
 * Polls one fd; returns its revents, or 0 when `ms` passed or a signal cut the wait short (the
 * callers loop until their deadline, so an interrupted wait is simply waited again).
 */
function pollOne(fd: number, events: number, ms: number): number {
  const pfd = new Int32Array(2);
  pfd[0] = fd;
  pfd[1] = events; // events is the low half of the second int; revents the high half
  const n = Number(libc().poll(pfd, 1, Math.max(0, Math.min(ms, 2_147_483_647))));
  if (n < 0) {
    const e = lastErrno();
    if (e === EINTR) return 0;
    throw new SysError("poll", e);
  }
  return n === 0 ? 0 : ((pfd[1] ?? 0) >>> 16) & 0xffff;
}

/** True when the peer has closed its end entirely (not only its write side): nobody waits for an answer. */
export function peerGone(fd: number): boolean {
  return (pollOne(fd, 0, 0) & POLLHUP) !== 0;
}

/** Reads exactly `n` bytes; fewer means EOF came first. Throws ETIMEDOUT at the deadline. */
export function readExactly(fd: number, n: number, deadline: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const rc = Number(libc().recv(fd, buf.subarray(got), n - got, MSG_DONTWAIT));
    if (rc > 0) {
      got += rc;
      continue;
    }
    if (rc === 0) break;
    const e = lastErrno();
    if (e === EINTR) continue;
    if (e !== EAGAIN) throw new SysError("recv", e);
    const left = deadline - Date.now();
    if (left <= 0) throw new SysError("recv", ETIMEDOUT);
    pollOne(fd, POLLIN, left);
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** Writes all of `data` (never raising SIGPIPE); throws ETIMEDOUT at the deadline. */
export function writeAll(fd: number, data: Uint8Array, deadline: number): void {
  let off = 0;
  while (off < data.length) {
    const rc = Number(libc().send(fd, data.subarray(off), data.length - off, MSG_DONTWAIT | MSG_NOSIGNAL));
    if (rc > 0) {
      off += rc;
      continue;
    }
    const e = rc < 0 ? lastErrno() : EAGAIN;
    if (e === EINTR) continue;
    if (e !== EAGAIN) throw new SysError("send", e);
    const left = deadline - Date.now();
    if (left <= 0) throw new SysError("send", ETIMEDOUT);
    pollOne(fd, POLLOUT, left);
  }
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SO_DOMAIN = 39;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;

function intOption(fd: number, name: number, what: string): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  check(`getsockopt(${what})`, libc().getsockopt(fd, SOL_SOCKET, name, v, len));
  return v[0] ?? -1;
}

/** What kind of socket `fd` is (a SysError ENOTSOCK when it is none, EBADF when it is not open). */
export interface SocketKind {
  /** AF_UNIX is 1. */
  domain: number;
  /** SOCK_STREAM is 1. */
  type: number;
  listening: boolean;
}

export function socketKind(fd: number): SocketKind {
  return {
    domain: intOption(fd, SO_DOMAIN, "SO_DOMAIN"),
    type: intOption(fd, SO_TYPE, "SO_TYPE"),
    listening: intOption(fd, SO_ACCEPTCONN, "SO_ACCEPTCONN") === 1,
  };
}
export const UNIX_DOMAIN = AF_UNIX;
export const STREAM_TYPE = SOCK_STREAM;

/** The path a unix socket is bound to; "" for an unnamed or abstract one. */
export function boundPath(fd: number): string {
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  const len = new Uint32Array([addr.length]);
  check("getsockname", libc().getsockname(fd, addr, len));
  const name = addr.subarray(2, Math.min(len[0] ?? 2, addr.length));
  if (name.length === 0 || name[0] === 0) return "";
  const end = name.indexOf(0);
  return new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
}

/**
 * Makes an inherited listener behave as listenUnix's own: non-blocking (every worker polls it and
 * most find the queue empty) and close-on-exec. A service manager passes it blocking.
 */
export function adoptListener(fd: number): void {
  check("fcntl(F_SETFL)", libc().fcntl(fd, F_SETFL, check("fcntl(F_GETFL)", libc().fcntl(fd, F_GETFL, 0)) | SOCK_NONBLOCK));
  check("fcntl(F_SETFD)", libc().fcntl(fd, F_SETFD, check("fcntl(F_GETFD)", libc().fcntl(fd, F_GETFD, 0)) | FD_CLOEXEC));
}
