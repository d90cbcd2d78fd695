/**
 * `rdma install`: the DaemonSet's entrypoint. Installs the plugin into the host's CNI bin dir,
 * checks each copy, reports whether the node is ready for it, and then stays up so the
 * DaemonSet's pod stays Running (SIGTERM/SIGINT end it with status 0).
 *
 * With a shim (docs/engine.md) the runtime's `rdma` is the shim and this executable becomes
 * `rdma-engine`, which the shim runs one-shot when no engine answers. `rdma-engine` is renamed
 * into place first, so a runtime never finds a new shim without the engine it falls back to.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { versionLine } from "../buildinfo.ts";
import { defaultDoctorDeps, doctorReport, renderText } from "../doctor/doctor.ts";
import { type Logger, StreamLogger } from "../log.ts";
import { NetlinkRdma } from "../rdma/netlink.ts";
import { installAtomically } from "./atomic-copy.ts";
import { logDoctorSummary } from "./doctor-summary.ts";
import { InstallError } from "./errors.ts";
import { reportNetnsMode } from "./netns-mode.ts";
import { ENGINE_NAME, INSTALL_USAGE, INSTALLED_NAME, type InstallOptions, parseInstallArgs } from "./options.ts";
import { locateShim } from "./shim.ts";
import { uninstall } from "./uninstall.ts";
import { installSystemdUnits } from "./systemd-units.ts";
import { queryVersion } from "./version-check.ts";

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const stderr = (s: string) => void fs.writeSync(2, s);

export async function main(argv: string[]): Promise<number> {
  const parsed = parseInstallArgs(argv);
  if ("error" in parsed) {
    stderr(`rdma install: ${parsed.error}\n${INSTALL_USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    fs.writeSync(1, INSTALL_USAGE);
    return 0;
  }
  const log = new StreamLogger(stderr, "info", { component: "install" });
  if (parsed.options.uninstall) return runUninstall(parsed.options, log);
  // Installed before waiting, so a SIGTERM during the copy ends the process only after the rename.
  const signal = waitForSignal();
  try {
    install(parsed.options, log);
  } catch (e) {
    signal.cancel();
    const message = e instanceof InstallError ? e.message : `unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    log.error(`install failed: ${message}`, { cniBinDir: parsed.options.cniBinDir });
    return EXIT_FAILURE;
  }
  if (parsed.options.noSleep) {
    signal.cancel();
    return 0;
  }
  log.info("waiting for SIGTERM or SIGINT");
  const name = await signal.received;
  log.info(`received ${name}, exiting`);
  return 0;
}

async function runUninstall({ cniBinDir, uninstall: how, systemdUnitsDir }: InstallOptions, log: Logger): Promise<number> {
  try {
    const { kept } = await uninstall(cniBinDir, process.env, log, { waitReplaced: how === "wait-replaced", systemdUnitsDir });
    return kept.length === 0 ? 0 : EXIT_FAILURE;
  } catch (e) {
    log.error(`uninstall failed: ${e instanceof InstallError ? e.message : String(e)}`, { cniBinDir });
    return EXIT_FAILURE;
  }
}

function install(options: InstallOptions, log: Logger): void {
  const source = process.execPath;
  const shim = locateShim(options.shim, source);
  log.info(`installing ${versionLine()}`, { source, shim: shim ?? null, cniBinDir: options.cniBinDir });
  if (shim === undefined) {
    installChecked(source, options.cniBinDir, INSTALLED_NAME, {}, log);
  } else {
    installChecked(source, options.cniBinDir, ENGINE_NAME, {}, log);
    // A socket path no engine can listen on (under a regular file: ENOTDIR, or ENOENT where
    // /dev/null is absent) makes the shim fall back to the rdma-engine just installed beside it,
    // even while an engine serves the real socket: VERSION through the shim checks both files.
    installChecked(shim, options.cniBinDir, INSTALLED_NAME, { RDMA_CNI_ENGINE_SOCKET: NO_ENGINE_SOCKET }, log);
  }
  if (options.systemdUnitsDir !== undefined) {
    if (shim === undefined) throw new InstallError("--systemd-units needs the shim (rdma-shim beside this executable, or --shim PATH)");
    installSystemdUnits(options.systemdUnitsDir, options.cniBinDir, log);
  }
  reportNetnsMode(new NetlinkRdma(), log);
  logDoctorSummary({ report: () => doctorReport(defaultDoctorDeps()), render: renderText }, stderr, log);
}

const NO_ENGINE_SOCKET = "/dev/null/rdma-install-check.sock";

function installChecked(source: string, dir: string, name: string, checkEnv: Record<string, string>, log: Logger): void {
  let supported: string[] = [];
  const installed = installAtomically({
    source,
    dir,
    name,
    check: (temp) => {
      supported = queryVersion(temp, checkEnv);
    },
  });
  log.info(`installed ${installed.path}`, { from: path.basename(source), bytes: installed.bytes, supportedVersions: supported });
}

/** Listens from the start; `received` resolves with the signal's name. */
function waitForSignal(): { received: Promise<string>; cancel: () => void } {
  let resolve: (name: string) => void = () => {};
  const received = new Promise<string>((r) => {
    resolve = r;
  });
  // Signal listeners alone do not keep the event loop alive.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const onSignal = (name: NodeJS.Signals) => {
    cancel();
    resolve(name);
  };
  const cancel = () => {
    clearInterval(keepAlive);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return { received, cancel };
}
