/**
 * DEL of an attachment the Go rdma-cni made before this plugin took over the node: no record of
 * ours, one of its own in its state directory. The device it names is brought home from the pod's
 * netns and its record removed, as its own DEL would have done, so a pod attached before the
 * switch gives its device back at once (docs/migration.md). Under the same locks as our own DEL.
 */
import { CniError, ErrorCode } from "../errors.ts";
import { NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { type GoRecord, readGoRecord, removeGoRecord } from "../state/go-state.ts";
import type { Store } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { cannotMoveBack, explainMove, sendBackToHost } from "./kernel-steps.ts";

/** True when the Go plugin had a record of this attachment and it is now released. */
export function releaseGoAttachment(req: Request, store: Store, deps: PluginDeps): boolean {
  const found = readGoRecord(deps.goStateDir, req.key);
  if (found === undefined) return false;
  if ("error" in found) {
    // Not ours to judge: the Go plugin, if it comes back, reads its own files.
    deps.log.warn("DEL: a Go rdma-cni record of this attachment is unreadable; left as it is", { dir: deps.goStateDir, error: found.error });
    return false;
  }
  const attachmentLock = store.lockAttachment(req.key, deps.lockTimeoutMs);
  try {
    const deviceLock = store.lockDevice(found.deviceID, deps.lockTimeoutMs);
    let released = false;
    try {
      bringGoDeviceHome(found, req.env.netns, deps);
      removeGoRecord(deps.goStateDir, req.key);
      released = true;
    } finally {
      deviceLock.release({ removeFile: released });
    }
  } finally {
    attachmentLock.release({ removeFile: true });
  }
  return true;
}

function bringGoDeviceHome(record: GoRecord, netnsPath: string, deps: PluginDeps): void {
  const device = record.containerRdmaDevName;
  let pod: NetnsHandle;
  try {
    if (netnsPath === "") throw new NetnsError("missing", "", "no CNI_NETNS");
    pod = deps.netns.open(netnsPath);
  } catch (e) {
    if (!(e instanceof NetnsError)) throw e;
    deps.log.info("DEL (Go rdma-cni record): pod netns is gone; the kernel returned the device to the host", { device, reason: e.message });
    return;
  }
  try {
    const inPod = deps.netns.inside(pod, () => deps.kernel.listDevices()).find((d) => d.name === device);
    if (!inPod) {
      deps.log.info("DEL (Go rdma-cni record): the device is not in the pod netns (already back, or gone)", { device });
      return;
    }
    let outcome: string;
    try {
      outcome = sendBackToHost(deps, inPod.index, pod);
    } catch (e) {
      throw cannotMoveBack(`${device} (attached by the Go rdma-cni)`, pod.path, explainMove(e));
    }
    deps.log.info("RDMA device attached by the Go rdma-cni moved back to the host", { device, deviceId: record.deviceID, outcome });
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    throw e;
  } finally {
    deps.netns.close(pod);
  }
}
