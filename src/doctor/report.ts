/**
 * `rdma doctor`'s report: what the node looks like to the plugin, built only from the interfaces
 * it is given (RDMA kernel, netns, a sysfs root, the state dir and the Go rdma-cni's, a lock probe), so host tests run it
 * against fakes and temp dirs. It reads and never changes anything: no record, lock or device is
 * touched, and the only kernel calls are listing devices (on the host, and inside each recorded
 * netns) and reading the netns mode.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildInfo } from "../buildinfo.ts";
import { parseDeviceId } from "../config/deviceid.ts";
import { hostNameOfFallback } from "../config/rdma-name.ts";
import { type Netns, NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { EXCLUSIVE_MODE_HELP, readNetnsMode } from "../rdma/facts.ts";
import type { NetnsMode, RdmaDevice, RdmaKernel } from "../rdma/kernel.ts";
import { type GoRecordFile, listGoRecords } from "../state/go-state.ts";
import { type AttachmentRecord, FileStore, type LockFile } from "../state/store.ts";
import { bySeverity, type Finding, finding, needsAttention } from "./findings.ts";
import type { LockProbe } from "./locks.ts";
import { type DeviceParent, deviceNetdevs, deviceParent } from "./sysfs.ts";

export interface DoctorDeps {
  kernel: RdmaKernel;
  netns: Netns;
  /** sysfs mount point (production: /sys). */
  sysfsRoot: string;
  /** The plugin's state directory (production: /run/cni/rdma). */
  stateDir: string;
  /** The Go rdma-cni's records (production: /var/lib/cni/rdma), which this plugin's DEL honours. */
  goStateDir: string;
  /** procfs mount point (production: /proc); the kernel release is <procRoot>/sys/kernel/osrelease. */
  procRoot: string;
  /** Whether a lock file's flock is held right now; throws when the file cannot be probed. */
  probeLock: (file: string) => LockProbe;
  now: () => Date;
}

interface AttachmentRef {
  network: string;
  containerId: string;
  ifName: string;
  netns: string;
}

/**
 * free: on the host, no record. attached: in the netns its record names. returned: on the host,
 * its record's netns is gone (the kernel handed it back). misplaced: on the host although its
 * record's netns exists. missing: neither in the record's netns nor on the host. unverified: the
 * record's netns could not be looked into. moving: its record is in phase moving (a call is
 * working on it, or one died halfway; the findings say which).
 */
type DeviceState = "free" | "attached" | "returned" | "misplaced" | "missing" | "unverified" | "moving";

export interface DeviceEntry {
  name: string;
  index: number;
  state: DeviceState;
  /** "host", or the netns path it was found in; null when it was not found. */
  seenIn: string | null;
  parent: DeviceParent;
  netdevs: string[];
  attachment: AttachmentRef | null;
}

/** What checking a record found. */
type RecordCheck = "in-netns" | "netns-gone" | "netns-invalid" | "device-missing" | "on-host" | "unverified";

interface AttachmentEntry extends AttachmentRef {
  file: string;
  deviceId: string;
  rdmaDevice: string;
  /** The name the pod asked for (rdmaDeviceName), when it asked for one. */
  podRdmaDevice: string | null;
  rdmaIndex: number;
  phase: AttachmentRecord["phase"];
  createdAt: string;
  check: RecordCheck;
  /** The device's name where it was found (in the netns or on the host), when it was found. */
  seenAs: string | null;
}

/** A record of the Go rdma-cni (docs/migration.md), as it says and as the host shows its device. */
interface GoRecordEntry {
  file: string;
  /** `<network>-<container id>-<ifname>`: the file's name, which is how the record names its attachment. */
  name: string;
  deviceId: string;
  /** The device's name on the host (sandboxRdmaDevName). */
  rdmaDevice: string;
  /** Its name in the pod (containerRdmaDevName). */
  podRdmaDevice: string;
  /** The device's name on the host when the host has it now (the record says it is in a pod); else null. */
  onHostAs: string | null;
  /** A record of this plugin's that claims the same device ID; else null. */
  alsoClaimedBy: string | null;
}

interface LockEntry {
  file: string;
  /** A device's lock, or an attachment's (held only during a call). */
  kind: "device" | "attachment";
  /** The device ID the file name encodes; null when the name is not one the plugin writes. */
  deviceId: string | null;
  state: LockProbe | "unreadable";
  hasRecord: boolean;
}

