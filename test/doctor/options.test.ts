import { describe, expect, test } from "bun:test";
import { parseDoctorArgs } from "../../src/doctor/options.ts";

describe("rdma doctor command line", () => {
  test("defaults: /run/cni/rdma, /var/lib/cni/rdma and /sys, tables", () => {
    expect(parseDoctorArgs([], {})).toEqual({ help: false, options: { stateDir: "/run/cni/rdma", goStateDir: "/var/lib/cni/rdma", sysfsRoot: "/sys", json: false } });
  });

  test("the environment sets the defaults and the flags win over it", () => {
    const env = { RDMA_CNI_STATE_DIR: "/run/cni/other", RDMA_CNI_GO_STATE_DIR: "/var/lib/go", RDMA_CNI_SYSFS_ROOT: "/tmp/sys" };
    expect(parseDoctorArgs([], env)).toEqual({ help: false, options: { stateDir: "/run/cni/other", goStateDir: "/var/lib/go", sysfsRoot: "/tmp/sys", json: false } });
    expect(parseDoctorArgs(["--state-dir", "/a", "--sysfs-root=/b", "--json", "--go-state-dir", "/c"], env)).toEqual({ help: false, options: { stateDir: "/a", goStateDir: "/c", sysfsRoot: "/b", json: true } });
  });

  test("help, and every mistake named", () => {
    expect(parseDoctorArgs(["--json", "-h"], {})).toEqual({ help: true });
    expect(parseDoctorArgs(["--verbose"], {})).toEqual({ error: 'unknown argument "--verbose"' });
    expect(parseDoctorArgs(["--json=yes"], {})).toEqual({ error: 'unknown argument "--json=yes"' });
    expect(parseDoctorArgs(["--state-dir"], {})).toEqual({ error: "--state-dir needs a directory" });
    expect(parseDoctorArgs(["--sysfs-root="], {})).toEqual({ error: "--sysfs-root must not be empty" });
    expect(parseDoctorArgs(["--go-state-dir"], {})).toEqual({ error: "--go-state-dir needs a directory" });
  });
});
