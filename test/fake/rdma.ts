/**
 * An in-memory RDMA subsystem behind the RdmaKernel interface, for the host, whose kernel has no
 * RDMA. It keeps the rules the real one enforces (see FACTS.md): in exclusive mode a device is
 * visible only from its own netns, only a caller in the device's netns may move it, and shared
 * mode refuses moves.
 */
import { KernelError, type NetnsMode, type RdmaDevice, type RdmaKernel } from "../../src/rdma/kernel.ts";
import { Errno } from "../../src/sys/libc.ts";

const { ENODEV, EOPNOTSUPP, EBUSY, EPROTONOSUPPORT, EINVAL, EEXIST } = Errno;

export interface FakeDevice extends RdmaDevice {
  /** Identity of the netns the device is in. */
  ns: string;
}

export interface FakeRdmaOptions {
  /** Identity of the netns the calling thread is in now. */
  currentNs(): string;
  /** Identity of the netns behind an fd passed to a move. */
  nsOfFd(fd: number): string;
  /** Called after a device changed netns, e.g. to update a fake sysfs tree. */
  onMove?(device: FakeDevice, from: string, to: string): void;
  /** Called after a device got a new name, e.g. to rename it in a fake sysfs tree. */
  onRename?(device: FakeDevice, from: string): void;
}

export class FakeRdma implements RdmaKernel {
  mode: NetnsMode = "exclusive";
  /** When true, every call fails as on a host without ib_core. */
  absent = false;
  /** Injected failure (errno) for every device listing. */
  failListWith: number | undefined;
  /** The next N listings leave out the last visible device, as a dump interrupted by a concurrent move does. */
  skipInNextDumps = 0;
  /** Injected failure for the next move, then cleared. */
  failNextMove: number | undefined;
  /** Injected failure for the next rename, then cleared. */
  failNextRename: number | undefined;
  readonly devices: FakeDevice[] = [];
  readonly calls: string[] = [];
  private nextIndex = 1;

  constructor(private readonly opts: FakeRdmaOptions) {}

  addDevice(name: string, ns: string): FakeDevice {
    const d = { index: this.nextIndex++, name, ns };
    this.devices.push(d);
    return d;
  }

  device(name: string): FakeDevice {
    const d = this.devices.find((x) => x.name === name);
    if (!d) throw new Error(`fake: no device ${name}`);
    return d;
  }

  private reachable(op: string): void {
    this.calls.push(op);
    if (this.absent) throw new KernelError(op, EPROTONOSUPPORT, `${op}: socket: EPROTONOSUPPORT (errno 93)`);
  }

  private visible(d: FakeDevice): boolean {
    return this.mode === "shared" || d.ns === this.opts.currentNs();
  }

  netnsMode(): NetnsMode {
    this.reachable("netnsMode");
    return this.mode;
  }

  listDevices(): RdmaDevice[] {
    this.reachable("listDevices");
    if (this.failListWith !== undefined) throw new KernelError("list RDMA devices", this.failListWith, `list RDMA devices: kernel answered errno ${this.failListWith}`);
    const seen = this.devices.filter((d) => this.visible(d)).map(({ index, name }) => ({ index, name }));
    if (this.skipInNextDumps > 0) {
      this.skipInNextDumps--;
      seen.pop();
    }
    return seen;
  }

  getDevice(index: number): RdmaDevice | undefined {
    this.reachable("getDevice");
    if (this.failListWith !== undefined) throw new KernelError(`get RDMA device ${index}`, this.failListWith, `get RDMA device ${index}: kernel answered errno ${this.failListWith}`);
    const d = this.devices.find((x) => x.index === index && this.visible(x));
    return d ? { index: d.index, name: d.name } : undefined;
  }

  /** Unregisters a device (a driver unbind or module reload), as the kernel would. */
  removeDevice(name: string): void {
    this.devices.splice(this.devices.indexOf(this.device(name)), 1);
  }

  moveDevice(index: number, netnsFd: number): void {
    this.reachable("moveDevice");
    const op = `move RDMA device ${index}`;
    if (this.failNextMove !== undefined) {
      const errno = this.failNextMove;
      this.failNextMove = undefined;
      throw new KernelError(op, errno, `${op}: kernel answered errno ${errno}`);
    }
    const d = this.devices.find((x) => x.index === index);
    if (this.mode === "shared") throw new KernelError(op, EOPNOTSUPP, `${op}: kernel answered EOPNOTSUPP`);
    // As the kernel: an index the socket's netns does not have is EINVAL (nldev_set_doit); a
    // device in another netns than the sending thread's is ENODEV. Here socket and thread agree.
    if (!d || d.ns !== this.opts.currentNs()) throw new KernelError(op, EINVAL, `${op}: kernel answered EINVAL`);
    const to = this.opts.nsOfFd(netnsFd);
    const from = d.ns;
    if (to === from) return;
    d.ns = to;
    this.opts.onMove?.(d, from, to);
  }

  /**
   * As ib_device_rename behind nldev_set_doit: the index is looked up in the caller's netns
   * (EINVAL otherwise), the same name is a no-op, and a name any device of any netns has is EEXIST.
   */
  renameDevice(index: number, name: string): void {
    this.reachable("renameDevice");
    const op = `rename RDMA device ${index} to ${name}`;
    if (this.failNextRename !== undefined) {
      const errno = this.failNextRename;
      this.failNextRename = undefined;
      throw new KernelError(op, errno, `${op}: kernel answered errno ${errno}`);
    }
    const d = this.devices.find((x) => x.index === index && this.visible(x));
    if (!d) throw new KernelError(op, EINVAL, `${op}: kernel answered EINVAL`);
    if (d.name === name) return;
    if (this.devices.some((x) => x.name === name)) throw new KernelError(op, EEXIST, `${op}: kernel answered EEXIST`);
    const from = d.name;
    d.name = name;
    this.opts.onRename?.(d, from);
  }
}

export { EBUSY, EEXIST, ENODEV, EOPNOTSUPP };