export interface Report {
  /** Version of this document's layout. */
  schema: 1;
  generatedAt: string;
  plugin: { version: string; commit: string };
  kernel: { release: string | null };
  rdma: { present: boolean; netnsMode: NetnsMode | null; error: string | null };
  sysfsRoot: string;
  stateDir: string;
  devices: DeviceEntry[];
  attachments: AttachmentEntry[];
  unreadableRecords: { file: string; reason: string }[];
  goStateDir: string;
  goRecords: GoRecordEntry[];
  unreadableGoRecords: { file: string; reason: string }[];
  locks: LockEntry[];
  findings: Finding[];
  summary: { errors: number; warnings: number; infos: number; needsAttention: boolean; exitStatus: 0 | 1 };
}

/** The state dir, read through the store that writes it: doctor never builds a path of its own. */
const storeOf = (deps: DoctorDeps): FileStore => new FileStore(deps.stateDir);

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function doctorReport(deps: DoctorDeps): Report {
  const findings: Finding[] = [];
  const kernel = readKernelRelease(deps, findings);
  const rdma = readRdma(deps, findings);
  const hostDevices = rdma.present ? listHostDevices(deps, findings) : undefined;
  const { records, unreadable } = readRecords(deps, findings);
  const attachments = records.map((r) => checkAttachment(deps, r, rdma.present, hostDevices, findings));
  findDuplicates(attachments, findings);
  if (hostDevices) findPodNames(deps, hostDevices, records, findings);
  const locks = readLocks(deps, records, findings);
  const devices = deviceTable(deps, hostDevices ?? [], attachments);
  const go = readGoRecords(deps, findings);
  const goRecords = go.records.map((g) => checkGoRecord(deps, g, devices, attachments, findings));
  if (rdma.present && hostDevices !== undefined && devices.length === 0) {
    findings.push(
      finding(
        "no-rdma-devices",
        "rdma",
        "RDMA netlink lists no device in this network namespace, and no record says one is in a pod",
        "if the node has RDMA NICs: run doctor in the host's network namespace (on the node, or in a pod with hostNetwork) with the state dir mounted",
      ),
    );
  }
  const sorted = bySeverity(findings);
  const errors = sorted.filter((f) => f.severity === "error").length;
  const warnings = sorted.filter((f) => f.severity === "warning").length;
  const attention = sorted.some(needsAttention);
  return {
    schema: 1,
    generatedAt: deps.now().toISOString(),
    plugin: { version: buildInfo.version, commit: buildInfo.commit },
    kernel,
    rdma,
    sysfsRoot: deps.sysfsRoot,
    stateDir: deps.stateDir,
    devices,
    attachments,
    unreadableRecords: unreadable,
    goStateDir: deps.goStateDir,
    goRecords,
    unreadableGoRecords: go.unreadable,
    locks,
    findings: sorted,
    summary: { errors, warnings, infos: sorted.length - errors - warnings, needsAttention: attention, exitStatus: attention ? 1 : 0 },
  };
}

function readKernelRelease(deps: DoctorDeps, findings: Finding[]): Report["kernel"] {
  const file = `${deps.procRoot}/sys/kernel/osrelease`;
  try {
    return { release: fs.readFileSync(file, "utf8").trim() };
  } catch (e) {
    findings.push(finding("kernel-release-unknown", file, `cannot read ${file}: ${message(e)}`));
    return { release: null };
  }
}

function readRdma(deps: DoctorDeps, findings: Finding[]): Report["rdma"] {
  const reading = readNetnsMode(deps.kernel);
  switch (reading.kind) {
    case "exclusive":
      return { present: true, netnsMode: reading.mode, error: null };
    case "not-exclusive":
      findings.push(
        finding(
          "netns-mode-shared",
          "rdma",
          `the RDMA subsystem is in netns ${reading.mode} mode: every ADD on this node fails, because a device can be moved into a pod only in exclusive mode`,
          EXCLUSIVE_MODE_HELP,
        ),
      );
      return { present: true, netnsMode: reading.mode, error: null };
    case "absent":
      findings.push(
        finding(
          "rdma-absent",
          "rdma",
          `this node has no RDMA subsystem: ${message(reading.error)}; pods here cannot get RDMA devices`,
          "load the RDMA core and the NIC's RDMA driver (modprobe ib_core, then e.g. mlx5_ib), or keep RDMA pods off this node",
        ),
      );
      return { present: false, netnsMode: null, error: message(reading.error) };
    case "unreachable":
      findings.push(finding("rdma-unreachable", "rdma", `cannot read the RDMA netns mode: ${message(reading.error)}`, "run doctor as root (CAP_NET_ADMIN) on the host's network namespace"));
      return { present: true, netnsMode: null, error: message(reading.error) };
  }
}

