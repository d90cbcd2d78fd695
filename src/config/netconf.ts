/**
 * The network configuration on stdin and its prevResult: parsed and validated, pure.
 * Either a valid NetConf comes back or a CniError naming the field is thrown.
 */
import { CniError, ErrorCode } from "../errors.ts";
import { isIdentifier } from "./chars.ts";
import { isSupported, isWellFormed, SUPPORTED_VERSIONS } from "./version.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import { type DeviceId, isDeviceId, type NamedDevice, parseDeviceId } from "./deviceid.ts";
import { type RdmaNameField, rdmaNameProblem } from "./rdma-name.ts";


export interface ResultInterface {
  name: string;
  sandbox?: string;
  pciID?: string;
}

export interface PrevResult {
  /** The object as it came, printed back unchanged by ADD. */
  raw: Record<string, unknown>;
  /** The version it came in: its own cniVersion, or the config's when it had none. */
  cniVersion: string;
  interfaces: ResultInterface[];
}

interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** runtimeConfig.deviceID if given, else the top-level deviceID. */
  deviceId?: DeviceId;
  deviceIdField?: "runtimeConfig.deviceID" | "deviceID";
  prevResult?: PrevResult;
  debug: boolean;
  logLevel?: LogLevel;
  logFile?: string;
  stateDir?: string;
  /** cni.dev/valid-attachments, for GC. */
  validAttachments?: ValidAttachment[];
  deviceInfoFile?: string;
  /** The RDMA device name the pod asks for, and the field it came from (args.cni, runtimeConfig, top level). */
  rdmaDeviceName?: string;
  rdmaDeviceNameField?: RdmaNameField;
}

// Spec: the network name starts with an alphanumeric and continues with alphanumerics, _ . -
const MAX_NETWORK_NAME = 253;

function configError(field: string, problem: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} ${problem}`);
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalString(obj: Json, key: string, field = key): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw configError(field, `must be a string, got ${typeName(v)}`);
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Decodes stdin bytes as a JSON object (code 6 on failure). */
export function decodeJsonObject(bytes: Uint8Array, what: string): Json {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CniError(ErrorCode.DecodingFailure, `${what} is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : "parse error";
    throw new CniError(ErrorCode.DecodingFailure, `${what} is not valid JSON: ${reason}`);
  }
  if (!isObject(value)) throw new CniError(ErrorCode.DecodingFailure, `${what} must be a JSON object, got ${typeName(value)}`);
  return value;
}

/** Only the version, for VERSION and for choosing the version of an error reply. */
export function parseCniVersion(obj: Json): string {
  const v = obj.cniVersion;
  if (v === undefined || v === "") {
    throw new CniError(ErrorCode.IncompatibleVersion, "invalid network config: cniVersion is missing");
  }
  if (typeof v !== "string") {
    throw new CniError(ErrorCode.IncompatibleVersion, `invalid network config: cniVersion must be a string, got ${typeName(v)}`);
  }
  if (!isWellFormed(v)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `invalid network config: cniVersion ${JSON.stringify(v.slice(0, 40))} is not a version like 1.1.0`);
  }
  if (!isSupported(v)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cniVersion ${v} is not supported`,
      `supported versions: ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  return v;
}

