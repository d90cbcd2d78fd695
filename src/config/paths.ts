/**
 * Paths taken from the network config (logFile, stateDir, runtimeConfig.CNIDeviceInfoFile) may have been written by a namespace
 * user in a NetworkAttachmentDefinition, while the plugin runs as root on the host. They are
 * accepted only below fixed roots and never through a symlink.
 */
import { CniError, ErrorCode } from "../errors.ts";
import * as fs from "../sys/fs.ts";
import { hasNulOrLineBreak } from "./chars.ts";

export const STATE_DIR_ROOT = "/run/cni";
export const LOG_FILE_ROOT = "/var/log";
/** The device-info spec's directory for CNI device-info files; /var/run is /run on most hosts. */
export const DEVICE_INFO_ROOTS = ["/var/run/k8s.cni.cncf.io/devinfo/cni", "/run/k8s.cni.cncf.io/devinfo/cni"];

/**
 * Checks that `value` is a normalized absolute path strictly below `root`, and that no existing
 * component from the root down is a symlink. Returns the path.
 */
export function confinedPath(field: string, value: string, root: string): string {
  const fail = (problem: string) =>
    new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} ${problem}`);
  if (value.length > 1024) throw fail("is longer than 1024 characters");
  if (hasNulOrLineBreak(value)) throw fail("must not contain NUL or line breaks");
  if (!value.startsWith("/")) throw fail(`must be an absolute path below ${root}`);
  if (!isNormalized(value)) {
    throw fail(`${JSON.stringify(value)} must be a normalized path (no '..', '.', or '//')`);
  }
  if (!value.startsWith(`${root}/`)) throw fail(`${JSON.stringify(value)} must be below ${root}`);
  assertNoSymlinks(field, root, value);
  return value;
}

/** runtimeConfig.CNIDeviceInfoFile, if it is below one of `roots`. */
export function deviceInfoPath(file: string, roots: readonly string[]): string {
  const root = roots.find((r) => file.startsWith(`${r}/`));
  if (!root) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network config: runtimeConfig.CNIDeviceInfoFile must be below ${roots.join(" or ")}`);
  }
  return confinedPath("runtimeConfig.CNIDeviceInfoFile", file, root);
}

/**
 * An absolute path with no empty, '.' or '..' component and no trailing '/': what
 * path.posix.normalize leaves unchanged, less the trailing slash it would keep.
 */
function isNormalized(value: string): boolean {
  const parts = value.slice(1).split("/");
  for (const p of parts) if (p === "" || p === "." || p === "..") return false;
  return true;
}

/** Walks every existing component of `target` below `root`; a symlink anywhere is refused. */
function assertNoSymlinks(field: string, root: string, target: string): void {
  if (target !== root && !target.startsWith(`${root}/`)) throw new Error(`${target} is not below ${root}`);
  const rel = target.slice(root.length).split("/").filter(Boolean);
  let cur = root;
  for (const part of ["", ...rel]) {
    cur = part === "" ? cur : `${cur}/${part}`;
    let st: fs.Stat;
    try {
      st = fs.lstatSync(cur);
    } catch (e) {
      if ((e as fs.FsError).code === "ENOENT") return; // the rest will be created
      throw new CniError(ErrorCode.IoFailure, `${field}: cannot inspect ${cur}: ${(e as Error).message}`);
    }
    if (st.isSymbolicLink()) {
      throw new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} passes through the symlink ${cur}, which is not allowed`);
    }
  }
}
