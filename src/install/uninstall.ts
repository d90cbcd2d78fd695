/**
 * `rdma install --uninstall`: takes this plugin off a node (docs/migration.md). First every live
 * attachment is handed over to the Go rdma-cni's record format (handover.ts), so whichever plugin
 * runs DEL for those pods brings their devices home; then `rdma-engine` and the `rdma` of ours
 * (the shim, or the one-shot executable) leave the CNI bin dir. An `rdma` that is not ours (the
 * Go plugin's, copied there by its DaemonSet) stays; with `systemdUnitsDir`, so do the systemd
 * units `--systemd-units` wrote there (systemd-units.ts). An attachment it cannot hand over keeps
 * the plugin installed (exit 1): our DEL is then the only one that knows it.
 */
import * as fs from "node:fs";
import { readSettings } from "../config/settings.ts";
import type { Logger } from "../log.ts";
import { LinuxNetns } from "../netns/netns.ts";
import { NetlinkRdma } from "../rdma/netlink.ts";
import { FileStore } from "../state/store.ts";
import { describeErrno, InstallError } from "./errors.ts";
import { handOverToGoPlugin, type HandoverSummary } from "./handover.ts";
import { ENGINE_NAME, INSTALLED_NAME } from "./options.ts";
import { removeSystemdUnits } from "./systemd-units.ts";

/** Both of our executables hold this name (the shim reads it, the engine sets it); the Go plugin's does not. */
const OUR_MARKER = "RDMA_CNI_ENGINE_SOCKET";

export interface UninstallOptions {
  /**
   * Our plugin keeps serving until the Go plugin's DaemonSet copies its `rdma` over ours: the
   * handover runs once before and once right after that, so an attachment made in between is
   * handed over too, and only a pod deleted within a poll of the swap misses it.
   */
  waitReplaced?: boolean;
  /** Where `rdma install --systemd-units` wrote the units, removed with the executables. */
  systemdUnitsDir?: string;
  pollMs?: number;
}

export async function uninstall(cniBinDir: string, env: Record<string, string | undefined>, log: Logger, opts: UninstallOptions = {}): Promise<HandoverSummary> {
  const { waitReplaced = false, systemdUnitsDir, pollMs = 1000 } = opts;
  const settings = readSettings(env);
  const stateDir = settings.stateDir ?? "/run/cni/rdma";
  const handOver = (): HandoverSummary => {
    if (!fs.existsSync(stateDir)) return { handedOver: [], dropped: [], kept: [] };
    const deps = { store: new FileStore(stateDir).init(), goStateDir: settings.goStateDir, kernel: new NetlinkRdma(), netns: new LinuxNetns(), log, lockTimeoutMs: settings.lockTimeoutMs };
    const s = handOverToGoPlugin(deps);
    log.info("attachments handed over to the Go rdma-cni's records", { stateDir, goStateDir: settings.goStateDir, handedOver: s.handedOver.length, dropped: s.dropped.length, kept: s.kept.length });
    return s;
  };
  let summary = handOver();
  if (waitReplaced) {
    const rdma = `${cniBinDir}/${INSTALLED_NAME}`;
    log.info(`waiting until ${rdma} is no longer this plugin's (the Go rdma-cni's DaemonSet copies its own over it)`);
    const ours = oursWatcher(rdma);
    while (ours()) await Bun.sleep(pollMs);
    const after = handOver();
    summary = { handedOver: [...summary.handedOver, ...after.handedOver], dropped: [...summary.dropped, ...after.dropped], kept: after.kept };
  }
  for (const k of summary.kept) log.warn("attachment not handed over", k);
  if (summary.kept.length > 0) {
    // Our DEL is what still knows those attachments: the plugin stays until they are dealt with.
    log.error("the plugin stays installed: release or fix the attachments above (rdma doctor), then run --uninstall again", { cniBinDir });
    return summary;
  }
  removeIfOurs(`${cniBinDir}/${INSTALLED_NAME}`, log);
  removeIfOurs(`${cniBinDir}/${ENGINE_NAME}`, log);
  if (systemdUnitsDir !== undefined) removeSystemdUnits(systemdUnitsDir, log);
  return summary;
}

function removeIfOurs(file: string, log: Logger): void {
  let ours: boolean;
  try {
    ours = holdsMarker(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new InstallError(`cannot read ${file}: ${describeErrno(e)}`);
  }
  if (!ours) {
    log.info(`left ${file}: it is not this plugin's (the Go rdma-cni's, or another)`);
    return;
  }
  try {
    fs.unlinkSync(file);
  } catch (e) {
    throw new InstallError(`cannot remove ${file}: ${describeErrno(e)}`);
  }
  log.info(`removed ${file}`);
}

/** Whether `file` is ours now; the file is read again only when its inode, size or mtime changed. */
function oursWatcher(file: string): () => boolean {
  let seen = "";
  let ours = true;
  return () => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return true; // between the Go DaemonSet's unlink and its copy, or not there yet
    }
    const now = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (now !== seen) {
      seen = now;
      ours = holdsMarker(file);
    }
    return ours;
  };
}

/** Scans the file for OUR_MARKER in chunks (the engine is over 100 MB). */
function holdsMarker(file: string): boolean {
  const marker = Buffer.from(OUR_MARKER);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return false;
      const window = Buffer.concat([carry, buf.subarray(0, n)]);
      if (window.includes(marker)) return true;
      carry = window.subarray(Math.max(0, window.length - marker.length + 1));
    }
  } finally {
    fs.closeSync(fd);
  }
}
