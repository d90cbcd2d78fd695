/**
 * The one fake node of the host tests (plugin verbs, doctor, real namespaces): a sysfs tree laid
 * out as the kernel lays it out (devices under /sys/devices, /sys/class/infiniband and
 * /sys/bus/{pci,auxiliary}/devices as symlinks into it), namespaces, the fake RDMA subsystem
 * keeping that tree in step (in exclusive mode a device that left the host's netns is gone from
 * the host's sysfs), a state dir, a /proc with the kernel release, and a way to call the plugin
 * exactly as a runtime would.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { type CniIo, runCni } from "../../src/cni/dispatch.ts";
import { tryLockFile } from "../../src/doctor/locks.ts";
import type { DoctorDeps } from "../../src/doctor/report.ts";
import type { Logger } from "../../src/log.ts";
import { KernelError } from "../../src/rdma/kernel.ts";
import type { Links, NetdevParent } from "../../src/rdma/links.ts";
import type { Netns } from "../../src/netns/netns.ts";
import type { PluginDeps } from "../../src/plugin/deps.ts";
import { pluginFuncs } from "../../src/plugin/verbs.ts";
import { type AttachmentRecord, FileStore, type Store } from "../../src/state/store.ts";
import { FakeNetns, HOST_NS } from "./netns.ts";
import { FakeRdma } from "./rdma.ts";

export interface CallResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

/** How the node's RDMA subsystem sees namespaces: by default the fake ones of FakeNetns. */
export interface NamespaceView<N extends Netns> {
  netns: N;
  /** Identity of the host's netns. */
  hostNs: string;
  /** Identity of the netns the calling thread is in now. */
  currentNs(): string;
  /** Identity of the netns behind an fd. */
  nsOfFd(fd: number): string;
}

function fakeNamespaces(): NamespaceView<FakeNetns> {
  const netns = new FakeNetns();
  return { netns, hostNs: HOST_NS, currentNs: () => netns.current_, nsOfFd: (fd) => netns.nsOfFd(fd) };
}

interface SysfsDevice {
  /** The parent device's path under /sys/devices. */
  parentRel: string;
  /** The netdev its GID entry 0 names (a VF's), if any. */
  gidNetdev: string | undefined;
}

export class FakeNode<N extends Netns = FakeNetns> {
  readonly root = fs.mkdtempSync(`${os.tmpdir()}/rdma-cni-node-`);
  readonly sysfs = `${this.root}/sys`;
  readonly stateDir = `${this.root}/state`;
  /** Where the Go rdma-cni keeps its records on this node. */
  readonly goStateDir = `${this.root}/var/lib/cni/rdma`;
  readonly proc = `${this.root}/proc`;
  readonly devinfoRoot = `${this.root}/devinfo/cni`;
  readonly netns: N;
  readonly hostNs: string;
  readonly rdma: FakeRdma;
  private readonly sysfsDevices = new Map<string, SysfsDevice>();
  lockTimeoutMs = 200;
  /** Lets a test make the store fail at a chosen write (e.g. the record update after a move). */
  wrapStore: (store: Store) => Store = (s) => s;
  /** Kept across this node's calls, as the engine keeps its own across the calls it serves. */
  readonly indexCache = new Map<string, number>();
  /** Netdevs by netns identity, each with the parent device rtnetlink would name (undefined: none). */
  private readonly netdevs = new Map<string, Map<string, NetdevParent | undefined>>();
  /** rtnetlink's view: the netdevs of the calling thread's netns. */
  readonly links: Links;
  /** The administrative MACs the host's PFs give their VFs (make each VF's virtfn<N> in sysfs too: vfOf). */
  readonly vfMacs: { pf: string; vf: number; mac: string }[] = [];

  constructor(view: NamespaceView<N> = fakeNamespaces() as unknown as NamespaceView<N>) {
    this.netns = view.netns;
    this.hostNs = view.hostNs;
    this.links = {
      parentOf: (ifName) => {
        const here = this.netdevs.get(view.currentNs());
        if (!here?.has(ifName)) throw new KernelError(`get link ${ifName}`, 19, `get link ${ifName}: kernel answered ENODEV`);
        return here.get(ifName);
      },
      vfMacs: () => (view.currentNs() === this.hostNs ? [...this.vfMacs] : []),
    };
    this.rdma = new FakeRdma({
      currentNs: view.currentNs,
      nsOfFd: view.nsOfFd,
      onMove: (d, from, to) => {
        if (from === this.hostNs) this.hideFromHost(d.name);
        if (to === this.hostNs) this.showOnHost(d.name);
      },
      onRename: (d, from) => {
        const onHost = d.ns === this.hostNs;
        if (onHost) this.hideFromHost(from);
        this.sysfsDevices.set(d.name, this.sysfsDevice(from));
        this.sysfsDevices.delete(from);
        if (onHost) this.showOnHost(d.name);
      },
    });
    fs.mkdirSync(`${this.proc}/sys/kernel`, { recursive: true });
    fs.writeFileSync(`${this.proc}/sys/kernel/osrelease`, "6.1.0-28-amd64\n");
    for (const d of ["class/infiniband", "bus/pci/devices", "bus/auxiliary/devices"]) fs.mkdirSync(`${this.sysfs}/${d}`, { recursive: true });
  }

