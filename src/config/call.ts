/**
 * One CNI call, resolved whole from its environment and stdin: CNI_COMMAND, the config's
 * cniVersion (an error reply is in that version), the rest of the CNI_* environment and of the
 * config, the plugin's RDMA_CNI_* settings, the paths a config may name (confined below their
 * roots), and for ADD the device with where it came from. The dispatcher asks this once and
 * dispatches; no verb comes back into config/ for a missing piece.
 */
import { asCniError, CniError, ErrorCode } from "../errors.ts";
import type { LogLevel } from "../log.ts";
import type { NamedDevice } from "./deviceid.ts";
import { argsDebug, argsRdmaDeviceName, type CniEnv, type Command, parseCommand, parseEnv } from "./env.ts";
import { DEFAULT_STATE_DIR, MAX_STDIN_BYTES, readSettings, type Settings } from "./settings.ts";
import { decodeJsonObject, deviceIdFor, type NetConf, type PrevResult, parseCniVersion, parseNetConf } from "./netconf.ts";
import { confinedPath, DEVICE_INFO_ROOTS, deviceInfoPath, LOG_FILE_ROOT, STATE_DIR_ROOT } from "./paths.ts";
import { atLeast, LATEST_VERSION, SUPPORTED_VERSIONS } from "./version.ts";

type Vars = Record<string, string | undefined>;

/** The verbs that act on a config (VERSION needs none). */
type Verb = Exclude<Command, "VERSION">;

/** What every verb gets, and what the dispatcher logs the call with. */
export interface CallInput {
  env: CniEnv;
  conf: NetConf;
  settings: Settings;
  logLevel: LogLevel;
  /** The config's logFile, confined below LOG_FILE_ROOT. */
  logFile: string | undefined;
}

/** What ADD needs beyond the common input. */
export interface AddInput {
  /** The config's prevResult, which ADD requires. */
  prevResult: PrevResult;
  /** The config's deviceID, else the pciID of the container interface in a 1.1.0 prevResult; else the pod's netdev says. */
  device: NamedDevice | undefined;
  /** runtimeConfig.CNIDeviceInfoFile, confined below the device-info roots. */
  deviceInfoFile: string | undefined;
}

interface Resolved extends CallInput {
  /** RDMA_CNI_STATE_DIR, else the config's (confined below STATE_DIR_ROOT), else the default. */
  stateDir: string;
}

export type AddCall = Resolved & { verb: "ADD"; add: AddInput };
type OtherCall = Resolved & { verb: Exclude<Verb, "ADD"> };
/** A call that passed every input check: the verb runs it. */
export type ResolvedCall = AddCall | OtherCall;

export type Resolution =
  | { kind: "version"; verb: "VERSION"; replyVersion: string; reply: { cniVersion: string; supportedVersions: readonly string[] } }
  | { kind: "call"; verb: Verb; replyVersion: string; call: ResolvedCall }
  | {
      kind: "refused";
      /** CNI_COMMAND, once it passed its check. */
      verb: Command | undefined;
      /** The config's cniVersion once parsed, else the latest. */
      replyVersion: string;
      /** What was parsed before the refusal: the call line names it, logging follows it. */
      input: CallInput | undefined;
      error: CniError;
    };

/**
 * Resolves one call. `readStdin` is asked once CNI_COMMAND is known (a missing one is refused
 * before stdin is waited for); `deviceInfoRoots` is where CNIDeviceInfoFile may point (tests give
 * a directory of their own). The checks run in a fixed order: the first failure is the reply.
 */