/** The whole network config; `cniVersion` is its version when the caller has parsed it already. */
export function parseNetConf(obj: Json, cniVersion: string = parseCniVersion(obj)): NetConf {

  const name = obj.name;
  if (typeof name !== "string" || name === "") throw configError("name", name === undefined ? "is missing" : "must be a non-empty string");
  if (name.length > MAX_NETWORK_NAME || !isIdentifier(name)) {
    throw configError("name", `${JSON.stringify(name.slice(0, 80))} must be at most ${MAX_NETWORK_NAME} characters of letters, digits, _ . - starting with a letter or digit`);
  }
  const type = obj.type;
  if (typeof type !== "string" || type === "") throw configError("type", "must be a non-empty string");

  const conf: NetConf = { cniVersion, name, type, debug: false };

  const runtimeConfig = obj.runtimeConfig;
  if (runtimeConfig !== undefined && runtimeConfig !== null && !isObject(runtimeConfig)) {
    throw configError("runtimeConfig", `must be an object, got ${typeName(runtimeConfig)}`);
  }
  const rc: Json = isObject(runtimeConfig) ? runtimeConfig : {};
  const runtimeDeviceId = optionalString(rc, "deviceID", "runtimeConfig.deviceID");
  const topDeviceId = optionalString(obj, "deviceID");
  // runtimeConfig carries what the runtime resolved for this very attachment: it wins.
  const [rawDeviceId, field] =
    runtimeDeviceId !== undefined && runtimeDeviceId !== ""
      ? [runtimeDeviceId, "runtimeConfig.deviceID" as const]
      : [topDeviceId, "deviceID" as const];
  if (rawDeviceId !== undefined && rawDeviceId !== "") {
    const parsed = parseDeviceId(rawDeviceId);
    if (!isDeviceId(parsed)) throw configError(field, parsed.error);
    conf.deviceId = parsed;
    conf.deviceIdField = field;
  }
  conf.deviceInfoFile = optionalString(rc, "CNIDeviceInfoFile", "runtimeConfig.CNIDeviceInfoFile");

  const args = obj.args;
  if (args !== undefined && args !== null) {
    if (!isObject(args)) throw configError("args", `must be an object, got ${typeName(args)}`);
    const cni = args.cni;
    if (cni !== undefined && cni !== null) {
      if (!isObject(cni)) throw configError("args.cni", `must be an object, got ${typeName(cni)}`);
      const debug = cni.debug;
      if (debug !== undefined && debug !== null) {
        if (typeof debug !== "boolean") throw configError("args.cni.debug", `must be a boolean, got ${typeName(debug)}`);
        conf.debug = debug;
      }
    }
  }

  readRdmaDeviceName(conf, obj, rc);

  const logLevel = optionalString(obj, "logLevel");
  if (logLevel !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
      throw configError("logLevel", `must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel.slice(0, 40))}`);
    }
    conf.logLevel = logLevel as LogLevel;
  }
  conf.logFile = optionalString(obj, "logFile");
  conf.stateDir = optionalString(obj, "stateDir");

  if (obj.prevResult !== undefined && obj.prevResult !== null) conf.prevResult = parsePrevResult(obj.prevResult, cniVersion);

  const valid = obj["cni.dev/valid-attachments"];
  if (valid !== undefined && valid !== null) conf.validAttachments = parseValidAttachments(valid);
  return conf;
}

function parsePrevResult(value: unknown, cniVersion: string): PrevResult {
  if (!isObject(value)) throw configError("prevResult", `must be an object, got ${typeName(value)}`);
  // As the reference library (pkg/version ParsePrevResult) reads it: a prevResult without a
  // version is taken to be of the config's; ...
  const given = value.cniVersion;
  if (given !== undefined && given !== null && typeof given !== "string") {
    throw configError("prevResult.cniVersion", `must be a string, got ${typeName(given)}`);
  }
  const version = given ?? cniVersion;
  // ... and it is then decoded with the result type of the *config's* version, which accepts any
  // version of its own format: 0.3.0, 0.3.1 and 0.4.0 share one, 1.0.0 and 1.1.0 another. An
  // empty string is not "missing" there (it reaches the decoder as "" and is refused).
  const family = resultFormat(cniVersion);
  if (!family.includes(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `prevResult.cniVersion ${JSON.stringify(version.slice(0, 40))} cannot be read under the config's cniVersion ${cniVersion}`,
      `a ${cniVersion} config takes a prevResult of version ${family.join(", ")}; the runtime passes the previous plugin's result as it printed it`,
    );
  }
  const interfaces: ResultInterface[] = [];
  const list = value.interfaces;
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw configError("prevResult.interfaces", `must be an array, got ${typeName(list)}`);
    list.forEach((item: unknown, i: number) => {
      const field = `prevResult.interfaces[${i}]`;
      if (!isObject(item)) throw configError(field, `must be an object, got ${typeName(item)}`);
      const name = optionalString(item, "name", `${field}.name`);
      if (name === undefined) throw configError(`${field}.name`, "is missing");
      const iface: ResultInterface = { name };
      const sandbox = optionalString(item, "sandbox", `${field}.sandbox`);
      if (sandbox !== undefined) iface.sandbox = sandbox;
      const pciID = optionalString(item, "pciID", `${field}.pciID`);
      if (pciID !== undefined && pciID !== "") iface.pciID = pciID;
      interfaces.push(iface);
    });
  }
  for (const key of ["ips", "routes"] as const) {
    const v = value[key];
    if (v !== undefined && v !== null && !Array.isArray(v)) throw configError(`prevResult.${key}`, `must be an array, got ${typeName(v)}`);
  }
  const dns = value.dns;
  if (dns !== undefined && dns !== null && !isObject(dns)) throw configError("prevResult.dns", `must be an object, got ${typeName(dns)}`);
  return { raw: value, cniVersion: version, interfaces };
}