  /** A VF: RDMA device `name` under PCI function `address`, its netdev named by GID entry 0. */
  addPci(address: string, name: string, netdev?: string) {
    const rel = `pci0000:00/0000:00:02.0/${address}`;
    fs.mkdirSync(`${this.sysfs}/devices/${rel}`, { recursive: true });
    this.busLink(`../../../devices/${rel}`, `${this.sysfs}/bus/pci/devices/${address}`);
    if (netdev) fs.mkdirSync(`${this.sysfs}/devices/${rel}/net/${netdev}`, { recursive: true });
    return this.addRdmaDevice(rel, name, netdev);
  }

  /** An SF: RDMA device `name` under auxiliary device `auxName`; its netdev only under the parent's net/. */
  addAux(auxName: string, name: string, netdev?: string) {
    const rel = `pci0000:00/0000:00:02.0/0000:03:00.0/${auxName}`;
    fs.mkdirSync(`${this.sysfs}/devices/${rel}`, { recursive: true });
    this.busLink(`../../../devices/${rel}`, `${this.sysfs}/bus/auxiliary/devices/${auxName}`);
    if (netdev) fs.mkdirSync(`${this.sysfs}/devices/${rel}/net/${netdev}`, { recursive: true });
    return this.addRdmaDevice(rel, name, undefined);
  }

  /** A parent may have several RDMA devices (a misconfigured node): its bus link is made once. */
  private busLink(target: string, link: string): void {
    if (!fs.existsSync(link)) fs.symlinkSync(target, link);
  }

  private addRdmaDevice(parentRel: string, name: string, gidNetdev: string | undefined) {
    this.sysfsDevices.set(name, { parentRel, gidNetdev });
    this.showOnHost(name);
    return this.rdma.addDevice(name, this.hostNs);
  }

  private sysfsDevice(name: string): SysfsDevice {
    const d = this.sysfsDevices.get(name);
    if (!d) throw new Error(`fake node: no device ${name} in sysfs`);
    return d;
  }

  /** The device's directory under its parent, and its /sys/class/infiniband link, as the host's sysfs shows them. */
  private showOnHost(name: string): void {
    const { parentRel, gidNetdev } = this.sysfsDevice(name);
    const dir = `${this.sysfs}/devices/${parentRel}/infiniband/${name}`;
    fs.mkdirSync(`${dir}/ports/1/gid_attrs/ndevs`, { recursive: true });
    if (!fs.existsSync(`${dir}/device`)) fs.symlinkSync("../..", `${dir}/device`);
    if (gidNetdev) fs.writeFileSync(`${dir}/ports/1/gid_attrs/ndevs/0`, `${gidNetdev}\n`);
    const link = `${this.sysfs}/class/infiniband/${name}`;
    if (!fs.existsSync(link)) fs.symlinkSync(`../../devices/${parentRel}/infiniband/${name}`, link);
  }

  private hideFromHost(name: string): void {
    const { parentRel } = this.sysfsDevice(name);
    fs.rmSync(`${this.sysfs}/devices/${parentRel}/infiniband/${name}`, { recursive: true, force: true });
    fs.rmSync(`${this.sysfs}/class/infiniband/${name}`, { force: true });
  }

  private get fakeNetns(): FakeNetns {
    if (!(this.netns instanceof FakeNetns)) throw new Error("fake node: pods are made with real namespaces here (ip netns add)");
    return this.netns;
  }

  /** A pod netns at `path`; returns its identity. */
  pod(path: string): string {
    return this.fakeNetns.create(path);
  }

  /** Puts `name` into the pod netns at `path` (created if new) without the plugin, as a finished ADD leaves it. */
  moveToPod(name: string, path: string): void {
    this.rdma.device(name).ns = this.pod(path);
    this.hideFromHost(name);
  }

  /** Deletes a pod netns; like the kernel, hands its RDMA devices back to the host. */
  deletePod(path: string): void {
    const id = this.fakeNetns.destroy(path);
    this.returnDevicesOf(id);
  }

  /** What the kernel does when a netns dies: its RDMA devices come back to the host. */
  returnDevicesOf(ns: string | undefined): void {
    for (const d of this.rdma.devices.filter((x) => x.ns === ns)) {
      d.ns = this.hostNs;
      this.showOnHost(d.name);
    }
  }

