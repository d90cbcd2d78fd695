/**
 * What the kernel says about RDMA on this node, and what to tell the operator about it: the
 * netns mode, read and classified in one place; whether a failure means the node has no RDMA at
 * all; and the remedy for a mode that is not exclusive. ADD, CHECK and STATUS (plugin/), the
 * installer's log line (install/netns-mode.ts) and `rdma doctor` (doctor/report.ts) all ask here.
 */
import { Errno } from "../sys/libc.ts";
import { KernelError, type NetnsMode, type RdmaKernel } from "./kernel.ts";

export const EXCLUSIVE_MODE_HELP =
  "set the RDMA subsystem to netns exclusive mode: add 'options ib_core netns_mode=0' to /etc/modprobe.d/ib_core.conf and reload ib_core (or reboot), or run 'rdma system set netns exclusive' while no network namespace other than the host's exists";

/** True when the error means there is no RDMA subsystem to talk to at all. */
export function rdmaAbsent(e: unknown): boolean {
  return (
    e instanceof KernelError &&
    (e.errno === Errno.EPROTONOSUPPORT || e.errno === Errno.EAFNOSUPPORT || e.errno === Errno.ENOENT)
  );
}

/** Why the RDMA subsystem did not answer, with the likely cause when it is absent. */
export function describeUnreachable(e: unknown): string {
  const why = e instanceof Error ? e.message : String(e);
  const hint = rdmaAbsent(e) ? " (is the ib_core module loaded? the host kernel has no RDMA netlink)" : "";
  return `the RDMA subsystem is not reachable: ${why}${hint}`;
}

/**
 * The netns mode as the plugin needs it: exclusive (devices can move into pods), another mode
 * (they cannot), no RDMA subsystem at all, or a subsystem that did not answer.
 */
type NetnsModeReading =
  | { kind: "exclusive"; mode: "exclusive" }
  | { kind: "not-exclusive"; mode: NetnsMode }
  | { kind: "absent"; error: unknown }
  | { kind: "unreachable"; error: unknown };

export function readNetnsMode(kernel: Pick<RdmaKernel, "netnsMode">): NetnsModeReading {
  let mode: NetnsMode;
  try {
    mode = kernel.netnsMode();
  } catch (e) {
    return rdmaAbsent(e) ? { kind: "absent", error: e } : { kind: "unreachable", error: e };
  }
  return mode === "exclusive" ? { kind: "exclusive", mode } : { kind: "not-exclusive", mode };
}
