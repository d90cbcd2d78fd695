/**
 * The three subcommands' command lines (engine, doctor, install) read in one syntax: every valued
 * flag as `--flag value` and as `--flag=value`, and every mistake named in the message.
 */
import { describe, expect, test } from "bun:test";
import { readFlags } from "../../src/cli-args.ts";
import { parseDoctorArgs } from "../../src/doctor/options.ts";
import { parseEngineArgs } from "../../src/engine/main.ts";
import { parseInstallArgs } from "../../src/install/options.ts";

type Parse = (argv: string[]) => unknown;
const engine: Parse = (argv) => parseEngineArgs(argv);
const doctor: Parse = (argv) => parseDoctorArgs(argv, {});
const install: Parse = (argv) => parseInstallArgs(argv);

/** Every valued flag of each command, a value it accepts, and what that value sets. */
const VALUED: [string, Parse, string, string, Record<string, unknown>][] = [
  ["engine", engine, "--socket", "/run/x/e.sock", { socketPath: "/run/x/e.sock", socketGiven: true }],
  ["engine", engine, "--log-level", "debug", { level: "debug" }],
  ["engine", engine, "--max-workers", "7", { maxWorkers: 7 }],
  ["engine", engine, "--worker-idle-ms", "1500", { workerIdleMs: 1500 }],
  ["engine", engine, "--lock-wait-ms", "0", { lockWaitMs: 0 }],
  ["engine", engine, "--idle-exit-ms", "900", { idleExitMs: 900 }],
  ["engine", engine, "--timeout-ms", "250", { timeoutMs: 250 }],
  ["doctor", doctor, "--state-dir", "/run/cni/x", { stateDir: "/run/cni/x" }],
  ["doctor", doctor, "--sysfs-root", "/tmp/sys", { sysfsRoot: "/tmp/sys" }],
  ["doctor", doctor, "--go-state-dir", "/var/lib/go", { goStateDir: "/var/lib/go" }],
  ["install", install, "--cni-bin-dir", "/opt/cni/bin", { cniBinDir: "/opt/cni/bin" }],
  ["install", install, "--shim", "/s/rdma-shim", { shim: { kind: "path", path: "/s/rdma-shim" } }],
  ["install", install, "--systemd-units", "/etc/systemd/system", { systemdUnitsDir: "/etc/systemd/system" }],
];

describe("every valued flag", () => {
  for (const [command, parse, flag, value, sets] of VALUED) {
    test(`rdma ${command} ${flag} takes its value separate and after =`, () => {
      const expected = { help: false, options: expect.objectContaining(sets) };
      expect(parse([flag, value])).toEqual(expected);
      expect(parse([`${flag}=${value}`])).toEqual(expected);
    });

    test(`rdma ${command} ${flag}: a missing value is named`, () => {
      const error = (parse([flag]) as { error: string }).error;
      expect(error).toStartWith(`${flag} needs `);
      // the next argument is a flag, not the value
      expect(parse([flag, "--help"])).toEqual({ error });
      expect(parse([`${flag}=`])).toEqual({ error: `${flag} must not be empty` });
    });
  }
});

describe("the same mistakes, the same messages, in all three", () => {
  for (const [command, parse] of [
    ["engine", engine],
    ["doctor", doctor],
    ["install", install],
  ] as const) {
    test(`rdma ${command}`, () => {
      expect(parse(["--bogus"])).toEqual({ error: 'unknown argument "--bogus"' });
      expect(parse(["--bogus=1"])).toEqual({ error: 'unknown argument "--bogus=1"' });
      expect(parse(["-x"])).toEqual({ error: 'unknown argument "-x"' });
      expect(parse(["extra"])).toEqual({ error: 'unknown argument "extra"' });
      expect(parse(["--"])).toEqual({ error: 'unknown argument "--"' });
      expect(parse(["--help=yes"])).toEqual({ error: 'unknown argument "--help=yes"' });
      expect(parse(["-h"])).toEqual({ help: true });
      expect(parse(["--bogus", "--help"])).toEqual({ help: true });
    });
  }
});

