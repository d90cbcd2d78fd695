/**
 * Attachment records: one JSON file per (network, container ID, interface), written to a temp file
 * and renamed into place, so a crash leaves the old record or the new one, never half of one.
 * Layout under the state dir:
 *   attachments/<encoded key>.json              records
 *   locks/<encoded device id>.lock              per-device flock files
 *   locks/attachment.<encoded key>.lock         per-attachment flock files
 * A call that changes a record holds its attachment's lock and then its device's lock, always in
 * that order (so no two calls wait on each other in a cycle). Lock files go away when the call
 * that held them leaves nothing behind for them to guard (see lock.ts for why that is safe).
 */
import { isEncodedName, isSafeName, isSafeNameChar } from "../config/chars.ts";
import { CniError, ErrorCode } from "../errors.ts";
import * as fs from "../sys/fs.ts";
import { O_CLOEXEC, O_NOFOLLOW, O_RDONLY } from "../sys/fs.ts";
import { writeFileAtomic } from "./atomic.ts";
import type { DeviceInfoChange } from "./devinfo.ts";
import { acquireLock, type Lock } from "./lock.ts";

const RECORD_VERSION = 1;

/** What a record is the record of: one interface of one container on one network. */
export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

export function attachmentKey(network: string, containerId: string, ifName: string): AttachmentKey {
  return { network, containerId, ifName };
}

/** The key as every message names it: "network N, container C, interface I". */
export function describeKey(key: AttachmentKey): string {
  return `network ${key.network}, container ${key.containerId}, interface ${key.ifName}`;
}

/** "moving": written before the device is moved (it may be on either side); "attached": moved. */
type Phase = "moving" | "attached";

export interface AttachmentRecord extends AttachmentKey {
  version: typeof RECORD_VERSION;
  deviceId: string;
  /** The device's name on the host: the name DEL gives it back. */
  rdmaDevice: string;
  /**
   * The name the pod asked for (rdmaDeviceName), when it asked for one. Records of earlier
   * versions have none: their device keeps its host name in the pod.
   */
  podRdmaDevice?: string;
  rdmaIndex: number;
  netns: string;
  phase: Phase;
  createdAt: string;
  updatedAt: string;
  deviceInfo?: DeviceInfoChange;
}

export interface Store {
  readonly dir: string;
  get(key: AttachmentKey): AttachmentRecord | undefined;
  put(record: AttachmentRecord): void;
  remove(key: AttachmentKey): void;
  /** Every record, and the files that could not be read as one. */
  list(): { records: AttachmentRecord[]; unreadable: { file: string; reason: string }[] };
  /** The lock of one RDMA device: every move of it happens under this lock. */
  lockDevice(deviceId: string, timeoutMs: number): Lock;
  /**
   * The lock of one attachment: its record is written, and its device chosen, only under this
   * lock. Taken before the device's lock, never after.
   */
  lockAttachment(key: AttachmentKey, timeoutMs: number): Lock;
}

const MAX_FILE_NAME = 200;
const MAX_RECORD_BYTES = 64 * 1024;

