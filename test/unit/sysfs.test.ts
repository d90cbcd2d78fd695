/** The RDMA device of a PCI function or auxiliary device, from a sysfs tree built in a temp dir. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { lookupRdmaDevice } from "../../src/rdma/sysfs.ts";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(`${os.tmpdir()}/rdma-sysfs-`);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const pci = (id: string) => ({ kind: "pci" as const, id });
const mk = (p: string) => fs.mkdirSync(`${root}/${p}`, { recursive: true });

test("one RDMA device under a PCI function is found", () => {
  mk("bus/pci/devices/0000:03:00.5/infiniband/mlx5_3");
  expect(lookupRdmaDevice(root, pci("0000:03:00.5"))).toEqual({ found: "one", name: "mlx5_3" });
});

test("one RDMA device under an auxiliary device is found", () => {
  mk("bus/auxiliary/devices/mlx5_core.sf.4/infiniband/mlx5_9");
  expect(lookupRdmaDevice(root, { kind: "aux", id: "mlx5_core.sf.4" })).toEqual({ found: "one", name: "mlx5_9" });
});

test("a missing device says it does not exist", () => {
  const r = lookupRdmaDevice(root, pci("0000:03:00.5"));
  expect(r.found).toBe("none");
  expect(r.found === "none" && r.reason).toContain("no such PCI device");
});

test("a device without an infiniband directory says so", () => {
  mk("bus/pci/devices/0000:03:00.5");
  const r = lookupRdmaDevice(root, pci("0000:03:00.5"));
  expect(r.found === "none" && r.reason).toContain("has no RDMA device");
});

test("an empty infiniband directory (device moved to another netns) says so", () => {
  mk("bus/pci/devices/0000:03:00.5/infiniband");
  const r = lookupRdmaDevice(root, pci("0000:03:00.5"));
  expect(r.found === "none" && r.reason).toContain("is empty");
});

test("several RDMA devices are all named", () => {
  mk("bus/pci/devices/0000:03:00.5/infiniband/mlx5_4");
  mk("bus/pci/devices/0000:03:00.5/infiniband/mlx5_3");
  expect(lookupRdmaDevice(root, pci("0000:03:00.5"))).toEqual({ found: "many", names: ["mlx5_3", "mlx5_4"] });
});

test("PCI devices reached through symlinks, as in real sysfs, are followed", () => {
  mk("devices/pci0000:00/0000:03:00.5/infiniband/mlx5_3");
  mk("bus/pci/devices");
  fs.symlinkSync(`${root}/devices/pci0000:00/0000:03:00.5`, `${root}/bus/pci/devices/0000:03:00.5`);
  expect(lookupRdmaDevice(root, pci("0000:03:00.5"))).toEqual({ found: "one", name: "mlx5_3" });
});
