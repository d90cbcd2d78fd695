/**
 * `rdma install`: the DaemonSet's entrypoint. Installs this very executable into the host's CNI
 * bin dir, checks the copy, reports whether the node is ready for it, and then stays up so the
 * DaemonSet's pod stays Running (SIGTERM/SIGINT end it with status 0).
 */
import * as fs from "node:fs";
import { versionLine } from "../buildinfo.ts";
import { type Logger, StreamLogger } from "../log.ts";
import { NetlinkRdma } from "../rdma/netlink.ts";
import { installAtomically } from "./atomic-copy.ts";
import { InstallError } from "./errors.ts";
import { reportNetnsMode } from "./netns-mode.ts";
import { INSTALL_USAGE, INSTALLED_NAME, type InstallOptions, parseInstallArgs } from "./options.ts";
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

function install(options: InstallOptions, log: Logger): void {
  const source = process.execPath;
  log.info(`installing ${versionLine()}`, { source, cniBinDir: options.cniBinDir });
  let supported: string[] = [];
  const installed = installAtomically({
    source,
    dir: options.cniBinDir,
    name: INSTALLED_NAME,
    check: (temp) => {
      supported = queryVersion(temp);
    },
  });
  log.info(`installed ${installed.path}`, { bytes: installed.bytes, supportedVersions: supported });
  reportNetnsMode(new NetlinkRdma(), log);
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
