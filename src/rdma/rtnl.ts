/**
 * The rtnetlink (NETLINK_ROUTE) exchanges of ADD's deviceID fallback, as pure functions over bytes:
 * RTM_GETLINK for one interface by name and the parent device the kernel names in its answer; a
 * dump of every link with its VFs' administrative MACs (the Go rdma-cni's way, for older kernels).
 * Layouts: include/uapi/linux/rtnetlink.h (RTM_*, struct ifinfomsg, RTEXT_FILTER_*) and
 * include/uapi/linux/if_link.h (IFLA_*). IFLA_PARENT_DEV_NAME and IFLA_PARENT_DEV_BUS_NAME
 * arrived in Linux 5.14; an older kernel answers without them.
 */
import {
  align4,
  attrString,
  type AttrValue,
  decodeAttrs,
  encodeRequest,
  NetlinkDecodeError,
  NLA_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "./nldev.ts";

export const NETLINK_ROUTE = 0;
export const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
/** struct ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32. */
const IFINFOMSG_BYTES = 16;

export const IflaAttr = {
  IFNAME: 3, // string
  EXT_MASK: 29, // u32, RTEXT_FILTER_*
  PARENT_DEV_NAME: 56, // string: dev_name() of the netdev's parent device
  PARENT_DEV_BUS_NAME: 57, // string: the name of that device's bus, when it has one
} as const;

/** Leaves the counters out of the answer: the plugin reads three strings of it. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/**
 * RTM_GETLINK for the interface named `ifName` (index 0: by name), with an ACK after the answer.
 * The request is the netlink header, an ifinfomsg of zeros (AF_UNSPEC, any index), then the
 * attributes.
 */
export function getLinkByName(seq: number, ifName: string): Uint8Array {
  const attrs: AttrValue[] = [
    { type: IflaAttr.IFNAME, str: ifName },
    { type: IflaAttr.EXT_MASK, u32: RTEXT_FILTER_SKIP_STATS },
  ];
  const plain = encodeRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, attrs);
  const out = new Uint8Array(plain.length + IFINFOMSG_BYTES);
  out.set(plain.subarray(0, NLMSG_HDRLEN), 0);
  out.set(plain.subarray(NLMSG_HDRLEN), NLMSG_HDRLEN + IFINFOMSG_BYTES);
  new DataView(out.buffer).setUint32(0, out.length, true);
  return out;
}

/** The device a netdev sits on, as the kernel names it: `0000:03:00.2` on bus `pci`, `mlx5_core.sf.4` on `auxiliary`, `virtio0` on `virtio`. */
export interface NetdevParent {
  name: string;
  /** Absent for a parent device on no bus. */
  bus?: string;
}

interface LinkAnswer {
  ifName: string | undefined;
  /** Absent: a netdev without a parent device (veth, a bridge), or a kernel before 5.14. */
  parent: NetdevParent | undefined;
}

const LINK_ATTRS: readonly number[] = [IflaAttr.IFNAME, IflaAttr.PARENT_DEV_NAME, IflaAttr.PARENT_DEV_BUS_NAME];

/** The interface name and parent device of one RTM_NEWLINK answer's payload (after the netlink header). */
export function decodeLinkParent(payload: Uint8Array): LinkAnswer {
  if (payload.length < IFINFOMSG_BYTES) throw new NetlinkDecodeError(`RTM_NEWLINK payload of ${payload.length} bytes has no ifinfomsg`);
  const attrs = decodeAttrs(payload.subarray(IFINFOMSG_BYTES), LINK_ATTRS);
  const name = attrString(attrs, IflaAttr.PARENT_DEV_NAME);
  const bus = attrString(attrs, IflaAttr.PARENT_DEV_BUS_NAME);
  const parent = name === undefined || name === "" ? undefined : bus === undefined || bus === "" ? { name } : { name, bus };
  return { ifName: attrString(attrs, IflaAttr.IFNAME), parent };
}

// The Go rdma-cni's way to a VF (for kernels that name no parent device): the administrative MACs
// the PFs give their VFs, from a dump of every link with its VF information.

export const IFLA_VFINFO_LIST = 22; // nested: IFLA_VF_INFO entries
export const IFLA_VF_INFO = 1; // nested: IFLA_VF_* of one VF
export const IFLA_VF_MAC = 1; // struct ifla_vf_mac { u32 vf; u8 mac[32]; }
const RTEXT_FILTER_VF = 1 << 0;

/** RTM_GETLINK dump of every link, each PF's with its VFs (RTEXT_FILTER_VF), without counters. */
export function getLinksWithVfs(seq: number): Uint8Array {
  const plain = encodeRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, [{ type: IflaAttr.EXT_MASK, u32: RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS }]);
  const out = new Uint8Array(plain.length + IFINFOMSG_BYTES);
  out.set(plain.subarray(0, NLMSG_HDRLEN), 0);
  out.set(plain.subarray(NLMSG_HDRLEN), NLMSG_HDRLEN + IFINFOMSG_BYTES);
  new DataView(out.buffer).setUint32(0, out.length, true);
  return out;
}

/** A VF's administrative MAC as its PF reports it. */
export interface VfMac {
  pf: string;
  vf: number;
  /** Lower-case, colon-separated, the first 6 bytes (as the Go plugin's netlink library reads it). */
  mac: string;
}

/** Every attribute of a payload, repeated types included (decodeAttrs keeps only the first). */
function eachAttr(payload: Uint8Array, fn: (type: number, value: Uint8Array) => void): void {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= payload.length) {
    const len = dv.getUint16(off, true);
    if (len < NLA_HDRLEN || off + len > payload.length) throw new NetlinkDecodeError(`attribute length ${len} at offset ${off} exceeds payload of ${payload.length}`);
    fn(dv.getUint16(off + 2, true) & 0x3fff, payload.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

/** The VFs' administrative MACs in one RTM_NEWLINK answer's payload; none for a link without VFs. */
export function decodeVfMacs(payload: Uint8Array): VfMac[] {
  if (payload.length < IFINFOMSG_BYTES) throw new NetlinkDecodeError(`RTM_NEWLINK payload of ${payload.length} bytes has no ifinfomsg`);
  const attrs = payload.subarray(IFINFOMSG_BYTES);
  const pf = attrString(decodeAttrs(attrs, [IflaAttr.IFNAME]), IflaAttr.IFNAME);
  const out: VfMac[] = [];
  eachAttr(attrs, (type, list) => {
    if (type !== IFLA_VFINFO_LIST || pf === undefined) return;
    eachAttr(list, (infoType, info) => {
      if (infoType !== IFLA_VF_INFO) return;
      eachAttr(info, (vfType, v) => {
        if (vfType !== IFLA_VF_MAC) return;
        if (v.length < 4 + 6) throw new NetlinkDecodeError(`IFLA_VF_MAC of ${v.length} bytes`);
        const vf = new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
        out.push({ pf, vf, mac: Array.from(v.subarray(4, 10), hex2).join(":") });
      });
    });
  });
  return out;
}
