/**
 * RdmaKernel over a real NETLINK_RDMA socket. Each operation opens its own socket, so the
 * socket belongs to the netns the calling thread is in at that moment.
 */
import * as sys from "../sys/libc.ts";
import { type RdmaKernel, KernelError } from "./kernel.ts";
import * as nl from "./nldev.ts";

const RECEIVE_TIMEOUT_MS = 5000;
const RECEIVE_BUFFER = 64 * 1024;

let sequence = Math.floor(Date.now() / 1000) & 0xffff;

/** The datagram socket a transaction needs; a real NETLINK_RDMA socket in production. */
export interface NetlinkSocket {
  send(data: Uint8Array): void;
  /** Receives one datagram into `buf`, returning its length. */
  recv(buf: Uint8Array): number;
  close(): void;
}

function openRdmaSocket(): NetlinkSocket {
  return openNetlinkSocket(sys.NETLINK_RDMA);
}

/** A netlink socket of `protocol` in the calling thread's netns (NETLINK_RDMA, NETLINK_ROUTE). */
export function openNetlinkSocket(protocol: number): NetlinkSocket {
  const fd = sys.socket(sys.AF_NETLINK, sys.SOCK_RAW | sys.SOCK_CLOEXEC, protocol);
  try {
    // No bind: the kernel binds a netlink socket to a free port id on its first send.
    sys.setReceiveTimeout(fd, RECEIVE_TIMEOUT_MS);
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  return { send: (data) => sys.send(fd, data), recv: (buf) => sys.recv(fd, buf), close: () => sys.close(fd) };
}

/**
 * Sends one request and reads until its ACK (or DONE for a dump), returning the data messages.
 * A netlink error becomes a KernelError carrying the errno.
 */
export function transact(open: () => NetlinkSocket, op: string, build: (seq: number) => Uint8Array): nl.NetlinkMessage[] {
  const seq = ++sequence;
  let sock: NetlinkSocket;
  try {
    sock = open();
  } catch (e) {
    throw toKernelError(op, e);
  }
  try {
    sock.send(build(seq));
    const buf = receiveBuffer();
    const data: nl.NetlinkMessage[] = [];
    for (;;) {
      const n = sock.recv(buf);
      for (const msg of nl.decodeMessages(buf.subarray(0, n))) {
        if (msg.seq !== seq) continue; // stale or foreign: not ours
        if (msg.type === nl.NLMSG_ERROR) {
          const errno = nl.decodeError(msg.payload);
          if (errno !== 0) throw new KernelError(op, errno, `${op}: kernel answered ${sys.errnoName(errno)}`);
          return data;
        }
        if (msg.type === nl.NLMSG_DONE) return data;
        data.push(copyMessage(msg)); // the next recv reuses the buffer
      }
    }
  } catch (e) {
    throw toKernelError(op, e);
  } finally {
    sock.close();
  }
}

/**
 * One receive buffer for the process, not one per request (docs/bench.md says what that cost).
 * Safe to share: calls are synchronous and copy what they keep.
 */
let sharedBuffer: Uint8Array | undefined;
function receiveBuffer(): Uint8Array {
  sharedBuffer ??= new Uint8Array(RECEIVE_BUFFER);
  return sharedBuffer;
}

/** Messages point into the receive buffer, which the next recv overwrites. */
function copyMessage(m: nl.NetlinkMessage): nl.NetlinkMessage {
  return { ...m, payload: m.payload.slice() };
}

function toKernelError(op: string, e: unknown): KernelError {
  if (e instanceof KernelError) return e;
  if (e instanceof sys.SysError) return new KernelError(op, e.errno, `${op}: ${e.message}`);
  return new KernelError(op, 0, `${op}: ${e instanceof Error ? e.message : String(e)}`);
}

export class NetlinkRdma implements RdmaKernel {
  constructor(private readonly open: () => NetlinkSocket = openRdmaSocket) {}

  netnsMode(): nl.NetnsMode {
    const [reply] = transact(this.open, "get RDMA netns mode", nl.sysGet);
    if (!reply) throw new KernelError("get RDMA netns mode", 0, "get RDMA netns mode: no reply from the kernel");
    return nl.decodeNetnsMode(reply.payload);
  }

  listDevices(): nl.RdmaDevice[] {
    return transact(this.open, "list RDMA devices", nl.getDevicesDump).map((m) => nl.decodeDevice(m.payload));
  }

  getDevice(index: number): nl.RdmaDevice | undefined {
    try {
      const [reply] = transact(this.open, `get RDMA device ${index}`, (seq) => nl.getDeviceRequest(seq, index));
      return reply ? nl.decodeDevice(reply.payload) : undefined;
    } catch (e) {
      // nldev_get_doit: EINVAL for an index this netns does not have
      if (e instanceof KernelError && (e.errno === sys.Errno.EINVAL || e.errno === sys.Errno.ENODEV)) return undefined;
      throw e;
    }
  }

  moveDevice(index: number, netnsFd: number): void {
    transact(this.open, `move RDMA device ${index}`, (seq) => nl.setDeviceNetns(seq, index, netnsFd));
  }

  renameDevice(index: number, name: string): void {
    transact(this.open, `rename RDMA device ${index} to ${name}`, (seq) => nl.setDeviceName(seq, index, name));
  }
}
