/**
 * The input of one CNI call, parsed here and nowhere else, each part once: CNI_COMMAND, the
 * network config's cniVersion (an error reply is in that version), the rest of the CNI_*
 * environment and of the config, and the plugin's own RDMA_CNI_* settings. The dispatcher
 * (cni/dispatch.ts) asks for them in that order and dispatches.
 */
import { CniError, ErrorCode } from "../errors.ts";
import type { LogLevel } from "../log.ts";
import { argsDebug, argsRdmaDeviceName, type CniEnv, type Command, parseEnv } from "./env.ts";
import { type NetConf, parseNetConf } from "./netconf.ts";
import { confinedPath, LOG_FILE_ROOT, STATE_DIR_ROOT } from "./paths.ts";
import { atLeast } from "./version.ts";

/** The Go rdma-cni's state directory (state/go-state.ts has its format). */
export const DEFAULT_GO_STATE_DIR = "/var/lib/cni/rdma";

export const MAX_STDIN_BYTES = 4 * 1024 * 1024;
export const DEFAULT_STATE_DIR = "/run/cni/rdma";
export const DEFAULT_SYSFS_ROOT = "/sys";
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

type Vars = Record<string, string | undefined>;

/**
 * The plugin's own settings (RDMA_CNI_*): the engine forwards them with each call, the tests and
 * the VM set them. Read here only, by the plugin and by `rdma doctor`.
 */
export interface Settings {
  /** RDMA_CNI_STATE_DIR: wins over the config's stateDir. */
  stateDir: string | undefined;
  /** RDMA_CNI_SYSFS_ROOT, else /sys. */
  sysfsRoot: string;
  /** RDMA_CNI_LOCK_TIMEOUT_MS, else 10 s. */
  lockTimeoutMs: number;
  /** RDMA_CNI_GO_STATE_DIR, else the Go rdma-cni's /var/lib/cni/rdma (docs/migration.md). */
  goStateDir: string;
}

export function readSettings(vars: Vars): Settings {
  return {
    stateDir: vars.RDMA_CNI_STATE_DIR || undefined,
    sysfsRoot: vars.RDMA_CNI_SYSFS_ROOT || DEFAULT_SYSFS_ROOT,
    lockTimeoutMs: Number(vars.RDMA_CNI_LOCK_TIMEOUT_MS) || DEFAULT_LOCK_TIMEOUT_MS,
    goStateDir: vars.RDMA_CNI_GO_STATE_DIR || DEFAULT_GO_STATE_DIR,
  };
}

/** Refuses stdin larger than any network config (the reader returns one byte more when there is more). */
export function checkStdinSize(stdin: Uint8Array): void {
  if (stdin.length > MAX_STDIN_BYTES) {
    throw new CniError(ErrorCode.DecodingFailure, `stdin is larger than ${MAX_STDIN_BYTES} bytes; a network config is never that large`);
  }
}

export interface CallInput {
  env: CniEnv;
  conf: NetConf;
  settings: Settings;
  logLevel: LogLevel;
  /** The config's logFile, confined below LOG_FILE_ROOT. */
  logFile: string | undefined;
}

/** Everything but CNI_COMMAND and cniVersion, which the dispatcher has parsed already. */
export function parseInput(command: Command, vars: Vars, config: Record<string, unknown>, cniVersion: string): CallInput {
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
export function resolveStateDir(input: CallInput): string {
  const configured = input.conf.stateDir ? confinedPath("stateDir", input.conf.stateDir, STATE_DIR_ROOT) : undefined;
  return input.settings.stateDir || configured || DEFAULT_STATE_DIR;
}

/** CHECK arrived in 0.4.0, STATUS and GC in 1.1.0: older configs may not ask for them. */
function requireVersionFor(command: Command, version: string): void {
  const since = command === "CHECK" ? "0.4.0" : command === "STATUS" || command === "GC" ? "1.1.0" : undefined;
  if (since && !atLeast(version, since)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version ${version} does not allow ${command} (it needs ${since} or later)`);
  }
}
