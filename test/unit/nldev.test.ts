/** RDMA netlink messages, byte for byte against the layouts of linux/netlink.h and rdma/rdma_netlink.h. */
import { describe, expect, test } from "bun:test";
import * as nl from "../../src/rdma/nldev.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

describe("message types", () => {
  test("RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, op) is (5 << 10) + op", () => {
    expect(nl.rdmaMessageType(nl.NldevCmd.GET)).toBe(5121);
    expect(nl.rdmaMessageType(nl.NldevCmd.SET)).toBe(5122);
    expect(nl.rdmaMessageType(nl.NldevCmd.SYS_GET)).toBe(5126);
    expect(nl.rdmaMessageType(nl.NldevCmd.SYS_SET)).toBe(5127);
  });
});

describe("requests", () => {
  test("a move is RDMA_NLDEV_CMD_SET with DEV_INDEX and NET_NS_FD as u32 attributes", () => {
    expect(hex(nl.setDeviceNetns(42, 3, 7))).toBe(
      hex(bytes(`
        20000000 0214 0500 2a000000 00000000
        0800 0100 03000000
        0800 4400 07000000`)),
    );
  });

  test("a rename is RDMA_NLDEV_CMD_SET with DEV_INDEX and a NUL-terminated DEV_NAME", () => {
    // len 0x24 = 16 header + 8 index + 4 + "rdma0\0" (6) padded to 12
    expect(hex(nl.setDeviceName(5, 3, "rdma0"))).toBe(
      hex(bytes(`
        24000000 0214 0500 05000000 00000000
        0800 0100 03000000
        0a00 0200 72646d6130 00 0000`)),
    );
  });

  test("a rename to a name of 63 bytes fills its attribute with no padding; UTF-8 counts bytes", () => {
    const m = nl.setDeviceName(1, 1, "a".repeat(63));
    // 16 + 8 + (4 + 64) = 92
    expect(m.length).toBe(92);
    expect(new DataView(m.buffer).getUint16(24, true)).toBe(68);
    expect(m[m.length - 1]).toBe(0);
    const u = nl.setDeviceName(1, 1, "é");
    expect(hex(u.subarray(24))).toBe(hex(bytes("0700 0200 c3a9 00 00")));
  });

  test("a device dump is RDMA_NLDEV_CMD_GET with NLM_F_DUMP and no attributes", () => {
    expect(hex(nl.getDevicesDump(1))).toBe(hex(bytes("10000000 0114 0103 01000000 00000000")));
  });

  test("SYS_GET asks for an ACK", () => {
    expect(hex(nl.sysGet(9))).toBe(hex(bytes("10000000 0614 0500 09000000 00000000")));
  });

  // The plugin sends no u8 or string attribute today; the encoder writes them as the kernel reads them.
  const request = (cmd: number, seq: number, attrs: nl.AttrValue[]) => nl.encodeRequest(nl.rdmaMessageType(cmd), nl.NLM_F_REQUEST | nl.NLM_F_ACK, seq, attrs);

  test("a u8 attribute (SYS_SET's netns mode) is padded to 4 bytes", () => {
    const mode = (u8: number) => request(nl.NldevCmd.SYS_SET, 2, [{ type: nl.NldevAttr.SYS_ATTR_NETNS_MODE, u8 }]);
    expect(hex(mode(0))).toBe(hex(bytes("18000000 0714 0500 02000000 00000000 0500 4200 00 000000")));
    expect(hex(mode(1))).toBe(hex(bytes("18000000 0714 0500 02000000 00000000 0500 4200 01 000000")));
  });

  test("a string attribute (a rename's DEV_NAME) is NUL-terminated and padded", () => {
    const rename = request(nl.NldevCmd.SET, 5, [{ type: nl.NldevAttr.DEV_INDEX, u32: 1 }, { type: nl.NldevAttr.DEV_NAME, str: "ab" }]);
    expect(hex(rename)).toBe(hex(bytes("20000000 0214 0500 05000000 00000000 0800 0100 01000000 0700 0200 616200 00")));
  });

  test("sequence numbers and indexes are written as unsigned 32-bit", () => {
    const m = nl.setDeviceNetns(0xffffffff, 0x80000001, 3);
    const dv = new DataView(m.buffer);
    expect(dv.getUint32(8, true)).toBe(0xffffffff);
    expect(dv.getUint32(20, true)).toBe(0x80000001);
  });
});

