/**
 * The CNI protocol: env and stdin in, one JSON document on stdout, an exit status. config/
 * resolves the whole call at once (call.ts), the verbs run in plugin/ (verbs.ts); this file only
 * dispatches and prints. The I/O is a value, so tests run the whole plugin in-process and read
 * the exact bytes it would print.
 */
import { type CallInput, type ResolvedCall, resolveCall } from "../config/call.ts";
import { asCniError } from "../errors.ts";
import { StreamLogger } from "../log.ts";
import type { CallContext, CniFuncs } from "../plugin/verbs.ts";
import { dirname } from "../sys/fs.ts";
import { CALL_MESSAGE, type CallFacts, callLineFields } from "./call-line.ts";

export interface CniIo {
  env: Record<string, string | undefined>;
  /** Reads stdin, at most `max` bytes; returns max+1 bytes when there is more. */
  readStdin(max: number): Uint8Array;
  stdout(s: string): void;
  stderr(s: string): void;
  /** Told, once the call is over, what its log line says (call-line.ts): the engine logs it too. */
  report?(facts: CallFacts): void;
}

/**
 * Runs one CNI call; returns the process exit status. `deviceInfoRoots` is where a config's
 * CNIDeviceInfoFile may point, when not the device-info spec's directory (tests).
 */
export function runCni(io: CniIo, funcs: CniFuncs, deviceInfoRoots?: readonly string[]): number {
  const log = new StreamLogger(io.stderr, "warn", {});
  const started = performance.now();
  const facts: CallFacts = {};
  const resolved = resolveCall(io.env, io.readStdin, deviceInfoRoots);
  facts.verb = resolved.verb;
  try {
    if (resolved.kind === "version") {
      io.stdout(`${JSON.stringify(resolved.reply)}\n`);
      return 0;
    }
    const input = resolved.kind === "call" ? resolved.call : resolved.input;
    if (input) begin(log, input, facts);
    if (resolved.kind === "refused") throw resolved.error;

    const ctx: CallContext = {
      log,
      noteDevice: (deviceId, rdmaDevice) => {
        facts.deviceId = deviceId;
        facts.rdmaDevice = rdmaDevice;
      },
    };
    const result = dispatch(funcs, resolved.call, ctx);
    if (result) io.stdout(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    const e = asCniError(err);
    log.error(e.message, { code: e.code, ...(e.details ? { details: e.details } : {}) });
    const reply: Record<string, unknown> = { cniVersion: resolved.replyVersion, code: e.code, msg: e.message };
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

/** Runs the call's verb; ADD's result is what goes to stdout. */
function dispatch(funcs: CniFuncs, call: ResolvedCall, ctx: CallContext): Record<string, unknown> | undefined {
  switch (call.verb) {
    case "ADD":
      // The result goes on in the config's version, whichever version of the same format
      // prevResult came in (a 1.1.0 chain may hand on a plugin's 1.0.0 result).
      return { ...funcs.add(call, ctx), cniVersion: call.conf.cniVersion };
    case "DEL":
      funcs.del(call, ctx);
      return undefined;
    case "CHECK":
      funcs.check(call, ctx);
      return undefined;
    case "STATUS":
      funcs.status(call, ctx);
      return undefined;
    case "GC":
      funcs.gc(call, ctx);
      return undefined;
  }
}

/** What the call is about, into its line and its log, as soon as the input says it. */
function begin(log: StreamLogger, input: CallInput, facts: CallFacts): void {
  const { env, conf } = input;
  Object.assign(facts, { containerId: env.containerId, ifName: env.ifName, network: conf.name, deviceId: conf.deviceId?.id });
  configureLogging(log, input);
  log.debug("CNI call", { command: env.command, containerId: env.containerId, ifName: env.ifName, netns: env.netns, network: conf.name });
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
