/**
 * rdmaDeviceName: the name a pod asks for, given inside its netns after the move and taken back on
 * DEL, GC and a failed ADD; against the fake node, whose RDMA subsystem keeps names unique across
 * all namespaces and renames only from the device's own netns, as the kernel does.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { HOST_NS } from "../fake/netns.ts";
import { EBUSY } from "../fake/rdma.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

const PCI = "0000:03:00.5";
const PCI2 = "0000:03:00.6";
const POD = "/var/run/netns/pod1";
const POD2 = "/var/run/netns/pod2";
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(PCI, "mlx5_3");
  w.addPci(PCI2, "mlx5_4");
  w.pod(POD);
  w.pod(POD2);
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0);
  expect(w.strayFiles()).toEqual([]);
  w.cleanup();
});

/** A config whose pod asks for `name` through Multus cni-args (args.cni). */
function conf(name: string | undefined, extra: Record<string, unknown> = {}, deviceID = PCI) {
  const args = name === undefined ? {} : { args: { cni: { rdmaDeviceName: name } } };
  return netconf("1.1.0", { deviceID, prevResult: prevResultFor("1.1.0"), ...args, ...extra });
}
const second = { containerId: "c2", netns: POD2 };
/** Name and netns of the device with `index`, whatever it is called now. */
const byIndex = (index: number) => {
  const d = w.rdma.devices.find((x) => x.index === index);
  return d ? { name: d.name, ns: d.ns } : undefined;
};
const first = () => w.rdma.device("mlx5_3").index;

