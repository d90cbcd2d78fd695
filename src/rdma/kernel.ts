/**
 * The kernel as the plugin sees it: RDMA netlink operations in the calling thread's network
 * namespace. Production uses NetlinkRdma (rdma/netlink.ts); host tests use a fake behind this
 * same interface, because the host kernel has no RDMA subsystem.
 */
import type { NetnsMode, RdmaDevice } from "./nldev.ts";

export type { NetnsMode, RdmaDevice };

export interface RdmaKernel {
  /** The RDMA subsystem's netns mode (RDMA_NLDEV_CMD_SYS_GET). */
  netnsMode(): NetnsMode;
  /** Devices visible from the calling thread's netns (all of them in shared mode). */
  listDevices(): RdmaDevice[];
  /** The device with this index as seen from the calling thread's netns, or undefined when it has none. */
  getDevice(index: number): RdmaDevice | undefined;
  /** Moves a device (by index) into the netns behind `netnsFd`. The thread must be in the device's netns. */
  moveDevice(index: number, netnsFd: number): void;
  /** Renames a device (by index). The thread must be in the device's netns; names are unique across all of them. */
  renameDevice(index: number, name: string): void;
}

/** A kernel-side failure: the operation, the errno and, where known, its name. */
export class KernelError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = "KernelError";
  }
}