function listHostDevices(deps: DoctorDeps, findings: Finding[]): RdmaDevice[] | undefined {
  try {
    return deps.kernel.listDevices();
  } catch (e) {
    findings.push(finding("rdma-unreachable", "rdma", `cannot list RDMA devices: ${message(e)}`));
    return undefined;
  }
}

function readRecords(deps: DoctorDeps, findings: Finding[]): ReturnType<FileStore["list"]> {
  if (!fs.existsSync(deps.stateDir)) {
    findings.push(finding("state-dir-missing", deps.stateDir, `${deps.stateDir} does not exist: the plugin has attached nothing since the node booted (or the state dir is elsewhere: --state-dir)`));
    return { records: [], unreadable: [] };
  }
  let listed: ReturnType<FileStore["list"]>;
  try {
    listed = storeOf(deps).list();
  } catch (e) {
    findings.push(finding("state-unreadable", deps.stateDir, `cannot list the records: ${message(e)}`, "run doctor as root"));
    return { records: [], unreadable: [] };
  }
  for (const u of listed.unreadable) {
    findings.push(
      finding(
        "record-unreadable",
        u.file,
        `${u.file} is not a valid record: ${u.reason}; DEL and GC cannot release the device it was meant for`,
        "look at the file: if no pod uses the device it names, delete it; otherwise delete the pod (its DEL) first",
      ),
    );
  }
  return listed;
}

const describe = (r: AttachmentRef) => `container ${r.containerId} (network ${r.network}, interface ${r.ifName})`;

function checkAttachment(deps: DoctorDeps, rec: AttachmentRecord, rdmaPresent: boolean, hostDevices: RdmaDevice[] | undefined, findings: Finding[]): AttachmentEntry {
  const file = storeOf(deps).recordPath(rec);
  const base = {
    file,
    network: rec.network,
    containerId: rec.containerId,
    ifName: rec.ifName,
    netns: rec.netns,
    deviceId: rec.deviceId,
    rdmaDevice: rec.rdmaDevice,
    podRdmaDevice: rec.podRdmaDevice ?? null,
    rdmaIndex: rec.rdmaIndex,
    phase: rec.phase,
    createdAt: rec.createdAt,
  };
  const onHost = hostDevices?.find((d) => d.index === rec.rdmaIndex);
  const what = `${rec.rdmaDevice} (index ${rec.rdmaIndex}, deviceID ${rec.deviceId})`;

  let handle: NetnsHandle;
  try {
    handle = deps.netns.open(rec.netns);
  } catch (e) {
    if (e instanceof NetnsError && e.kind === "missing") {
      const where = onHost ? `the kernel returned ${onHost.name} to the host` : `${rec.rdmaDevice} is not on the host either`;
      findings.push(
        finding(
          "record-netns-gone",
          file,
          `the record of ${describe(rec)} names netns ${rec.netns}, which no longer exists; ${where}`,
          "nothing is held: the runtime's DEL (or a CNI GC) for this attachment drops the record; if the pod is gone and no DEL will come, delete the record file",
        ),
      );
      return { ...base, check: "netns-gone", seenAs: onHost?.name ?? null };
    }
    findings.push(finding("record-netns-invalid", file, `the record of ${describe(rec)} names netns ${rec.netns}: ${message(e)}`, "delete the pod; its DEL drops the record"));
    return { ...base, check: "netns-invalid", seenAs: null };
  }

  try {
    if (!rdmaPresent) {
      findings.push(finding("record-unverified", file, `cannot check ${what} of ${describe(rec)}: the RDMA subsystem does not answer`));
      return { ...base, check: "unverified", seenAs: null };
    }
    let inside: RdmaDevice | undefined;
    try {
      inside = deps.netns.inside(handle, () => deps.kernel.listDevices()).find((d) => d.index === rec.rdmaIndex);
    } catch (e) {
      findings.push(finding("record-unverified", file, `cannot list the RDMA devices in netns ${rec.netns} of ${describe(rec)}: ${message(e)}`, "run doctor as root (entering a netns needs CAP_SYS_ADMIN)"));
      return { ...base, check: "unverified", seenAs: null };
    }
    const check: RecordCheck = inside ? "in-netns" : onHost ? "on-host" : "device-missing";
    const seenAs = (inside ?? onHost)?.name ?? null;
    if (rec.phase === "moving") {
      reportMoving(deps, rec, file, inside ? `in netns ${rec.netns}` : onHost ? "on the host" : "neither in the netns nor on the host", findings);
    } else if (!inside) {
      const where = onHost
        ? `it is on the host as ${onHost.name}: the pod runs without its RDMA device`
        : "it is not on the host either: the device may have been removed (driver unbound, VF or SF deleted)";
      findings.push(
        finding(
          "record-device-missing",
          file,
          `the record of ${describe(rec)} says ${what} is in netns ${rec.netns}, but it is not there; ${where}`,
          "delete the pod so that its DEL and a new ADD put things right",
        ),
      );
    }
    return { ...base, check, seenAs };
  } finally {
    deps.netns.close(handle);
  }
}

