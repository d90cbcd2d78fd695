/**
 * Paths taken from the network config (logFile, stateDir) may have been written by a namespace
 * user in a NetworkAttachmentDefinition, while the plugin runs as root on the host. They are
 * accepted only below fixed roots and never through a symlink.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CniError, ErrorCode } from "../errors.ts";

export const STATE_DIR_ROOT = "/run/cni";
export const LOG_FILE_ROOT = "/var/log";

/**
 * Checks that `value` is a normalized absolute path strictly below `root`, and that no existing
 * component from the root down is a symlink. Returns the path.
 */
export function confinedPath(field: string, value: string, root: string): string {
  const fail = (problem: string) =>
    new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} ${problem}`);
  if (value.length > 1024) throw fail("is longer than 1024 characters");
  if (/[\0\n\r]/.test(value)) throw fail("must not contain NUL or line breaks");
  if (!value.startsWith("/")) throw fail(`must be an absolute path below ${root}`);
  if (path.posix.normalize(value) !== value.replace(/\/+$/, "") || value.split("/").includes("..")) {
    throw fail(`${JSON.stringify(value)} must be a normalized path (no '..', '.', or '//')`);
  }
  const normalized = value.replace(/\/+$/, "");
  if (!normalized.startsWith(`${root}/`)) throw fail(`${JSON.stringify(value)} must be below ${root}`);
  assertNoSymlinks(field, root, normalized);
  return normalized;
}

/** Walks every existing component of `target` below `root`; a symlink anywhere is refused. */
export function assertNoSymlinks(field: string, root: string, target: string): void {
  const rel = path.posix.relative(root, target).split("/").filter(Boolean);
  let cur = root;
  for (const part of ["", ...rel]) {
    cur = part === "" ? cur : `${cur}/${part}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // the rest will be created
      throw new CniError(ErrorCode.IoFailure, `${field}: cannot inspect ${cur}: ${(e as Error).message}`);
    }
    if (st.isSymbolicLink()) {
      throw new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} passes through the symlink ${cur}, which is not allowed`);
    }
  }
}
