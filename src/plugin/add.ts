/**
 * ADD: find the RDMA device of the VF/SF, write the record, move the device into the pod's netns,
 * note it in the device-info file, mark the record attached, and hand prevResult on. Each of
 * those steps comes with its undo (steps.ts): a failure takes back what the earlier ones did.
 */
import type { DeviceId, NamedDevice } from "../config/deviceid.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { NetnsHandle } from "../netns/netns.ts";
import type { RdmaDevice } from "../rdma/kernel.ts";
import { lookupRdmaDevice } from "../rdma/sysfs.ts";
import { addDeviceInfo, type DeviceInfoChange, removeDeviceInfo } from "../state/devinfo.ts";
import type { AttachmentRecord, Store } from "../state/store.ts";
import { describeKey, sameKey } from "../state/store.ts";
import type { AddRequest, PluginDeps } from "./deps.ts";
import { deviceIdOfPodInterface } from "./device-of-netdev.ts";
import { deviceInNetns, hostDevice, listHostDevices, moveBackToHost, moveIntoPod, openPodNetns, requireExclusiveMode } from "./kernel-steps.ts";
import { killPoint } from "./killpoints.ts";
import { renameInPod, restoreHostName } from "./rename-steps.ts";
import { runSteps, type Undo } from "./steps.ts";

export function add(req: AddRequest, deps: PluginDeps): Record<string, unknown> {
  const named = req.add.device && addTarget(req, req.add.device);
  const pod = openPodNetns(deps, req.env.netns, "CNI_NETNS");
  try {
    // Named by neither the config nor prevResult: the device the pod's interface sits on.
    const target = named ?? addTarget(req, deviceIdOfPodInterface(deps, pod, req.env.ifName, req.add.prevResult.raw));
    const store = req.openStore();
    // Attachment first, device second (as DEL and GC): two ADDs of one attachment naming
    // different devices cannot both move one, since the second sees the first's record here.
    const attachmentLock = store.lockAttachment(req.key, deps.lockTimeoutMs);
    try {
      const existing = recordOfAttachment(req, store, target.deviceId);
      const deviceLock = store.lockDevice(target.deviceId.id, deps.lockTimeoutMs);
      let attached = false;
      try {
        killPoint("add:locked");
        const ctx: AddContext = { req, deps, store, pod, target };
        if (!(existing && alreadyAttached(ctx, existing))) attach(ctx, existing);
        attached = true;
        return target.result;
      } finally {
        // An attached device keeps its lock file until DEL; a failed ADD leaves none. The
        // attachment's lock guards only this call.
        deviceLock.release({ removeFile: !attached });
      }
    } finally {
      attachmentLock.release({ removeFile: true });
    }
  } finally {
    deps.netns.close(pod);
  }
}

/** What ADD is asked for. */
interface AddTarget {
  deviceId: DeviceId;
  /** Where the deviceID came from, for messages. */
  source: string;
  pciAddress: string | undefined;
  deviceInfoFile: string | undefined;
  /** What ADD prints: prevResult, with the VF's pciID added for a 1.1.0 result. */
  result: Record<string, unknown>;
}

interface AddContext {
  req: AddRequest;
  deps: PluginDeps;
  store: Store;
  pod: NetnsHandle;
  target: AddTarget;
}

function addTarget(req: AddRequest, found: NamedDevice): AddTarget {
  const { env, conf, add } = req;
  const pciAddress = found.deviceId.kind === "pci" ? found.deviceId.id : undefined;
  const result = resultWithPciId(add.prevResult.raw, conf.cniVersion, env.ifName, pciAddress);
  return { deviceId: found.deviceId, source: found.source, pciAddress, deviceInfoFile: add.deviceInfoFile, result };
}

/** The attachment's record, if any; read under its lock. One attachment holds one device. */
function recordOfAttachment(req: AddRequest, store: Store, deviceId: DeviceId): AttachmentRecord | undefined {
  const existing = store.get(req.key);
  if (existing && existing.deviceId !== deviceId.id) {
    throw new CniError(
      ErrorCode.DeviceBusy,
      `attachment (${describeKey(req.key)}) already holds RDMA device ${existing.rdmaDevice} (deviceID ${existing.deviceId}), not ${deviceId.id}: DEL it first`,
    );
  }
  return existing;
}

/** A repeated ADD that already succeeded (or got as far as the move before it died): true when the device is in the pod. */
function alreadyAttached(ctx: AddContext, existing: AttachmentRecord): boolean {
  const { req, deps, store, pod } = ctx;
  const there = deviceInNetns(deps, pod, existing.rdmaIndex);
  if (there && existing.netns === req.env.netns) {
    const named = nameAgain(ctx, existing, there.name);
    if (existing.phase !== "attached" || named !== existing) store.put({ ...named, phase: "attached", updatedAt: deps.now().toISOString() });
    deps.log.info("ADD repeated: device already in the pod", { device: named.podRdmaDevice ?? named.rdmaDevice, deviceId: existing.deviceId });
    return true;
  }
  // The record outlived its move (a crash before the move, or the device came back): redo it.
  deps.log.warn("stale record before ADD; attaching again", { record: existing.phase, device: existing.rdmaDevice });
  return false;
}

