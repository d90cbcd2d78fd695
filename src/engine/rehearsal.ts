/**
 * A new engine's first worker thread rehearses ADD and DEL before it serves: the path a call
 * takes (the request's decoding, runCni, the verbs, the record store, the reply's encoding) on
 * made-up input, so that JavaScriptCore has compiled that code, and bun:ffi bound its symbols,
 * before the first pod waits for them. Under the test bed's emulation the first call of a thread
 * cost 420-680 ms against ~200 ms for later ones (docs/engine.md, "A quiet node").
 *
 * It touches no device and no state directory. The kernel and the network namespaces are stand-ins
 * holding one made-up device; the sysfs tree that names it and the record store live in a scratch
 * directory beside the engine's socket (root only, 0700), removed afterwards, or by the next engine
 * if this one is killed meanwhile (rehearsal-scratch.ts). Of the real kernel,
 * one read: the RDMA netns mode (RDMA netlink), which also binds the netlink
 * symbols; a node without RDMA answers it with an error, which the rehearsal ignores.
 */
import * as fs from "node:fs";
import { type CniFuncs, pluginFuncs } from "../plugin/verbs.ts";
import type { Netns, NetnsHandle } from "../netns/netns.ts";
import { KernelError, type NetnsMode, type RdmaDevice, type RdmaKernel } from "../rdma/kernel.ts";
import type { Links, NetdevParent, VfMac } from "../rdma/links.ts";
import { NetlinkRdma } from "../rdma/netlink.ts";
import { FileStore } from "../state/store.ts";
import { serveRequest } from "./connection.ts";
import { decodeEnv, decodeRequestHeader, encodeReply, encodeRequest, REQUEST_HEADER_BYTES } from "./protocol.ts";
import { makeRehearsalScratch } from "./rehearsal-scratch.ts";

/** ADD+DEL cycles a rehearsal runs at most, and the wall time it may take. */
const REHEARSAL_CYCLES = 30;
const REHEARSAL_MAX_MS = 3_000;

interface RehearsalLimits {
  cycles: number;
  maxMs: number;
  /**
   * Checked before each rehearsed call: a real call waiting ends the rehearsal, so no pod waits
   * for it; so does the engine's drain, so a SIGTERM does not wait for it either.
   */
  stop(): boolean;
}

const DEVICE: RdmaDevice = { index: 0x7fff_0000, name: "rdmacni_rehearsal0" };
const DEVICE_ID = "rdma_cni.rehearsal.0";
const HOME_FD = -100;
const POD_FD = -101;
const ENODEV = 19;

/**
 * One made-up device in a made-up pair of namespaces: a kernel and a Netns in one object, since
 * what `listDevices` shows depends on where `inside` has put the thread. Nothing here reaches the
 * kernel.
 */
export class StandInNode implements RdmaKernel, Netns, Links {
  private deviceIn: "home" | "pod" = "home";
  private thread: "home" | "pod" = "home";
  private name = DEVICE.name;

  netnsMode(): NetnsMode {
    return "exclusive";
  }
  listDevices(): RdmaDevice[] {
    return this.deviceIn === this.thread ? [{ index: DEVICE.index, name: this.name }] : [];
  }
  getDevice(index: number): RdmaDevice | undefined {
    return index === DEVICE.index && this.deviceIn === this.thread ? { index, name: this.name } : undefined;
  }
  renameDevice(index: number, name: string): void {
    if (index !== DEVICE.index || this.deviceIn !== this.thread) throw new KernelError("rename RDMA device", ENODEV, "rename RDMA device: no such device here");
    this.name = name;
  }
  moveDevice(index: number, netnsFd: number): void {
    if (index !== DEVICE.index || this.deviceIn !== this.thread) throw new KernelError("move RDMA device", ENODEV, "move RDMA device: no such device here");
    this.deviceIn = netnsFd === HOME_FD ? "home" : "pod";
  }
  home(): NetnsHandle {
    return { fd: HOME_FD, path: "home" };
  }
  open(path: string): NetnsHandle {
    return { fd: POD_FD, path };
  }
  inside<T>(target: NetnsHandle, fn: () => T): T {
    const was = this.thread;
    this.thread = target.fd === HOME_FD ? "home" : "pod";
    try {
      return fn();
    } finally {
      this.thread = was;
    }
  }
  close(_handle: NetnsHandle): void {}
  // The rehearsal's config names its deviceID: nothing asks which device a netdev sits on.
  parentOf(_ifName: string): NetdevParent | undefined {
    return undefined;
  }
  vfMacs(): VfMac[] {
    return [];
  }
}