/** A record in phase "moving": a call in progress holds the device's lock; otherwise one died. */
function reportMoving(deps: DoctorDeps, rec: AttachmentRecord, file: string, where: string, findings: Finding[]): void {
  const lockFile = storeOf(deps).deviceLockPath(rec.deviceId);
  let state: LockProbe | "unreadable" = "free";
  try {
    if (fs.existsSync(lockFile)) state = deps.probeLock(lockFile);
  } catch (e) {
    // Deleted between the two calls: its holder finished, so nobody holds it.
    state = (e as NodeJS.ErrnoException).code === "ENOENT" ? "free" : "unreadable";
  }
  if (state === "held") {
    findings.push(finding("record-in-progress", file, `a CNI call is moving ${rec.rdmaDevice} for ${describe(rec)} right now (it holds ${lockFile}); the device is ${where}`));
    return;
  }
  findings.push(
    finding(
      "record-interrupted",
      file,
      `the record of ${describe(rec)} is in phase moving and no call holds the device's lock: an ADD or DEL died halfway; ${rec.rdmaDevice} is ${where}`,
      "the runtime retries the call (a repeated ADD finishes the attachment, DEL releases it); if the pod is gone, a CNI GC or a DEL releases it",
    ),
  );
}

/** Two live records for one device: one of them is wrong, and DEL of either takes it from the other. */
function findDuplicates(attachments: AttachmentEntry[], findings: Finding[]): void {
  const live = attachments.filter((a) => a.check !== "netns-gone");
  const seen = new Map<string, AttachmentEntry>();
  for (const a of live) {
    const first = seen.get(a.deviceId);
    if (!first) {
      seen.set(a.deviceId, a);
      continue;
    }
    findings.push(
      finding(
        "record-duplicate-device",
        a.file,
        `${a.file} and ${first.file} both claim deviceID ${a.deviceId} (${describe(a)} and ${describe(first)})`,
        "delete the pod that should not have the device; its DEL drops its record",
      ),
    );
  }
}

/**
 * A device on the host under a pod's name: its record says another host name (its netns died and
 * no DEL came yet, or a call died between a rename and the move), or no record claims it and its
 * name is one DEL gives when the host name was taken (docs/device-name.md).
 */
function findPodNames(deps: DoctorDeps, hostDevices: RdmaDevice[], records: AttachmentRecord[], findings: Finding[]): void {
  const names = new Set(hostDevices.map((d) => d.name));
  const rename = (from: string, to: string) =>
    names.has(to) ? `${to} is taken on the host by another device: rename that one first, then: rdma dev set ${from} name ${to}` : `rdma dev set ${from} name ${to}`;
  for (const d of hostDevices) {
    const rec = records.find((r) => r.rdmaIndex === d.index);
    if (rec) {
      if (rec.podRdmaDevice === undefined || d.name === rec.rdmaDevice) continue;
      findings.push(
        finding(
          "device-pod-name",
          d.name,
          `RDMA device ${d.name} (index ${d.index}) is on the host under the name its pod had; the record of ${describe(rec)} says its host name is ${rec.rdmaDevice}`,
          `the runtime's DEL (or a CNI GC) for that attachment renames it back; if no DEL will come: ${rename(d.name, rec.rdmaDevice)}, then delete ${storeOf(deps).recordPath(rec)}`,
        ),
      );
      continue;
    }
    const hostName = hostNameOfFallback(d.name);
    if (hostName === undefined) continue;
    findings.push(
      finding(
        "device-pod-name",
        d.name,
        `RDMA device ${d.name} (index ${d.index}) has no record and a name DEL gives a device whose host name ${hostName} was taken while it was in a pod`,
        rename(d.name, hostName),
      ),
    );
  }
}

