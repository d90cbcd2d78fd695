/**
 * `rdma install --systemd-units`: the arguments, the units it writes, deployment/systemd/ kept
 * equal to them, and (where this machine has systemd-analyze) systemd's own check of both units.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { InstallError } from "../../src/install/errors.ts";
import { parseInstallArgs } from "../../src/install/options.ts";
import { installSystemdUnits, systemdUnits } from "../../src/install/systemd-units.ts";
import { StreamLogger } from "../../src/log.ts";

const DEPLOYMENT = `${import.meta.dir}/../../deployment/systemd`;
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-units-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const quiet = new StreamLogger(() => {}, "error", {});
/** key=value lines of one section of a unit, in order */
function directives(text: string, section: string): string[] {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${section}]`)) ?? "";
  return body.split("\n").filter((l) => /^[A-Za-z]+=/.test(l));
}

describe("--systemd-units", () => {
  test("takes a directory, separate or after =", () => {
    expect(parseInstallArgs(["--systemd-units", "/etc/systemd/system"])).toMatchObject({ options: { systemdUnitsDir: "/etc/systemd/system" } });
    expect(parseInstallArgs(["--systemd-units=/u"])).toMatchObject({ options: { systemdUnitsDir: "/u" } });
  });
  test("refuses a missing or empty directory, and --no-shim", () => {
    expect(parseInstallArgs(["--systemd-units"])).toEqual({ error: "--systemd-units needs a directory" });
    expect(parseInstallArgs(["--systemd-units="])).toEqual({ error: "--systemd-units must not be empty" });
    expect(parseInstallArgs(["--no-shim", "--systemd-units", "/u"])).toEqual({ error: "--systemd-units starts the engine behind the shim: it cannot go with --no-shim" });
  });
});

describe("the units", () => {
  test("deployment/systemd holds them as written for /opt/cni/bin", () => {
    const units = systemdUnits("/opt/cni/bin");
    expect(fs.readdirSync(DEPLOYMENT).sort()).toEqual(units.map((u) => u.name).sort());
    for (const u of units) expect(fs.readFileSync(`${DEPLOYMENT}/${u.name}`, "utf8")).toBe(u.text);
  });
  test("the socket is the shim's default path, root's and 0600 in a 0700 directory", () => {
    const socket = systemdUnits("/opt/cni/bin")[0]?.text ?? "";
    expect(directives(socket, "Socket")).toEqual(expect.arrayContaining(["ListenStream=/run/rdma-cni/engine.sock", "SocketUser=root", "SocketMode=0600", "DirectoryMode=0700"]));
    expect(fs.readFileSync(`${import.meta.dir}/../../shim/rdma-shim.c`, "utf8")).toContain('#define ENGINE_SOCKET "/run/rdma-cni/engine.sock"');
  });
  test("the service runs the engine beside the shim, exits when idle, and keeps only CAP_SYS_ADMIN and CAP_NET_ADMIN", () => {
    const service = systemdUnits("/usr/libexec/cni")[1]?.text ?? "";
    const d = directives(service, "Service");
    expect(d).toContain("ExecStart=/usr/libexec/cni/rdma-engine engine --idle-exit-ms 300000");
    expect(d).toContain("CapabilityBoundingSet=CAP_SYS_ADMIN CAP_NET_ADMIN");
    expect(d).toContain("NoNewPrivileges=yes");
    expect(d).toContain("ProtectSystem=strict");
    expect(d).toContain("RuntimeDirectoryPreserve=yes");
    expect(d.some((l) => l.startsWith("PrivateNetwork=") || l.startsWith("MemoryDenyWriteExecute="))).toBe(false);
  });
  test("a bin dir systemd would read otherwise is refused", () => {
    expect(() => systemdUnits("/opt/my cni/bin")).toThrow(InstallError);
    expect(() => systemdUnits("/opt/%i/bin")).toThrow(InstallError);
    expect(() => systemdUnits("opt/cni/bin")).toThrow(InstallError);
  });
  test("are written 0644 into the directory, replacing what was there", () => {
    const dir = `${tmp}/write`;
    fs.mkdirSync(dir);
    fs.writeFileSync(`${dir}/rdma-engine.service`, "old");
    const old = process.umask(0o022);
    try {
      installSystemdUnits(dir, "/opt/cni/bin", quiet);
    } finally {
      process.umask(old);
    }
    for (const name of ["rdma-engine.socket", "rdma-engine.service"]) {
      expect(fs.readFileSync(`${dir}/${name}`, "utf8")).toBe(fs.readFileSync(`${DEPLOYMENT}/${name}`, "utf8"));
      expect(fs.statSync(`${dir}/${name}`).mode & 0o777).toBe(0o644);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["rdma-engine.service", "rdma-engine.socket"]);
  });
  test("a directory that is missing fails naming the file", () => {
    expect(() => installSystemdUnits(`${tmp}/missing`, "/opt/cni/bin", quiet)).toThrow(`cannot write ${tmp}/missing/rdma-engine.socket: ENOENT (no such file or directory)`);
  });
  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)("systemd-analyze verify finds nothing to say about them", () => {
    const dir = `${tmp}/verify`;
    fs.mkdirSync(`${dir}/bin`, { recursive: true });
    fs.copyFileSync("/bin/true", `${dir}/bin/rdma-engine`); // verify wants ExecStart's executable
    fs.chmodSync(`${dir}/bin/rdma-engine`, 0o755);
    installSystemdUnits(dir, `${dir}/bin`, quiet);
    const r = Bun.spawnSync([analyze ?? "", "verify", `${dir}/rdma-engine.socket`, `${dir}/rdma-engine.service`], { stdout: "pipe", stderr: "pipe" });
    expect(`${r.stdout.toString()}${r.stderr.toString()}`).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
