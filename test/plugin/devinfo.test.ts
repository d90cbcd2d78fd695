/** The device-info file (runtimeConfig.CNIDeviceInfoFile) and the 1.1.0 result's pciID. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { netconf, prevResultFor, FakeNode } from "../fake/node.ts";

const PCI = "0000:03:00.5";
let w: FakeNode;
let file: string;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(PCI, "mlx5_3");
  w.addAux("mlx5_core.sf.4", "mlx5_7");
  w.pod("/var/run/netns/pod1");
  file = `${w.devinfoRoot}/pod1-sriov-network-net1-device-info.json`;
});
afterEach(() => w.cleanup());

const conf = (extra: Record<string, unknown> = {}) =>
  netconf("1.1.0", { deviceID: PCI, prevResult: prevResultFor("1.1.0"), runtimeConfig: { CNIDeviceInfoFile: file }, ...extra });
const read = () => JSON.parse(fs.readFileSync(file, "utf8"));

describe("device-info file", () => {
  test("ADD creates the file with the RDMA device and PCI address; DEL removes it", () => {
    expect(w.call("ADD", conf()).code).toBe(0);
    expect(read()).toEqual({ type: "pci", version: "1.1.0", pci: { "rdma-device": "mlx5_3", "pci-address": PCI } });
    expect(w.call("DEL", conf()).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  test("ADD keeps what a previous plugin wrote, and DEL takes back only what ADD added", () => {
    const before = { type: "pci", version: "1.1.0", pci: { "pci-address": PCI, "pf-pci-address": "0000:03:00.0", "representor-device": "eth3" } };
    fs.mkdirSync(w.devinfoRoot, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(before));
    expect(w.call("ADD", conf()).code).toBe(0);
    expect(read()).toEqual({ ...before, pci: { ...before.pci, "rdma-device": "mlx5_3" } });
    expect(w.call("DEL", conf()).code).toBe(0);
    expect(read()).toEqual(before);
  });

  test("an auxiliary device updates an existing file but creates none", () => {
    expect(w.call("ADD", conf({ deviceID: "mlx5_core.sf.4" })).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(w.call("DEL", conf({ deviceID: "mlx5_core.sf.4" })).code).toBe(0);
    fs.mkdirSync(w.devinfoRoot, { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ type: "pci", version: "1.1.0", pci: { "pci-address": "0000:03:00.0" } }));
    expect(w.call("ADD", conf({ deviceID: "mlx5_core.sf.4" })).code).toBe(0);
    expect(read().pci).toEqual({ "pci-address": "0000:03:00.0", "rdma-device": "mlx5_7" });
  });

  test("a device-info file outside the spec's directory is refused before anything moves", () => {
    const r = w.call("ADD", conf({ runtimeConfig: { CNIDeviceInfoFile: "/etc/cron.d/x" } }));
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("CNIDeviceInfoFile");
    expect(w.whereIs("mlx5_3")).toBe("host");
  });

  test("a device-info path climbing out of the directory is refused", () => {
    const r = w.call("ADD", conf({ runtimeConfig: { CNIDeviceInfoFile: `${w.devinfoRoot}/../../x` } }));
    expect(r.json).toMatchObject({ code: 7 });
  });

  test("a device-info file that is not JSON fails ADD and leaves the device on the host", () => {
    fs.mkdirSync(w.devinfoRoot, { recursive: true });
    fs.writeFileSync(file, "not json");
    const r = w.call("ADD", conf());
    expect(r.json).toMatchObject({ code: 5 });
    expect(w.whereIs("mlx5_3")).toBe("host");
    expect(w.records()).toEqual([]);
    expect(fs.readFileSync(file, "utf8")).toBe("not json");
  });

  test("the record remembers what was added to the file", () => {
    expect(w.call("ADD", conf()).code).toBe(0);
    expect(w.records()[0]?.deviceInfo).toEqual({ file, created: true, added: ["rdma-device", "pci-address"] });
  });
});

describe("pciID in a 1.1.0 result", () => {
  test("an existing pciID is left as it was", () => {
    const prev = prevResultFor("1.1.0", { pciID: PCI });
    const r = w.call("ADD", netconf("1.1.0", { deviceID: PCI, prevResult: prev }));
    expect(r.json).toEqual(prev);
  });

  test("an auxiliary device adds no pciID", () => {
    const prev = prevResultFor("1.1.0");
    const r = w.call("ADD", netconf("1.1.0", { deviceID: "mlx5_core.sf.4", prevResult: prev }));
    expect(r.json).toEqual(prev);
  });
});
