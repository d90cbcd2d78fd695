/** The production dependencies of one CNI call, shared by the one-shot executable and the engine. */
import type { DepsFactory } from "./cni/dispatch.ts";
import { LinuxNetns } from "./netns/netns.ts";
import { DEVICE_INFO_ROOTS } from "./plugin/devinfo.ts";
import { NetlinkLinks } from "./rdma/links.ts";
import { NetlinkRdma } from "./rdma/netlink.ts";
import { FileStore } from "./state/store.ts";

/** Shared by every call this process serves (the engine's many, a one-shot's one). */
const indexCache = new Map<string, number>();

/** The real kernel, netns and state dir; the call's RDMA_CNI_* settings come parsed (config/input.ts). */
export function productionDeps(): DepsFactory {
  return (log, settings) => ({
    kernel: new NetlinkRdma(),
    links: new NetlinkLinks(),
    netns: new LinuxNetns(),
    sysfsRoot: settings.sysfsRoot,
    log,
    lockTimeoutMs: settings.lockTimeoutMs,
    goStateDir: settings.goStateDir,
    now: () => new Date(),
    openStore: (dir) => new FileStore(dir).init(),
    deviceInfoRoots: DEVICE_INFO_ROOTS,
    indexCache,
  });
}
