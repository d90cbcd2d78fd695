/** What the plugin's verbs work with: interfaces only, wired by src/wiring.ts or by the tests' fake node. */
import type { AddInput } from "../config/call.ts";
import type { CniEnv } from "../config/env.ts";
import type { NetConf } from "../config/netconf.ts";
import type { Logger } from "../log.ts";
import type { Netns } from "../netns/netns.ts";
import type { RdmaKernel } from "../rdma/kernel.ts";
import type { Links } from "../rdma/links.ts";
import type { AttachmentKey, Store } from "../state/store.ts";

export interface PluginDeps {
  kernel: RdmaKernel;
  /** Which device a pod's netdev sits on: ADD's deviceID when the config names none. */
  links: Links;
  netns: Netns;
  sysfsRoot: string;
  log: Logger;
  lockTimeoutMs: number;
  now(): Date;
  /** The Go rdma-cni's records: DEL releases an attachment it made (plugin/del-go.ts). */
  goStateDir: string;
  /** Opens (creating if needed) the record store in a state directory. */
  openStore(dir: string): Store;
  /**
   * RDMA device name to index, as the last dump of this process saw them: the engine keeps one
   * for its life, so an ADD asks the kernel for one device instead of dumping all of them. Every
   * use is checked against the kernel; a one-shot call has none.
   */
  indexCache?: Map<string, number>;
}

export interface Request {
  env: CniEnv;
  conf: NetConf;
  /** The attachment the call is about (the config's network, CNI_CONTAINERID, CNI_IFNAME). */
  key: AttachmentKey;
  /**
   * The record store, opened (its directories created) on the first call. A verb calls it only
   * after its input checks, so a refused call writes nothing.
   */
  openStore(): Store;
}

/** ADD's request: its device, prevResult and device-info file come resolved with the call. */
export interface AddRequest extends Request {
  add: AddInput;
}
