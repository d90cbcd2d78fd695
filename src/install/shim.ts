/**
 * Which shim, if any, `rdma install` puts in front of the engine. The image ships it beside the
 * executable (`/rdma-shim` next to `/rdma`); a shim named on the command line must exist, so a
 * typo fails before anything is installed instead of silently installing the slow path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describeErrno, InstallError } from "./errors.ts";
import { SHIM_NAME, type ShimChoice } from "./options.ts";

/** The shim to install, or undefined to install the one-shot plugin only. */
export function locateShim(choice: ShimChoice, executable: string): string | undefined {
  if (choice.kind === "none") return undefined;
  if (choice.kind === "beside") {
    const beside = path.join(path.dirname(executable), SHIM_NAME);
    return isRegularFile(beside) ? beside : undefined;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(choice.path);
  } catch (e) {
    throw new InstallError(`the shim given by --shim, ${choice.path}, is not usable: ${describeErrno(e)}`);
  }
  if (!st.isFile()) throw new InstallError(`the shim given by --shim, ${choice.path}, is not a regular file`);
  return choice.path;
}

function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
