/**
 * The Go rdma-cni's (k8snetworkplumbingwg/rdma-cni) attachment records, read for its DEL and
 * written for a rollback to it (docs/migration.md). Its layout, read in its pkg/cache and
 * pkg/types: one file per attachment, `<dir>/<network>-<container id>-<ifname>` (the three joined
 * by "-", no escaping, no extension), holding
 *   {"version":"1.0","deviceID":"0000:03:00.2","sandboxRdmaDevName":"mlx5_3","containerRdmaDevName":"mlx5_3"}
 * Its DEL moves the device named containerRdmaDevName from the pod's netns home and removes the
 * file; with no file it succeeds and moves nothing.
 */
import { isSafeName } from "../config/chars.ts";
import * as fs from "../sys/fs.ts";
import { O_CLOEXEC, O_NOFOLLOW, O_RDONLY } from "../sys/fs.ts";
import { writeFileAtomic } from "./atomic.ts";
import type { AttachmentKey } from "./store.ts";

/** Its RdmaNetStateVersion: a minor for added fields, a major for incompatible ones. */
export const GO_RECORD_VERSION = "1.0";

export interface GoRecord {
  version: string;
  deviceID: string;
  /** The RDMA device's name on the host. */
  sandboxRdmaDevName: string;
  /** Its name in the pod, which the Go plugin's DEL looks up there. */
  containerRdmaDevName: string;
}

/** The record's file; undefined for a key whose joined name could leave the directory (never a valid CNI call's). */
export function goRecordPath(dir: string, key: AttachmentKey): string | undefined {
  const name = `${key.network}-${key.containerId}-${key.ifName}`;
  if (name.includes("/") || name.includes("\0") || name.startsWith(".")) return undefined;
  return `${dir}/${name}`;
}

/** Parses a record's text; a reason when it is not one the Go plugin's DEL could act on. */
export function parseGoRecord(text: string): GoRecord | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { error: "not a JSON object" };
  const r = v as Record<string, unknown>;
  // Major version 1 (any minor): fields added later are ignored, as Go's json.Unmarshal does.
  if (typeof r.version !== "string" || !r.version.startsWith("1.")) return { error: `unsupported version ${JSON.stringify(r.version)}` };
  for (const k of ["deviceID", "sandboxRdmaDevName", "containerRdmaDevName"]) {
    if (typeof r[k] !== "string" || r[k] === "") return { error: `field ${k} is not a non-empty string` };
  }
  if (!isSafeName((r.containerRdmaDevName as string).replaceAll(".", ""))) return { error: "field containerRdmaDevName is not a device name" };
  return { version: r.version, deviceID: r.deviceID as string, sandboxRdmaDevName: r.sandboxRdmaDevName as string, containerRdmaDevName: r.containerRdmaDevName as string };
}

/** The record of `key` in `dir`: undefined when there is none, `{error}` when the file is not one. */
export function readGoRecord(dir: string, key: AttachmentKey): GoRecord | { error: string } | undefined {
  const file = goRecordPath(dir, key);
  // Every DEL without a record of ours asks: a stat that finds nothing costs less than a failed open's error.
  if (file === undefined || !fs.existsSync(file)) return undefined;
  return readGoRecordFile(file);
}

export interface GoRecordFile {
  file: string;
  /** `<network>-<container id>-<ifname>`, as its DEL names it: the three cannot be told apart again, as each may hold "-". */
  name: string;
  record: GoRecord;
}

/**
 * Every record in `dir` (none when it does not exist), and the files there that are not records;
 * write-in-progress temp files are skipped. Throws when the directory cannot be listed.
 */
export function listGoRecords(dir: string): { records: GoRecordFile[]; unreadable: { file: string; reason: string }[] } {
  const records: GoRecordFile[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  if (!fs.existsSync(dir)) return { records, unreadable };
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue; // no record name starts with "." (goRecordPath); our temp files do
    const file = `${dir}/${name}`;
    // Opened only when a regular file: a FIFO someone left there would block the open.
    let regular: boolean;
    try {
      regular = fs.lstatSync(file).isFile();
    } catch {
      continue; // removed since the listing: its DEL ran
    }
    if (!regular) {
      unreadable.push({ file, reason: "not a regular file" });
      continue;
    }
    const read = readGoRecordFile(file);
    if (read === undefined) continue; // removed since the listing: its DEL ran
    if ("error" in read) unreadable.push({ file, reason: read.error });
    else records.push({ file, name, record: read });
  }
  return { records, unreadable };
}

function readGoRecordFile(file: string): GoRecord | { error: string } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  } catch (e) {
    const code = (e as fs.FsError).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    return { error: (e as Error).message };
  }
  try {
    return parseGoRecord(fs.readText(fd));
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the record as the Go plugin writes it (0600 in a 0700 directory), atomically. */
export function writeGoRecord(dir: string, key: AttachmentKey, record: GoRecord): string {
  const file = goRecordPath(dir, key);
  if (file === undefined) throw new Error(`attachment ${key.network}/${key.containerId}/${key.ifName} has no Go rdma-cni record name`);
  fs.mkdirp(dir, 0o700);
  writeFileAtomic(file, JSON.stringify(record), 0o600);
  return file;
}

export function removeGoRecord(dir: string, key: AttachmentKey): void {
  const file = goRecordPath(dir, key);
  if (file !== undefined) fs.unlinkIfExists(file);
}