/** Result versions that share one JSON format (the reference library's types040 and types100). */
const RESULT_FORMATS: readonly (readonly string[])[] = [
  ["0.3.0", "0.3.1", "0.4.0"],
  ["1.0.0", "1.1.0"],
];

/** The result versions a config of `cniVersion` can read as its prevResult (its own among them). */
function resultFormat(cniVersion: string): readonly string[] {
  return RESULT_FORMATS.find((f) => f.includes(cniVersion)) ?? [cniVersion];
}

function parseValidAttachments(value: unknown): ValidAttachment[] {
  const field = "cni.dev/valid-attachments";
  if (!Array.isArray(value)) throw configError(field, `must be an array, got ${typeName(value)}`);
  return value.map((item: unknown, i: number) => {
    if (!isObject(item)) throw configError(`${field}[${i}]`, `must be an object, got ${typeName(item)}`);
    const containerID = item.containerID;
    const ifname = item.ifname;
    if (typeof containerID !== "string") throw configError(`${field}[${i}].containerID`, "must be a string");
    if (typeof ifname !== "string") throw configError(`${field}[${i}].ifname`, "must be a string");
    return { containerID, ifname };
  });
}

/**
 * The deviceID to use and where it came from: config first, then the pciID of the container
 * interface in a 1.1 prevResult.
 */
export function deviceIdFor(conf: NetConf, ifName: string): NamedDevice | undefined {
  if (conf.deviceId && conf.deviceIdField) return { deviceId: conf.deviceId, source: conf.deviceIdField };
  // Only the container interface (CNI_IFNAME inside a sandbox): a host-side peer's pciID says nothing.
  const iface = conf.prevResult?.interfaces.find((i) => i.name === ifName && i.sandbox !== undefined && i.sandbox !== "");
  if (iface?.pciID) {
    const parsed = parseDeviceId(iface.pciID);
    if (!isDeviceId(parsed)) throw configError(`prevResult interface ${iface.name} pciID`, parsed.error);
    return { deviceId: parsed, source: `prevResult pciID of ${iface.name}` };
  }
  return undefined;
}

/**
 * rdmaDeviceName: args.cni (a pod's own choice, from Multus cni-args) wins over runtimeConfig
 * (what the runtime resolved), which wins over the top level (the network's default). An empty
 * string counts as not set.
 */
function readRdmaDeviceName(conf: NetConf, obj: Json, rc: Json): void {
  const args = isObject(obj.args) && isObject(obj.args.cni) ? obj.args.cni : {};
  const candidates: [Json, string, RdmaNameField][] = [
    [args, "rdmaDeviceName", "args.cni.rdmaDeviceName"],
    [rc, "rdmaDeviceName", "runtimeConfig.rdmaDeviceName"],
    [obj, "rdmaDeviceName", "rdmaDeviceName"],
  ];
  // Every one given is checked, not only the one that wins: a bad value is a bad config.
  for (const [from, key, field] of candidates) {
    const name = optionalString(from, key, field);
    if (name === undefined || name === "") continue;
    const problem = rdmaNameProblem(name);
    if (problem) throw configError(field, problem);
    if (conf.rdmaDeviceName !== undefined) continue;
    conf.rdmaDeviceName = name;
    conf.rdmaDeviceNameField = field;
  }
}
