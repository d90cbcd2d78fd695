/** The rtnetlink link query, byte for byte against linux/rtnetlink.h (ifinfomsg) and linux/if_link.h (IFLA_*). */
import { expect, test } from "bun:test";
import { NetlinkDecodeError } from "../../src/rdma/nldev.ts";
import {
  decodeLinkParent,
  decodeVfMacs,
  getLinkByName,
  getLinksWithVfs,
  IFLA_VF_INFO,
  IFLA_VF_MAC,
  IFLA_VFINFO_LIST,
  IflaAttr,
  RTEXT_FILTER_SKIP_STATS,
} from "../../src/rdma/rtnl.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

test("the attribute numbers are if_link.h's (IFLA_PARENT_DEV_NAME and _BUS_NAME since 5.14)", () => {
  expect(IflaAttr).toEqual({ IFNAME: 3, EXT_MASK: 29, PARENT_DEV_NAME: 56, PARENT_DEV_BUS_NAME: 57 });
  expect(RTEXT_FILTER_SKIP_STATS).toBe(8);
  expect([IFLA_VFINFO_LIST, IFLA_VF_INFO, IFLA_VF_MAC]).toEqual([22, 1, 1]);
});

test("RTM_GETLINK by name: header, an ifinfomsg of zeros, IFLA_IFNAME, IFLA_EXT_MASK skipping the stats", () => {
  expect(hex(getLinkByName(7, "net1"))).toBe(
    hex(
      bytes(`
        34000000 1200 0500 07000000 00000000
        00 00 0000 00000000 00000000 00000000
        0900 0300 6e657431 00 000000
        0800 1d00 08000000`),
    ),
  );
});

test("a 15-byte interface name fills its attribute exactly (16 bytes with the NUL, no padding)", () => {
  const msg = getLinkByName(1, "abcdefghijklmno");
  expect(msg.length).toBe(16 + 16 + 20 + 8);
  expect(hex(msg.subarray(32, 52))).toBe(hex(bytes(`1400 0300 ${Buffer.from("abcdefghijklmno").toString("hex")} 00`)));
});

/** An RTM_NEWLINK payload: ifinfomsg (index 5), then the given attributes. */
function newlink(...attrs: [number, string][]): Uint8Array {
  const parts = [bytes("00 00 0100 05000000 43100100 00000000")];
  for (const [type, value] of attrs) {
    const data = Buffer.from(`${value}\0`);
    const len = 4 + data.length;
    const attr = new Uint8Array((len + 3) & ~3);
    new DataView(attr.buffer).setUint16(0, len, true);
    new DataView(attr.buffer).setUint16(2, type, true);
    attr.set(data, 4);
    parts.push(attr);
  }
  return new Uint8Array(Buffer.concat(parts));
}

test("a VF's netdev: its PCI function on bus pci", () => {
  const payload = newlink([3, "net1"], [4 /* IFLA_MTU, not read */, "x"], [56, "0000:03:00.2"], [57, "pci"]);
  expect(decodeLinkParent(payload)).toEqual({ ifName: "net1", parent: { name: "0000:03:00.2", bus: "pci" } });
});

test("an SF's netdev: its auxiliary device", () => {
  expect(decodeLinkParent(newlink([3, "net1"], [57, "auxiliary"], [56, "mlx5_core.sf.4"])).parent).toEqual({ name: "mlx5_core.sf.4", bus: "auxiliary" });
});

test("a parent on no bus has a name only", () => {
  expect(decodeLinkParent(newlink([3, "net1"], [56, "card0"])).parent).toEqual({ name: "card0" });
});

test("no parent attributes (veth, or a kernel before 5.14): no parent", () => {
  expect(decodeLinkParent(newlink([3, "veth0"]))).toEqual({ ifName: "veth0", parent: undefined });
});

test("a payload shorter than an ifinfomsg, or an attribute running past the end, is refused", () => {
  expect(() => decodeLinkParent(new Uint8Array(8))).toThrow(NetlinkDecodeError);
  const bad = newlink([3, "net1"]);
  new DataView(bad.buffer).setUint16(16, 200, true);
  expect(() => decodeLinkParent(bad)).toThrow(NetlinkDecodeError);
});

test("the VF dump: RTM_GETLINK with NLM_F_DUMP, an ifinfomsg of zeros, IFLA_EXT_MASK asking for VFs without counters", () => {
  expect(hex(getLinksWithVfs(5))).toBe(hex(bytes("28000000 1200 0103 05000000 00000000  00 00 0000 00000000 00000000 00000000  0800 1d00 09000000")));
});

/** An attribute of `type` (NLA_F_NESTED set when `nested`) holding `data`, padded. */
function attr(type: number, data: Uint8Array, nested = false): Uint8Array {
  const len = 4 + data.length;
  const out = new Uint8Array((len + 3) & ~3);
  new DataView(out.buffer).setUint16(0, len, true);
  new DataView(out.buffer).setUint16(2, type | (nested ? 0x8000 : 0), true);
  out.set(data, 4);
  return out;
}
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** struct ifla_vf_mac: u32 vf, then 32 bytes of address. */
function vfMac(vf: number, mac: string): Uint8Array {
  const b = new Uint8Array(36);
  new DataView(b.buffer).setUint32(0, vf, true);
  b.set(mac.split(":").map((h) => Number.parseInt(h, 16)), 4);
  return b;
}

test("a PF's answer: each VF's number and administrative MAC, read from IFLA_VFINFO_LIST / IFLA_VF_INFO / IFLA_VF_MAC", () => {
  const vfInfo = (vf: number, mac: string) =>
    attr(IFLA_VF_INFO, cat(attr(IFLA_VF_MAC, vfMac(vf, mac)), attr(2 /* IFLA_VF_VLAN, not read */, new Uint8Array(12))), true);
  const payload = cat(
    bytes("00 00 0100 02000000 43100100 00000000"),
    attr(3, new TextEncoder().encode("ens1f0\0")),
    attr(IFLA_VFINFO_LIST, cat(vfInfo(0, "02:AA:00:00:00:01"), vfInfo(7, "0e:12:34:56:78:9a")), true),
  );
  expect(decodeVfMacs(payload)).toEqual([
    { pf: "ens1f0", vf: 0, mac: "02:aa:00:00:00:01" },
    { pf: "ens1f0", vf: 7, mac: "0e:12:34:56:78:9a" },
  ]);
});

test("a link without VFs has none; a truncated IFLA_VF_MAC is refused", () => {
  expect(decodeVfMacs(newlink([3, "eth0"]))).toEqual([]);
  const short = cat(bytes("00 00 0100 02000000 43100100 00000000"), attr(3, new TextEncoder().encode("p0\0")), attr(IFLA_VFINFO_LIST, attr(IFLA_VF_INFO, attr(IFLA_VF_MAC, new Uint8Array(6)))));
  expect(() => decodeVfMacs(short)).toThrow(NetlinkDecodeError);
});
