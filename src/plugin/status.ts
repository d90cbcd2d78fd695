/** STATUS: ready when the RDMA subsystem answers and is in exclusive mode. */
import { CniError, ErrorCode } from "../errors.ts";
import { describeUnreachable, EXCLUSIVE_MODE_HELP, readNetnsMode } from "../rdma/facts.ts";
import type { PluginDeps } from "./deps.ts";

export function status(deps: PluginDeps): void {
  const reading = readNetnsMode(deps.kernel);
  if (reading.kind === "absent" || reading.kind === "unreachable") throw new CniError(ErrorCode.StatusUnavailable, describeUnreachable(reading.error));
  if (reading.kind !== "exclusive") {
    throw new CniError(ErrorCode.StatusUnavailable, `the RDMA subsystem is in netns ${reading.mode} mode, so RDMA devices cannot be isolated per pod`, EXCLUSIVE_MODE_HELP);
  }
}
