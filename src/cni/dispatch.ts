/**
 * The CNI protocol: env and stdin in, one JSON document on stdout, an exit status. The I/O is a
 * value, so tests run the whole plugin in-process and read the exact bytes it would print.
 */
import * as path from "node:path";
import { confinedPath, LOG_FILE_ROOT, STATE_DIR_ROOT } from "../config/paths.ts";
import { decodeJsonObject, type NetConf, parseCniVersion, parseNetConf } from "../config/netconf.ts";
import { StreamLogger } from "../log.ts";
import { add } from "../plugin/add.ts";
import { check } from "../plugin/check.ts";
import { del } from "../plugin/del.ts";
import type { PluginDeps } from "../plugin/deps.ts";
import { gc } from "../plugin/gc.ts";
import { rdmaUnavailable } from "../plugin/kernel-steps.ts";
import { KernelError } from "../rdma/kernel.ts";
import { status } from "../plugin/status.ts";
import type { Store } from "../state/store.ts";
import { argsDebug, type CniEnv, parseCommand, parseEnv } from "./env.ts";
import { asCniError, CniError, ErrorCode } from "../errors.ts";
import { atLeast, LATEST_VERSION, SUPPORTED_VERSIONS } from "./version.ts";

export const MAX_STDIN_BYTES = 4 * 1024 * 1024;
export const DEFAULT_STATE_DIR = "/run/cni/rdma";

export interface CniIo {
  env: Record<string, string | undefined>;
  /** Reads stdin, at most `max` bytes; returns max+1 bytes when there is more. */
  readStdin(max: number): Uint8Array;
  stdout(s: string): void;
  stderr(s: string): void;
}

export interface Roots {
  stateDirRoot: string;
  logFileRoot: string;
}

export type DepsFactory = (log: StreamLogger) => PluginDeps;

/** Runs one CNI call; returns the process exit status. */
export function runCni(io: CniIo, makeDeps: DepsFactory, roots: Roots = { stateDirRoot: STATE_DIR_ROOT, logFileRoot: LOG_FILE_ROOT }): number {
  const log = new StreamLogger(io.stderr, "warn", {});
  let replyVersion = LATEST_VERSION;
  try {
    const command = parseCommand(io.env);
    const stdin = io.readStdin(MAX_STDIN_BYTES);
    if (stdin.length > MAX_STDIN_BYTES) {
      throw new CniError(ErrorCode.DecodingFailure, `stdin is larger than ${MAX_STDIN_BYTES} bytes; a network config is never that large`);
    }
    if (command === "VERSION") {
      io.stdout(`${JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`);
      return 0;
    }
    const obj = decodeJsonObject(stdin, "the network config on stdin");
    replyVersion = parseCniVersion(obj);
    const env = parseEnv(io.env);
    const conf = parseNetConf(obj);
    requireVersionFor(env.command, conf.cniVersion);
    configureLogging(log, conf, env, roots);
    log.debug("CNI call", { command: env.command, containerId: env.containerId, ifName: env.ifName, netns: env.netns, network: conf.name });

    // Validated even when the environment overrides it: a bad config is refused either way.
    const configuredStateDir = conf.stateDir ? confinedPath("stateDir", conf.stateDir, roots.stateDirRoot) : undefined;
    const stateDir = io.env.RDMA_CNI_STATE_DIR || configuredStateDir || DEFAULT_STATE_DIR;
    const deps = makeDeps(log);
    // Opened (and on a fresh node created) only when a verb is past its own input checks and
    // about to use it: a refused call leaves no state directory behind.
    let store: Store | undefined;
    const req = () => ({ env, conf, openStore: () => (store ??= deps.openStore(stateDir)) });
    switch (env.command) {
      case "ADD": {
        const result = add(req(), deps);
        // The result goes on in the config's version, whichever version of the same format
        // prevResult came in (a 1.1.0 chain may hand on a plugin's 1.0.0 result).
        io.stdout(`${JSON.stringify({ ...result, cniVersion: conf.cniVersion })}\n`);
        return 0;
      }
      case "DEL":
        del(req(), deps);
        return 0;
      case "CHECK":
        check(req(), deps);
        return 0;
      case "STATUS":
        status(deps);
        return 0;
      case "GC":
        gc(req(), deps);
        return 0;
    }
    throw new CniError(ErrorCode.Internal, `unhandled command ${env.command}`);
  } catch (err) {
    // A kernel failure no step wrapped is still about the RDMA subsystem, not an internal error.
    const e = err instanceof KernelError ? rdmaUnavailable(err) : asCniError(err);
    log.error(e.message, { code: e.code, ...(e.details ? { details: e.details } : {}) });
    const reply: Record<string, unknown> = { cniVersion: replyVersion, code: e.code, msg: e.message };
    if (e.details) reply.details = e.details;
    io.stdout(`${JSON.stringify(reply)}\n`);
    return 1;
  } finally {
    log.close();
  }
}

/** CHECK arrived in 0.4.0, STATUS and GC in 1.1.0: older configs may not ask for them. */
function requireVersionFor(command: CniEnv["command"], version: string): void {
  const since = command === "CHECK" ? "0.4.0" : command === "STATUS" || command === "GC" ? "1.1.0" : undefined;
  if (since && !atLeast(version, since)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version ${version} does not allow ${command} (it needs ${since} or later)`);
  }
}

function configureLogging(log: StreamLogger, conf: NetConf, env: CniEnv, roots: Roots): void {
  const debug = argsDebug(env.args) ?? conf.debug;
  log.setLevel(conf.logLevel ?? (debug ? "debug" : "warn"));
  if (conf.logFile) {
    const file = confinedPath("logFile", conf.logFile, roots.logFileRoot);
    try {
      log.openFile(file);
    } catch (e) {
      // The log file is a convenience: failing to open it must not fail the pod.
      log.warn("cannot open logFile; logging to stderr only", { logFile: file, dir: path.dirname(file), error: (e as Error).message });
    }
  }
}
