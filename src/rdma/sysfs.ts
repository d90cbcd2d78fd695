/**
 * Which RDMA device belongs to a PCI function or an auxiliary device, from sysfs. The root is a
 * parameter so tests build the tree in a temp dir.
 *
 * In netns exclusive mode the `infiniband/` directory under the parent device lists only the RDMA
 * devices of the sysfs mount's netns: once a device has moved into a pod it is gone from here.
 */
import { isSafeName } from "../config/chars.ts";
import { type DeviceId, isDeviceId, parseDeviceId } from "../config/deviceid.ts";
import * as fs from "../sys/fs.ts";
import type { NetdevParent } from "./rtnl.ts";

type RdmaLookup =
  | { found: "one"; name: string }
  | { found: "none"; reason: string }
  | { found: "many"; names: string[] };

function parentDevicePath(sysfsRoot: string, id: DeviceId): string {
  const bus = id.kind === "pci" ? "pci" : "auxiliary";
  return `${sysfsRoot}/bus/${bus}/devices/${id.id}`;
}

export function lookupRdmaDevice(sysfsRoot: string, id: DeviceId): RdmaLookup {
  const parent = parentDevicePath(sysfsRoot, id);
  let names: string[];
  try {
    names = fs.readdirSync(`${parent}/infiniband`);
  } catch (e) {
    if ((e as fs.FsError).code === "ENOENT") {
      if (!fs.existsSync(parent)) return { found: "none", reason: `${parent} does not exist: no such ${id.kind === "pci" ? "PCI" : "auxiliary"} device` };
      return { found: "none", reason: `${parent}/infiniband does not exist: the device has no RDMA device in this network namespace` };
    }
    return { found: "none", reason: `cannot read ${parent}/infiniband: ${(e as Error).message}` };
  }
  names.sort();
  const [first, ...rest] = names;
  if (first === undefined) return { found: "none", reason: `${parent}/infiniband is empty: no RDMA device in this network namespace` };
  if (rest.length > 0) return { found: "many", names };
  return { found: "one", name: first };
}

/** How far above a netdev's parent device the PCI function may sit (virtio-net: one level). */
const MAX_PARENT_HOPS = 3;

/**
 * The deviceID of the device a netdev sits on (rtnetlink's IFLA_PARENT_DEV_*): a VF's netdev sits
 * on its PCI function, an SF's on its auxiliary device, both named as a deviceID is. A parent on
 * another bus (virtio-net's `virtio0`) stands for the PCI function above it: the nearest ancestor
 * whose uevent has a PCI_SLOT_NAME. Returns the reason when there is none.
 */
export function deviceIdOfParent(sysfsRoot: string, parent: NetdevParent): DeviceId | { error: string } {
  const { name, bus } = parent;
  if (bus === "pci" || bus === "auxiliary") {
    const id = parseDeviceId(name);
    if (isDeviceId(id) && id.kind === (bus === "pci" ? "pci" : "aux")) return id;
    return { error: `its parent device ${JSON.stringify(name)} on bus ${bus} is not named as a deviceID is` };
  }
  const where = bus === undefined ? `device ${name} (on no bus)` : `${bus} device ${name}`;
  if (bus === undefined || !isSafeName(bus) || name.includes("/") || name === "." || name === "..") {
    return { error: `it sits on ${where}, which is neither a PCI function nor an auxiliary device` };
  }
  let dir = `${sysfsRoot}/bus/${bus}/devices/${name}`;
  for (let hop = 1; hop <= MAX_PARENT_HOPS; hop++) {
    // `..` after the bus's symlink is the parent of the device's real directory.
    dir += "/..";
    const slot = pciSlotName(`${dir}/uevent`);
    if (slot !== undefined) {
      const id = parseDeviceId(slot);
      if (isDeviceId(id) && id.kind === "pci") return id;
    }
  }
  return { error: `it sits on ${where}, with no PCI function within ${MAX_PARENT_HOPS} levels above it` };
}

/** The PCI address of VF `vf` of the PF whose netdev is `pf` (its virtfn<N> link), if there is one. */
export function vfPciAddress(sysfsRoot: string, pf: string, vf: number): string | undefined {
  if (pf.includes("/") || pf === "." || pf === ".." || !Number.isInteger(vf) || vf < 0) return undefined;
  const slot = pciSlotName(`${sysfsRoot}/class/net/${pf}/device/virtfn${vf}/uevent`);
  if (slot === undefined) return undefined;
  const id = parseDeviceId(slot);
  return isDeviceId(id) && id.kind === "pci" ? id.id : undefined;
}

/** PCI_SLOT_NAME of a device's uevent file, if it is a PCI device's. */
function pciSlotName(ueventFile: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(ueventFile, fs.O_RDONLY | fs.O_CLOEXEC);
  } catch {
    return undefined;
  }
  try {
    for (const line of fs.readText(fd).split("\n")) {
      if (line.startsWith("PCI_SLOT_NAME=")) return line.slice("PCI_SLOT_NAME=".length).trim();
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
