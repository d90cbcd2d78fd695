/** The CNI_* environment, validated as the spec constrains it. */
import { CniError, ErrorCode } from "../errors.ts";
import { hasIfNameForbidden, hasNulOrLineBreak, isIdentifier } from "./chars.ts";
import { rdmaNameProblem } from "./rdma-name.ts";

const COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CniEnv {
  command: Command;
  containerId: string;
  /** Empty when the runtime did not give one (allowed for DEL, GC, STATUS). */
  netns: string;
  ifName: string;
  args: Map<string, string>;
  path: string;
}

// Spec: the container ID is non-empty, alphanumeric plus underscore, dot and hyphen (isIdentifier).
const MAX_CONTAINER_ID = 1024;
// Linux IFNAMSIZ is 16 including the NUL.
const MAX_IFNAME_BYTES = 15;
const MAX_PATH = 4096;
const MAX_ARGS = 64 * 1024;

function envError(variable: string, problem: string): CniError {
  return new CniError(ErrorCode.InvalidEnv, `invalid environment: ${variable} ${problem}`);
}

const needs: Record<Command, { containerId: boolean; netns: boolean; ifName: boolean }> = {
  ADD: { containerId: true, netns: true, ifName: true },
  CHECK: { containerId: true, netns: true, ifName: true },
  DEL: { containerId: true, netns: false, ifName: true },
  STATUS: { containerId: false, netns: false, ifName: false },
  GC: { containerId: false, netns: false, ifName: false },
  VERSION: { containerId: false, netns: false, ifName: false },
};

export function parseCommand(env: Record<string, string | undefined>): Command {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === "") throw envError("CNI_COMMAND", "is missing");
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw envError("CNI_COMMAND", `${JSON.stringify(command.slice(0, 40))} is not one of ${COMMANDS.join(", ")}`);
  }
  return command as Command;
}

function validateInterfaceName(name: string): string | undefined {
  if (name === "") return "is empty";
  if (Buffer.byteLength(name) > MAX_IFNAME_BYTES) return `is longer than ${MAX_IFNAME_BYTES} bytes`;
  if (name === "." || name === "..") return `must not be ${JSON.stringify(name)}`;
  if (hasIfNameForbidden(name)) return "must not contain '/', ':', NUL or whitespace";
  return undefined;
}

function validateContainerId(id: string): string | undefined {
  if (id === "") return "is empty";
  if (id.length > MAX_CONTAINER_ID) return `is longer than ${MAX_CONTAINER_ID} characters`;
  if (!isIdentifier(id)) return "must be letters, digits, '_', '.' and '-', starting with a letter or digit";
  return undefined;
}

/** The whole CNI_* environment; `command` is CNI_COMMAND when the caller has parsed it already. */
export function parseEnv(env: Record<string, string | undefined>, command: Command = parseCommand(env)): CniEnv {
  const need = needs[command];

  const containerId = env.CNI_CONTAINERID ?? "";
  if (need.containerId || containerId !== "") {
    if (need.containerId && containerId === "") throw envError("CNI_CONTAINERID", `is required for ${command}`);
    const problem = validateContainerId(containerId);
    if (problem) throw envError("CNI_CONTAINERID", problem);
  }

  const netns = env.CNI_NETNS ?? "";
  if (need.netns && netns === "") throw envError("CNI_NETNS", `is required for ${command}`);
  if (netns !== "") {
    if (!netns.startsWith("/")) throw envError("CNI_NETNS", "must be an absolute path");
    if (netns.length > MAX_PATH) throw envError("CNI_NETNS", `is longer than ${MAX_PATH} characters`);
    if (hasNulOrLineBreak(netns)) throw envError("CNI_NETNS", "must not contain NUL or line breaks");
  }

  const ifName = env.CNI_IFNAME ?? "";
  if (need.ifName || ifName !== "") {
    if (need.ifName && ifName === "") throw envError("CNI_IFNAME", `is required for ${command}`);
    const problem = validateInterfaceName(ifName);
    if (problem) throw envError("CNI_IFNAME", problem);
  }

  return { command, containerId, netns, ifName, args: parseArgs(env.CNI_ARGS ?? ""), path: env.CNI_PATH ?? "" };
}

/** CNI_ARGS: `K=V;K2=V2`. Unknown keys are kept and ignored, as runtimes pass many. */
export function parseArgs(raw: string): Map<string, string> {
  const args = new Map<string, string>();
  if (raw === "") return args;
  if (raw.length > MAX_ARGS) throw envError("CNI_ARGS", `is longer than ${MAX_ARGS} characters`);
  for (const pair of raw.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw envError("CNI_ARGS", `has ${JSON.stringify(pair.slice(0, 40))}, want KEY=VALUE pairs separated by ';'`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

/** `debug` in CNI_ARGS, accepted as the usual boolean spellings. */
export function argsDebug(args: Map<string, string>): boolean | undefined {
  const v = args.get("debug");
  if (v === undefined) return undefined;
  const lower = v.toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off", ""].includes(lower)) return false;
  throw envError("CNI_ARGS", `debug=${JSON.stringify(v.slice(0, 20))} is not a boolean`);
}

/**
 * `rdmaDeviceName` in CNI_ARGS: how podman's CNI backend (and any libcni runtime) passes a name
 * per container (`CNI_ARGS=rdmaDeviceName=rdma0 podman run ...`). Checked as the config's are.
 */
export function argsRdmaDeviceName(args: Map<string, string>): string | undefined {
  const v = args.get("rdmaDeviceName");
  if (v === undefined || v === "") return undefined;
  const problem = rdmaNameProblem(v);
  if (problem) throw envError("CNI_ARGS", `rdmaDeviceName ${problem}`);
  return v;
}
