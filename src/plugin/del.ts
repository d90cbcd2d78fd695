/**
 * DEL: idempotent. Moves the device back to the host if it is in the pod's netns, then drops the
 * record. A netns that is gone took nothing with it: the kernel hands a dying netns's RDMA devices
 * back to the host.
 */
import { NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { AttachmentKey, AttachmentRecord, Store } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { removeDeviceInfo } from "./devinfo.ts";
import { killPoint } from "./killpoints.ts";
import { explainMove, sendBackToHost } from "./kernel-steps.ts";
import { rdmaAbsent, readNetnsMode } from "../rdma/facts.ts";

export function del(req: Request, deps: PluginDeps): void {
  const { env, conf } = req;
  const store = req.openStore();
  const key = { network: conf.name, containerId: env.containerId, ifName: env.ifName };
  if (!store.get(key)) {
    deps.log.debug("DEL: no record, nothing to do", { ...key });
    return;
  }
  releaseAttachment(key, env.netns, store, deps);
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
    const lock = store.lockDevice(record.deviceId, deps.lockTimeoutMs);
    killPoint("del:locked");
    let dropped = false;
    try {
      dropped = bringHome(record, netnsPath, store, deps);
    } finally {
      lock.release({ removeFile: dropped });
    }
  } finally {
    attachmentLock.release({ removeFile: true });
  }
}

/** Returns true when the record was dropped. */
function bringHome(record: AttachmentRecord, netnsPath: string, store: Store, deps: PluginDeps): boolean {
  const path = netnsPath !== "" ? netnsPath : record.netns;
  let pod: NetnsHandle;
  try {
    pod = deps.netns.open(path);
  } catch (e) {
    if (!(e instanceof NetnsError)) throw e;
    deps.log.info("DEL: pod netns is gone; the kernel returned the device to the host", { netns: path, device: record.rdmaDevice, reason: e.message });
    dropRecord(record, store, deps);
    return true;
  }
  try {
    let outcome: string;
    try {
      outcome = sendBackToHost(deps, record.rdmaIndex, pod);
    } catch (e) {
      if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
      if (rdmaAbsent(e)) {
        // No RDMA subsystem at all (module unloaded): no device can be left anywhere.
        outcome = "the RDMA subsystem is gone";
      } else if (readNetnsMode(deps.kernel).kind === "not-exclusive") {
        // A node rebooted into shared mode: devices are in every netns and never move.
        outcome = "the RDMA subsystem is in shared mode";
      } else {
        throw new CniError(ErrorCode.MoveFailed, `cannot move RDMA device ${record.rdmaDevice} from netns ${pod.path} back to the host: ${explainMove(e)}`);
      }
    }
    if (outcome === "moved") deps.log.info("RDMA device moved back to the host", { device: record.rdmaDevice, deviceId: record.deviceId });
    else deps.log.info("DEL: nothing to move back", { device: record.rdmaDevice, phase: record.phase, why: outcome === "not-in-pod" ? "the device is not in the pod netns (already back, or gone)" : outcome });
    dropRecord(record, store, deps);
    return true;
  } finally {
    deps.netns.close(pod);
  }
}

/** Takes back the device-info keys ADD added (best effort: Multus deletes the file on DEL anyway), then the record. */
function dropRecord(record: AttachmentRecord, store: Store, deps: PluginDeps): void {
  killPoint("del:released");
  if (record.deviceInfo) {
    try {
      removeDeviceInfo(record.deviceInfo);
    } catch (e) {
      deps.log.warn("DEL: cannot restore the device-info file", { file: record.deviceInfo.file, error: (e as Error).message });
    }
  }
  store.remove(record);
  killPoint("del:dropped");
}