/** Escapes every byte outside [A-Za-z0-9_-] as %XX: no '/', no '.', so no way out of the directory. */
export function encodeComponent(s: string): string {
  if (isSafeName(s)) return s; // the common case (names, container IDs, interfaces): nothing to escape
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    out += isSafeNameChar(byte) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of encodeComponent; undefined for a name it never produces. */
function decodeComponent(encoded: string): string | undefined {
  if (!isEncodedName(encoded)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%") {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** An attachment's file-name stem: readable when it fits, a hash of the key when it does not. */
function keyStem(key: AttachmentKey): string {
  const readable = [key.network, key.containerId, key.ifName].map(encodeComponent).join(".");
  if (readable.length <= MAX_FILE_NAME) return readable;
  // Bun's hasher, not node:crypto: importing that slows every call's start-up (docs/bench.md).
  const hash = new Bun.CryptoHasher("sha256").update(JSON.stringify([key.network, key.containerId, key.ifName])).digest("hex");
  return `sha256-${hash}`;
}

/** File name (under attachments/) of a record. */
export function recordFileName(key: AttachmentKey): string {
  return `${keyStem(key)}.json`;
}

/** Prefix of attachment lock files. It has a '.', which a device lock's escaped name never has. */
const ATTACHMENT_LOCK_PREFIX = "attachment.";

/** File name (under locks/) of a device's lock. */
export function deviceLockName(deviceId: string): string {
  return `${encodeComponent(deviceId)}.lock`;
}

/** File name (under locks/) of an attachment's lock. */
function attachmentLockName(key: AttachmentKey): string {
  return `${ATTACHMENT_LOCK_PREFIX}${keyStem(key)}.lock`;
}

/** A file in locks/, as the store named it. */
export interface LockFile {
  file: string;
  /** A device's lock, or an attachment's (held only during a call). */
  kind: "device" | "attachment";
  /** The device ID a device lock's name encodes; null for an attachment's, or a name the store never writes. */
  deviceId: string | null;
}

/** What a lock file's name says: kind, and for a device's lock its device ID. */
export function parseLockName(name: string): Omit<LockFile, "file"> {
  if (name.startsWith(ATTACHMENT_LOCK_PREFIX)) return { kind: "attachment", deviceId: null };
  const deviceId = name.endsWith(".lock") ? decodeComponent(name.slice(0, -".lock".length)) : undefined;
  return { kind: "device", deviceId: deviceId ?? null };
}

export function sameKey(a: AttachmentKey, b: AttachmentKey): boolean {
  return a.network === b.network && a.containerId === b.containerId && a.ifName === b.ifName;
}

function stateError(what: string, err: unknown): CniError {
  const reason = err instanceof Error ? err.message : String(err);
  return new CniError(ErrorCode.StateFailure, `state: ${what}: ${reason}`);
}

/** Validates a parsed record; returns a reason when it is not one. */
export function checkRecord(v: unknown): AttachmentRecord | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const r = v as Record<string, unknown>;
  if (r.version !== RECORD_VERSION) return `unsupported record version ${JSON.stringify(r.version)}`;
  for (const k of ["network", "containerId", "ifName", "deviceId", "rdmaDevice", "netns", "createdAt", "updatedAt"]) {
    if (typeof r[k] !== "string") return `field ${k} is not a string`;
  }
  if (typeof r.rdmaIndex !== "number" || !Number.isInteger(r.rdmaIndex) || r.rdmaIndex < 0) return "field rdmaIndex is not an index";
  if (r.phase !== "moving" && r.phase !== "attached") return `unknown phase ${JSON.stringify(r.phase)}`;
  if (r.podRdmaDevice !== undefined && (typeof r.podRdmaDevice !== "string" || r.podRdmaDevice === "")) return "field podRdmaDevice is not a name";
  if (r.deviceInfo !== undefined) {
    const d = r.deviceInfo as Record<string, unknown> | null;
    if (typeof d !== "object" || d === null || typeof d.file !== "string" || typeof d.created !== "boolean" || !Array.isArray(d.added) || !d.added.every((k) => typeof k === "string")) {
      return "field deviceInfo is malformed";
    }
  }
  return r as unknown as AttachmentRecord;
}

function ensureDir(dir: string): void {
  fs.mkdirp(dir, 0o700);
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} is not a directory (a symlink is not accepted)`);
}

/** State directories this process has created and checked already. */
const readyDirs = new Set<string>();

export class FileStore implements Store {
  /** Where the records are. */
  readonly attachments: string;
  /** Where the lock files are. */
  readonly locks: string;

  constructor(readonly dir: string) {
    this.attachments = `${dir}/attachments`;
    this.locks = `${dir}/locks`;
  }

  /** The file of a record (whether or not it exists). */
  recordPath(key: AttachmentKey): string {
    return `${this.attachments}/${recordFileName(key)}`;
  }

  /** The lock file of a device (whether or not it exists). */
  deviceLockPath(deviceId: string): string {
    return `${this.locks}/${deviceLockName(deviceId)}`;
  }

  /** The lock file of an attachment (whether or not it exists). */
  attachmentLockPath(key: AttachmentKey): string {
    return `${this.locks}/${attachmentLockName(key)}`;
  }

  /** The *.lock files in locks/, sorted by name; none when there is no such directory. Throws other fs errors. */
  listLocks(): LockFile[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.locks).sort();
    } catch (e) {
      if ((e as fs.FsError).code === "ENOENT") return [];
      throw e;
    }
    return names.filter((n) => n.endsWith(".lock")).map((name) => ({ file: `${this.locks}/${name}`, ...parseLockName(name) }));
  }

  /**
   * Creates the directories (mode 0700). Separate from the constructor so reads never create.
   * Done once per directory and process: the engine serves every call of a node from one process.
   */
  init(): this {
    if (readyDirs.has(this.dir)) return this;
    try {
      ensureDir(this.dir);
      ensureDir(this.attachments);
      ensureDir(this.locks);
      fs.accessSync(this.attachments, fs.W_OK);
    } catch (e) {
      throw stateError(`cannot use state directory ${this.dir}`, e);
    }
    readyDirs.add(this.dir);
    return this;
  }

  get(key: AttachmentKey): AttachmentRecord | undefined {
    const file = this.recordPath(key);
    const rec = this.readFile(file);
    if (rec === undefined) return undefined;
    if (typeof rec === "string") throw new CniError(ErrorCode.StateFailure, `state: record ${file} is unreadable: ${rec}`);
    if (!sameKey(rec, key)) throw new CniError(ErrorCode.StateFailure, `state: record ${file} belongs to another attachment`);
    return rec;
  }

  /** undefined: no file; string: why the file is not a record. */
  private readFile(file: string): AttachmentRecord | string | undefined {
    let fd: number;
    try {
      fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    } catch (e) {
      if ((e as fs.FsError).code === "ENOENT") return undefined;
      return (e as Error).message;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return "not a regular file";
      if (st.size > MAX_RECORD_BYTES) return `${st.size} bytes is too large for a record`;
      return checkRecord(JSON.parse(fs.readText(fd)));
    } catch (e) {
      return (e as Error).message;
    } finally {
      fs.closeSync(fd);
    }
  }

  put(record: AttachmentRecord): void {
    const final = this.recordPath(record);
    try {
      writeFileAtomic(final, `${JSON.stringify(record, null, 2)}\n`, 0o600);
    } catch (e) {
      throw stateError(`cannot write record ${final}`, e);
    }
  }

  remove(key: AttachmentKey): void {
    try {
      fs.unlinkIfExists(this.recordPath(key));
    } catch (e) {
      throw stateError(`cannot remove record ${this.recordPath(key)}`, e);
    }
  }

  list(): { records: AttachmentRecord[]; unreadable: { file: string; reason: string }[] } {
    const records: AttachmentRecord[] = [];
    const unreadable: { file: string; reason: string }[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.attachments);
    } catch (e) {
      if ((e as fs.FsError).code === "ENOENT") return { records, unreadable };
      throw stateError(`cannot list ${this.attachments}`, e);
    }
    for (const name of names.sort()) {
      if (!name.endsWith(".json")) continue;
      const file = `${this.attachments}/${name}`;
      const rec = this.readFile(file);
      if (rec === undefined) continue; // removed meanwhile
      if (typeof rec === "string") unreadable.push({ file, reason: rec });
      else if (recordFileName(rec) !== name) unreadable.push({ file, reason: "file name does not match the record's key" });
      else records.push(rec);
    }
    return { records, unreadable };
  }

  lockDevice(deviceId: string, timeoutMs: number): Lock {
    return this.lock(this.deviceLockPath(deviceId), timeoutMs, `RDMA device ${deviceId}`);
  }

  lockAttachment(key: AttachmentKey, timeoutMs: number): Lock {
    return this.lock(this.attachmentLockPath(key), timeoutMs, `attachment (${describeKey(key)})`);
  }

  private lock(file: string, timeoutMs: number, what: string): Lock {
    try {
      return acquireLock(file, timeoutMs, what);
    } catch (e) {
      // Every change starts with a lock: if the directories went away since init (someone
      // cleaned /run), make them again, once, rather than failing every call of the engine.
      if (!readyDirs.has(this.dir) || fs.existsSync(this.locks)) throw e;
      readyDirs.delete(this.dir);
      this.init();
      return acquireLock(file, timeoutMs, what);
    }
  }
}
