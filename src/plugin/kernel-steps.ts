/**
 * The kernel steps the verbs share, each turning kernel and netns failures into CniErrors that say
 * what failed and what to do.
 */
import { CniError, ErrorCode } from "../errors.ts";
import { type NetnsHandle, NetnsError } from "../netns/netns.ts";
import { describeUnreachable, EXCLUSIVE_MODE_HELP, readNetnsMode } from "../rdma/facts.ts";
import { KernelError, type RdmaDevice } from "../rdma/kernel.ts";
import { Errno, errnoName } from "../sys/libc.ts";
import type { PluginDeps } from "./deps.ts";

export function rdmaUnavailable(e: unknown): CniError {
  return new CniError(ErrorCode.RdmaUnavailable, describeUnreachable(e));
}

/** ADD and CHECK need exclusive mode: in shared mode a device is in every netns and cannot move. */
export function requireExclusiveMode(deps: PluginDeps): void {
  const reading = readNetnsMode(deps.kernel);
  if (reading.kind === "absent" || reading.kind === "unreachable") throw rdmaUnavailable(reading.error);
  if (reading.kind !== "exclusive") {
    throw new CniError(ErrorCode.NetnsModeNotExclusive, `the RDMA subsystem is in netns ${reading.mode} mode; this plugin needs exclusive mode`, EXCLUSIVE_MODE_HELP);
  }
}

export function openPodNetns(deps: PluginDeps, path: string, variable: string): NetnsHandle {
  try {
    return deps.netns.open(path);
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, `${variable}: ${e.message}`);
    throw e;
  }
}

/** The device with `index` as seen from inside `ns`, or undefined. */
export function deviceInNetns(deps: PluginDeps, ns: NetnsHandle, index: number): RdmaDevice | undefined {
  try {
    return deps.netns.inside(ns, () => deps.kernel.listDevices()).find((d) => d.index === index);
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    throw rdmaUnavailable(e);
  }
}

export function hostDevice(deps: PluginDeps, index: number): RdmaDevice | undefined {
  try {
    return deps.kernel.getDevice(index);
  } catch (e) {
    throw rdmaUnavailable(e);
  }
}

export function listHostDevices(deps: PluginDeps): RdmaDevice[] {
  try {
    return deps.kernel.listDevices();
  } catch (e) {
    throw rdmaUnavailable(e);
  }
}

export function explainMove(e: unknown): string {
  if (!(e instanceof KernelError)) return e instanceof Error ? e.message : String(e);
  switch (e.errno) {
    case Errno.EOPNOTSUPP:
      return `${e.message}: the RDMA subsystem is in shared mode, or the device's driver cannot change netns`;
    case Errno.ENODEV:
      return `${e.message}: the device is not in the calling network namespace`;
    case Errno.EPERM:
      return `${e.message}: CAP_NET_ADMIN is needed in both network namespaces`;
    default:
      return `${e.message} (${errnoName(e.errno)})`;
  }
}

/**
 * Moves `device` from the host into `pod`. On EOPNOTSUPP, `explainRefusal` may throw a clearer
 * error (the mode check) before the generic one.
 */
export function moveIntoPod(deps: PluginDeps, device: RdmaDevice, pod: NetnsHandle, explainRefusal?: () => void): void {
  try {
    deps.kernel.moveDevice(device.index, pod.fd);
  } catch (e) {
    if (e instanceof KernelError && e.errno === Errno.EOPNOTSUPP) explainRefusal?.();
    throw new CniError(ErrorCode.MoveFailed, `cannot move RDMA device ${device.name} into netns ${pod.path}: ${explainMove(e)}`);
  }
}

/**
 * Sends device `index` from `pod` back to the plugin's own netns. The kernel looks the device up
 * in the sending thread's netns, so the request is sent from inside the pod's netns; ENODEV
 * there means the pod does not hold the device (already back, or gone). Other failures throw.
 */
export function sendBackToHost(deps: PluginDeps, index: number, pod: NetnsHandle): "moved" | "not-in-pod" {
  const host = deps.netns.home();
  return deps.netns.inside(pod, () => {
    try {
      deps.kernel.moveDevice(index, host.fd);
      return "moved";
    } catch (e) {
      // The kernel answers EINVAL for an index its netns does not have (ENODEV when the thread
      // is elsewhere); EINVAL can also mean other things, so only a listing settles it, and
      // only on this rare path.
      const notHere = e instanceof KernelError && (e.errno === Errno.EINVAL || e.errno === Errno.ENODEV);
      if (notHere && !deps.kernel.listDevices().some((d) => d.index === index)) return "not-in-pod";
      throw e;
    }
  });
}

/** The one wording of a device that could not go home (ADD's undo, DEL, DEL of a Go record). */
export function cannotMoveBack(device: string, netnsPath: string, why: string): CniError {
  return new CniError(ErrorCode.MoveFailed, `cannot move RDMA device ${device} from netns ${netnsPath} back to the host: ${why}`);
}

/** Moves `device` from `pod` back to the host, or fails with MoveFailed (ADD's undo). */
export function moveBackToHost(deps: PluginDeps, device: RdmaDevice, pod: NetnsHandle): void {
  let outcome: string;
  try {
    outcome = sendBackToHost(deps, device.index, pod);
  } catch (e) {
    throw cannotMoveBack(device.name, pod.path, explainMove(e));
  }
  if (outcome !== "moved") throw cannotMoveBack(device.name, pod.path, "it is not in that netns");
}