export function resolveCall(vars: Vars, readStdin: (max: number) => Uint8Array, deviceInfoRoots: readonly string[] = DEVICE_INFO_ROOTS): Resolution {
  let verb: Command | undefined;
  let replyVersion = LATEST_VERSION;
  let input: CallInput | undefined;
  try {
    const command = parseCommand(vars);
    verb = command;
    const stdin = readStdin(MAX_STDIN_BYTES);
    checkStdinSize(stdin);
    if (command === "VERSION") {
      return { kind: "version", verb: command, replyVersion, reply: { cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS } };
    }
    const config = decodeJsonObject(stdin, "the network config on stdin");
    replyVersion = parseCniVersion(config);
    input = parseInput(command, vars, config, replyVersion);
    const resolved: Resolved = { ...input, stateDir: resolveStateDir(input) };
    const call: ResolvedCall = command === "ADD" ? { ...resolved, verb: command, add: addInput(input, deviceInfoRoots) } : { ...resolved, verb: command };
    return { kind: "call", verb: command, replyVersion, call };
  } catch (e) {
    return { kind: "refused", verb, replyVersion, input, error: asCniError(e) };
  }
}

/** Refuses stdin larger than any network config (the reader returns one byte more when there is more). */
function checkStdinSize(stdin: Uint8Array): void {
  if (stdin.length > MAX_STDIN_BYTES) {
    throw new CniError(ErrorCode.DecodingFailure, `stdin is larger than ${MAX_STDIN_BYTES} bytes; a network config is never that large`);
  }
}

/** Everything but CNI_COMMAND and cniVersion, which are parsed already. */
function parseInput(command: Verb, vars: Vars, config: Record<string, unknown>, cniVersion: string): CallInput {
  const env = parseEnv(vars, command);
  const conf = parseNetConf(config, cniVersion);
  requireVersionFor(command, cniVersion);
  withArgsDeviceName(conf, argsRdmaDeviceName(env.args));
  const debug = argsDebug(env.args) ?? conf.debug;
  const logLevel = conf.logLevel ?? (debug ? "debug" : "warn");
  const logFile = conf.logFile ? confinedPath("logFile", conf.logFile, LOG_FILE_ROOT) : undefined;
  return { env, conf, settings: readSettings(vars), logLevel, logFile };
}

/** rdmaDeviceName from CNI_ARGS: after args.cni, before runtimeConfig and the top level. */
function withArgsDeviceName(conf: NetConf, name: string | undefined): void {
  if (name === undefined || conf.rdmaDeviceNameField === "args.cni.rdmaDeviceName") return;
  conf.rdmaDeviceName = name;
  conf.rdmaDeviceNameField = "CNI_ARGS rdmaDeviceName";
}

/**
 * RDMA_CNI_STATE_DIR, else the config's stateDir, else the default. The config's is validated
 * even when the environment overrides it: a bad config is refused either way.
 */
function resolveStateDir(input: CallInput): string {
  const configured = input.conf.stateDir ? confinedPath("stateDir", input.conf.stateDir, STATE_DIR_ROOT) : undefined;
  return input.settings.stateDir || configured || DEFAULT_STATE_DIR;
}

/** CHECK arrived in 0.4.0, STATUS and GC in 1.1.0: older configs may not ask for them. */
function requireVersionFor(command: Verb, version: string): void {
  const since = command === "CHECK" ? "0.4.0" : command === "STATUS" || command === "GC" ? "1.1.0" : undefined;
  if (since && !atLeast(version, since)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version ${version} does not allow ${command} (it needs ${since} or later)`);
  }
}

/** ADD's device, its prevResult and its device-info file, in the order ADD always checked them. */
function addInput({ conf, env }: CallInput, deviceInfoRoots: readonly string[]): AddInput {
  const device = deviceIdFor(conf, env.ifName);
  if (!conf.prevResult) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      "invalid network config: prevResult is missing: the rdma plugin must be chained after the plugin that moves the VF's or SF's netdev into the pod (sriov, host-device, ...)",
    );
  }
  const deviceInfoFile = conf.deviceInfoFile ? deviceInfoPath(conf.deviceInfoFile, deviceInfoRoots) : undefined;
  return { prevResult: conf.prevResult, device, deviceInfoFile };
}
