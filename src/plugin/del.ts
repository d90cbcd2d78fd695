/**
 * DEL: idempotent. Moves the device back to the host if it is in the pod's netns, takes back what
 * ADD wrote into the device-info file, then drops the record. A netns that is gone took nothing
 * with it: the kernel hands a dying netns's RDMA devices back to the host.
 */
import { CniError, ErrorCode } from "../errors.ts";
import { NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { rdmaAbsent, readNetnsMode } from "../rdma/facts.ts";
import type { AttachmentKey, AttachmentRecord, Store } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { releaseGoAttachment } from "./del-go.ts";
import { removeDeviceInfo } from "../state/devinfo.ts";
import { cannotMoveBack, explainMove, sendBackToHost } from "./kernel-steps.ts";
import { killPoint } from "./killpoints.ts";
import { restoreHostName } from "./rename-steps.ts";

export function del(req: Request, deps: PluginDeps): void {
  const store = req.openStore();
  if (!store.get(req.key)) {
    if (releaseGoAttachment(req, store, deps)) return;
    deps.log.debug("DEL: no record, nothing to do", { ...req.key });
    return;
  }
  releaseAttachment(req.key, req.env.netns, store, deps);
}

/**
 * Shared by DEL and GC: under the attachment's lock and then its device's (the order ADD takes
 * them in), bring the device home and drop the record. Both lock files go once the record is gone.
 */
export function releaseAttachment(key: AttachmentKey, netnsPath: string, store: Store, deps: PluginDeps): void {
  const attachmentLock = store.lockAttachment(key, deps.lockTimeoutMs);
  try {
    // Read under the attachment's lock: another call may have finished first, and no other
    // call can change the record (or its device) while this one holds it.
    const record = store.get(key);
    if (!record) return;
    const deviceLock = store.lockDevice(record.deviceId, deps.lockTimeoutMs);
    let dropped = false;
    try {
      killPoint("del:locked");
      bringDeviceHome(record, netnsPath, deps);
      killPoint("del:released");
      takeBackDeviceInfo(record, deps);
      store.remove(record);
      killPoint("del:dropped");
      dropped = true;
    } finally {
      deviceLock.release({ removeFile: dropped });
    }
  } finally {
    attachmentLock.release({ removeFile: true });
  }
}

/**
 * The device back on the host under its host name, or nowhere to be had (netns gone, RDMA gone,
 * shared mode); throws otherwise. A device the pod renamed gets its host name back inside the pod
 * first; one the kernel already returned (the netns died) gets it on the host.
 */
function bringDeviceHome(record: AttachmentRecord, netnsPath: string, deps: PluginDeps): void {
  const path = netnsPath !== "" ? netnsPath : record.netns;
  let pod: NetnsHandle | undefined;
  try {
    pod = deps.netns.open(path);
  } catch (e) {
    if (!(e instanceof NetnsError)) throw e;
    deps.log.info("DEL: pod netns is gone; the kernel returned the device to the host", { netns: path, device: record.podRdmaDevice ?? record.rdmaDevice, reason: e.message });
  }
  if (pod) {
    try {
      renameBackInPod(record, pod, deps);
      const outcome = moveOut(record, pod, deps);
      if (outcome === "moved") deps.log.info("RDMA device moved back to the host", { device: record.rdmaDevice, deviceId: record.deviceId });
      else deps.log.info("DEL: nothing to move back", { device: record.rdmaDevice, phase: record.phase, why: outcome === "not-in-pod" ? "the device is not in the pod netns (already back, or gone)" : outcome });
    } finally {
      deps.netns.close(pod);
    }
  }
  renameBackOnHost(record, deps);
}

/** Inside the pod: the host name back before the move, so the host never sees the pod's name. */
function renameBackInPod(record: AttachmentRecord, pod: NetnsHandle, deps: PluginDeps): void {
  if (record.podRdmaDevice === undefined) return;
  guarded(record, deps, () => restoreHostName(deps, pod, record.rdmaIndex, record.rdmaDevice, record.podRdmaDevice ?? record.rdmaDevice));
  killPoint("del:renamed");
}

/** On the host: a device that came back under the pod's name (its netns died, or a crash came between). */
function renameBackOnHost(record: AttachmentRecord, deps: PluginDeps): void {
  if (record.podRdmaDevice === undefined) return;
  const name = guarded(record, deps, () => restoreHostName(deps, undefined, record.rdmaIndex, record.rdmaDevice, record.podRdmaDevice ?? record.rdmaDevice));
  if (name !== undefined && name !== record.rdmaDevice) deps.log.warn("DEL: RDMA device left on the host under another name", { device: name, hostName: record.rdmaDevice });
}

/** A rename of DEL: as the move, it has nothing to do when the subsystem is gone or shared. */
function guarded(record: AttachmentRecord, deps: PluginDeps, rename: () => string | undefined): string | undefined {
  try {
    return rename();
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    if (rdmaAbsent(e)) return undefined;
    if (readNetnsMode(deps.kernel).kind === "not-exclusive") return undefined;
    throw new CniError(ErrorCode.MoveFailed, `cannot give RDMA device ${record.podRdmaDevice} its host name ${record.rdmaDevice} back: ${explainMove(e)}`);
  }
}

/** Sends the device from the pod to the host; a subsystem that no longer moves devices has nothing to send. */
function moveOut(record: AttachmentRecord, pod: NetnsHandle, deps: PluginDeps): string {
  try {
    return sendBackToHost(deps, record.rdmaIndex, pod);
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    // No RDMA subsystem at all (module unloaded): no device can be left anywhere.
    if (rdmaAbsent(e)) return "the RDMA subsystem is gone";
    // A node rebooted into shared mode: devices are in every netns and never move.
    if (readNetnsMode(deps.kernel).kind === "not-exclusive") return "the RDMA subsystem is in shared mode";
    throw cannotMoveBack(record.rdmaDevice, pod.path, explainMove(e));
  }
}

/** Takes back the device-info keys ADD added; best effort: Multus deletes the file on DEL anyway. */
function takeBackDeviceInfo(record: AttachmentRecord, deps: PluginDeps): void {
  if (!record.deviceInfo) return;
  try {
    removeDeviceInfo(record.deviceInfo);
  } catch (e) {
    deps.log.warn("DEL: cannot restore the device-info file", { file: record.deviceInfo.file, error: (e as Error).message });
  }
}
