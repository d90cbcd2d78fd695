/**
 * The netlink client over a scripted socket that answers with bytes captured from the real kernel
 * in the test VM (Debian 6.1, simulated RDMA devices), one datagram per recv into the same buffer,
 * as the kernel does.
 */
import { describe, expect, test } from "bun:test";
import { KernelError } from "../../src/rdma/kernel.ts";
import { type NetlinkSocket, NetlinkRdma } from "../../src/rdma/netlink.ts";
import { SysError } from "../../src/sys/libc.ts";

const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
// Captured in the VM: SYS_GET reply (mode exclusive, two newer attributes), then its ACK.
const SYS_GET_REPLY = "2800000006140000070000007b0000000500420000000000050060000000000005005d0001000000";
const SYS_GET_ACK = "2400000002000001070000007b0000000000000010000000061405000700000000000000";
// Captured: a device dump with one device (index 0, simpci0, with more attributes), then DONE.
const DUMP_REPLY =
  "6c00000001140200080000007b00000008000100000000000c00020073696d706369300008000300010000000c00040000000000000000000c000600563412feff0054500c000700563412feff00545005000e0001000000050054000000000009004300726f636500000000";
const DUMP_DONE = "1400000003000200080000007b00000000000000";

/** Answers each request with the given datagrams, their sequence numbers set to the request's. */
function scripted(datagrams: string[], log: Uint8Array[] = []): () => NetlinkSocket {
  return () => {
    let seq = 0;
    const queue = datagrams.map(hex);
    return {
      send(data) {
        log.push(data.slice());
        seq = new DataView(data.buffer, data.byteOffset).getUint32(8, true);
      },
      recv(buf) {
        const d = queue.shift();
        if (!d) throw new SysError("recv", 110);
        buf.fill(0xee); // what a reused buffer holds: the previous datagram, or junk
        buf.set(d);
        const dv = new DataView(buf.buffer, buf.byteOffset);
        for (let off = 0; off < d.length; off += dv.getUint32(off, true)) dv.setUint32(off + 8, seq, true);
        return d.length;
      },
      close() {},
    };
  };
}

describe("NetlinkRdma", () => {
  test("reads the netns mode from a reply followed by its ACK in a second datagram", () => {
    expect(new NetlinkRdma(scripted([SYS_GET_REPLY, SYS_GET_ACK])).netnsMode()).toBe("exclusive");
  });

  test("lists devices from a dump that ends in a separate DONE datagram", () => {
    expect(new NetlinkRdma(scripted([DUMP_REPLY, DUMP_DONE])).listDevices()).toEqual([{ index: 0, name: "simpci0" }]);
  });

  test("a move sends SET with the device index and the netns fd and waits for the ACK", () => {
    const sent: Uint8Array[] = [];
    new NetlinkRdma(scripted([SYS_GET_ACK], sent)).moveDevice(4, 9);
    const req = sent[0]!;
    const dv = new DataView(req.buffer);
    expect(dv.getUint16(4, true)).toBe(5122);
    expect(dv.getUint32(20, true)).toBe(4);
    expect(dv.getUint32(28, true)).toBe(9);
  });

  test("one device by index: GET with DEV_INDEX and an ACK asked for; the reply, then the ACK", () => {
    const sent: Uint8Array[] = [];
    // the dump's device message (same layout as a GET reply) and an ACK, as two datagrams
    expect(new NetlinkRdma(scripted([DUMP_REPLY, SYS_GET_ACK], sent)).getDevice(0)).toEqual({ index: 0, name: "simpci0" });
    const dv = new DataView(sent[0]!.buffer);
    expect([dv.getUint16(4, true), dv.getUint16(6, true), dv.getUint16(18, true), dv.getUint32(20, true)]).toEqual([5121, 0x5, 1, 0]);
  });

  test("an index the netns does not have (EINVAL) is no device; other errors are errors", () => {
    const ackWith = (errnoLe: string) => `${SYS_GET_ACK.slice(0, 32)}${errnoLe}${SYS_GET_ACK.slice(40)}`;
    expect(new NetlinkRdma(scripted([ackWith("eaffffff")])).getDevice(7)).toBeUndefined(); // -EINVAL
    expect(() => new NetlinkRdma(scripted([ackWith("f4ffffff")])).getDevice(7)).toThrow(KernelError); // -ENOMEM
  });

  test("a kernel error becomes a KernelError with its errno", () => {
    // the ACK with error -ENODEV in place of 0
    const enodev = `${SYS_GET_ACK.slice(0, 32)}edffffff${SYS_GET_ACK.slice(40)}`;
    try {
      new NetlinkRdma(scripted([enodev])).moveDevice(4, 9);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(KernelError);
      expect((e as KernelError).errno).toBe(19);
      expect((e as KernelError).message).toContain("ENODEV");
    }
  });

  test("messages of another sequence number are skipped", () => {
    const stale = "2800000006140000ff0000007b0000000500420001000000050060000000000005005d0001000000";
    const rdma = new NetlinkRdma(() => {
      const inner = scripted([SYS_GET_REPLY, SYS_GET_ACK])();
      let first = true;
      return {
        ...inner,
        recv(buf) {
          if (first) {
            first = false;
            buf.set(hex(stale)); // seq 0xff: not ours, says shared
            return stale.length / 2;
          }
          return inner.recv(buf);
        },
      };
    });
    expect(rdma.netnsMode()).toBe("exclusive");
  });

  test("no answer within the receive timeout is a KernelError, not a hang", () => {
    expect(() => new NetlinkRdma(scripted([])).listDevices()).toThrow(KernelError);
  });

  test("a socket that cannot be opened (no RDMA netlink) is a KernelError with its errno", () => {
    try {
      new NetlinkRdma(() => {
        throw new SysError("socket", 93);
      }).netnsMode();
      throw new Error("no error");
    } catch (e) {
      expect((e as KernelError).errno).toBe(93);
    }
  });
});
