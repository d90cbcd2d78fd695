/**
 * ADD without a deviceID in the config (as the Go rdma-cni accepts it): the device the pod's
 * interface sits on, asked inside the pod's netns; the order of precedence of the three sources.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { SUPPORTED_VERSIONS } from "../../src/config/version.ts";
import { HOST_NS } from "../fake/netns.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

const VF = "0000:03:00.5";
const OTHER_VF = "0000:03:00.6";
const SF = "mlx5_core.sf.4";
const POD = "/var/run/netns/pod1";
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(VF, "mlx5_3");
  w.addPci(OTHER_VF, "mlx5_4");
  w.addAux(SF, "mlx5_9");
  w.pod(POD);
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0);
  expect(w.strayFiles()).toEqual([]);
  w.cleanup();
});

/** A config as the Go plugin's users write it: no deviceID, the first plugin's result as prevResult. */
const noDeviceId = (version: string, extra: Record<string, unknown> = {}) => netconf(version, { prevResult: prevResultFor(version), ...extra });

describe.each([...SUPPORTED_VERSIONS])("cniVersion %s", (version) => {
  test("ADD takes the VF its interface sits on; CHECK agrees; DEL brings it home", () => {
    w.netdevInPod(POD, "net1", { name: VF, bus: "pci" });
    const r = w.call("ADD", noDeviceId(version));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
    expect(w.records()).toMatchObject([{ deviceId: VF, rdmaDevice: "mlx5_3", phase: "attached" }]);
    if (version === "1.1.0") expect(r.json).toMatchObject({ interfaces: [{ name: "net1", pciID: VF }] });
    if (!version.startsWith("0.3.")) expect(w.call("CHECK", noDeviceId(version)).code).toBe(0);
    expect(w.call("DEL", noDeviceId(version)).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });
});

test("an SF's interface sits on its auxiliary device", () => {
  w.netdevInPod(POD, "net1", { name: SF, bus: "auxiliary" });
  expect(w.call("ADD", noDeviceId("1.0.0")).code).toBe(0);
  expect(w.whereIs("mlx5_9")).toBe(POD);
  expect(w.records()).toMatchObject([{ deviceId: SF, rdmaDevice: "mlx5_9" }]);
});

test("the interface asked about is CNI_IFNAME, in the pod's netns", () => {
  w.netdevInPod(POD, "net1", { name: OTHER_VF, bus: "pci" });
  w.netdevInPod(POD, "net2", { name: VF, bus: "pci" });
  expect(w.call("ADD", noDeviceId("1.0.0", { prevResult: prevResultFor("1.0.0", { ifName: "net2" }) }), { ifName: "net2" }).code).toBe(0);
  expect(w.whereIs("mlx5_3")).toBe(POD);
  expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
});

describe("precedence: config, then a 1.1.0 prevResult's pciID, then the pod's interface", () => {
  beforeEach(() => w.netdevInPod(POD, "net1", { name: OTHER_VF, bus: "pci" }));

  test("deviceID in the config wins over the interface's device", () => {
    expect(w.call("ADD", noDeviceId("1.0.0", { deviceID: VF })).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
  });

  test("runtimeConfig.deviceID wins over the interface's device", () => {
    expect(w.call("ADD", noDeviceId("1.0.0", { runtimeConfig: { deviceID: SF } })).code).toBe(0);
    expect(w.whereIs("mlx5_9")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
  });

  test("a 1.1.0 prevResult's pciID wins over the interface's device", () => {
    expect(w.call("ADD", netconf("1.1.0", { prevResult: prevResultFor("1.1.0", { pciID: VF }) })).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
  });
});

describe("the Go plugin's way, where the kernel names no parent: the one interface's MAC among the VFs' administrative MACs", () => {
  const withMac = (mac: string, extra: Record<string, unknown> = {}) =>
    netconf("1.0.0", { prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1", mac, sandbox: POD }], ips: [] }, ...extra });

  beforeEach(() => {
    w.vfOf("ens1f0", 5, VF, "0e:00:00:00:00:05");
    w.vfOf("ens1f0", 6, OTHER_VF, "0e:00:00:00:00:06");
  });

  test("a kernel before 5.14 (no parent named): the VF whose administrative MAC it is", () => {
    w.netdevInPod(POD, "net1", undefined);
    expect(w.call("ADD", withMac("0E:00:00:00:00:05")).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
    expect(w.records()).toMatchObject([{ deviceId: VF }]);
  });

  test("the parent device, where the kernel names one, wins over the MAC", () => {
    w.netdevInPod(POD, "net1", { name: OTHER_VF, bus: "pci" });
    expect(w.call("ADD", withMac("0e:00:00:00:00:05")).code).toBe(0);
    expect(w.whereIs("mlx5_4")).toBe(POD);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });

  test("two VFs with that MAC, or a prevResult of two interfaces, is refused as the Go plugin refuses it", () => {
    w.netdevInPod(POD, "net1", undefined);
    w.vfOf("ens1f1", 0, "0000:04:00.2", "0e:00:00:00:00:05");
    const r = w.call("ADD", withMac("0e:00:00:00:00:05"));
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("several VFs have the administrative MAC 0e:00:00:00:00:05: 0000:03:00.5, 0000:04:00.2");
    const two = netconf("1.0.0", { prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1", mac: "0e:00:00:00:00:06", sandbox: POD }, { name: "net2", sandbox: POD }] } });
    expect(String(w.call("ADD", two).json?.msg)).toContain("prevResult has 2 interfaces, not one");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
  });
});

describe("refused with code 7, nothing written and nothing moved", () => {
  const refused = (r: ReturnType<FakeNode["call"]>, says: string) => {
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("no deviceID for net1");
    expect(String(r.json?.msg)).toContain(says);
    expect(String(r.json?.msg)).toContain('set "deviceID"');
    for (const d of ["mlx5_3", "mlx5_4", "mlx5_9"]) expect(w.whereIs(d)).toBe(HOST_NS);
    expect(fs.existsSync(w.stateDir)).toBe(false);
  };

  test("the pod has no such interface", () => {
    refused(w.call("ADD", noDeviceId("1.0.0")), `the pod's netns ${POD} has no interface net1`);
  });

  test("the interface sits on no device (a veth, or a kernel before 5.14)", () => {
    w.netdevInPod(POD, "net1", undefined);
    refused(w.call("ADD", noDeviceId("1.0.0")), "names no device under interface net1");
  });

  test("the interface sits on a device that is neither a PCI function nor an auxiliary device", () => {
    w.netdevInPod(POD, "net1", { name: "card0" });
    refused(w.call("ADD", noDeviceId("1.0.0")), "device card0 (on no bus)");
  });
});

test("a missing prevResult is still refused first, before the pod's netns is opened", () => {
  const r = w.call("ADD", netconf("1.0.0"), { netns: "/var/run/netns/nosuch" });
  expect(r.json).toMatchObject({ code: 7 });
  expect(String(r.json?.msg)).toContain("prevResult is missing");
});
