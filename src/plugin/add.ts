/**
 * ADD: find the RDMA device of the VF/SF, write the record, move the device into the pod's netns,
 * mark the record attached, and hand prevResult on. Every step that changed something registers
 * its undo before the next one runs.
 */
import { CniError, ErrorCode } from "../errors.ts";
import { deviceIdFor } from "../config/netconf.ts";
import { lookupRdmaDevice } from "../rdma/sysfs.ts";
import { killPoint } from "./killpoints.ts";
import { addDeviceInfo, deviceInfoPath, removeDeviceInfo } from "./devinfo.ts";
import type { NetnsHandle } from "../netns/netns.ts";
import type { RdmaDevice } from "../rdma/kernel.ts";
import type { Lock } from "../state/lock.ts";
import type { AttachmentKey, AttachmentRecord, Store } from "../state/store.ts";
import { sameKey } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { deviceInNetns, hostDevice, listHostDevices, moveBackToHost, moveIntoPod, openPodNetns, requireExclusiveMode } from "./kernel-steps.ts";

export function add(req: Request, deps: PluginDeps): Record<string, unknown> {
  const { env, conf } = req;
  if (!conf.prevResult) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      "invalid network config: prevResult is missing: the rdma plugin must be chained after the plugin that moves the VF's or SF's netdev into the pod (sriov, host-device, ...)",
    );
  }
  const target = deviceIdFor(conf, env.ifName);
  if (!target) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid network config: no deviceID for ${env.ifName}: set "deviceID" in the network config, let the runtime pass runtimeConfig.deviceID (capability "deviceID", as Multus does with the SR-IOV device plugin), or chain after a plugin whose 1.1.0 result gives the container interface a pciID`,
    );
  }
  const deviceId = target.deviceId.id;
  const pciAddress = target.deviceId.kind === "pci" ? deviceId : undefined;
  const infoFile = conf.deviceInfoFile ? deviceInfoPath(conf.deviceInfoFile, deps.deviceInfoRoots) : undefined;
  const result = resultWithPciId(conf.prevResult.raw, conf.cniVersion, env.ifName, pciAddress);
  const key: AttachmentKey = { network: conf.name, containerId: env.containerId, ifName: env.ifName };
  const pod = openPodNetns(deps, env.netns, "CNI_NETNS");
  const undo: { what: string; run: () => void }[] = [];
  try {
    const store = req.openStore();
    // Attachment first, device second (as DEL and GC): two ADDs of one attachment naming
    // different devices cannot both move one, since the second sees the first's record here.
    const attachmentLock = store.lockAttachment(key, deps.lockTimeoutMs);
    let lock: Lock | undefined;
    let attached = false;
    try {
      const existing = store.get(key);
      if (existing && existing.deviceId !== deviceId) {
        throw new CniError(
          ErrorCode.DeviceBusy,
          `attachment ${describeKey(key)} already holds RDMA device ${existing.rdmaDevice} (deviceID ${existing.deviceId}), not ${deviceId}: DEL it first`,
        );
      }
      lock = store.lockDevice(deviceId, deps.lockTimeoutMs);
      killPoint("add:locked");
      if (existing) {
        const there = deviceInNetns(deps, pod, existing.rdmaIndex);
        if (there && existing.netns === env.netns) {
          // A repeated ADD that already succeeded (or got as far as the move before it died).
          if (existing.phase !== "attached") store.put({ ...existing, phase: "attached", updatedAt: deps.now().toISOString() });
          deps.log.info("ADD repeated: device already in the pod", { device: there.name, deviceId });
          attached = true;
          return result;
        }
        // The record outlived its move (a crash before the move, or the device came back): redo it.
        deps.log.warn("stale record before ADD; attaching again", { record: existing.phase, device: existing.rdmaDevice });
      }

      const lookup = lookupRdmaDevice(deps.sysfsRoot, target.deviceId);
      if (lookup.found === "many") {
        throw new CniError(ErrorCode.DeviceNotFound, `deviceID ${deviceId} (from ${target.source}) has several RDMA devices: ${lookup.names.join(", ")}; expected exactly one`);
      }
      if (lookup.found === "none") {
        // Say the root cause when there is one: no RDMA at all (100) or shared mode (101).
        requireExclusiveMode(deps);
        throw notOnHost(req, store, deps, deviceId, target.source, lookup.reason);
      }
      const device = findOnHost(deps, lookup.name);
      if (!device) {
        throw new CniError(ErrorCode.DeviceNotFound, `RDMA device ${lookup.name} of deviceID ${deviceId} is in sysfs but RDMA netlink does not list it in this network namespace`);
      }

      const now = deps.now().toISOString();
      const record: AttachmentRecord = {
        version: 1,
        ...key,
        deviceId,
        rdmaDevice: device.name,
        rdmaIndex: device.index,
        netns: env.netns,
        phase: "moving",
        createdAt: now,
        updatedAt: now,
      };
      store.put(record);
      undo.push({ what: "remove the record", run: () => store.remove(key) });
      killPoint("add:recorded");

      // The mode is not asked up front (one netlink round trip fewer on every ADD): a move in
      // shared mode fails with EOPNOTSUPP, and only then is the mode asked to say why.
      moveIntoPod(deps, device, pod, () => requireExclusiveMode(deps));
      undo.push({ what: `move ${device.name} back to the host`, run: () => moveBackToHost(deps, device, pod) });
      killPoint("add:moved");

      const deviceInfo = infoFile ? addDeviceInfo(infoFile, device.name, pciAddress) : undefined;
      if (deviceInfo) undo.push({ what: `restore ${deviceInfo.file}`, run: () => removeDeviceInfo(deviceInfo) });
      killPoint("add:device-info");

      store.put({ ...record, phase: "attached", updatedAt: deps.now().toISOString(), ...(deviceInfo ? { deviceInfo } : {}) });
      killPoint("add:attached");
      deps.log.info("RDMA device moved into the pod", { device: device.name, deviceId, netns: env.netns });
      undo.length = 0;
      attached = true;
      return result;
    } catch (e) {
      for (const step of undo.reverse()) {
        try {
          step.run();
        } catch (undoErr) {
          deps.log.error(`ADD failed and could not ${step.what}`, { error: (undoErr as Error).message });
        }
      }
      throw e;
    } finally {
      // An attached device keeps its lock file until DEL; a failed ADD leaves none. The
      // attachment's lock guards only this call.
      lock?.release({ removeFile: !attached });
      attachmentLock.release({ removeFile: true });
    }
  } finally {
    deps.netns.close(pod);
  }
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
export function resultWithPciId(raw: Record<string, unknown>, cniVersion: string, ifName: string, pciAddress: string | undefined): Record<string, unknown> {
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

function describeKey(k: AttachmentKey): string {
  return `(network ${k.network}, container ${k.containerId}, interface ${k.ifName})`;
}

/**
 * The device is not on the host: say who holds it, when a record says so and the kernel agrees
 * (the record's netns holds the device). A record whose claim the kernel does not back is only
 * mentioned: the device is gone, or a crashed call left the record.
 */
function notOnHost(req: Request, store: Store, deps: PluginDeps, deviceId: string, source: string, reason: string): CniError {
  const key: AttachmentKey = { network: req.conf.name, containerId: req.env.containerId, ifName: req.env.ifName };
  const holders = store.list().records.filter((r) => r.deviceId === deviceId && !sameKey(r, key));
  for (const holder of holders) {
    if (holds(deps, holder)) {
      return new CniError(
        ErrorCode.DeviceBusy,
        `RDMA device ${holder.rdmaDevice} (deviceID ${deviceId}) is attached to another pod: ${describeKey(holder)} in netns ${holder.netns}`,
      );
    }
  }
  const stale = holders[0] ? `; a record of ${describeKey(holders[0])} names it, but its netns does not hold it` : "";
  return new CniError(ErrorCode.DeviceNotFound, `no RDMA device found for deviceID ${deviceId} (from ${source}): ${reason}${stale}`);
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
