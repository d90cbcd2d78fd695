/**
 * build/rdma doctor run as a process on this host, which has no RDMA subsystem: it must say so
 * plainly, in tables and in JSON, exit non-zero, and never print a stack trace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const BIN = `${import.meta.dir}/../../build/rdma`;
let tmp: string;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-doctor-proc-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function doctor(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([BIN, "doctor", ...args], { env: { PATH: "/usr/bin:/bin", RDMA_CNI_STATE_DIR: `${tmp}/state`, RDMA_CNI_GO_STATE_DIR: `${tmp}/go-state`, ...env }, stdout: "pipe", stderr: "pipe" });
  return { status: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function expectNoStackTrace(...outs: string[]) {
  for (const out of outs) {
    expect(out).not.toMatch(/\n\s+at\s/);
    expect(out).not.toContain("Error:");
  }
}

const hostHasRdma = fs.existsSync("/sys/class/infiniband");

describe("rdma doctor as a process", () => {
  test.skipIf(hostHasRdma)("on a host without RDMA it says so and exits 1", () => {
    const r = doctor([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^RDMA {7}ABSENT \(/m);
    expect(r.stdout).toContain("  error   rdma-absent  rdma\n");
    expect(r.stdout).toContain("this node has no RDMA subsystem");
    expect(r.stdout).toContain(`kernel     ${fs.readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}\n`);
    expect(r.stdout.endsWith("needs attention (exit status 1)\n")).toBe(true);
    expect(r.stderr).toBe("");
    expectNoStackTrace(r.stdout, r.stderr);
  });

  test.skipIf(hostHasRdma)("--json prints one JSON document with the same verdict", () => {
    const r = doctor(["--json", "--sysfs-root", `${tmp}/sys`]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.rdma.present).toBe(false);
    expect(report.sysfsRoot).toBe(`${tmp}/sys`);
    expect(report.stateDir).toBe(`${tmp}/state`);
    expect(report.goStateDir).toBe(`${tmp}/go-state`);
    expect(report.goRecords).toEqual([]);
    expect(report.findings.map((f: { id: string }) => f.id)).toEqual(["rdma-absent", "state-dir-missing"]);
    expect(report.summary.exitStatus).toBe(1);
    expectNoStackTrace(r.stderr);
  });

  test("--help prints the usage and exits 0; a bad flag is exit 2 with the usage on stderr", () => {
    const help = doctor(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toStartWith("usage: rdma doctor [--json] [--state-dir DIR] [--go-state-dir DIR] [--sysfs-root DIR]\n");
    const bad = doctor(["--frobnicate"]);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toStartWith('rdma doctor: unknown argument "--frobnicate"\nusage: rdma doctor');
  });

  test("the main usage lists doctor", () => {
    const r = Bun.spawnSync([BIN, "nonsense"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("  rdma doctor ");
  });
});
