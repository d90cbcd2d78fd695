/**
 * NetlinkLinks against the host's real kernel (root, iproute2): a real RTM_GETLINK inside a real
 * netns, and the parent of the host's own NICs checked against what sysfs says about them.
 */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { LinuxNetns } from "../../src/netns/netns.ts";
import { KernelError } from "../../src/rdma/kernel.ts";
import { NetlinkLinks } from "../../src/rdma/links.ts";
import { deviceIdOfParent } from "../../src/rdma/sysfs.ts";

const links = new NetlinkLinks();
const netns = new LinuxNetns();
const name = `rdmalinks${process.pid}`;

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString()}`);
}
/** The host's netdevs that sit on a device, with the device's sysfs directory. */
const withDevice = fs.readdirSync("/sys/class/net").filter((n) => fs.existsSync(`/sys/class/net/${n}/device`));

afterAll(() => {
  Bun.spawnSync(["ip", "netns", "del", name]);
});

test("inside a pod-like netns: lo sits on no device, an absent name is ENODEV", () => {
  ip("netns", "add", name);
  const pod = netns.open(`/var/run/netns/${name}`);
  try {
    expect(netns.inside(pod, () => links.parentOf("lo"))).toBeUndefined();
    let err: unknown;
    try {
      netns.inside(pod, () => links.parentOf("net9"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe(19);
    // A NIC of the host's is not there: the question was asked inside the pod's netns.
    for (const hostNic of withDevice) expect(() => netns.inside(pod, () => links.parentOf(hostNic))).toThrow(KernelError);
  } finally {
    netns.close(pod);
  }
});


test.each(withDevice.length > 0 ? withDevice : ["(none on this host)"])("the host's %s: the kernel names the device sysfs shows under it", (ifName) => {
  if (withDevice.length === 0) return; // a host without a device-backed NIC has nothing to compare
  const parent = links.parentOf(ifName);
  const dir = fs.realpathSync(`/sys/class/net/${ifName}/device`);
  expect(parent?.name).toBe(dir.split("/").at(-1));
  const bus = fs.realpathSync(`${dir}/subsystem`).split("/").at(-1);
  expect(parent?.bus).toBe(bus);
  if (bus === "pci" || fs.existsSync(`${dir}/../uevent`)) {
    const id = deviceIdOfParent("/sys", parent ?? { name: "" });
    if (!("error" in id)) expect(fs.realpathSync(`/sys/bus/pci/devices/${id.id}`)).toBe(bus === "pci" ? dir : fs.realpathSync(`${dir}/..`));
  }
});

test("the real kernel answers the VF dump: every VF's MAC of this host's PFs (none without SR-IOV), in the format sysfs lists them", () => {
  const vfs = links.vfMacs();
  const expected = fs
    .readdirSync("/sys/class/net")
    .flatMap((pf) => {
      const dev = `/sys/class/net/${pf}/device`;
      return fs.existsSync(dev) ? fs.readdirSync(dev).filter((n) => /^virtfn\d+$/.test(n)).map((n) => `${pf}/${n.slice(6)}`) : [];
    })
    .sort();
  expect(vfs.map((v) => `${v.pf}/${v.vf}`).sort()).toEqual(expected);
  for (const v of vfs) expect(v.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
});
