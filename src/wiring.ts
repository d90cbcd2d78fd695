/** The production verbs of a CNI call, shared by the one-shot executable and the engine. */
import { LinuxNetns } from "./netns/netns.ts";
import { type CniFuncs, pluginFuncs } from "./plugin/verbs.ts";
import { NetlinkLinks } from "./rdma/links.ts";
import { NetlinkRdma } from "./rdma/netlink.ts";
import { FileStore } from "./state/store.ts";

/** Shared by every call this process serves (the engine's many, a one-shot's one). */
const indexCache = new Map<string, number>();

/** The verbs over the real kernel, netns and state dir; each call's RDMA_CNI_* settings come resolved (config/call.ts). */
export function productionFuncs(): CniFuncs {
  return pluginFuncs((log, settings) => ({
    kernel: new NetlinkRdma(),
    links: new NetlinkLinks(),
    netns: new LinuxNetns(),
    sysfsRoot: settings.sysfsRoot,
    log,
    lockTimeoutMs: settings.lockTimeoutMs,
    goStateDir: settings.goStateDir,
    now: () => new Date(),
    openStore: (dir) => new FileStore(dir).init(),
    indexCache,
  }));
}
