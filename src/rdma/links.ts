/**
 * Network interfaces as the plugin asks about them: which device a netdev sits on. Production
 * asks rtnetlink (NetlinkLinks); the host tests' fake node answers from its own table.
 */
import { KernelError } from "./kernel.ts";
import { type NetlinkSocket, openNetlinkSocket, transact } from "./netlink.ts";
import { decodeLinkParent, decodeVfMacs, getLinkByName, getLinksWithVfs, NETLINK_ROUTE, type NetdevParent, RTM_NEWLINK, type VfMac } from "./rtnl.ts";

export type { NetdevParent, VfMac };

export interface Links {
  /**
   * The parent device of the netdev `ifName` in the calling thread's netns; undefined when the
   * kernel names none. Throws KernelError (ENODEV: no such interface there).
   */
  parentOf(ifName: string): NetdevParent | undefined;
  /** The administrative MAC of every VF of every PF in the calling thread's netns. */
  vfMacs(): VfMac[];
}

export class NetlinkLinks implements Links {
  constructor(private readonly open: () => NetlinkSocket = () => openNetlinkSocket(NETLINK_ROUTE)) {}

  parentOf(ifName: string): NetdevParent | undefined {
    const op = `get link ${ifName}`;
    const answer = transact(this.open, op, (seq) => getLinkByName(seq, ifName)).find((m) => m.type === RTM_NEWLINK);
    if (!answer) throw new KernelError(op, 0, `${op}: no RTM_NEWLINK in the kernel's answer`);
    return decodeLinkParent(answer.payload).parent;
  }

  vfMacs(): VfMac[] {
    return transact(this.open, "list links with their VFs", getLinksWithVfs)
      .filter((m) => m.type === RTM_NEWLINK)
      .flatMap((m) => decodeVfMacs(m.payload));
  }
}