function message(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  out.set(payload, 16);
  return out;
}

describe("replies", () => {
  const deviceAttrs = bytes("0800 0100 09000000 0b00 0200 6d6c78355f3000 00 0800 3200 05000000");

  test("a dump reply decodes to index and name, ignoring other attributes", () => {
    const dgram = Buffer.concat([message(5121, nl.NLM_F_MULTI, 7, deviceAttrs), message(nl.NLMSG_DONE, nl.NLM_F_MULTI, 7, bytes("00000000"))]);
    const msgs = nl.decodeMessages(new Uint8Array(dgram));
    expect(msgs.map((m) => [m.type, m.seq])).toEqual([
      [5121, 7],
      [nl.NLMSG_DONE, 7],
    ]);
    expect(nl.decodeDevice(msgs[0]!.payload)).toEqual({ index: 9, name: "mlx5_0" });
  });

  test("decodeAttrs with a type list keeps just those, and still checks every length", () => {
    const only = nl.decodeAttrs(deviceAttrs, [nl.NldevAttr.DEV_INDEX]);
    expect([...only.keys()]).toEqual([nl.NldevAttr.DEV_INDEX]);
    expect([...nl.decodeAttrs(deviceAttrs).keys()]).toEqual([nl.NldevAttr.DEV_INDEX, nl.NldevAttr.DEV_NAME, nl.NldevAttr.NDEV_INDEX]);
    // an attribute the caller does not want, running past the payload, is still an error
    expect(() => nl.decodeAttrs(bytes("0800 0100 09000000 1000 3200 0500"), [nl.NldevAttr.DEV_INDEX])).toThrow(nl.NetlinkDecodeError);
  });

  test("an NLMSG_ERROR carries a negative errno; zero is an ACK", () => {
    expect(nl.decodeError(bytes("edffffff"))).toBe(19); // -ENODEV
    expect(nl.decodeError(bytes("00000000"))).toBe(0);
  });

  test("the netns mode comes from SYS_ATTR_NETNS_MODE", () => {
    expect(nl.decodeNetnsMode(bytes("0500 4200 00 000000"))).toBe("exclusive");
    expect(nl.decodeNetnsMode(bytes("0500 4200 01 000000"))).toBe("shared");
    expect(() => nl.decodeNetnsMode(bytes("0800 0100 01000000"))).toThrow(nl.NetlinkDecodeError);
  });

  test("a message length beyond the datagram is rejected", () => {
    const m = message(5121, 0, 1, deviceAttrs);
    new DataView(m.buffer).setUint32(0, m.length + 4, true);
    expect(() => nl.decodeMessages(m)).toThrow(nl.NetlinkDecodeError);
  });

  test("a message length shorter than the header is rejected", () => {
    const m = message(5121, 0, 1, deviceAttrs);
    new DataView(m.buffer).setUint32(0, 8, true);
    expect(() => nl.decodeMessages(m)).toThrow(nl.NetlinkDecodeError);
  });

  test("an attribute running past the payload is rejected", () => {
    expect(() => nl.decodeAttrs(bytes("1000 0100 09000000"))).toThrow(nl.NetlinkDecodeError);
  });

  test("a u32 attribute shorter than 4 bytes is rejected", () => {
    expect(() => nl.decodeDevice(bytes("0600 0100 0900 0000 0700 0200 616200 00"))).toThrow(nl.NetlinkDecodeError);
  });

  test("a device reply without a name is rejected", () => {
    expect(() => nl.decodeDevice(bytes("0800 0100 09000000"))).toThrow(nl.NetlinkDecodeError);
  });

  test("decoding never reads outside the bytes it was given, for any truncation", () => {
    const full = message(5121, 0, 1, deviceAttrs);
    for (let n = 0; n < full.length; n++) {
      const cut = full.slice(0, n);
      try {
        for (const m of nl.decodeMessages(cut)) nl.decodeDevice(m.payload);
      } catch (e) {
        expect(e).toBeInstanceOf(nl.NetlinkDecodeError);
      }
    }
  });
});
