/**
 * The rename steps beside the move steps: the name a pod asked for (rdmaDeviceName), given inside
 * its netns after the move, and the host name given back on the way home. RDMA device names are
 * unique across all network namespaces, and only a thread in the device's netns may rename it
 * (docs/device-name.md), so each rename runs where the device is.
 */
import { fallbackHostName } from "../config/rdma-name.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { type NetnsHandle, NetnsError } from "../netns/netns.ts";
import { KernelError } from "../rdma/kernel.ts";
import type { AttachmentKey, Store } from "../state/store.ts";
import { describeKey, sameKey } from "../state/store.ts";
import { Errno, errnoName } from "../sys/libc.ts";
import type { PluginDeps } from "./deps.ts";
import { rdmaUnavailable } from "./kernel-steps.ts";

/** Renames device `index` from inside `ns` (the host when undefined). Throws KernelError. */
function renameIn(deps: PluginDeps, ns: NetnsHandle | undefined, index: number, name: string): void {
  if (!ns) {
    deps.kernel.renameDevice(index, name);
    return;
  }
  deps.netns.inside(ns, () => deps.kernel.renameDevice(index, name));
}

function explainRename(e: unknown): string {
  if (!(e instanceof KernelError)) return e instanceof Error ? e.message : String(e);
  if (e.errno === Errno.EINVAL) return `${e.message}: the device is not in that network namespace`;
  return `${e.message} (${errnoName(e.errno)})`;
}

const taken = (e: unknown) => e instanceof KernelError && e.errno === Errno.EEXIST;

/**
 * Gives device `index`, in the pod's netns, the name the pod asked for. EEXIST: the name is in use
 * somewhere on the node (any netns); the error names the holder when the records or the host's
 * listing know it.
 */
export function renameInPod(deps: PluginDeps, pod: NetnsHandle, index: number, name: string, field: string, store: Store, key: AttachmentKey): void {
  try {
    renameIn(deps, pod, index, name);
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    if (taken(e)) {
      throw new CniError(ErrorCode.DeviceNameTaken, `${field} ${JSON.stringify(name)}: another RDMA device on this node has that name (${nameHolder(deps, store, name, key)}); RDMA device names are unique across all network namespaces of a node`);
    }
    throw new CniError(ErrorCode.MoveFailed, `cannot rename RDMA device ${index} to ${name} in netns ${pod.path}: ${explainRename(e)}`);
  }
}

/** Who has `name`: a pod by its record, a host device, or "a device in another network namespace". */
function nameHolder(deps: PluginDeps, store: Store, name: string, key: AttachmentKey): string {
  const record = store.list().records.find((r) => !sameKey(r, key) && r.podRdmaDevice === name);
  if (record) return `held by the pod of ${describeKey(record)}, netns ${record.netns}`;
  try {
    const onHost = deps.kernel.listDevices().find((d) => d.name === name);
    if (onHost) return `held by RDMA device ${onHost.name} (index ${onHost.index}) on the host`;
  } catch (e) {
    throw rdmaUnavailable(e);
  }
  return "held by a device in another network namespace, not one this plugin attached";
}

/**
 * Gives device `index` its host name back, from inside `ns` (the host when undefined). When
 * another device took the host name meanwhile, the device gets a name that says where it came
 * from (fallbackHostName) and that is logged; it never fails for that. Returns the name it has
 * now, or undefined when `ns` does not hold the device. Other kernel failures throw.
 */
export function restoreHostName(deps: PluginDeps, ns: NetnsHandle | undefined, index: number, hostName: string, podName: string): string | undefined {
  const current = (ns ? deps.netns.inside(ns, () => deps.kernel.getDevice(index)) : deps.kernel.getDevice(index))?.name;
  if (current === undefined) return undefined;
  if (current === hostName) return current;
  for (let n = 0; n <= 9; n++) {
    const name = n === 0 ? hostName : fallbackHostName(hostName, podName, n);
    if (name === current) return current;
    try {
      renameIn(deps, ns, index, name);
      if (n > 0) deps.log.warn("the RDMA device's host name was taken meanwhile; it goes back under another name", { hostName, name, pod: podName });
      return name;
    } catch (e) {
      if (!taken(e)) throw e;
    }
  }
  deps.log.error("the RDMA device's host name and every fallback name are taken; it keeps its pod's name", { hostName, name: current });
  return current;
}
