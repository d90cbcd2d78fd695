/**
 * The CNI device-info file (k8snetworkplumbingwg device-info spec v1.1.0): tells the workload,
 * through Multus's network-status annotation, which RDMA device it got. ADD adds `rdma-device`
 * (and `pci-address` when missing) to the file, keeping what earlier plugins wrote; DEL takes
 * back only what ADD added, as the attachment's record remembers it (DeviceInfoChange). The path
 * comes checked: the call's resolution confines it below the spec's directory (config/paths.ts).
 */
import { CniError, ErrorCode } from "../errors.ts";
import * as fs from "../sys/fs.ts";
import { writeFileAtomic } from "./atomic.ts";

const DEVICE_INFO_VERSION = "1.1.0";
const MAX_BYTES = 64 * 1024;

type Json = Record<string, unknown>;

/** What ADD wrote into the runtime's device-info file, so that DEL takes back just that. */
export interface DeviceInfoChange {
  file: string;
  /** ADD created the file. */
  created: boolean;
  /** Keys of the "pci" map that ADD added. */
  added: string[];
}

function read(file: string): Json | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.O_RDONLY | fs.O_NOFOLLOW | fs.O_CLOEXEC);
  } catch (e) {
    if ((e as fs.FsError).code === "ENOENT") return undefined;
    throw new CniError(ErrorCode.IoFailure, `device-info file ${file}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_BYTES) throw new Error("not a regular file of at most 64 KiB");
    const v: unknown = JSON.parse(fs.readText(fd));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Json;
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `device-info file ${file} is not usable: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAtomic(file: string, content: Json): void {
  try {
    fs.mkdirp(fs.dirname(file), 0o755);
    writeFileAtomic(file, `${JSON.stringify(content)}\n`, 0o644);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot write device-info file ${file}: ${(e as Error).message}`);
  }
}

/**
 * Adds the RDMA device (and the PCI address, for a PCI deviceID) to the file. An auxiliary device
 * has no PCI address of its own: then only an existing file with a "pci" map is updated.
 * Returns what was changed, for DEL, or undefined when nothing was.
 */
export function addDeviceInfo(file: string, rdmaDevice: string, pciAddress: string | undefined): DeviceInfoChange | undefined {
  const existing = read(file);
  if (!existing && pciAddress === undefined) return undefined;
  const info: Json = existing ? { ...existing } : { type: "pci", version: DEVICE_INFO_VERSION };
  const pciValue = info.pci;
  if (pciValue !== undefined && (typeof pciValue !== "object" || pciValue === null || Array.isArray(pciValue))) {
    throw new CniError(ErrorCode.IoFailure, `device-info file ${file}: "pci" is not a map`);
  }
  if (existing && info.type !== "pci") return undefined; // a vdpa or vhost-user device is not ours to describe
  if (!pciValue && pciAddress === undefined) return undefined;
  const pci: Json = { ...((pciValue as Json | undefined) ?? {}) };
  const added: string[] = [];
  if (pci["rdma-device"] === rdmaDevice) return undefined;
  if (pci["rdma-device"] === undefined) added.push("rdma-device");
  pci["rdma-device"] = rdmaDevice;
  if (pci["pci-address"] === undefined && pciAddress !== undefined) {
    pci["pci-address"] = pciAddress;
    added.push("pci-address");
  }
  info.pci = pci;
  writeAtomic(file, info);
  return { file, created: !existing, added };
}

/** Takes back what addDeviceInfo added; removes the file if ADD created it and nothing else was added since. */
export function removeDeviceInfo(change: DeviceInfoChange): void {
  const info = read(change.file);
  if (!info) return;
  const pci = typeof info.pci === "object" && info.pci !== null && !Array.isArray(info.pci) ? { ...(info.pci as Json) } : undefined;
  if (!pci) return;
  for (const k of change.added) delete pci[k];
  const othersAdded = Object.keys(info).some((k) => !["type", "version", "pci"].includes(k)) || Object.keys(pci).length > 0;
  if (change.created && !othersAdded) {
    fs.unlinkIfExists(change.file);
    return;
  }
  writeAtomic(change.file, { ...info, pci });
}
