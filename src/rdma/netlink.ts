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

function openSocket(): number {
  const fd = sys.socket(sys.AF_NETLINK, sys.SOCK_RAW | sys.SOCK_CLOEXEC, sys.NETLINK_RDMA);
  try {
    sys.setReceiveTimeout(fd, RECEIVE_TIMEOUT_MS);
    sys.bindNetlink(fd);
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  return fd;
}

/**
 * Sends one request and reads until its ACK (or DONE for a dump), returning the data messages.
 * A netlink error becomes a KernelError carrying the errno.
 */
function transact(op: string, build: (seq: number) => Uint8Array): nl.NetlinkMessage[] {
  const seq = ++sequence;
  let fd: number;
  try {
    fd = openSocket();
  } catch (e) {
    throw toKernelError(op, e);
  }
  try {
    sys.send(fd, build(seq));
    const buf = new Uint8Array(RECEIVE_BUFFER);
    const data: nl.NetlinkMessage[] = [];
    for (;;) {
      const n = sys.recv(fd, buf);
      for (const msg of nl.decodeMessages(buf.subarray(0, n))) {
        if (msg.seq !== seq) continue; // stale or foreign: not ours
        if (msg.type === nl.NLMSG_ERROR) {
          const errno = nl.decodeError(msg.payload);
          if (errno !== 0) throw new KernelError(op, errno, `${op}: kernel answered ${sys.errnoName(errno)}`);
          return data.map(copyMessage);
        }
        if (msg.type === nl.NLMSG_DONE) return data.map(copyMessage);
        data.push(msg);
      }
    }
  } catch (e) {
    throw toKernelError(op, e);
  } finally {
    sys.close(fd);
  }
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
  netnsMode(): nl.NetnsMode {
    const [reply] = transact("get RDMA netns mode", nl.sysGet);
    if (!reply) throw new KernelError("get RDMA netns mode", 0, "get RDMA netns mode: no reply from the kernel");
    return nl.decodeNetnsMode(reply.payload);
  }

  setNetnsMode(mode: nl.NetnsMode): void {
    transact(`set RDMA netns mode ${mode}`, (seq) => nl.sysSetNetnsMode(seq, mode));
  }

  listDevices(): nl.RdmaDevice[] {
    return transact("list RDMA devices", nl.getDevicesDump).map((m) => nl.decodeDevice(m.payload));
  }

  moveDevice(index: number, netnsFd: number): void {
    transact(`move RDMA device ${index}`, (seq) => nl.setDeviceNetns(seq, index, netnsFd));
  }

  renameDevice(index: number, name: string): void {
    transact(`rename RDMA device ${index} to ${name}`, (seq) => nl.setDeviceName(seq, index, name));
  }
}
