/**
 * The CNI protocol: env and stdin in, one JSON document on stdout, an exit status. The input is
 * parsed by config/ (input.ts), the verb runs in plugin/; this file only puts them in order. The
 * I/O is a value, so tests run the whole plugin in-process and read the exact bytes it would print.
 */
import { type CallInput, checkStdinSize, MAX_STDIN_BYTES, parseInput, resolveStateDir, type Settings } from "../config/input.ts";
import { parseCommand } from "../config/env.ts";
import { decodeJsonObject, parseCniVersion } from "../config/netconf.ts";
import { LATEST_VERSION, SUPPORTED_VERSIONS } from "../config/version.ts";
import { asCniError, CniError, ErrorCode } from "../errors.ts";
import { StreamLogger } from "../log.ts";
import { add } from "../plugin/add.ts";
import { check } from "../plugin/check.ts";
import { del } from "../plugin/del.ts";
import type { PluginDeps } from "../plugin/deps.ts";
import { gc } from "../plugin/gc.ts";
import { rdmaUnavailable } from "../plugin/kernel-steps.ts";
import { status } from "../plugin/status.ts";
import { KernelError } from "../rdma/kernel.ts";
import { attachmentKey, type Store } from "../state/store.ts";
import { CALL_MESSAGE, type CallFacts, callLineFields, noteRecordsOf } from "./call-line.ts";
import { dirname } from "../sys/fs.ts";

export interface CniIo {
  env: Record<string, string | undefined>;
  /** Reads stdin, at most `max` bytes; returns max+1 bytes when there is more. */
  readStdin(max: number): Uint8Array;
  stdout(s: string): void;
  stderr(s: string): void;
  /** Told, once the call is over, what its log line says (call-line.ts): the engine logs it too. */
  report?(facts: CallFacts): void;
}

/** The plugin's dependencies for one call, given its logger and its RDMA_CNI_* settings. */
export type DepsFactory = (log: StreamLogger, settings: Settings) => PluginDeps;

/** Runs one CNI call; returns the process exit status. */
export function runCni(io: CniIo, makeDeps: DepsFactory): number {
  const log = new StreamLogger(io.stderr, "warn", {});
  const started = performance.now();
  const facts: CallFacts = {};
  let replyVersion = LATEST_VERSION;
  try {
    const command = parseCommand(io.env);
    facts.verb = command;
    const stdin = io.readStdin(MAX_STDIN_BYTES);
    checkStdinSize(stdin);
    if (command === "VERSION") {
      io.stdout(`${JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`);
      return 0;
    }
    const config = decodeJsonObject(stdin, "the network config on stdin");
    replyVersion = parseCniVersion(config);
    const input = parseInput(command, io.env, config, replyVersion);
    const { env, conf } = input;
    Object.assign(facts, { containerId: env.containerId, ifName: env.ifName, network: conf.name, deviceId: conf.deviceId?.id });
    configureLogging(log, input);
    log.debug("CNI call", { command: env.command, containerId: env.containerId, ifName: env.ifName, netns: env.netns, network: conf.name });

    const stateDir = resolveStateDir(input);
    const deps = makeDeps(log, input.settings);
    // Opened (and on a fresh node created) only when a verb is past its own input checks and
    // about to use it: a refused call leaves no state directory behind.
    let store: Store | undefined;
    const key = attachmentKey(conf.name, env.containerId, env.ifName);
    const req = () => ({ env, conf, key, openStore: () => (store ??= noteRecordsOf(deps.openStore(stateDir), key, facts)) });
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
    facts.code = e.code;
    facts.error = e.message;
    return 1;
  } finally {
    // VERSION (the engine's probes send one every few seconds) says nothing about a pod.
    if (facts.verb !== "VERSION") {
      facts.code ??= 0;
      facts.ms = performance.now() - started;
      log.info(CALL_MESSAGE, callLineFields(facts));
      io.report?.(facts);
    }
    log.close();
  }
}

function configureLogging(log: StreamLogger, input: CallInput): void {
  log.setLevel(input.logLevel);
  const file = input.logFile;
  if (file) {
    try {
      log.openFile(file);
    } catch (e) {
      // The log file is a convenience: failing to open it must not fail the pod.
      log.warn("cannot open logFile; logging to stderr only", { logFile: file, dir: dirname(file), error: (e as Error).message });
    }
  }
}