describe("rdma engine", () => {
  test("defaults", () => {
    expect(parseEngineArgs([])).toEqual({
      help: false,
      options: { socketPath: "/run/rdma-cni/engine.sock", level: "warn", maxWorkers: 16, workerIdleMs: 60_000, lockWaitMs: 10_000, check: false, timeoutMs: expect.any(Number), socketGiven: false, idleExitMs: undefined },
    });
  });

  test("--check is a switch, and takes no value", () => {
    expect(parseEngineArgs(["--check", "--timeout-ms=300"])).toMatchObject({ options: { check: true, timeoutMs: 300 } });
    expect(parseEngineArgs(["--check=yes"])).toEqual({ error: 'unknown argument "--check=yes"' });
  });

  test("a bad number names its flag and the range", () => {
    expect(parseEngineArgs(["--max-workers", "0"])).toEqual({ error: '--max-workers must be a whole number from 1 to 1024, not "0"' });
    expect(parseEngineArgs(["--max-workers=1025"])).toEqual({ error: '--max-workers must be a whole number from 1 to 1024, not "1025"' });
    expect(parseEngineArgs(["--timeout-ms", "1.5"])).toEqual({ error: '--timeout-ms must be a whole number from 1 to 1000000000, not "1.5"' });
    expect(parseEngineArgs(["--worker-idle-ms=0"])).toEqual({ error: '--worker-idle-ms must be a whole number from 1 to 1000000000, not "0"' });
    expect(parseEngineArgs(["--idle-exit-ms", "1e3"])).toEqual({ error: '--idle-exit-ms must be a whole number from 1 to 1000000000, not "1e3"' });
    expect(parseEngineArgs(["--lock-wait-ms", "1000000001"])).toEqual({ error: '--lock-wait-ms must be a whole number from 0 to 1000000000, not "1000000001"' });
  });

  test("a relative socket and an unknown log level are refused", () => {
    expect(parseEngineArgs(["--socket=run/e.sock"])).toEqual({ error: "--socket must be an absolute path" });
    expect(parseEngineArgs(["--log-level", "trace"])).toEqual({ error: '--log-level must be error, warn, info or debug, not "trace"' });
  });

  test("a value beginning with a dash goes after =", () => {
    expect(parseEngineArgs(["--socket", "-x"])).toEqual({ error: "--socket needs a path" });
    expect(parseEngineArgs(["--socket=-x"])).toEqual({ error: "--socket must be an absolute path" });
  });
});

describe("rdma install's exclusive flags keep their rules in either syntax", () => {
  test("one shim choice", () => {
    const twice = { error: "give at most one of --shim PATH and --no-shim" };
    expect(parseInstallArgs(["--shim=/s", "--no-shim"])).toEqual(twice);
    expect(parseInstallArgs(["--no-shim", "--shim", "/s"])).toEqual(twice);
    expect(parseInstallArgs(["--no-shim", "--no-shim"])).toEqual(twice);
  });

  test("--uninstall and --wait-replaced", () => {
    expect(parseInstallArgs(["--wait-replaced"])).toEqual({ error: "--wait-replaced goes with --uninstall" });
    expect(parseInstallArgs(["--wait-replaced", "--uninstall", "--cni-bin-dir=/b"])).toMatchObject({ options: { uninstall: "wait-replaced", cniBinDir: "/b" } });
    expect(parseInstallArgs(["--uninstall"])).toMatchObject({ options: { uninstall: "now" } });
    expect(parseInstallArgs(["--uninstall", "--systemd-units=/u"])).toMatchObject({ options: { uninstall: "now", systemdUnitsDir: "/u" } });
    expect(parseInstallArgs(["--systemd-units", "/u", "--uninstall", "--wait-replaced"])).toMatchObject({ options: { uninstall: "wait-replaced", systemdUnitsDir: "/u" } });
    expect(parseInstallArgs(["--uninstall=yes"])).toEqual({ error: 'unknown argument "--uninstall=yes"' });
  });
});

describe("readFlags", () => {
  test("keeps the command line's order, switches with an empty value", () => {
    expect(readFlags(["--b=2", "--a", "--b", "3"], { a: "switch", b: { needs: "a number" } })).toEqual({
      help: false,
      given: [
        { name: "b", value: "2" },
        { name: "a", value: "" },
        { name: "b", value: "3" },
      ],
    });
  });

  test("a value with = inside stays whole", () => {
    expect(readFlags(["--dir=/a=b"], { dir: { needs: "a directory" } })).toEqual({ help: false, given: [{ name: "dir", value: "/a=b" }] });
  });

  test("a flag named like an Object property is still unknown", () => {
    expect(readFlags(["--constructor"], {})).toEqual({ error: 'unknown argument "--constructor"' });
    expect(readFlags(["--toString=1"], {})).toEqual({ error: 'unknown argument "--toString=1"' });
  });
});