/** The verbs over a rehearsal's dependencies: stand-ins for kernel and netns, the real store and sysfs code. */
function rehearsalFuncs(node: StandInNode): CniFuncs {
  return pluginFuncs((log, settings) => ({
    kernel: node,
    links: node,
    netns: node,
    sysfsRoot: settings.sysfsRoot,
    log,
    lockTimeoutMs: settings.lockTimeoutMs,
    now: () => new Date(),
    openStore: (dir) => new FileStore(dir).init(),
    goStateDir: settings.goStateDir,
    indexCache: new Map(),
  }));
}

/** What a shim would send for `command`, as bytes. */
function request(command: string, scratch: string): Uint8Array {
  const netns = "/var/run/netns/rdma-cni-rehearsal";
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "rdma-cni-rehearsal",
    CNI_NETNS: netns,
    CNI_IFNAME: "net1",
    CNI_PATH: "/opt/cni/bin",
    RDMA_CNI_STATE_DIR: `${scratch}/state`,
    RDMA_CNI_SYSFS_ROOT: `${scratch}/sys`,
    RDMA_CNI_GO_STATE_DIR: `${scratch}/go-state`,
  };
  const conf = {
    cniVersion: "1.0.0",
    name: "rdma-cni-rehearsal",
    type: "rdma",
    deviceID: DEVICE_ID,
    prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1", sandbox: netns }], ips: [] },
  };
  return encodeRequest({ env, stdin: new TextEncoder().encode(JSON.stringify(conf)) });
}

/** One call from bytes to bytes, as serveConnection runs it; the CNI status. */
function rehearseCall(bytes: Uint8Array, funcs: CniFuncs): number {
  const { envLen } = decodeRequestHeader(bytes.subarray(0, REQUEST_HEADER_BYTES));
  const body = bytes.subarray(REQUEST_HEADER_BYTES);
  const out = serveRequest({ env: decodeEnv(body.subarray(0, envLen)), stdin: body.subarray(envLen) }, funcs);
  const enc = new TextEncoder();
  encodeReply({ status: out.status, stdout: enc.encode(out.stdout), stderr: enc.encode(out.stderr) });
  return out.status;
}

interface RehearsalResult {
  cycles: number;
  ms: number;
  /** A real call (or the drain) came before the rehearsal was done. */
  interrupted: boolean;
  /** Why it stopped early: a rehearsed call failed (a bug, or a scratch directory it cannot write). */
  failed?: string;
}

/**
 * Rehearses ADD+DEL cycles (and a VERSION) within `limits`, in a scratch directory made under `dir`
 * and removed before it returns. Never throws.
 */
export function rehearse(dir: string, limits: Partial<RehearsalLimits> = {}): RehearsalResult {
  const { cycles = REHEARSAL_CYCLES, maxMs = REHEARSAL_MAX_MS, stop = () => false } = limits;
  let interrupted = false;
  const started = performance.now();
  let done = 0;
  let failed: string | undefined;
  let scratch: string | undefined;
  try {
    const made = makeRehearsalScratch(dir);
    scratch = made;
    fs.mkdirSync(`${made}/sys/bus/auxiliary/devices/${DEVICE_ID}/infiniband/${DEVICE.name}`, { recursive: true });
    const funcs = rehearsalFuncs(new StandInNode());
    const add = request("ADD", made);
    const del = request("DEL", made);
    // Each step is one call's worth of work; a real call waiting ends the rehearsal before the next.
    const steps: (() => number)[] = [readRealKernel, () => rehearseCall(request("VERSION", made), funcs)];
    for (let i = 0; i < cycles; i++) steps.push(() => rehearseCall(add, funcs), () => rehearseCall(del, funcs));
    for (const [i, step] of steps.entries()) {
      if (stop()) {
        interrupted = true;
        break;
      }
      if (performance.now() - started >= maxMs) break;
      const status = step();
      if (status !== 0) {
        failed = `a rehearsed call ended with status ${status}`;
        break;
      }
      if (i >= 2 && i % 2 === 1) done++; // a DEL: one more cycle
    }
  } catch (e) {
    failed = (e as Error).message;
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
  return { cycles: done, ms: Math.round(performance.now() - started), interrupted, ...(failed ? { failed } : {}) };
}

/**
 * One real RDMA netlink read (the netns mode: one short answer, however many devices the node
 * has), which binds the symbols every call's netlink requests use. Errors ignored: a node without
 * RDMA answers with one, and the symbols are bound all the same. Always 0, a step's status.
 */
function readRealKernel(): number {
  try {
    new NetlinkRdma().netnsMode();
  } catch {
    // no RDMA here (a host test, a node without the module)
  }
  return 0;
}
