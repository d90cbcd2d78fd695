/**
 * RDMA netlink (NLDEV) messages as pure functions over bytes.
 * Layouts: include/uapi/linux/netlink.h (nlmsghdr, nlattr, nlmsgerr) and
 * include/uapi/rdma/rdma_netlink.h (RDMA_NL_GET_TYPE, RDMA_NLDEV_CMD_*, RDMA_NLDEV_ATTR_*).
 * Host byte order is little-endian on every platform we ship (amd64, arm64).
 */

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;

const RDMA_NL_NLDEV = 5;
export const NldevCmd = {
  GET: 1,
  SET: 2,
  SYS_GET: 6,
  SYS_SET: 7,
} as const;

export const NldevAttr = {
  DEV_INDEX: 1, // u32
  DEV_NAME: 2, // NUL-terminated string
  NDEV_INDEX: 50, // u32
  NDEV_NAME: 51, // string
  SYS_ATTR_NETNS_MODE: 66, // u8: 0 exclusive, 1 shared
  NET_NS_FD: 68, // u32
} as const;

/** RDMA_NL_GET_TYPE(client, op) */
export function rdmaMessageType(op: number): number {
  return (RDMA_NL_NLDEV << 10) + op;
}

export const align4 = (n: number): number => (n + 3) & ~3;

export type AttrValue = { type: number; u32: number } | { type: number; u8: number } | { type: number; str: string };

function attrPayload(a: AttrValue): Uint8Array {
  if ("u32" in a) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, a.u32 >>> 0, true);
    return b;
  }
  if ("u8" in a) return Uint8Array.of(a.u8 & 0xff);
  const s = new TextEncoder().encode(a.str);
  const b = new Uint8Array(s.length + 1);
  b.set(s);
  return b;
}

/** Encodes one netlink request: header, then each attribute padded to 4 bytes. */
export function encodeRequest(type: number, flags: number, seq: number, attrs: readonly AttrValue[]): Uint8Array {
  const payloads = attrs.map((a) => ({ type: a.type, data: attrPayload(a) }));
  const len = NLMSG_HDRLEN + payloads.reduce((n, p) => n + align4(NLA_HDRLEN + p.data.length), 0);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, 0, true);
  let off = NLMSG_HDRLEN;
  for (const p of payloads) {
    dv.setUint16(off, NLA_HDRLEN + p.data.length, true);
    dv.setUint16(off + 2, p.type, true);
    out.set(p.data, off + NLA_HDRLEN);
    off += align4(NLA_HDRLEN + p.data.length);
  }
  return out;
}

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Bytes after the 16-byte header. */
  payload: Uint8Array;
}

export class NetlinkDecodeError extends Error {}

/** Splits a datagram into netlink messages; rejects lengths that do not fit. */
export function decodeMessages(buf: Uint8Array): NetlinkMessage[] {
  const msgs: NetlinkMessage[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkDecodeError(`netlink message length ${len} at offset ${off} exceeds datagram of ${buf.length}`);
    }
    msgs.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length) throw new NetlinkDecodeError(`${buf.length - off} trailing bytes after the last netlink message`);
  return msgs;
}

/**
 * Attributes of a message payload: type (NLA_TYPE_MASK applied) to value bytes; the first
 * occurrence wins. With `only`, other types are checked for length but not kept.
 */
export function decodeAttrs(payload: Uint8Array, only?: readonly number[]): Map<number, Uint8Array> {
  const attrs = new Map<number, Uint8Array>();
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= payload.length) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true) & 0x3fff;
    if (len < NLA_HDRLEN || off + len > payload.length) {
      throw new NetlinkDecodeError(`attribute ${type} length ${len} at offset ${off} exceeds payload of ${payload.length}`);
    }
    if (!attrs.has(type) && (only === undefined || only.includes(type))) attrs.set(type, payload.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return attrs;
}

function attrU32(attrs: Map<number, Uint8Array>, type: number): number | undefined {
  const v = attrs.get(type);
  if (v === undefined) return undefined;
  if (v.length < 4) throw new NetlinkDecodeError(`attribute ${type} is ${v.length} bytes, want 4`);
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
}

