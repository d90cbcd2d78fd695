/**
 * The plugin's own settings (RDMA_CNI_*), their defaults, and the bound on stdin. The call's
 * resolution (call.ts) reads them with the rest of its input; `rdma doctor` and the installer
 * read them alone.
 */

/** The Go rdma-cni's state directory (state/go-state.ts has its format). */
export const DEFAULT_GO_STATE_DIR = "/var/lib/cni/rdma";

export const MAX_STDIN_BYTES = 4 * 1024 * 1024;
export const DEFAULT_STATE_DIR = "/run/cni/rdma";
export const DEFAULT_SYSFS_ROOT = "/sys";
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

type Vars = Record<string, string | undefined>;

/**
 * The plugin's own settings (RDMA_CNI_*): the engine forwards them with each call, the tests and
 * the VM set them. Read here only, by the plugin and by `rdma doctor`.
 */
export interface Settings {
  /** RDMA_CNI_STATE_DIR: wins over the config's stateDir. */
  stateDir: string | undefined;
  /** RDMA_CNI_SYSFS_ROOT, else /sys. */
  sysfsRoot: string;
  /** RDMA_CNI_LOCK_TIMEOUT_MS, else 10 s. */
  lockTimeoutMs: number;
  /** RDMA_CNI_GO_STATE_DIR, else the Go rdma-cni's /var/lib/cni/rdma (docs/migration.md). */
  goStateDir: string;
}

export function readSettings(vars: Vars): Settings {
  return {
    stateDir: vars.RDMA_CNI_STATE_DIR || undefined,
    sysfsRoot: vars.RDMA_CNI_SYSFS_ROOT || DEFAULT_SYSFS_ROOT,
    lockTimeoutMs: Number(vars.RDMA_CNI_LOCK_TIMEOUT_MS) || DEFAULT_LOCK_TIMEOUT_MS,
    goStateDir: vars.RDMA_CNI_GO_STATE_DIR || DEFAULT_GO_STATE_DIR,
  };
}
