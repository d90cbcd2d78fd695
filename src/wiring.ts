/** The production dependencies of one CNI call, shared by the one-shot executable and the engine. */
import type { DepsFactory } from "./cni/dispatch.ts";
import { LinuxNetns } from "./netns/netns.ts";
import { DEVICE_INFO_ROOTS } from "./plugin/devinfo.ts";
import { NetlinkRdma } from "./rdma/netlink.ts";
import { FileStore } from "./state/store.ts";

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/** Shared by every call this process serves (the engine's many, a one-shot's one). */
const indexCache = new Map<string, number>();

export function productionDeps(env: Record<string, string | undefined>): DepsFactory {
  const lockTimeoutMs = Number(env.RDMA_CNI_LOCK_TIMEOUT_MS) || DEFAULT_LOCK_TIMEOUT_MS;
  return (log) => ({
    kernel: new NetlinkRdma(),
    netns: new LinuxNetns(),
    sysfsRoot: env.RDMA_CNI_SYSFS_ROOT || "/sys",
    log,
    lockTimeoutMs,
    now: () => new Date(),
    openStore: (dir) => new FileStore(dir).init(),
    deviceInfoRoots: DEVICE_INFO_ROOTS,
    indexCache,
  });
}
