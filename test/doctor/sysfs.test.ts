import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { deviceNetdevs, deviceParent } from "../../src/doctor/sysfs.ts";

let root: string;
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** /sys/devices/<rel>/infiniband/<dev> with its device link, and /sys/class/infiniband/<dev>. */
function tree(rel: string, dev: string): { sys: string; parent: string; ib: string } {
  root = fs.mkdtempSync(`${os.tmpdir()}/rdma-doctor-sysfs-`);
  const sys = `${root}/sys`;
  const parent = `${sys}/devices/${rel}`;
  const ib = `${parent}/infiniband/${dev}`;
  fs.mkdirSync(`${ib}/ports/1/gid_attrs/ndevs`, { recursive: true });
  fs.symlinkSync("../..", `${ib}/device`);
  fs.mkdirSync(`${sys}/class/infiniband`, { recursive: true });
  fs.symlinkSync(`../../devices/${rel}/infiniband/${dev}`, `${sys}/class/infiniband/${dev}`);
  return { sys, parent, ib };
}

function onBus(sys: string, bus: string, rel: string): void {
  const name = rel.split("/").pop() ?? "";
  fs.mkdirSync(`${sys}/bus/${bus}/devices`, { recursive: true });
  fs.symlinkSync(`../../../devices/${rel}`, `${sys}/bus/${bus}/devices/${name}`);
}

describe("doctor sysfs lookups", () => {
  test("the parent of a VF's device is its PCI function", () => {
    const t = tree("pci0000:00/0000:00:02.0/0000:03:00.5", "mlx5_5");
    onBus(t.sys, "pci", "pci0000:00/0000:00:02.0/0000:03:00.5");
    expect(deviceParent(t.sys, "mlx5_5")).toEqual({ bus: "pci", name: "0000:03:00.5" });
  });

  test("the parent of an SF's device is its auxiliary device, even below a PCI function", () => {
    const rel = "pci0000:00/0000:00:02.0/0000:03:00.0/mlx5_core.sf.4";
    const t = tree(rel, "mlx5_7");
    onBus(t.sys, "auxiliary", rel);
    expect(deviceParent(t.sys, "mlx5_7")).toEqual({ bus: "auxiliary", name: "mlx5_core.sf.4" });
  });

  test("a parent on neither bus is unknown, named; a device without a device link is unknown, unnamed", () => {
    const t = tree("virtual/rxe/rxe0", "rxe0");
    expect(deviceParent(t.sys, "rxe0")).toEqual({ bus: "unknown", name: "rxe0" });
    expect(deviceParent(t.sys, "nosuch")).toEqual({ bus: "unknown", name: null });
  });

  test("the netdev is the first readable GID entry of each port, skipping empty entries", () => {
    const t = tree("pci0000:00/0000:03:00.5", "mlx5_5");
    const ndevs = `${t.ib}/ports/1/gid_attrs/ndevs`;
    fs.mkdirSync(`${ndevs}/0`); // reading it fails (EISDIR), as an unused entry fails with EINVAL
    fs.writeFileSync(`${ndevs}/1`, "");
    fs.writeFileSync(`${ndevs}/2`, "ens1f0v5\n");
    fs.writeFileSync(`${ndevs}/10`, "ens1f0v5.100\n"); // a VLAN above it: not the port's netdev
    fs.mkdirSync(`${t.ib}/ports/2/gid_attrs/ndevs`, { recursive: true });
    fs.writeFileSync(`${t.ib}/ports/2/gid_attrs/ndevs/0`, "ens1f1v5\n");
    expect(deviceNetdevs(t.sys, "mlx5_5")).toEqual(["ens1f0v5", "ens1f1v5"]);
  });

  test("without a readable GID entry, the netdevs are the parent's", () => {
    const t = tree("pci0000:00/0000:00:02.0/0000:03:00.0/mlx5_core.sf.4", "mlx5_7");
    fs.mkdirSync(`${t.parent}/net/enp3s0f0s4`, { recursive: true });
    expect(deviceNetdevs(t.sys, "mlx5_7")).toEqual(["enp3s0f0s4"]);
  });

  test("a netdev on a child of the parent (virtio-net) is found one level down, not through symlinks", () => {
    const t = tree("pci0000:00/0000:00:04.0", "simpci0");
    fs.mkdirSync(`${t.parent}/virtio1/net/eth0`, { recursive: true });
    fs.mkdirSync(`${root}/elsewhere/net/wrong0`, { recursive: true });
    fs.symlinkSync(`${root}/elsewhere`, `${t.parent}/subsystem`);
    expect(deviceNetdevs(t.sys, "simpci0")).toEqual(["eth0"]);
  });

  test("no netdev anywhere gives an empty list", () => {
    const t = tree("pci0000:00/0000:03:00.5", "mlx5_5");
    expect(deviceNetdevs(t.sys, "mlx5_5")).toEqual([]);
    expect(deviceNetdevs(t.sys, "nosuch")).toEqual([]);
  });
});
