/**
 * The one log line of each CNI call, at `info`: what was asked (verb, container, interface,
 * network), what it was about (deviceID, RDMA device), how it ended (code: 0 or the CNI error
 * code) and how long it took. The dispatcher fills the facts as the call goes (the verb tells it
 * the device, plugin/verbs.ts); the one-shot plugin writes the line to its stderr (and logFile),
 * the engine also to its stdout (docs/engine.md, "One line per call").
 */
export const CALL_MESSAGE = "call";
/** An error's message is cut here in the line: the whole of it went to the runtime. */
export const MAX_ERROR_CHARS = 400;

export interface CallFacts {
  verb?: string;
  containerId?: string;
  ifName?: string;
  network?: string;
  deviceId?: string;
  rdmaDevice?: string;
  /** 0 on success, else the CNI error code. */
  code?: number;
  error?: string;
  ms?: number;
}

/** The line's fields, in the order a reader scans them; what the call never learned is left out. */
export function callLineFields(f: CallFacts): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    verb: f.verb ?? "unknown",
    container: f.containerId,
    interface: f.ifName,
    network: f.network,
    deviceID: f.deviceId,
    rdmaDevice: f.rdmaDevice,
    code: f.code,
    error: f.error !== undefined && f.error.length > MAX_ERROR_CHARS ? `${f.error.slice(0, MAX_ERROR_CHARS)}...` : f.error,
    ms: f.ms === undefined ? undefined : Math.round(f.ms * 10) / 10,
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return fields;
}
