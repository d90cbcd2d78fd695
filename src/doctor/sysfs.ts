/**
 * What sysfs says about an RDMA device visible from the host: its parent (PCI function or
 * auxiliary device) and its netdevs. The root is a parameter so tests build the tree in a temp dir.
 *
 * In netns exclusive mode /sys/class/infiniband lists only the devices of the sysfs mount's netns:
 * these lookups work for devices on the host, not for devices inside pods.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDeviceId } from "../config/deviceid.ts";

type ParentBus = "pci" | "auxiliary" | "unknown";

export interface DeviceParent {
  bus: ParentBus;
  /** The PCI address or the auxiliary device name; null when sysfs does not say. */
  name: string | null;
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort(numericThenText);
  } catch {
    return [];
  }
}

/** Real subdirectories only: symlinks such as `subsystem` and `driver` lead elsewhere in sysfs. */
function childDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function numericThenText(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The parent of /sys/class/infiniband/<dev>: the `device` symlink resolves to the PCI function
 * (…/pci0000:00/0000:03:00.5) or to the auxiliary device (…/mlx5_core.sf.4).
 */
export function deviceParent(sysfsRoot: string, dev: string): DeviceParent {
  let real: string;
  let root: string;
  try {
    real = fs.realpathSync(`${sysfsRoot}/class/infiniband/${dev}/device`);
    root = fs.realpathSync(sysfsRoot);
  } catch {
    return { bus: "unknown", name: null };
  }
  const name = path.basename(real);
  try {
    if (fs.realpathSync(`${sysfsRoot}/bus/auxiliary/devices/${name}`) === real) return { bus: "auxiliary", name };
  } catch {
    // not on the auxiliary bus
  }
  const underPci = real.slice(root.length).split("/").some((seg) => seg.startsWith("pci"));
  const id = parseDeviceId(name);
  if (underPci && "kind" in id && id.kind === "pci") return { bus: "pci", name: id.id };
  return { bus: "unknown", name };
}

/**
 * The netdevs of a device. First the GID table: ports/<n>/gid_attrs/ndevs/<i> names the netdev of
 * each valid entry (reading an empty entry fails with EINVAL); the lowest valid entry of a port is
 * its default GID, which belongs to the port's own netdev rather than to a VLAN or macvlan above
 * it. When no entry is readable (the port is down, or the GID table is empty), the parent's
 * netdevs: device/net/<name>, or one level further down for drivers that hang the netdev off a
 * child device (virtio-net: <pci function>/virtioN/net/<name>).
 */
export function deviceNetdevs(sysfsRoot: string, dev: string): string[] {
  const base = `${sysfsRoot}/class/infiniband/${dev}`;
  const found = new Set<string>();
  for (const port of readdir(`${base}/ports`)) {
    const ndevs = `${base}/ports/${port}/gid_attrs/ndevs`;
    for (const entry of readdir(ndevs)) {
      let name = "";
      try {
        name = fs.readFileSync(`${ndevs}/${entry}`, "utf8").trim();
      } catch {
        continue; // an unused GID entry
      }
      if (name !== "") {
        found.add(name);
        break;
      }
    }
  }
  if (found.size > 0) return [...found];
  const parent = `${base}/device`;
  for (const name of readdir(`${parent}/net`)) found.add(name);
  if (found.size > 0) return [...found];
  for (const child of childDirs(parent)) {
    for (const name of readdir(`${parent}/${child}/net`)) found.add(name);
  }
  return [...found];
}
