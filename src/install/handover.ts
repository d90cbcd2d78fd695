/**
 * The way back to the Go rdma-cni without stranding a device: every attachment of ours whose
 * device is in its pod's netns becomes a record in the Go plugin's format (state/go-state.ts),
 * and our record goes. The Go plugin's DEL then brings the device home, and so does ours (it reads
 * the Go plugin's records too, plugin/del-go.ts), whichever plugin the node runs when the pod goes.
 * Each attachment is handed over under its locks, so no DEL of ours runs on it meanwhile.
 */
import type { Logger } from "../log.ts";
import type { Netns, NetnsHandle } from "../netns/netns.ts";
import type { RdmaKernel } from "../rdma/kernel.ts";
import { GO_RECORD_VERSION, goRecordPath, readGoRecord, writeGoRecord } from "../state/go-state.ts";
import { type AttachmentRecord, describeKey, type Store } from "../state/store.ts";

interface HandoverDeps {
  store: Store;
  goStateDir: string;
  kernel: RdmaKernel;
  netns: Netns;
  log: Logger;
  lockTimeoutMs: number;
}

export interface HandoverSummary {
  /** Go records written (their files). */
  handedOver: string[];
  /** Records dropped without a Go record: their netns is gone, so their device is home. */
  dropped: string[];
  /** Records left as they are, and why. */
  kept: { attachment: string; why: string }[];
}

export function handOverToGoPlugin(deps: HandoverDeps): HandoverSummary {
  const summary: HandoverSummary = { handedOver: [], dropped: [], kept: [] };
  const { records, unreadable } = deps.store.list();
  for (const u of unreadable) summary.kept.push({ attachment: u.file, why: `not a record: ${u.reason}` });
  for (const record of records) {
    const attachment = describeKey(record);
    try {
      handOver(record, deps, summary);
    } catch (e) {
      summary.kept.push({ attachment, why: (e as Error).message });
    }
  }
  return summary;
}

function handOver(record: AttachmentRecord, deps: HandoverDeps, summary: HandoverSummary): void {
  const { store } = deps;
  const attachment = describeKey(record);
  const attachmentLock = store.lockAttachment(record, deps.lockTimeoutMs);
  try {
    const current = store.get(record);
    if (!current) return; // released meanwhile
    const deviceLock = store.lockDevice(current.deviceId, deps.lockTimeoutMs);
    let gone = false;
    try {
      const nameInPod = deviceNameInPod(current, deps);
      if (nameInPod === "netns-gone") {
        store.remove(current);
        summary.dropped.push(attachment);
        gone = true;
        return;
      }
      if (nameInPod === undefined) {
        summary.kept.push({ attachment, why: `its device ${current.rdmaDevice} is not in netns ${current.netns}` });
        return;
      }
      const existing = readGoRecord(deps.goStateDir, current);
      if (existing !== undefined && "error" in existing) {
        summary.kept.push({ attachment, why: `a file of that name in ${deps.goStateDir} is not a Go rdma-cni record: ${existing.error}` });
        return;
      }
      const file = existing
        ? (goRecordPath(deps.goStateDir, current) as string)
        : writeGoRecord(deps.goStateDir, current, { version: GO_RECORD_VERSION, deviceID: current.deviceId, sandboxRdmaDevName: current.rdmaDevice, containerRdmaDevName: nameInPod });
      store.remove(current);
      summary.handedOver.push(file);
      gone = true;
      deps.log.info("attachment handed over to the Go rdma-cni", { attachment, goRecord: file, device: nameInPod });
    } finally {
      deviceLock.release({ removeFile: gone });
    }
  } finally {
    attachmentLock.release({ removeFile: true });
  }
}

/** The device's name in its pod's netns (the Go plugin's DEL looks it up by name there); undefined when not there. */
function deviceNameInPod(record: AttachmentRecord, deps: HandoverDeps): string | undefined | "netns-gone" {
  let pod: NetnsHandle;
  try {
    pod = deps.netns.open(record.netns);
  } catch {
    return "netns-gone";
  }
  try {
    return deps.netns.inside(pod, () => deps.kernel.listDevices()).find((d) => d.index === record.rdmaIndex)?.name;
  } finally {
    deps.netns.close(pod);
  }
}
