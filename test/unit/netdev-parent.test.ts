/** The deviceID of the device a netdev sits on, from a sysfs tree laid out as the kernel lays it out. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { deviceIdOfParent, vfPciAddress } from "../../src/rdma/sysfs.ts";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(`${os.tmpdir()}/rdma-parent-`);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** A device directory under /sys/devices, its bus link, and its uevent. */
function device(rel: string, bus: string, uevent: string): void {
  const name = rel.split("/").at(-1) as string;
  fs.mkdirSync(`${root}/devices/${rel}`, { recursive: true });
  fs.writeFileSync(`${root}/devices/${rel}/uevent`, uevent);
  fs.mkdirSync(`${root}/bus/${bus}/devices`, { recursive: true });
  fs.symlinkSync(`../../../devices/${rel}`, `${root}/bus/${bus}/devices/${name}`);
}

test("a VF's netdev on bus pci: the PCI address as it is", () => {
  expect(deviceIdOfParent(root, { name: "0000:03:00.2", bus: "pci" })).toEqual({ kind: "pci", id: "0000:03:00.2" });
});

test("an SF's netdev on bus auxiliary: the auxiliary device's name", () => {
  expect(deviceIdOfParent(root, { name: "mlx5_core.sf.4", bus: "auxiliary" })).toEqual({ kind: "aux", id: "mlx5_core.sf.4" });
});

test("virtio-net: the virtio device stands for the PCI function above it (PCI_SLOT_NAME of its uevent)", () => {
  device("pci0000:00/0000:00:04.0", "pci", "DRIVER=virtio-pci\nPCI_CLASS=20000\nPCI_SLOT_NAME=0000:00:04.0\n");
  device("pci0000:00/0000:00:04.0/virtio1", "virtio", "DRIVER=virtio_net\nMODALIAS=virtio:d00000001v00001AF4\n");
  expect(deviceIdOfParent(root, { name: "virtio1", bus: "virtio" })).toEqual({ kind: "pci", id: "0000:00:04.0" });
});

test("a device with no PCI function above it within three levels is refused, naming it", () => {
  device("platform/soc/eth-ctl", "platform", "DRIVER=some-eth\n");
  const r = deviceIdOfParent(root, { name: "eth-ctl", bus: "platform" });
  expect("error" in r && r.error).toContain("platform device eth-ctl");
});

test("a name on bus pci or auxiliary that is not a deviceID's is refused", () => {
  expect("error" in deviceIdOfParent(root, { name: "not-a-pci-address", bus: "pci" })).toBe(true);
  expect("error" in deviceIdOfParent(root, { name: "0000:03:00.2", bus: "auxiliary" })).toBe(true);
});

test("a parent on no bus, or a bus or name that could leave the bus directory, is refused without a look", () => {
  expect("error" in deviceIdOfParent(root, { name: "card0" })).toBe(true);
  expect("error" in deviceIdOfParent(root, { name: "x", bus: "../../etc" })).toBe(true);
  expect("error" in deviceIdOfParent(root, { name: "..", bus: "virtio" })).toBe(true);
});

test("a PF's VF N is the PCI function behind its virtfnN link (PCI_SLOT_NAME of its uevent)", () => {
  device("pci0000:00/0000:03:00.2", "pci", "DRIVER=mlx5_core\nPCI_SLOT_NAME=0000:03:00.2\n");
  fs.mkdirSync(`${root}/class/net/ens1f0/device`, { recursive: true });
  fs.symlinkSync("../../../../devices/pci0000:00/0000:03:00.2", `${root}/class/net/ens1f0/device/virtfn3`);
  expect(vfPciAddress(root, "ens1f0", 3)).toBe("0000:03:00.2");
  expect(vfPciAddress(root, "ens1f0", 4)).toBeUndefined();
  expect(vfPciAddress(root, "../ens1f0", 3)).toBeUndefined();
});