  /** The names /sys/class/infiniband shows on the host, sorted. */
  hostSysfsNames(): string[] {
    return fs.readdirSync(`${this.sysfs}/class/infiniband`).sort();
  }

  /** A netdev named `ifName` in the pod netns at `path` (created if new), sitting on `parent`, as a first plugin leaves it. */
  netdevInPod(path: string, ifName: string, parent: NetdevParent | undefined): void {
    const ns = this.pod(path);
    const here = this.netdevs.get(ns) ?? new Map<string, NetdevParent | undefined>();
    here.set(ifName, parent);
    this.netdevs.set(ns, here);
  }

  /** VF `vf` of PF netdev `pf` is the PCI function `address`, with administrative MAC `mac`. */
  vfOf(pf: string, vf: number, address: string, mac: string): void {
    const dir = `${this.sysfs}/class/net/${pf}/device/virtfn${vf}`;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/uevent`, `DRIVER=mlx5_core\nPCI_SLOT_NAME=${address}\n`);
    this.vfMacs.push({ pf, vf, mac });
  }

  /** Where a device is now: the host's netns identity, or a pod's. */
  whereIs(name: string): string {
    return this.rdma.device(name).ns;
  }

  /** The plugin's dependencies on this node: the only place tests assemble them. */
  pluginDeps(log: Logger): PluginDeps {
    return {
      kernel: this.rdma,
      links: this.links,
      netns: this.netns,
      sysfsRoot: this.sysfs,
      log,
      lockTimeoutMs: this.lockTimeoutMs,
      goStateDir: this.goStateDir,
      now: () => new Date("2026-01-02T03:04:05Z"),
      openStore: (dir) => this.wrapStore(new FileStore(dir).init()),
      indexCache: this.indexCache,
    };
  }

  doctorDeps(): DoctorDeps {
    return {
      kernel: this.rdma,
      netns: this.netns,
      sysfsRoot: this.sysfs,
      stateDir: this.stateDir,
      goStateDir: this.goStateDir,
      procRoot: this.proc,
      probeLock: tryLockFile,
      now: () => new Date("2026-01-02T03:04:05Z"),
    };
  }

  callRaw(env: Record<string, string | undefined>, stdin: string | Uint8Array): CallResult {
    let stdout = "";
    let stderr = "";
    const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
    const io: CniIo = {
      env: { RDMA_CNI_STATE_DIR: this.stateDir, ...env },
      readStdin: (max) => bytes.subarray(0, max + 1),
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
    };
    const code = runCni(io, pluginFuncs((log) => this.pluginDeps(log)), [this.devinfoRoot]);
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
    return { code, stdout, stderr, json };
  }

  call(command: string, conf: Record<string, unknown>, env: { containerId?: string; netns?: string; ifName?: string; args?: string } = {}): CallResult {
    return this.callRaw(
      {
        CNI_COMMAND: command,
        CNI_CONTAINERID: env.containerId ?? "c1",
        CNI_NETNS: env.netns ?? "/var/run/netns/pod1",
        CNI_IFNAME: env.ifName ?? "net1",
        CNI_PATH: "/opt/cni/bin",
        CNI_ARGS: env.args,
      },
      JSON.stringify(conf),
    );
  }

  /** The records in the state dir, as the store lists them. */
  records(): AttachmentRecord[] {
    return new FileStore(this.stateDir).list().records;
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
    const file = new FileStore(this.stateDir).init().deviceLockPath(deviceId);
    fs.writeFileSync(file, "");
    return file;
  }

  /** Files anywhere under the state dir other than records and locks (temp files left behind). */
  strayFiles(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (!/\/attachments\/[^/]+\.json$|\/locks\/[^/]+\.lock$/.test(p)) out.push(p);
      }
    };
    walk(this.stateDir);
    return out;
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A result as a first plugin (host-device, sriov) would hand it on, in `version`. */
export function prevResultFor(version: string, opts: { ifName?: string; netns?: string; pciID?: string } = {}): Record<string, unknown> {
  const iface: Record<string, unknown> = { name: opts.ifName ?? "net1", mac: "02:00:00:00:00:01", sandbox: opts.netns ?? "/var/run/netns/pod1" };
  if (opts.pciID) iface.pciID = opts.pciID;
  const ip: Record<string, unknown> = { address: "192.0.2.10/24", interface: 0 };
  if (version.startsWith("0.")) ip.version = "4";
  return { cniVersion: version, interfaces: [iface], ips: [ip], dns: {} };
}

export function netconf(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: version, name: "sriov-network", type: "rdma", ...extra };
}