describe("ADD", () => {
  test("the pod sees the name it asked for; the record keeps the host name and the pod's", () => {
    const i = first();
    const r = w.call("ADD", conf("rdma0"));
    expect(r.code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "rdma0", ns: POD });
    expect(w.records()).toMatchObject([{ rdmaDevice: "mlx5_3", podRdmaDevice: "rdma0", rdmaIndex: i, phase: "attached" }]);
    // the host's sysfs has neither name: the device is in the pod
    expect(w.hostSysfsNames()).toEqual(["mlx5_4"]);
  });

  test("args.cni wins over runtimeConfig, which wins over the top level", () => {
    const i = first();
    expect(w.call("ADD", conf("a0", { runtimeConfig: { rdmaDeviceName: "r0" }, rdmaDeviceName: "t0" })).code).toBe(0);
    expect(byIndex(i)?.name).toBe("a0");
    expect(w.call("DEL", conf(undefined)).code).toBe(0);
    expect(w.call("ADD", conf(undefined, { runtimeConfig: { rdmaDeviceName: "r0" }, rdmaDeviceName: "t0" })).code).toBe(0);
    expect(byIndex(i)?.name).toBe("r0");
    expect(w.call("DEL", conf(undefined)).code).toBe(0);
    expect(w.call("ADD", conf(undefined, { rdmaDeviceName: "t0" })).code).toBe(0);
    expect(byIndex(i)?.name).toBe("t0");
  });

  test("CNI_ARGS rdmaDeviceName (podman's way) comes after args.cni and before runtimeConfig", () => {
    const i = first();
    const withArgs = (c: Record<string, unknown>) => w.call("ADD", c, { args: "IgnoreUnknown=1;rdmaDeviceName=e0" });
    expect(withArgs(conf(undefined, { runtimeConfig: { rdmaDeviceName: "r0" } })).code).toBe(0);
    expect(byIndex(i)?.name).toBe("e0");
    expect(w.call("DEL", conf(undefined)).code).toBe(0);
    expect(withArgs(conf("a0")).code).toBe(0);
    expect(byIndex(i)?.name).toBe("a0");
  });

  test("a bad CNI_ARGS rdmaDeviceName is error 4 naming CNI_ARGS; nothing moved", () => {
    const r = w.call("ADD", conf(undefined), { args: "rdmaDeviceName=a/b" });
    expect(r.json).toMatchObject({ code: 4 });
    expect(String(r.json?.msg)).toContain("CNI_ARGS rdmaDeviceName");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  const bad: [string, unknown, string][] = [
    ["64 bytes", "a".repeat(64), "64 bytes long"],
    ["62 bytes of é and a letter (64 bytes)", `${"é".repeat(31)}ab`, "64 bytes long"],
    ["a slash", "a/b", "'/'"],
    ["a space", "rdma 0", "whitespace"],
    ["a tab", "rdma\t0", "control characters"],
    ["a newline", "rdma0\n", "control characters"],
    ["a NUL", "rdma\u00000", "control characters"],
    ["a no-break space", "rdma\u00a00", "whitespace"],
    ["an ideographic space", "rdma\u30000", "whitespace"],
    ["a percent sign", "mlx5_%d", "'%'"],
    [".", ".", "not a usable name"],
    ["..", "..", "not a usable name"],
    ["a number", 5, "must be a string"],
  ];
  for (const [what, name, says] of bad) {
    for (const field of ["args.cni.rdmaDeviceName", "runtimeConfig.rdmaDeviceName", "rdmaDeviceName"]) {
      test(`${field} with ${what} is error 7 naming the field; nothing moved, nothing written`, () => {
        const extra =
          field === "args.cni.rdmaDeviceName" ? { args: { cni: { rdmaDeviceName: name } } } : field === "runtimeConfig.rdmaDeviceName" ? { runtimeConfig: { rdmaDeviceName: name } } : { rdmaDeviceName: name };
        const r = w.call("ADD", conf(undefined, extra));
        expect(r.code).toBe(1);
        expect(r.json).toMatchObject({ code: 7 });
        expect(String(r.json?.msg)).toContain(field);
        expect(String(r.json?.msg)).toContain(says);
        expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
        expect(w.records()).toEqual([]);
      });
    }
  }

  test("a bad top-level name is refused even when args.cni gives a good one", () => {
    const r = w.call("ADD", conf("rdma0", { rdmaDeviceName: "a/b" }));
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("invalid network config: rdmaDeviceName");
  });

  test("a name of 63 bytes (the kernel's limit) is taken", () => {
    const name = `${"é".repeat(31)}a`;
    const i = first();
    expect(w.call("ADD", conf(name)).code).toBe(0);
    expect(byIndex(i)?.name).toBe(name);
  });

  test("a name another pod holds is refused with 109 naming that pod; nothing moved, renamed or written", () => {
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    const i2 = w.rdma.device("mlx5_4").index;
    const r = w.call("ADD", conf("rdma0", {}, PCI2), second);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 109 });
    expect(String(r.json?.msg)).toContain('args.cni.rdmaDeviceName "rdma0"');
    expect(String(r.json?.msg)).toContain("container c1, interface net1");
    expect(byIndex(i2)).toEqual({ name: "mlx5_4", ns: HOST_NS });
    expect(w.records().map((x) => x.containerId)).toEqual(["c1"]);
  });

  test("a name a host device has is refused with 109 naming that device", () => {
    const r = w.call("ADD", conf("mlx5_4"));
    expect(r.json).toMatchObject({ code: 109 });
    expect(String(r.json?.msg)).toContain("RDMA device mlx5_4");
    expect(byIndex(first())).toEqual({ name: "mlx5_3", ns: HOST_NS });
    expect(w.records()).toEqual([]);
  });

  test("a rename the kernel refuses otherwise moves the device back and writes nothing", () => {
    w.rdma.failNextRename = EBUSY;
    const r = w.call("ADD", conf("rdma0"));
    expect(r.json).toMatchObject({ code: 105 });
    expect(String(r.json?.msg)).toContain("cannot rename RDMA device");
    expect(byIndex(first())).toEqual({ name: "mlx5_3", ns: HOST_NS });
    expect(w.records()).toEqual([]);
  });

  test("a failure after the rename takes the name back inside the pod, then moves the device home", () => {
    const i = first();
    w.wrapStore = (s) => ({ ...s, get: s.get.bind(s), list: s.list.bind(s), remove: s.remove.bind(s), lockDevice: s.lockDevice.bind(s), lockAttachment: s.lockAttachment.bind(s), dir: s.dir, put: (rec) => {
      if (rec.phase === "attached") throw new Error("disk full");
      s.put(rec);
    } });
    const r = w.call("ADD", conf("rdma0"));
    expect(r.code).toBe(1);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: HOST_NS });
    expect(w.records()).toEqual([]);
  });

  test("a repeated ADD is idempotent, and a repeated ADD with another name renames", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "rdma0", ns: POD });
    expect(w.call("ADD", conf("rdma1")).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "rdma1", ns: POD });
    expect(w.records()).toMatchObject([{ rdmaDevice: "mlx5_3", podRdmaDevice: "rdma1" }]);
    expect(w.call("ADD", conf(undefined)).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: POD });
    expect(w.records()[0]?.podRdmaDevice).toBeUndefined();
  });

  test("the device-info file names the device as the pod sees it", () => {
    const file = `${w.devinfoRoot}/net1.json`;
    expect(w.call("ADD", conf("rdma0", { runtimeConfig: { CNIDeviceInfoFile: file } })).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ pci: { "rdma-device": "rdma0" } });
  });
});

