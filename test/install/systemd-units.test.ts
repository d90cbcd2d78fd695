/**
 * `rdma install --systemd-units`: the arguments, the units it writes, deployment/systemd/ kept
 * equal to them, (where this machine has systemd-analyze) systemd's own check of both units, and
 * their removal by `--uninstall --systemd-units`, of ours only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { InstallError } from "../../src/install/errors.ts";
import { parseInstallArgs } from "../../src/install/options.ts";
import { installSystemdUnits, removeSystemdUnits, systemdUnits, UNIT_MARKER } from "../../src/install/systemd-units.ts";
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

describe("--uninstall --systemd-units removes the units", () => {
  /** A logger that keeps its lines, and the lines at `level`. */
  function recording() {
    const lines: { level: string; msg: string }[] = [];
    const log = new StreamLogger((l) => void lines.push(JSON.parse(l)), "info", {});
    return { log, at: (level: string) => lines.filter((l) => l.level === level).map((l) => l.msg) };
  }
  const NAMES = ["rdma-engine.service", "rdma-engine.socket"];

  test("each unit it wrote starts with the marker line", () => {
    for (const u of systemdUnits("/opt/cni/bin")) expect(u.text.split("\n")[0]).toBe(UNIT_MARKER);
  });

  test("those it wrote go, other files stay, and the log names the systemctl commands still to run", () => {
    const dir = `${tmp}/remove`;
    fs.mkdirSync(dir);
    installSystemdUnits(dir, "/opt/cni/bin", quiet);
    fs.writeFileSync(`${dir}/other.service`, "[Service]\n");
    const { log, at } = recording();
    removeSystemdUnits(`${dir}/`, log);
    expect(fs.readdirSync(dir)).toEqual(["other.service"]);
    expect(at("info")).toEqual([
      `removed ${dir}/rdma-engine.socket`,
      `removed ${dir}/rdma-engine.service`,
      "then, on the host (harmless if done before): systemctl stop rdma-engine.socket rdma-engine.service; systemctl disable rdma-engine.socket; systemctl daemon-reload",
    ]);
    expect(at("warn")).toEqual([]);
  });

  test("a unit of that name it did not write, or a symlink, stays and is named in a warning", () => {
    const dir = `${tmp}/foreign`;
    fs.mkdirSync(dir);
    installSystemdUnits(dir, "/opt/cni/bin", quiet);
    // Someone's own service under our name (the marker further down does not make it ours), and
    // our socket unit linked in from elsewhere (`systemctl link`): neither is a file we wrote.
    const foreign = `[Unit]\nDescription=mine\n${UNIT_MARKER}\n`;
    fs.writeFileSync(`${dir}/rdma-engine.service`, foreign);
    fs.renameSync(`${dir}/rdma-engine.socket`, `${tmp}/linked.socket`);
    fs.symlinkSync(`${tmp}/linked.socket`, `${dir}/rdma-engine.socket`);
    const { log, at } = recording();
    removeSystemdUnits(dir, log);
    expect(fs.readdirSync(dir).sort()).toEqual(NAMES);
    expect(fs.readFileSync(`${dir}/rdma-engine.service`, "utf8")).toBe(foreign);
    expect(fs.readFileSync(`${tmp}/linked.socket`, "utf8").split("\n")[0]).toBe(UNIT_MARKER);
    expect(at("warn")).toEqual([
      `left ${dir}/rdma-engine.socket: it is a symlink, not written by rdma install --systemd-units`,
      `left ${dir}/rdma-engine.service: its first line is not ${JSON.stringify(UNIT_MARKER)}, not written by rdma install --systemd-units`,
    ]);
    expect(at("info")).toEqual([`no systemd unit of this plugin in ${dir}`]);
  });

  test("only one of ours left: that one goes", () => {
    const dir = `${tmp}/half`;
    fs.mkdirSync(dir);
    installSystemdUnits(dir, "/opt/cni/bin", quiet);
    fs.rmSync(`${dir}/rdma-engine.socket`);
    const { log, at } = recording();
    removeSystemdUnits(dir, log);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(at("info")[0]).toBe(`removed ${dir}/rdma-engine.service`);
  });
});
