/**
 * Runs an installed plugin the way a runtime would for CNI VERSION and checks its answer, so a
 * copy that cannot start on this node (wrong architecture, missing loader) is caught here and
 * not at the first pod.
 */
import { InstallError } from "./errors.ts";

const VERSION_REQUEST = `${JSON.stringify({ cniVersion: "1.1.0" })}\n`;
const TIMEOUT_MS = 30_000;
const MAX_REPLY = 64 * 1024;

/** The supportedVersions of a VERSION reply; throws InstallError when the reply is not one. */
export function parseVersionReply(stdout: string): string[] {
  let reply: unknown;
  try {
    reply = JSON.parse(stdout);
  } catch {
    throw new InstallError(`the VERSION reply is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
    throw new InstallError(`the VERSION reply is not a JSON object: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const versions = (reply as Record<string, unknown>).supportedVersions;
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => typeof v === "string")) {
    throw new InstallError(`the VERSION reply has no supportedVersions list of strings: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return versions;
}

/**
 * Executes `executable` with CNI_COMMAND=VERSION (and `env`, the only other variables it gets)
 * and returns the versions it supports.
 */
export function queryVersion(executable: string, env: Record<string, string> = {}): string[] {
  let proc: ReturnType<typeof Bun.spawnSync>;
  try {
    proc = Bun.spawnSync({
      cmd: [executable],
      env: { ...env, CNI_COMMAND: "VERSION" },
      stdin: Buffer.from(VERSION_REQUEST),
      stdout: "pipe",
      stderr: "pipe",
      timeout: TIMEOUT_MS,
      maxBuffer: MAX_REPLY,
    });
  } catch (e) {
    throw new InstallError(`cannot execute ${executable} for CNI VERSION: ${e instanceof Error ? e.message : String(e)}`);
  }
  const stderr = proc.stderr ? proc.stderr.toString().trim().slice(0, 500) : "";
  if (proc.exitCode !== 0) {
    const how = proc.exitCode === null ? `was killed by ${proc.signalCode ?? "a signal"}` : `exited with status ${proc.exitCode}`;
    throw new InstallError(`${executable} ${how} on CNI VERSION${stderr ? `: ${stderr}` : ""}`);
  }
  return parseVersionReply(proc.stdout ? proc.stdout.toString() : "");
}
