/**
 * A whole fake node for in-process plugin tests: a sysfs tree in a temp dir, fake namespaces, the
 * fake RDMA subsystem keeping the sysfs tree in step (exclusive mode hides a device that left the
 * host's netns), a state dir, and a way to call the plugin exactly as a runtime would.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { type CniIo, runCni } from "../../src/cni/dispatch.ts";
import type { StreamLogger } from "../../src/log.ts";
import type { PluginDeps } from "../../src/plugin/deps.ts";
import { FileStore, type Store } from "../../src/state/store.ts";
import { FakeNetns, HOST_NS } from "./netns.ts";
import { FakeRdma } from "./rdma.ts";

export interface CallResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

export class World {
  readonly root = fs.mkdtempSync(`${os.tmpdir()}/rdma-cni-world-`);
  readonly sysfs = `${this.root}/sys`;
  readonly stateDir = `${this.root}/state`;
  readonly devinfoRoot = `${this.root}/devinfo/cni`;
  readonly netns = new FakeNetns();
  readonly rdma: FakeRdma;
  private readonly parents = new Map<string, string>();
  lockTimeoutMs = 200;
  /** Lets a test make the store fail at a chosen write (e.g. the record update after a move). */
  wrapStore: (store: Store) => Store = (s) => s;

  constructor() {
    this.rdma = new FakeRdma({
      currentNs: () => this.netns.current_,
      nsOfFd: (fd) => this.netns.nsOfFd(fd),
      onMove: (d, from, to) => {
        const dir = `${this.parents.get(d.name)}/infiniband/${d.name}`;
        if (to === HOST_NS) fs.mkdirSync(dir, { recursive: true });
        if (from === HOST_NS) fs.rmSync(dir, { recursive: true, force: true });
      },
    });
  }

  private addDevice(parent: string, name: string) {
    fs.mkdirSync(`${parent}/infiniband/${name}`, { recursive: true });
    this.parents.set(name, parent);
    return this.rdma.addDevice(name, HOST_NS);
  }

  addPci(address: string, name: string) {
    return this.addDevice(`${this.sysfs}/bus/pci/devices/${address}`, name);
  }

  addAux(auxName: string, name: string) {
    return this.addDevice(`${this.sysfs}/bus/auxiliary/devices/${auxName}`, name);
  }

  pod(path: string): string {
    return this.netns.create(path);
  }

  /** Deletes a pod netns; like the kernel, hands its RDMA devices back to the host. */
  deletePod(path: string): void {
    const id = this.netns.destroy(path);
    for (const d of this.rdma.devices.filter((x) => x.ns === id)) {
      d.ns = HOST_NS;
      fs.mkdirSync(`${this.parents.get(d.name)}/infiniband/${d.name}`, { recursive: true });
    }
  }

  /** Where a device is now: "host", or the netns identity. */
  whereIs(name: string): string {
    return this.rdma.device(name).ns;
  }

  /** Kept across this world's calls, as the engine keeps its own across the calls it serves. */
  readonly indexCache = new Map<string, number>();

  deps(log: StreamLogger): PluginDeps {
    return { kernel: this.rdma, netns: this.netns, sysfsRoot: this.sysfs, log, lockTimeoutMs: this.lockTimeoutMs, now: () => new Date("2026-01-02T03:04:05Z"), openStore: (dir) => this.wrapStore(new FileStore(dir).init()), deviceInfoRoots: [this.devinfoRoot], indexCache: this.indexCache };
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
    const code = runCni(io, (log) => this.deps(log));
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

  /** The records in the state dir, parsed. */
  records(): Record<string, unknown>[] {
    const dir = `${this.stateDir}/attachments`;
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".json"))
      .map((n) => JSON.parse(fs.readFileSync(`${dir}/${n}`, "utf8")));
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
