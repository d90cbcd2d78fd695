/**
 * Kill points for crash tests: in a test build (`make build-test`, which defines
 * RDMA_CNI_TEST_HOOKS=true), the plugin SIGKILLs itself at the step named by RDMA_CNI_KILL_AT. The
 * shipped build (`make build`) defines it false, so the minifier drops every call's body; run
 * from source it is not defined at all, which counts as off too.
 */
declare const RDMA_CNI_TEST_HOOKS: boolean | undefined;

export const KILL_POINTS = [
  "add:locked", // lock held, nothing written
  "add:recorded", // record "moving" written, device still on the host
  "add:moved", // device in the pod, record still "moving"
  "add:renamed", // device in the pod under the name it asked for, record still "moving"
  "add:device-info", // device-info file written, record still "moving"
  "add:attached", // record "attached", result not printed yet
  "del:locked", // lock held, nothing changed
  "del:renamed", // device in the pod under its host name again, not moved yet
  "del:released", // device back on the host (or found gone), record still there
  "del:dropped", // record gone, result not printed yet
] as const;
type KillPoint = (typeof KILL_POINTS)[number];

export const testHooksEnabled = typeof RDMA_CNI_TEST_HOOKS === "boolean" && RDMA_CNI_TEST_HOOKS;

export function killPoint(name: KillPoint): void {
  if (testHooksEnabled && process.env.RDMA_CNI_KILL_AT === name) process.kill(process.pid, "SIGKILL");
}