/**
 * A repeated ADD (or one retried after a crash between the move and the rename): the device in
 * the pod gets the name this ADD asks for, or its host name when it asks for none.
 */
function nameAgain({ req, deps, store, pod }: AddContext, existing: AttachmentRecord, current: string): AttachmentRecord {
  const { rdmaDeviceName, rdmaDeviceNameField } = req.conf;
  const wanted = rdmaDeviceName ?? existing.rdmaDevice;
  if (current === wanted) return wanted === existing.rdmaDevice ? withPodName(existing, undefined) : withPodName(existing, wanted);
  renameInPod(deps, pod, existing.rdmaIndex, wanted, rdmaDeviceNameField ?? "the host name", store, req.key);
  return withPodName(existing, rdmaDeviceName);
}

function withPodName(record: AttachmentRecord, podName: string | undefined): AttachmentRecord {
  if (record.podRdmaDevice === podName) return record;
  const { podRdmaDevice: _, ...rest } = record;
  return podName === undefined ? rest : { ...rest, podRdmaDevice: podName };
}

/** What the steps of one attachment share. */
interface Attaching {
  device: RdmaDevice;
  record: AttachmentRecord;
  deviceInfo?: DeviceInfoChange;
}

function attach(ctx: AddContext, stale: AttachmentRecord | undefined): void {
  const { req, deps, target } = ctx;
  const device = deviceOnHost(ctx);
  const now = deps.now().toISOString();
  // A stale record of this device knows its host name better than the device's name now (a pod's
  // name it came back under when a netns died).
  const hostName = stale && stale.rdmaIndex === device.index ? stale.rdmaDevice : device.name;
  const podName = req.conf.rdmaDeviceName;
  const record: AttachmentRecord = {
    version: 1,
    ...req.key,
    deviceId: target.deviceId.id,
    rdmaDevice: hostName,
    ...(podName !== undefined ? { podRdmaDevice: podName } : {}),
    rdmaIndex: device.index,
    netns: req.env.netns,
    phase: "moving",
    createdAt: now,
    updatedAt: now,
  };
  const a: Attaching = { device, record };
  runSteps("ADD", [() => recordMoving(ctx, a), () => moveIn(ctx, a), () => nameInPod(ctx, a), () => noteInDeviceInfo(ctx, a), () => recordAttached(ctx, a)], deps.log);
  deps.log.info("RDMA device moved into the pod", { device: device.name, ...(podName !== undefined ? { podName } : {}), deviceId: record.deviceId, netns: req.env.netns });
}

/**
 * The name the pod sees: the one it asked for, else the host name (a device that came back under
 * another name gets its own again). Its undo gives the host name back inside the pod, before the
 * move's undo takes the device home.
 */
function nameInPod({ req, deps, store, pod }: AddContext, a: Attaching): Undo | undefined {
  const { rdmaDevice: hostName, podRdmaDevice: podName, rdmaIndex: index } = a.record;
  const wanted = podName ?? hostName;
  if (a.device.name === wanted) return undefined;
  renameInPod(deps, pod, index, wanted, req.conf.rdmaDeviceNameField ?? "the host name", store, req.key);
  killPoint("add:renamed");
  return { what: `rename ${wanted} back to ${hostName}`, run: () => void restoreHostName(deps, pod, index, hostName, wanted) };
}

/** The record, in phase moving, before the device moves: a crash from here on leaves a trace. */
function recordMoving({ req, store }: AddContext, a: Attaching): Undo {
  store.put(a.record);
  killPoint("add:recorded");
  return { what: "remove the record", run: () => store.remove(req.key) };
}

/**
 * The move. The mode is not asked up front (one netlink round trip fewer on every ADD): a move in
 * shared mode fails with EOPNOTSUPP, and only then is the mode asked to say why.
 */
function moveIn({ deps, pod }: AddContext, a: Attaching): Undo {
  moveIntoPod(deps, a.device, pod, () => requireExclusiveMode(deps));
  killPoint("add:moved");
  return { what: `move ${a.device.name} back to the host`, run: () => moveBackToHost(deps, a.device, pod) };
}

/** The device in the runtime's device-info file, when the runtime gave one. */
function noteInDeviceInfo({ target }: AddContext, a: Attaching): Undo | undefined {
  const seen = a.record.podRdmaDevice ?? a.record.rdmaDevice;
  const change = target.deviceInfoFile ? addDeviceInfo(target.deviceInfoFile, seen, target.pciAddress) : undefined;
  killPoint("add:device-info");
  if (!change) return undefined;
  a.deviceInfo = change;
  return { what: `restore ${change.file}`, run: () => removeDeviceInfo(change) };
}