function attrU8(attrs: Map<number, Uint8Array>, type: number): number | undefined {
  const v = attrs.get(type);
  if (v === undefined) return undefined;
  if (v.length < 1) throw new NetlinkDecodeError(`attribute ${type} is empty, want 1 byte`);
  return v[0];
}

const utf8 = new TextDecoder();

export function attrString(attrs: Map<number, Uint8Array>, type: number): string | undefined {
  const v = attrs.get(type);
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return utf8.decode(nul >= 0 ? v.subarray(0, nul) : v);
}

/** The errno of an NLMSG_ERROR message (0 for an ACK), as a positive number. */
export function decodeError(payload: Uint8Array): number {
  if (payload.length < 4) throw new NetlinkDecodeError(`NLMSG_ERROR payload of ${payload.length} bytes`);
  const error = new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true);
  return error === 0 ? 0 : -error;
}

// The requests the plugin sends.

export function getDevicesDump(seq: number): Uint8Array {
  return encodeRequest(rdmaMessageType(NldevCmd.GET), NLM_F_REQUEST | NLM_F_DUMP, seq, []);
}

/** One device by index (the doit form of GET); the kernel answers the device, then the ACK. */
export function getDeviceRequest(seq: number, devIndex: number): Uint8Array {
  return encodeRequest(rdmaMessageType(NldevCmd.GET), NLM_F_REQUEST | NLM_F_ACK, seq, [{ type: NldevAttr.DEV_INDEX, u32: devIndex }]);
}

export function sysGet(seq: number): Uint8Array {
  return encodeRequest(rdmaMessageType(NldevCmd.SYS_GET), NLM_F_REQUEST | NLM_F_ACK, seq, []);
}

export function setDeviceNetns(seq: number, devIndex: number, netnsFd: number): Uint8Array {
  return encodeRequest(rdmaMessageType(NldevCmd.SET), NLM_F_REQUEST | NLM_F_ACK, seq, [
    { type: NldevAttr.DEV_INDEX, u32: devIndex },
    { type: NldevAttr.NET_NS_FD, u32: netnsFd },
  ]);
}

/**
 * Renames a device: SET with {DEV_INDEX, DEV_NAME} (nldev_set_doit, ib_device_rename). The kernel
 * finds the index only among the devices of the socket's netns, and refuses a name any device of
 * any netns has (EEXIST).
 */
export function setDeviceName(seq: number, devIndex: number, name: string): Uint8Array {
  return encodeRequest(rdmaMessageType(NldevCmd.SET), NLM_F_REQUEST | NLM_F_ACK, seq, [
    { type: NldevAttr.DEV_INDEX, u32: devIndex },
    { type: NldevAttr.DEV_NAME, str: name },
  ]);
}

export type NetnsMode = "exclusive" | "shared";

export interface RdmaDevice {
  index: number;
  name: string;
}

/** A device from one RDMA_NLDEV_CMD_GET reply. */
export function decodeDevice(payload: Uint8Array): RdmaDevice {
  // Only the two attributes the plugin uses: a dump at 256 devices brings thousands it never reads.
  const attrs = decodeAttrs(payload, DEVICE_ATTRS);
  const index = attrU32(attrs, NldevAttr.DEV_INDEX);
  const name = attrString(attrs, NldevAttr.DEV_NAME);
  if (index === undefined || name === undefined) throw new NetlinkDecodeError("device reply without DEV_INDEX or DEV_NAME");
  return { index, name };
}
const DEVICE_ATTRS: readonly number[] = [NldevAttr.DEV_INDEX, NldevAttr.DEV_NAME];

export function decodeNetnsMode(payload: Uint8Array): NetnsMode {
  const mode = attrU8(decodeAttrs(payload), NldevAttr.SYS_ATTR_NETNS_MODE);
  if (mode === undefined) throw new NetlinkDecodeError("SYS_GET reply without SYS_ATTR_NETNS_MODE");
  return mode === 0 ? "exclusive" : "shared";
}
