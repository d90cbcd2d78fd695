/**
 * A fake node for doctor tests: a sysfs tree laid out as the kernel lays it out (devices under
 * /sys/devices, /sys/class/infiniband and /sys/bus/{pci,auxiliary}/devices as symlinks into it),
 * fake namespaces and RDMA subsystem, a real state dir with records and lock files, and a /proc
 * with the kernel release. Moving a device into a pod hides it from the host's sysfs, as exclusive
 * mode does.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { tryLockFile } from "../../src/doctor/locks.ts";
import type { DoctorDeps } from "../../src/doctor/report.ts";
import { type AttachmentRecord, FileStore } from "../../src/state/store.ts";
import { FakeNetns, HOST_NS } from "../fake/netns.ts";
import { FakeRdma } from "../fake/rdma.ts";

export class FakeNode {
  readonly root = fs.mkdtempSync(`${os.tmpdir()}/rdma-doctor-`);
  readonly sysfs = `${this.root}/sys`;
  readonly stateDir = `${this.root}/state`;
  readonly proc = `${this.root}/proc`;
  readonly netns = new FakeNetns();
  readonly rdma = new FakeRdma({ currentNs: () => this.netns.current_, nsOfFd: (fd) => this.netns.nsOfFd(fd) });
  /** RDMA device name to its directory under /sys/devices. */
  private readonly devDirs = new Map<string, string>();

  constructor() {
    fs.mkdirSync(`${this.proc}/sys/kernel`, { recursive: true });
    fs.writeFileSync(`${this.proc}/sys/kernel/osrelease`, "6.1.0-28-amd64\n");
    for (const d of ["class/infiniband", "bus/pci/devices", "bus/auxiliary/devices"]) fs.mkdirSync(`${this.sysfs}/${d}`, { recursive: true });
  }

  private rdmaDevice(parentRel: string, name: string): string {
    const dir = `${this.sysfs}/devices/${parentRel}/infiniband/${name}`;
    fs.mkdirSync(`${dir}/ports/1/gid_attrs/ndevs`, { recursive: true });
    fs.symlinkSync("../..", `${dir}/device`);
    fs.symlinkSync(`../../devices/${parentRel}/infiniband/${name}`, `${this.sysfs}/class/infiniband/${name}`);
    this.devDirs.set(name, dir);
    this.rdma.addDevice(name, HOST_NS);
    return dir;
  }

  /** A VF: RDMA device `name` under PCI function `address`, its netdev named by GID entry 0. */
  addPci(address: string, name: string, netdev?: string): void {
    const rel = `pci0000:00/0000:00:02.0/${address}`;
    fs.mkdirSync(`${this.sysfs}/devices/${rel}`, { recursive: true });
    fs.symlinkSync(`../../../devices/${rel}`, `${this.sysfs}/bus/pci/devices/${address}`);
    const dir = this.rdmaDevice(rel, name);
    if (netdev) {
      fs.writeFileSync(`${dir}/ports/1/gid_attrs/ndevs/0`, `${netdev}\n`);
      fs.mkdirSync(`${this.sysfs}/devices/${rel}/net/${netdev}`, { recursive: true });
    }
  }

  /** An SF: RDMA device `name` under auxiliary device `auxName`; its netdev only under the parent's net/. */
  addAux(auxName: string, name: string, netdev?: string): void {
    const rel = `pci0000:00/0000:00:02.0/0000:03:00.0/${auxName}`;
    fs.mkdirSync(`${this.sysfs}/devices/${rel}`, { recursive: true });
    fs.symlinkSync(`../../../devices/${rel}`, `${this.sysfs}/bus/auxiliary/devices/${auxName}`);
    this.rdmaDevice(rel, name);
    if (netdev) fs.mkdirSync(`${this.sysfs}/devices/${rel}/net/${netdev}`, { recursive: true });
  }

  /** Moves `name` into the pod netns at `path` (created if new); the host's sysfs stops showing it. */
  moveToPod(name: string, path: string): void {
    const id = this.netns.create(path);
    this.rdma.device(name).ns = id;
    fs.rmSync(`${this.sysfs}/class/infiniband/${name}`);
  }

  /** Deletes a pod netns; like the kernel, hands its devices back to the host. */
  deletePod(path: string): void {
    const id = this.netns.destroy(path);
    for (const d of this.rdma.devices.filter((x) => x.ns === id)) {
      d.ns = HOST_NS;
      const dir = this.devDirs.get(d.name) ?? "";
      fs.symlinkSync(`../../${dir.slice(this.sysfs.length + 1)}`, `${this.sysfs}/class/infiniband/${d.name}`);
    }
  }

  /** Writes a record, as ADD would, for `device` attached to container `containerId` in `netns`. */
  record(containerId: string, deviceId: string, device: string, netns: string, extra: Partial<AttachmentRecord> = {}): AttachmentRecord {
    const rec: AttachmentRecord = {
      version: 1,
      network: "sriov-network",
      containerId,
      ifName: "net1",
      deviceId,
      rdmaDevice: device,
      rdmaIndex: this.rdma.device(device).index,
      netns,
      phase: "attached",
      createdAt: "2026-01-02T03:04:05.000Z",
      updatedAt: "2026-01-02T03:04:05.000Z",
      ...extra,
    };
    new FileStore(this.stateDir).init().put(rec);
    this.lockFile(deviceId);
    return rec;
  }

  /** The lock file of a device, as the plugin leaves it while the device is attached (or after a killed call). */
  lockFile(deviceId: string): string {
    const store = new FileStore(this.stateDir).init();
    const file = store.deviceLockPath(deviceId);
    fs.writeFileSync(file, "");
    return file;
  }

  deps(): DoctorDeps {
    return {
      kernel: this.rdma,
      netns: this.netns,
      sysfsRoot: this.sysfs,
      stateDir: this.stateDir,
      procRoot: this.proc,
      probeLock: tryLockFile,
      now: () => new Date("2026-01-02T03:04:05Z"),
    };
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
