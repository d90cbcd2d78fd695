/**
 * Tells the node's operator, in the installer's log, whether this node can run the plugin: ADD
 * needs the RDMA subsystem in netns exclusive mode. Reading the mode needs no privilege, and a
 * node without RDMA is not an error for the installer (the DaemonSet may run on every node).
 */
import type { Logger } from "../log.ts";
import { EXCLUSIVE_MODE_HELP, readNetnsMode } from "../rdma/facts.ts";
import type { NetnsMode, RdmaKernel } from "../rdma/kernel.ts";

export function reportNetnsMode(kernel: Pick<RdmaKernel, "netnsMode">, log: Logger): NetnsMode | undefined {
  const reading = readNetnsMode(kernel);
  if (reading.kind === "absent" || reading.kind === "unreachable") {
    const reason = reading.error instanceof Error ? reading.error.message : String(reading.error);
    const why =
      reading.kind === "absent"
        ? "this node has no RDMA subsystem (ib_core is not loaded); pods here cannot get RDMA devices until it is"
        : "the RDMA netns mode could not be read";
    log.warn(`RDMA netns mode unknown: ${why}`, { error: reason });
    return undefined;
  }
  const { mode } = reading;
  if (mode === "exclusive") {
    log.info("RDMA netns mode is exclusive: RDMA devices can be moved into pods", { netnsMode: mode });
  } else {
    log.warn(`RDMA netns mode is ${mode}: ADD will fail on this node until it is exclusive`, { netnsMode: mode, fix: EXCLUSIVE_MODE_HELP });
  }
  return mode;
}
