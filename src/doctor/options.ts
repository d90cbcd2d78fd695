/** The `rdma doctor` command line: pure, so every flag and every mistake is unit-testable. */
import { DEFAULT_STATE_DIR, DEFAULT_SYSFS_ROOT, readSettings } from "../config/input.ts";

export interface DoctorOptions {
  stateDir: string;
  sysfsRoot: string;
  json: boolean;
}

export type ParsedDoctorArgs = { help: true } | { help: false; options: DoctorOptions } | { error: string };

export const DOCTOR_USAGE = `usage: rdma doctor [--json] [--state-dir DIR] [--sysfs-root DIR]
  reports the node as the plugin sees it: kernel, RDMA subsystem and netns mode, every RDMA
  device (parent, netdev, the pod it is attached to), the records and lock files, and findings.
  Reads only; changes nothing. Exit status: 0 nothing needs attention, 1 some finding is a
  warning or an error, 2 bad command line.
  --json            one JSON document instead of tables
  --state-dir DIR   the plugin's state dir (default $RDMA_CNI_STATE_DIR, else ${DEFAULT_STATE_DIR})
  --sysfs-root DIR  where sysfs is mounted (default $RDMA_CNI_SYSFS_ROOT, else ${DEFAULT_SYSFS_ROOT})
`;

const VALUED = { "--state-dir": "stateDir", "--sysfs-root": "sysfsRoot" } as const;

export function parseDoctorArgs(argv: readonly string[], env: Record<string, string | undefined>): ParsedDoctorArgs {
  const settings = readSettings(env);
  const options: DoctorOptions = {
    stateDir: settings.stateDir ?? DEFAULT_STATE_DIR,
    sysfsRoot: settings.sysfsRoot,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-h" || arg === "--help") return { help: true };
    if (arg === "--json") {
      options.json = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!(flag in VALUED)) return { error: `unknown argument ${JSON.stringify(arg)}` };
    const key = VALUED[flag as keyof typeof VALUED];
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return { error: `${flag} needs a directory` };
    if (value === "") return { error: `${flag} must not be empty` };
    options[key] = value;
  }
  return { help: false, options };
}