function readLocks(deps: DoctorDeps, records: AttachmentRecord[], findings: Finding[]): LockEntry[] {
  const store = storeOf(deps);
  let files: LockFile[];
  try {
    files = store.listLocks();
  } catch (e) {
    findings.push(finding("state-unreadable", store.locks, `cannot list the lock files: ${message(e)}`, "run doctor as root"));
    return [];
  }
  const recorded = new Set(records.flatMap((r) => [store.deviceLockPath(r.deviceId), store.attachmentLockPath(r)]));
  const locks: LockEntry[] = [];
  for (const { file, kind, deviceId } of files) {
    const name = path.basename(file);
    const hasRecord = recorded.has(file);
    let state: LockEntry["state"];
    try {
      state = deps.probeLock(file);
    } catch (e) {
      // The plugin deletes a lock file when its call is done: gone since the listing is normal.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      findings.push(finding("lock-unreadable", file, `cannot probe lock file ${file}: ${message(e)}`, "look at the file: the plugin only ever creates regular files there"));
      locks.push({ file, kind, deviceId, state: "unreadable", hasRecord });
      continue;
    }
    locks.push({ file, kind, deviceId, state, hasRecord });
    const what =
      kind === "attachment"
        ? `an attachment (${hasRecord ? "it has a record" : "no record"})`
        : deviceId === null
          ? `an unknown device (the name ${JSON.stringify(name)} is not one the plugin writes)`
          : `deviceID ${deviceId}`;
    if (state === "held") {
      findings.push(
        finding("lock-held", file, `the lock of ${what} is held right now: a CNI call (ADD, DEL or GC) is working on it`, "if it is still held when doctor runs again a minute later, a plugin process is stuck: /proc/locks names its pid"),
      );
    } else if (kind === "attachment" || !hasRecord) {
      // The plugin deletes an attachment's lock file at the end of every call, and a device's
      // when the device is released: a free one left over means a call was killed (or an older
      // version of the plugin ran). The next call on it deletes it.
      findings.push(finding("stale-lock", file, `lock file of ${what}${kind === "device" ? ", which has no record," : ""} and nobody holds it: left by a call that was killed, or by an older version of the plugin (it costs nothing; the next call on it removes it)`));
    }
  }
  return locks;
}

function readGoRecords(deps: DoctorDeps, findings: Finding[]): ReturnType<typeof listGoRecords> {
  let listed: ReturnType<typeof listGoRecords>;
  try {
    listed = listGoRecords(deps.goStateDir);
  } catch (e) {
    findings.push(finding("go-record-unreadable", deps.goStateDir, `cannot list the Go rdma-cni's records: ${message(e)}`, "run doctor as root"));
    return { records: [], unreadable: [] };
  }
  for (const u of listed.unreadable) {
    findings.push(
      finding(
        "go-record-unreadable",
        u.file,
        `${u.file} is not a Go rdma-cni record: ${u.reason}; neither plugin's DEL can release the device it was meant for`,
        "look at the file: if no pod uses the device it names, delete it",
      ),
    );
  }
  return listed;
}

/** A deviceID as sysfs names the parent (a PCI address in its long form), for comparing the two. */
function canonicalDeviceId(deviceId: string): string {
  const id = parseDeviceId(deviceId);
  return "kind" in id ? id.id : deviceId;
}

/**
 * A Go record says its device is in a pod. Two things contradict it: the host has that device (its
 * pod is gone and no DEL came, or the device came back), or a record of ours claims it too.
 */
