/**
 * `rdma doctor`: wiring only. Builds the report over the real kernel, netns, sysfs and state dir,
 * prints it, and exits 0 when nothing needs attention, 1 otherwise (2: bad command line).
 * The installer logs the same report: it calls doctorReport(defaultDoctorDeps()) and renderText.
 */
import * as fs from "node:fs";
import { DEFAULT_STATE_DIR, readSettings } from "../config/settings.ts";
import { LinuxNetns } from "../netns/netns.ts";
import { NetlinkRdma } from "../rdma/netlink.ts";
import { tryLockFile } from "./locks.ts";
import { DOCTOR_USAGE, type DoctorOptions, parseDoctorArgs } from "./options.ts";
import { renderJson, renderText } from "./render.ts";
import { type DoctorDeps, doctorReport } from "./report.ts";

export { doctorReport, renderText };

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** Production dependencies; options default to the environment, then /run/cni/rdma, /var/lib/cni/rdma and /sys. */
export function defaultDoctorDeps(options: Partial<Pick<DoctorOptions, "stateDir" | "goStateDir" | "sysfsRoot">> = {}, env: Record<string, string | undefined> = process.env): DoctorDeps {
  const settings = readSettings(env);
  return {
    kernel: new NetlinkRdma(),
    netns: new LinuxNetns(),
    sysfsRoot: options.sysfsRoot ?? settings.sysfsRoot,
    stateDir: options.stateDir ?? settings.stateDir ?? DEFAULT_STATE_DIR,
    goStateDir: options.goStateDir ?? settings.goStateDir,
    procRoot: "/proc",
    probeLock: tryLockFile,
    now: () => new Date(),
  };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseDoctorArgs(argv, process.env);
  if ("error" in parsed) {
    fs.writeSync(2, `rdma doctor: ${parsed.error}\n${DOCTOR_USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    fs.writeSync(1, DOCTOR_USAGE);
    return 0;
  }
  const { options } = parsed;
  try {
    const report = doctorReport(defaultDoctorDeps(options));
    fs.writeSync(1, options.json ? renderJson(report) : renderText(report));
    return report.summary.exitStatus;
  } catch (e) {
    // doctorReport turns every expected failure into a finding; this is a bug, said in one line.
    fs.writeSync(2, `rdma doctor: unexpected failure: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
