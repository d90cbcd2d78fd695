/** STATUS: ready when the RDMA subsystem answers and is in exclusive mode. */
import { CniError, ErrorCode } from "../errors.ts";
import type { PluginDeps } from "./deps.ts";
import { EXCLUSIVE_MODE_HELP, rdmaUnavailable } from "./kernel-steps.ts";

export function status(deps: PluginDeps): void {
  let mode: string;
  try {
    mode = deps.kernel.netnsMode();
  } catch (e) {
    throw new CniError(ErrorCode.StatusUnavailable, rdmaUnavailable(e).message);
  }
  if (mode !== "exclusive") {
    throw new CniError(ErrorCode.StatusUnavailable, `the RDMA subsystem is in netns ${mode} mode, so RDMA devices cannot be isolated per pod`, EXCLUSIVE_MODE_HELP);
  }
}