/** The record, attached: the last step, so nothing comes after it to fail. */
function recordAttached({ deps, store }: AddContext, a: Attaching): undefined {
  store.put({ ...a.record, phase: "attached", updatedAt: deps.now().toISOString(), ...(a.deviceInfo ? { deviceInfo: a.deviceInfo } : {}) });
  killPoint("add:attached");
  return undefined;
}

/** The host's RDMA device of the target: sysfs names it, RDMA netlink gives its index. */
function deviceOnHost(ctx: AddContext): RdmaDevice {
  const { deps, target } = ctx;
  const deviceId = target.deviceId.id;
  const lookup = lookupRdmaDevice(deps.sysfsRoot, target.deviceId);
  if (lookup.found === "many") {
    throw new CniError(ErrorCode.DeviceNotFound, `deviceID ${deviceId} (from ${target.source}) has several RDMA devices: ${lookup.names.join(", ")}; expected exactly one`);
  }
  if (lookup.found === "none") {
    // Say the root cause when there is one: no RDMA at all (100) or shared mode (101).
    requireExclusiveMode(deps);
    throw notOnHost(ctx, lookup.reason);
  }
  const device = findOnHost(deps, lookup.name);
  if (!device) {
    throw new CniError(ErrorCode.DeviceNotFound, `RDMA device ${lookup.name} of deviceID ${deviceId} is in sysfs but RDMA netlink does not list it in this network namespace`);
  }
  return device;
}

const DUMP_ATTEMPTS = 5;
/** Far above the RDMA devices of any node: only names that come and go could fill it. */
const MAX_CACHED_INDEXES = 4096;

/**
 * The host's device of that name. A netlink dump is not atomic: the kernel resumes each part of
 * a dump at a position counted over the devices of the caller's netns, so a device that another
 * call moves out meanwhile makes the dump skip one (seen with 32 ADDs at once in the test VM).
 * Sysfs has just shown the device here, so a miss is worth another look.
 */
function findOnHost(deps: PluginDeps, name: string): RdmaDevice | undefined {
  const cache = deps.indexCache;
  const known = cache?.get(name);
  if (known !== undefined) {
    // The index a dump gave this process before, if the kernel still gives it that name here.
    const device = hostDevice(deps, known);
    if (device?.name === name) return device;
    cache?.delete(name);
  }
  for (let attempt = 1; ; attempt++) {
    const all = listHostDevices(deps);
    if (cache) {
      if (cache.size > MAX_CACHED_INDEXES) cache.clear();
      for (const d of all) cache.set(d.name, d.index);
    }
    const device = all.find((d) => d.name === name);
    if (device || attempt === DUMP_ATTEMPTS) return device;
    deps.log.debug("device missing from a dump; dumping again", { device: name, attempt });
    Bun.sleepSync(attempt * 2);
  }
}

/**
 * prevResult as it came, except that a 1.1.0 result's container interface gets the VF's PCI
 * address as pciID when it has none.
 */
function resultWithPciId(raw: Record<string, unknown>, cniVersion: string, ifName: string, pciAddress: string | undefined): Record<string, unknown> {
  if (cniVersion !== "1.1.0" || pciAddress === undefined || !Array.isArray(raw.interfaces)) return raw;
  const i = raw.interfaces.findIndex((x: unknown) => {
    const iface = x as Record<string, unknown>;
    return iface.name === ifName && typeof iface.sandbox === "string" && iface.sandbox !== "";
  });
  const iface = raw.interfaces[i] as Record<string, unknown> | undefined;
  if (!iface || (typeof iface.pciID === "string" && iface.pciID !== "")) return raw;
  const interfaces = [...raw.interfaces];
  interfaces[i] = { ...iface, pciID: pciAddress };
  return { ...raw, interfaces };
}

/**
 * The device is not on the host: say who holds it, when a record says so and the kernel agrees
 * (the record's netns holds the device). A record whose claim the kernel does not back is only
 * mentioned: the device is gone, or a crashed call left the record.
 */
function notOnHost({ req, deps, store, target }: AddContext, reason: string): CniError {
  const deviceId = target.deviceId.id;
  const holders = store.list().records.filter((r) => r.deviceId === deviceId && !sameKey(r, req.key));
  for (const holder of holders) {
    if (holds(deps, holder)) {
      return new CniError(
        ErrorCode.DeviceBusy,
        `RDMA device ${holder.rdmaDevice} (deviceID ${deviceId}) is attached to another pod: (${describeKey(holder)}) in netns ${holder.netns}`,
      );
    }
  }
  const stale = holders[0] ? `; a record of (${describeKey(holders[0])}) names it, but its netns does not hold it` : "";
  return new CniError(ErrorCode.DeviceNotFound, `no RDMA device found for deviceID ${deviceId} (from ${target.source}): ${reason}${stale}`);
}

function holds(deps: PluginDeps, record: AttachmentRecord): boolean {
  let ns: NetnsHandle;
  try {
    ns = deps.netns.open(record.netns);
  } catch {
    return false;
  }
  try {
    return deviceInNetns(deps, ns, record.rdmaIndex) !== undefined;
  } catch {
    return false;
  } finally {
    deps.netns.close(ns);
  }
}
