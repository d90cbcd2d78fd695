/**
 * Which RDMA device belongs to a PCI function or an auxiliary device, from sysfs. The root is a
 * parameter so tests build the tree in a temp dir.
 *
 * In netns exclusive mode the `infiniband/` directory under the parent device lists only the RDMA
 * devices of the sysfs mount's netns: once a device has moved into a pod it is gone from here.
 */
import type { DeviceId } from "../config/deviceid.ts";
import * as fs from "../sys/fs.ts";

export type RdmaLookup =
  | { found: "one"; name: string }
  | { found: "none"; reason: string }
  | { found: "many"; names: string[] };

export function parentDevicePath(sysfsRoot: string, id: DeviceId): string {
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