describe("DEL and GC", () => {
  test("DEL gives the host name back and moves the device home", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    expect(w.call("DEL", conf("rdma0")).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: HOST_NS });
    expect(w.hostSysfsNames()).toEqual(["mlx5_3", "mlx5_4"]);
    expect(w.records()).toEqual([]);
  });

  test("DEL after the pod's netns died renames the device the kernel returned under the pod's name", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    w.deletePod(POD);
    expect(byIndex(i)).toEqual({ name: "rdma0", ns: HOST_NS });
    const r = w.call("DEL", conf("rdma0"));
    expect(r.code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: HOST_NS });
    expect(w.records()).toEqual([]);
  });

  test("DEL when the host name was taken meanwhile moves the device back under a name saying where it came from", () => {
    const i = first();
    const i2 = w.rdma.device("mlx5_4").index;
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    w.rdma.renameDevice(i2, "mlx5_3"); // another device takes the free host name
    const r = w.call("DEL", conf("rdma0"));
    expect(r.code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3-from-rdma0", ns: HOST_NS });
    expect(r.stderr).toContain("host name was taken meanwhile");
    expect(w.records()).toEqual([]);
  });

  test("GC gives the host name back as DEL does", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    const r = w.call("GC", netconf("1.1.0", { "cni.dev/valid-attachments": [] }));
    expect(r.code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: HOST_NS });
  });

  test("a later ADD of a device the kernel returned under the pod's name starts from the record's host name", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    w.deletePod(POD); // the runtime lost the pod without DEL: the record stays
    w.pod(POD);
    expect(w.call("ADD", conf(undefined)).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: POD });
    expect(w.records()).toMatchObject([{ rdmaDevice: "mlx5_3" }]);
    expect(w.records()[0]?.podRdmaDevice).toBeUndefined();
    expect(w.call("DEL", conf(undefined)).code).toBe(0);
    expect(byIndex(i)).toEqual({ name: "mlx5_3", ns: HOST_NS });
  });

  test("a record written before rdmaDeviceName existed is read, and DEL leaves the name alone", () => {
    expect(w.call("ADD", conf(undefined)).code).toBe(0);
    expect(Object.keys(w.records()[0] ?? {})).not.toContain("podRdmaDevice");
    expect(w.call("DEL", conf(undefined)).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });
});

describe("CHECK", () => {
  test("CHECK passes with the name given, and fails when the name in the pod or the config differs", () => {
    const i = first();
    expect(w.call("ADD", conf("rdma0")).code).toBe(0);
    expect(w.call("CHECK", conf("rdma0")).code).toBe(0);
    const other = w.call("CHECK", conf("rdma7"));
    expect(other.json).toMatchObject({ code: 107 });
    expect(String(other.json?.msg)).toContain("args.cni.rdmaDeviceName is rdma7 but the attachment gave the pod rdma0");
    const pod = w.netns.open(POD);
    w.netns.inside(pod, () => w.rdma.renameDevice(i, "renamed"));
    w.netns.close(pod);
    const renamed = w.call("CHECK", conf("rdma0"));
    expect(renamed.json).toMatchObject({ code: 107 });
    expect(String(renamed.json?.msg)).toContain("named renamed, expected rdma0");
  });
});
