/**
 * GC: every record of this network that is not in cni.dev/valid-attachments is released as DEL
 * would. One failure does not stop the rest; all of them are reported together.
 */
import { asCniError, CniError, ErrorCode } from "../errors.ts";
import { attachmentKey, sameKey } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { releaseAttachment } from "./del.ts";

export function gc(req: Request, deps: PluginDeps): void {
  const { conf } = req;
  if (!conf.validAttachments) {
    throw new CniError(ErrorCode.InvalidConfig, "invalid network config: cni.dev/valid-attachments is missing: GC needs the list of attachments to keep");
  }
  const store = req.openStore();
  const keep = conf.validAttachments.map((a) => attachmentKey(conf.name, a.containerID, a.ifname));
  const { records, unreadable } = store.list();
  for (const u of unreadable) deps.log.warn("GC: skipping a file that is not a valid record", u);
  const failures: string[] = [];
  let released = 0;
  for (const record of records) {
    if (record.network !== conf.name || keep.some((k) => sameKey(k, record))) continue;
    try {
      releaseAttachment(record, "", store, deps);
      released++;
    } catch (e) {
      failures.push(`container ${record.containerId} interface ${record.ifName} (${record.rdmaDevice}): ${asCniError(e).message}`);
    }
  }
  deps.log.info("GC done", { released, failed: failures.length });
  if (failures.length > 0) {
    throw new CniError(ErrorCode.GcIncomplete, `GC could not release ${failures.length} of ${released + failures.length} stale attachments`, failures.join("; "));
  }
}
