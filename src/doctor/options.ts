/** The `rdma doctor` command line: pure, so every flag and every mistake is unit-testable. */
import { readFlags } from "../cli-args.ts";
import { DEFAULT_GO_STATE_DIR, DEFAULT_STATE_DIR, DEFAULT_SYSFS_ROOT, readSettings } from "../config/settings.ts";

export interface DoctorOptions {
  stateDir: string;
  goStateDir: string;
  sysfsRoot: string;
  json: boolean;
}

type ParsedDoctorArgs = { help: true } | { help: false; options: DoctorOptions } | { error: string };

export const DOCTOR_USAGE = `usage: rdma doctor [--json] [--state-dir DIR] [--go-state-dir DIR] [--sysfs-root DIR]
  reports the node as the plugin sees it: kernel, RDMA subsystem and netns mode, every RDMA
  device (parent, netdev, the pod it is attached to), the records and lock files, the Go
  rdma-cni's records, and findings.
  Reads only; changes nothing. Exit status: 0 nothing needs attention, 1 some finding is a
  warning or an error, 2 bad command line.
  --json              one JSON document instead of tables
  --state-dir DIR     the plugin's state dir (default $RDMA_CNI_STATE_DIR, else ${DEFAULT_STATE_DIR})
  --go-state-dir DIR  the Go rdma-cni's records (default $RDMA_CNI_GO_STATE_DIR, else
                      ${DEFAULT_GO_STATE_DIR})
  --sysfs-root DIR    where sysfs is mounted (default $RDMA_CNI_SYSFS_ROOT, else ${DEFAULT_SYSFS_ROOT})
`;

const FLAGS = { json: "switch", "state-dir": { needs: "a directory" }, "go-state-dir": { needs: "a directory" }, "sysfs-root": { needs: "a directory" } } as const;

export function parseDoctorArgs(argv: readonly string[], env: Record<string, string | undefined>): ParsedDoctorArgs {
  const read = readFlags(argv, FLAGS);
  if ("error" in read || read.help) return read;
  const settings = readSettings(env);
  const options: DoctorOptions = {
    stateDir: settings.stateDir ?? DEFAULT_STATE_DIR,
    goStateDir: settings.goStateDir,
    sysfsRoot: settings.sysfsRoot,
    json: false,
  };
  for (const { name, value } of read.given) {
    if (name === "json") options.json = true;
    else if (name === "state-dir") options.stateDir = value;
    else if (name === "go-state-dir") options.goStateDir = value;
    else options.sysfsRoot = value;
  }
  return { help: false, options };
}
