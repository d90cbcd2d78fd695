/** The `rdma install` command line: pure, so every flag and every mistake is unit-testable. */
import { readFlags } from "../cli-args.ts";

export const DEFAULT_CNI_BIN_DIR = "/host/opt/cni/bin";
/** The name the runtime executes: the shim when there is one, else the one-shot plugin itself. */
export const INSTALLED_NAME = "rdma";
/** With a shim: the Bun executable, which the shim runs one-shot when no engine answers. */
export const ENGINE_NAME = "rdma-engine";
/** The shim's name beside the running executable (`/rdma-shim` in the image). */
export const SHIM_NAME = "rdma-shim";

/** Where the shim comes from: beside this executable if present, a given path, or none at all. */
export type ShimChoice = { kind: "beside" } | { kind: "path"; path: string } | { kind: "none" };

export interface InstallOptions {
  cniBinDir: string;
  /** Exit once installed instead of waiting for SIGTERM/SIGINT (an init container, a one-off copy). */
  noSleep: boolean;
  shim: ShimChoice;
  /** Take the plugin off the node instead (uninstall.ts); set only by --uninstall (and --wait-replaced). */
  uninstall?: "now" | "wait-replaced";
  /** Where to write systemd's rdma-engine.socket and .service (a host without a DaemonSet); with --uninstall, where to remove them. */
  systemdUnitsDir?: string;
}

export type ParsedArgs = { help: true } | { help: false; options: InstallOptions } | { error: string };

export const INSTALL_USAGE = `usage: rdma install [--cni-bin-dir DIR] [--shim PATH | --no-shim] [--no-sleep]
                    [--systemd-units UNITDIR]
       rdma install --uninstall [--wait-replaced] [--cni-bin-dir DIR] [--systemd-units UNITDIR]
  With a shim (${SHIM_NAME} beside this executable, or --shim PATH): installs this executable as
  DIR/${ENGINE_NAME}, then the shim as DIR/${INSTALLED_NAME}; without one (or with --no-shim): this
  executable as DIR/${INSTALLED_NAME}. DIR defaults to ${DEFAULT_CNI_BIN_DIR}. Each file is written
  beside its name, fsynced, checked to answer CNI VERSION, and renamed into place. Then logs the
  node's RDMA netns mode and the rdma doctor summary, and waits for SIGTERM or SIGINT (exit 0);
  --no-sleep exits once installed.
  --uninstall hands every live attachment over to the Go rdma-cni's records (RDMA_CNI_GO_STATE_DIR,
  default /var/lib/cni/rdma), then removes DIR/${ENGINE_NAME} and, if it is this plugin's,
  DIR/${INSTALLED_NAME}, and exits (docs/migration.md). --wait-replaced hands over, waits until
  DIR/${INSTALLED_NAME} is no longer this plugin's (the Go rdma-cni's DaemonSet copied its own there),
  hands over again what was attached meanwhile, then removes DIR/${ENGINE_NAME}.
  --systemd-units UNITDIR (with a shim) also writes rdma-engine.socket and rdma-engine.service
  there, which start DIR/${ENGINE_NAME} as the engine on the first call and let it exit when idle
  (a podman host: docs/podman.md). With --uninstall it removes them from UNITDIR (a unit of that
  name it did not write stays, with a warning); stop, disable and daemon-reload are then systemd's
  (the log names the commands).
`;

const ONE_SHIM_CHOICE = "give at most one of --shim PATH and --no-shim";

const FLAGS = {
  "cni-bin-dir": { needs: "a directory" },
  shim: { needs: "the shim executable's path" },
  "no-shim": "switch",
  "no-sleep": "switch",
  "systemd-units": { needs: "a directory" },
  uninstall: "switch",
  "wait-replaced": "switch",
} as const;

export function parseInstallArgs(argv: readonly string[]): ParsedArgs {
  const read = readFlags(argv, FLAGS);
  if ("error" in read || read.help) return read;
  const options: InstallOptions = { cniBinDir: DEFAULT_CNI_BIN_DIR, noSleep: false, shim: { kind: "beside" } };
  let shimGiven = false;
  let uninstall = false;
  let waitReplaced = false;
  for (const { name, value } of read.given) {
    if (name === "cni-bin-dir") options.cniBinDir = value;
    else if (name === "no-sleep") options.noSleep = true;
    else if (name === "systemd-units") options.systemdUnitsDir = value;
    else if (name === "uninstall") uninstall = true;
    else if (name === "wait-replaced") waitReplaced = true;
    else {
      if (shimGiven) return { error: ONE_SHIM_CHOICE };
      shimGiven = true;
      options.shim = name === "shim" ? { kind: "path", path: value } : { kind: "none" };
    }
  }
  if (waitReplaced && !uninstall) return { error: "--wait-replaced goes with --uninstall" };
  if (uninstall) options.uninstall = waitReplaced ? "wait-replaced" : "now";
  if (options.systemdUnitsDir !== undefined && options.shim.kind === "none") return { error: "--systemd-units starts the engine behind the shim: it cannot go with --no-shim" };
  return { help: false, options };
}
