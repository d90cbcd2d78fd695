/** The installer's pure parts and its file steps, in-process against temp dirs. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { StreamLogger } from "../../src/log.ts";
import { EXCLUSIVE_MODE_HELP } from "../../src/rdma/facts.ts";
import { KernelError } from "../../src/rdma/kernel.ts";
import { installAtomically, tempPrefix } from "../../src/install/atomic-copy.ts";
import { InstallError } from "../../src/install/errors.ts";
import { reportNetnsMode } from "../../src/install/netns-mode.ts";
import { logDoctorSummary, type SummaryReport } from "../../src/install/doctor-summary.ts";
import { DEFAULT_CNI_BIN_DIR, type ParsedArgs, parseInstallArgs, SHIM_NAME } from "../../src/install/options.ts";
import { locateShim } from "../../src/install/shim.ts";
import { parseVersionReply } from "../../src/install/version-check.ts";

describe("rdma install arguments", () => {
  const beside = { kind: "beside" } as const;

  test("default to /host/opt/cni/bin, the shim beside the executable, and waiting", () => {
    expect(parseInstallArgs([])).toEqual({ help: false, options: { cniBinDir: DEFAULT_CNI_BIN_DIR, noSleep: false, shim: beside } });
    expect(DEFAULT_CNI_BIN_DIR).toBe("/host/opt/cni/bin");
  });

  test("take --cni-bin-dir as a separate or an = argument, and --no-sleep", () => {
    expect(parseInstallArgs(["--cni-bin-dir", "/x", "--no-sleep"])).toEqual({ help: false, options: { cniBinDir: "/x", noSleep: true, shim: beside } });
    expect(parseInstallArgs(["--cni-bin-dir=/y"])).toEqual({ help: false, options: { cniBinDir: "/y", noSleep: false, shim: beside } });
  });

  test("take --shim PATH (separate or =) and --no-shim", () => {
    const shimAt = (p: string): ParsedArgs => ({ help: false, options: { cniBinDir: DEFAULT_CNI_BIN_DIR, noSleep: false, shim: { kind: "path", path: p } } });
    expect(parseInstallArgs(["--shim", "/s"])).toEqual(shimAt("/s"));
    expect(parseInstallArgs(["--shim=/t"])).toEqual(shimAt("/t"));
    expect(parseInstallArgs(["--no-shim"])).toEqual({ help: false, options: { cniBinDir: DEFAULT_CNI_BIN_DIR, noSleep: false, shim: { kind: "none" } } });
  });

  test("refuse an unknown flag, a missing or an empty value, and two shim choices", () => {
    expect(parseInstallArgs(["--bogus"])).toEqual({ error: 'unknown argument "--bogus"' });
    expect(parseInstallArgs(["--cni-bin-dir"])).toEqual({ error: "--cni-bin-dir needs a directory" });
    expect(parseInstallArgs(["--cni-bin-dir="])).toEqual({ error: "--cni-bin-dir must not be empty" });
    expect(parseInstallArgs(["--shim"])).toEqual({ error: "--shim needs the shim executable's path" });
    expect(parseInstallArgs(["--shim="])).toEqual({ error: "--shim must not be empty" });
    const twice = { error: "give at most one of --shim PATH and --no-shim" };
    expect(parseInstallArgs(["--shim", "/s", "--no-shim"])).toEqual(twice);
    expect(parseInstallArgs(["--no-shim", "--shim=/s"])).toEqual(twice);
    expect(parseInstallArgs(["--shim", "/s", "--shim", "/t"])).toEqual(twice);
  });

  test("--help asks for the usage", () => {
    expect(parseInstallArgs(["--help"])).toEqual({ help: true });
  });
});

describe("shim location", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-shim-locate-`);
    fs.writeFileSync(`${dir}/rdma`, "executable");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("is rdma-shim beside the executable when it is there", () => {
    fs.writeFileSync(`${dir}/${SHIM_NAME}`, "shim");
    expect(SHIM_NAME).toBe("rdma-shim");
    expect(locateShim({ kind: "beside" }, `${dir}/rdma`)).toBe(`${dir}/rdma-shim`);
  });

  test("is none when nothing (or a directory) is beside the executable: the one-shot plugin alone", () => {
    expect(locateShim({ kind: "beside" }, `${dir}/rdma`)).toBeUndefined();
    fs.mkdirSync(`${dir}/${SHIM_NAME}`);
    expect(locateShim({ kind: "beside" }, `${dir}/rdma`)).toBeUndefined();
  });

  test("is none with --no-shim even when one is beside the executable", () => {
    fs.writeFileSync(`${dir}/${SHIM_NAME}`, "shim");
    expect(locateShim({ kind: "none" }, `${dir}/rdma`)).toBeUndefined();
  });

  test("is the --shim path, which must be a regular file that exists", () => {
    fs.writeFileSync(`${dir}/other-shim`, "shim");
    expect(locateShim({ kind: "path", path: `${dir}/other-shim` }, `${dir}/rdma`)).toBe(`${dir}/other-shim`);
    expect(() => locateShim({ kind: "path", path: `${dir}/nope` }, `${dir}/rdma`)).toThrow(`the shim given by --shim, ${dir}/nope, is not usable: ENOENT (no such file or directory)`);
    expect(() => locateShim({ kind: "path", path: dir }, `${dir}/rdma`)).toThrow(`the shim given by --shim, ${dir}, is not a regular file`);
  });
});

describe("VERSION reply check", () => {
  test("returns supportedVersions of a valid reply", () => {
    expect(parseVersionReply('{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}\n')).toEqual(["1.0.0", "1.1.0"]);
  });

  test("refuses output that is not JSON, not an object, or lacks a list of versions", () => {
    for (const bad of ["", "Segmentation fault", "[]", '{"cniVersion":"1.1.0"}', '{"supportedVersions":[]}', '{"supportedVersions":[1]}']) {
      expect(() => parseVersionReply(bad)).toThrow(InstallError);
    }
  });
});

function capture(): { log: StreamLogger; lines: () => Record<string, unknown>[] } {
  let out = "";
  const log = new StreamLogger((s) => {
    out += s;
  }, "info");
  return {
    log,
    lines: () =>
      out
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l)),
  };
}

describe("netns mode report", () => {
  test("exclusive mode is logged as info", () => {
    const { log, lines } = capture();
    expect(reportNetnsMode({ netnsMode: () => "exclusive" }, log)).toBe("exclusive");
    expect(lines()).toMatchObject([{ level: "info", netnsMode: "exclusive" }]);
  });

  test("shared mode is a warning that carries the fix", () => {
    const { log, lines } = capture();
    expect(reportNetnsMode({ netnsMode: () => "shared" }, log)).toBe("shared");
    expect(lines()).toMatchObject([{ level: "warn", netnsMode: "shared", fix: EXCLUSIVE_MODE_HELP }]);
  });

  test("a node without RDMA is a clear warning, not a failure", () => {
    const { log, lines } = capture();
    const kernel = {
      netnsMode: (): never => {
        throw new KernelError("get RDMA netns mode", 93, "get RDMA netns mode: socket: EPROTONOSUPPORT (errno 93)");
      },
    };
    expect(reportNetnsMode(kernel, log)).toBeUndefined();
    const [line] = lines();
    expect(line?.level).toBe("warn");
    expect(String(line?.msg)).toContain("no RDMA subsystem");
    expect(String(line?.error)).toContain("EPROTONOSUPPORT");
  });
});

describe("doctor summary at start", () => {
  const report = (needsAttention: boolean): SummaryReport => ({
    summary: { errors: needsAttention ? 1 : 0, warnings: 0, infos: 2, needsAttention },
    findings: needsAttention ? [{ id: "rdma-absent" }, { id: "state-dir-missing" }] : [{ id: "stale-lock" }, { id: "stale-lock" }],
  });

  test("logs the counts in one line, then the rendered report as one block", () => {
    const { log, lines } = capture();
    const blocks: string[] = [];
    logDoctorSummary({ report: () => report(false), render: () => "rdma doctor (plugin x)\nRDMA       present" }, (t) => blocks.push(t), log);
    expect(lines()).toMatchObject([{ level: "info", msg: "rdma doctor summary follows", errors: 0, infos: 2, findings: ["stale-lock"] }]);
    expect(blocks).toEqual(["rdma doctor (plugin x)\nRDMA       present\n"]);
  });

  test("a node that needs attention is a warning line", () => {
    const { log, lines } = capture();
    logDoctorSummary({ report: () => report(true), render: () => "text\n" }, () => {}, log);
    expect(lines()).toMatchObject([{ level: "warn", errors: 1, findings: ["rdma-absent", "state-dir-missing"] }]);
  });

  test("a report that throws is one warning line and no block, never a failure", () => {
    const { log, lines } = capture();
    const blocks: string[] = [];
    const failing = (): SummaryReport => {
      throw new Error("EMFILE: too many open files");
    };
    expect(() => logDoctorSummary({ report: failing, render: () => "unused" }, (t) => blocks.push(t), log)).not.toThrow();
    expect(blocks).toEqual([]);
    expect(lines()).toMatchObject([{ level: "warn", msg: "cannot make the rdma doctor summary", error: "EMFILE: too many open files" }]);
  });
});

describe("atomic install", () => {
  let dir: string;
  let source: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-install-unit-`);
    source = `${dir}/source`;
    fs.writeFileSync(source, "new executable");
    fs.mkdirSync(`${dir}/bin`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("puts the bytes under the target name with mode 0755 and leaves no temp file", () => {
    const oldMask = process.umask(0o077);
    try {
      const r = installAtomically({ source, dir: `${dir}/bin`, name: "rdma" });
      expect(r).toEqual({ path: `${dir}/bin/rdma`, bytes: 14 });
    } finally {
      process.umask(oldMask);
    }
    expect(fs.readFileSync(`${dir}/bin/rdma`, "utf8")).toBe("new executable");
    expect(fs.statSync(`${dir}/bin/rdma`).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(`${dir}/bin`)).toEqual(["rdma"]);
  });

  test("checks the complete temp file before the rename", () => {
    let checked = "";
    installAtomically({
      source,
      dir: `${dir}/bin`,
      name: "rdma",
      check: (temp) => {
        checked = fs.readFileSync(temp, "utf8");
      },
    });
    expect(checked).toBe("new executable");
  });

  test("keeps the old plugin when the new copy fails its check", () => {
    fs.writeFileSync(`${dir}/bin/rdma`, "old executable");
    const failing = () => {
      throw new InstallError("does not answer VERSION");
    };
    expect(() => installAtomically({ source, dir: `${dir}/bin`, name: "rdma", check: failing })).toThrow("does not answer VERSION");
    expect(fs.readFileSync(`${dir}/bin/rdma`, "utf8")).toBe("old executable");
    expect(fs.readdirSync(`${dir}/bin`)).toEqual(["rdma"]);
  });

  test("removes a temp file a killed run left behind", () => {
    fs.writeFileSync(`${dir}/bin/${tempPrefix("rdma")}12345`, "half");
    installAtomically({ source, dir: `${dir}/bin`, name: "rdma" });
    expect(fs.readdirSync(`${dir}/bin`)).toEqual(["rdma"]);
  });

  test("names the directory and the errno when the directory is missing or not one", () => {
    expect(() => installAtomically({ source, dir: `${dir}/missing`, name: "rdma" })).toThrow(`CNI bin dir ${dir}/missing is not usable: ENOENT`);
    expect(() => installAtomically({ source, dir: source, name: "rdma" })).toThrow(`CNI bin dir ${source} is not usable: ENOTDIR`);
  });

  test("names the source when it cannot be read", () => {
    expect(() => installAtomically({ source: `${dir}/nope`, dir: `${dir}/bin`, name: "rdma" })).toThrow(`cannot read the executable to install, ${dir}/nope: ENOENT`);
  });
});