function checkGoRecord(deps: DoctorDeps, g: GoRecordFile, devices: DeviceEntry[], attachments: AttachmentEntry[], findings: Finding[]): GoRecordEntry {
  const { deviceID, sandboxRdmaDevName, containerRdmaDevName } = g.record;
  const id = canonicalDeviceId(deviceID);
  const onHost = devices.find((d) => d.seenIn === "host" && d.parent.name === id);
  const ours = attachments.find((a) => canonicalDeviceId(a.deviceId) === id);
  const what = `the Go rdma-cni's record ${g.name} (deviceID ${deviceID}, ${sandboxRdmaDevName} on the host, ${containerRdmaDevName} in the pod)`;
  if (onHost) {
    findings.push(
      finding(
        "go-record-device-on-host",
        g.file,
        `${what} says its device is in a pod, but it is on the host as ${onHost.name}: the pod is gone and no DEL came, or the device came back to the host`,
        "the runtime's DEL for that attachment drops the record (this plugin's DEL reads it too); if the pod is gone and no DEL will come, delete the file",
      ),
    );
  }
  if (ours) {
    const same = g.name === `${ours.network}-${ours.containerId}-${ours.ifName}`;
    findings.push(
      finding(
        "go-record-device-ours",
        g.file,
        `${what} and this plugin's record ${ours.file} both claim deviceID ${deviceID}${
          same ? ": one attachment, a handover to the Go plugin (rdma install --uninstall) that stopped before it removed our record" : `, for another attachment (${describe(ours)})`
        }`,
        same
          ? "run rdma install --uninstall again to finish the handover; if this plugin stays on the node, delete the Go record instead"
          : "delete the pod that should not have the device; its DEL drops its record",
      ),
    );
  }
  return {
    file: g.file,
    name: g.name,
    deviceId: deviceID,
    rdmaDevice: sandboxRdmaDevName,
    podRdmaDevice: containerRdmaDevName,
    onHostAs: onHost?.name ?? null,
    alsoClaimedBy: ours?.file ?? null,
  };
}

function parentFromDeviceId(deviceId: string): DeviceParent {
  const id = parseDeviceId(deviceId);
  if (!("kind" in id)) return { bus: "unknown", name: deviceId };
  return { bus: id.kind === "pci" ? "pci" : "auxiliary", name: id.id };
}

/** A device the host sees although a record claims it (in shared mode, every device is on the host). */
function hostState(a: AttachmentEntry): DeviceState {
  if (a.check === "netns-gone") return "returned";
  if (a.phase === "moving") return "moving";
  if (a.check === "in-netns") return "attached";
  if (a.check === "unverified") return "unverified";
  return "misplaced";
}

function deviceTable(deps: DoctorDeps, hostDevices: RdmaDevice[], attachments: AttachmentEntry[]): DeviceEntry[] {
  const rows: DeviceEntry[] = [];
  const ref = (a: AttachmentEntry): AttachmentRef => ({ network: a.network, containerId: a.containerId, ifName: a.ifName, netns: a.netns });
  const claimed = new Map<number, AttachmentEntry>();
  for (const a of attachments) if (!claimed.has(a.rdmaIndex)) claimed.set(a.rdmaIndex, a);

  for (const d of hostDevices) {
    const a = claimed.get(d.index);
    rows.push({ name: d.name, index: d.index, state: a ? hostState(a) : "free", seenIn: "host", parent: deviceParent(deps.sysfsRoot, d.name), netdevs: deviceNetdevs(deps.sysfsRoot, d.name), attachment: a ? ref(a) : null });
  }
  const onHost = new Set(hostDevices.map((d) => d.index));
  const shown = new Set<number>();
  for (const a of attachments) {
    if (onHost.has(a.rdmaIndex) || shown.has(a.rdmaIndex)) continue;
    shown.add(a.rdmaIndex);
    const state: DeviceState = a.phase === "moving" && a.check !== "netns-gone" ? "moving" : a.check === "in-netns" ? "attached" : a.check === "unverified" || a.check === "netns-invalid" ? "unverified" : "missing";
    rows.push({
      name: a.seenAs ?? a.rdmaDevice,
      index: a.rdmaIndex,
      state,
      seenIn: a.check === "in-netns" ? a.netns : null,
      parent: parentFromDeviceId(a.deviceId),
      netdevs: [],
      attachment: ref(a),
    });
  }
  return rows.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.index - y.index));
}
