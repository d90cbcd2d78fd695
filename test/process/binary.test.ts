/**
 * build/rdma run as a process, the way a runtime runs a plugin: env, config on stdin, one JSON
 * document on stdout, an exit status. On this host there is no RDMA subsystem, which the plugin
 * must report as such; every bad input must be refused before that with the right code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const BIN = `${import.meta.dir}/../../build/rdma`;
let tmp: string;
let stateDir: string;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-proc-`);
  stateDir = `${tmp}/state`;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

function run(env: Record<string, string>, stdin: string | Uint8Array, args: string[] = []): Run {
  const scratch = `${tmp}/scratch`;
  fs.mkdirSync(scratch, { recursive: true });
  const r = Bun.spawnSync([BIN, ...args], {
    cwd: scratch,
    env: { PATH: "/usr/bin:/bin", HOME: scratch, TMPDIR: scratch, RDMA_CNI_STATE_DIR: stateDir, ...env },
    stdin: typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  // nothing may be created where the process was run, or in its HOME and TMPDIR
  expect(fs.readdirSync(scratch)).toEqual([]);
  const stdout = r.stdout.toString();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(stdout);
  } catch {}
  return { status: r.exitCode ?? -1, stdout, stderr: r.stderr.toString(), json };
}

const addEnv = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin" };
const goodConf = { cniVersion: "1.0.0", name: "sriov-network", type: "rdma", deviceID: "0000:03:00.5", prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1", sandbox: "/proc/self/ns/net" }] } };

function expectCleanError(r: Run, code: number, text: string) {
  expect(r.status).not.toBe(0);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  expect(r.json.code).toBe(code);
  expect(String(r.json.msg)).toContain(text);
  expect(typeof r.json.cniVersion).toBe("string");
  for (const out of [r.stdout, r.stderr]) {
    expect(out).not.toMatch(/\n\s+at\s/); // no stack trace
    expect(out).not.toContain("Error:");
  }
  // nothing written: no record exists
  const att = `${stateDir}/attachments`;
  expect(fs.existsSync(att) ? fs.readdirSync(att) : []).toEqual([]);
}

describe("build/rdma as a process", () => {
  test("VERSION answers with the five supported versions", () => {
    const r = run({ CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.1.0"}');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });

  test("--version prints version, commit and build date", () => {
    const r = run({}, "", ["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rdma CNI plugin version \d+\.\d+\.\d+ commit \S+ built \d{4}-\d\d-\d\dT/);
  });

  for (const flag of ["--help", "-h"]) {
    test(`${flag} prints the usage to stdout, naming every subcommand, and exits 0`, () => {
      const r = run({}, "", [flag]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout.startsWith("usage:\n")).toBe(true);
      for (const sub of ["--version", "install", "doctor", "engine"]) expect(r.stdout).toContain(`\n  rdma ${sub} `);
      expect(r.stdout).not.toContain("unknown argument");
      // the same text an unknown argument prints after its complaint
      expect(run({}, "", ["--frobnicate"]).stderr).toEndWith(r.stdout);
    });
  }

  test("an unknown argument prints usage to stderr and exits 2", () => {
    const r = run({}, "", ["--frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("usage");
  });

  test("STATUS on a host without RDMA is code 50 and says why", () => {
    const r = run({ CNI_COMMAND: "STATUS" }, JSON.stringify({ cniVersion: "1.1.0", name: "n", type: "rdma" }));
    expectCleanError(r, 50, "RDMA subsystem is not reachable");
  });

  test("ADD on a host without RDMA is code 100 and writes nothing", () => {
    expectCleanError(run(addEnv, JSON.stringify(goodConf)), 100, "not reachable");
  });

  test("a .env or bunfig.toml in the directory it runs in changes nothing", () => {
    // the runtime's working directory is no place for the plugin's settings or code
    const dir = `${tmp}/cwd-with-dotfiles`;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/.env`, "CNI_COMMAND=VERSION\n");
    fs.writeFileSync(`${dir}/preload.js`, `require("fs").writeFileSync(${JSON.stringify(`${dir}/preloaded`)}, "");\n`);
    fs.writeFileSync(`${dir}/bunfig.toml`, 'preload = ["./preload.js"]\n');
    const r = Bun.spawnSync([BIN], { cwd: dir, env: { PATH: "/usr/bin:/bin", RDMA_CNI_STATE_DIR: stateDir }, stdin: new TextEncoder().encode("{}"), stdout: "pipe", stderr: "pipe" });
    expect(JSON.parse(r.stdout.toString()).code).toBe(4); // no CNI_COMMAND: invalid environment
    expect(fs.existsSync(`${dir}/preloaded`)).toBe(false);
  });

  test("DEL without a record succeeds even without RDMA", () => {
    const r = run({ ...addEnv, CNI_COMMAND: "DEL" }, JSON.stringify(goodConf));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
  });
});

describe("hostile state and stdin", () => {
  test("64 MiB on stdin is refused after 4 MiB without reading it all into memory", () => {
    fs.writeFileSync(`${tmp}/big-stdin`, new Uint8Array(64 * 1024 * 1024).fill(0x20));
    // Peak RSS through GNU time: a child forked from this (large) test process would count our pages too.
    const r = Bun.spawnSync(["/usr/bin/time", "-f", "maxrss_kib=%M", BIN], {
      env: { ...addEnv, PATH: "/usr/bin:/bin", RDMA_CNI_STATE_DIR: stateDir },
      stdin: Bun.file(`${tmp}/big-stdin`),
      stdout: "pipe",
      stderr: "pipe",
    });
    const json = JSON.parse(r.stdout.toString());
    expect(json).toMatchObject({ code: 6 });
    expect(String(json.msg)).toContain("larger than");
    const kib = Number(/maxrss_kib=(\d+)/.exec(r.stderr.toString())?.[1]);
    expect(kib).toBeGreaterThan(1000);
    expect(kib * 1024).toBeLessThan(64 * 1024 * 1024);
  });

  test("a state dir that is a symlink is refused with code 106 and nothing is written through it", () => {
    const target = `${tmp}/elsewhere`;
    fs.mkdirSync(target, { recursive: true });
    fs.symlinkSync(target, `${tmp}/state-link`);
    const r = run({ ...addEnv, CNI_COMMAND: "DEL", RDMA_CNI_STATE_DIR: `${tmp}/state-link` }, JSON.stringify(goodConf));
    expect(r.status).not.toBe(0);
    expect(r.json).toMatchObject({ code: 106 });
    expect(String(r.json.msg)).toContain("state-link");
    expect(fs.readdirSync(target)).toEqual([]);
  });

  test("a state dir on a read-only mount is refused with code 106", () => {
    const ro = `${tmp}/ro`;
    fs.mkdirSync(ro, { recursive: true });
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro], { stderr: "pipe" });
    if (mount.exitCode !== 0) throw new Error(`mount: ${mount.stderr.toString()}`);
    try {
      const r = run({ ...addEnv, CNI_COMMAND: "DEL", RDMA_CNI_STATE_DIR: `${ro}/state` }, JSON.stringify(goodConf));
      expect(r.status).not.toBe(0);
      expect(r.json).toMatchObject({ code: 106 });
      expect(String(r.json.msg)).toContain(`${ro}/state`);
    } finally {
      Bun.spawnSync(["umount", ro]);
    }
  });
});

/** Inputs the plugin must refuse: name, env, stdin, code, text of the message. */
const conf = (patch: Record<string, unknown>) => JSON.stringify({ ...goodConf, ...patch });
const cases: [string, Record<string, string>, string | Uint8Array, number, string][] = [
  ["malformed JSON", addEnv, "{", 6, "not valid JSON"],
  ["truncated JSON", addEnv, JSON.stringify(goodConf).slice(0, 40), 6, "not valid JSON"],
  ["a JSON array", addEnv, "[]", 6, "JSON object"],
  ["empty stdin", addEnv, "", 6, "not valid JSON"],
  ["invalid UTF-8", addEnv, Uint8Array.of(0x7b, 0xc3, 0x28, 0x7d), 6, "UTF-8"],
  ["stdin over 4 MiB", addEnv, `{"x":"${"a".repeat(5 * 1024 * 1024)}"}`, 6, "larger than"],
  ["an unsupported cniVersion", addEnv, conf({ cniVersion: "0.2.0" }), 1, "not supported"],
  ["a malformed cniVersion", addEnv, conf({ cniVersion: "1.0.0-rc1" }), 1, "cniVersion"],
  ["cniVersion of the wrong type", addEnv, conf({ cniVersion: 1 }), 1, "cniVersion"],
  ["prevResult of another version", addEnv, conf({ prevResult: { cniVersion: "0.4.0", interfaces: [] } }), 1, "prevResult.cniVersion"],
  ["prevResult of the wrong shape", addEnv, conf({ prevResult: { interfaces: "eth0" } }), 7, "prevResult.interfaces"],
  ["a missing CNI_COMMAND", { ...addEnv, CNI_COMMAND: "" }, conf({}), 4, "CNI_COMMAND"],
  ["an unknown CNI_COMMAND", { ...addEnv, CNI_COMMAND: "FROB" }, conf({}), 4, "CNI_COMMAND"],
  ["a missing CNI_CONTAINERID", { ...addEnv, CNI_CONTAINERID: "" }, conf({}), 4, "CNI_CONTAINERID"],
  ["a container ID with ..", { ...addEnv, CNI_CONTAINERID: "../../etc" }, conf({}), 4, "CNI_CONTAINERID"],
  ["a container ID with a newline", { ...addEnv, CNI_CONTAINERID: "a\nb" }, conf({}), 4, "CNI_CONTAINERID"],
  ["a very long container ID", { ...addEnv, CNI_CONTAINERID: "a".repeat(5000) }, conf({}), 4, "CNI_CONTAINERID"],
  ["an interface name with /", { ...addEnv, CNI_IFNAME: "a/b" }, conf({}), 4, "CNI_IFNAME"],
  ["a 16-byte interface name", { ...addEnv, CNI_IFNAME: "abcdefghijklmnop" }, conf({}), 4, "CNI_IFNAME"],
  ["a relative CNI_NETNS", { ...addEnv, CNI_NETNS: "netns/x" }, conf({}), 4, "CNI_NETNS"],
  ["a CNI_NETNS that is a regular file", { ...addEnv, CNI_NETNS: "/etc/hostname" }, conf({}), 104, "CNI_NETNS"],
  ["a CNI_NETNS that is a directory", { ...addEnv, CNI_NETNS: "/tmp" }, conf({}), 104, "CNI_NETNS"],
  ["a CNI_NETNS that is a mount namespace", { ...addEnv, CNI_NETNS: "/proc/self/ns/mnt" }, conf({}), 104, "not a network namespace"],
  ["a CNI_NETNS that is a UTS namespace", { ...addEnv, CNI_NETNS: "/proc/self/ns/uts" }, conf({}), 104, "not a network namespace"],
  ["CHECK with a CNI_NETNS that is a regular file", { ...addEnv, CNI_COMMAND: "CHECK", CNI_NETNS: "/etc/hostname" }, conf({ prevResult: undefined }), 104, "CNI_NETNS"],
  ["DEL with a malformed CNI_IFNAME", { ...addEnv, CNI_COMMAND: "DEL", CNI_IFNAME: "a b" }, conf({}), 4, "CNI_IFNAME"],
  ["DEL with a prevResult of the other format", { ...addEnv, CNI_COMMAND: "DEL" }, conf({ prevResult: { cniVersion: "0.4.0" } }), 1, "prevResult.cniVersion"],
  ["ADD without a deviceID", addEnv, conf({ deviceID: undefined }), 7, "no deviceID"],
  ["a CNI_NETNS that does not exist", { ...addEnv, CNI_NETNS: "/var/run/netns/none-such" }, conf({}), 104, "does not exist"],
  ["malformed CNI_ARGS", { ...addEnv, CNI_ARGS: "justakey" }, conf({}), 4, "CNI_ARGS"],
  ["a network name with /", addEnv, conf({ name: "a/../b" }), 7, "name"],
  ["a network name with a NUL", addEnv, conf({ name: "a\u0000b" }), 7, "name"],
  ["a deviceID that looks like a path", addEnv, conf({ deviceID: "../../../../etc" }), 7, "deviceID"],
  ["a deviceID of the wrong type", addEnv, conf({ deviceID: 3 }), 7, "deviceID"],
  ["a runtimeConfig.deviceID that looks like a path", addEnv, conf({ runtimeConfig: { deviceID: "/sys/bus/pci" } }), 7, "runtimeConfig.deviceID"],
  ["a stateDir outside /run/cni", addEnv, conf({ stateDir: "/etc/cni" }), 7, "stateDir"],
  ["a stateDir climbing out of /run/cni", addEnv, conf({ stateDir: "/run/cni/../../etc" }), 7, "stateDir"],
  ["a logFile outside /var/log", addEnv, conf({ logFile: "/etc/passwd" }), 7, "logFile"],
  ["a logLevel of the wrong type", addEnv, conf({ logLevel: ["debug"] }), 7, "logLevel"],
  ["args.cni.debug of the wrong type", addEnv, conf({ args: { cni: { debug: "true" } } }), 7, "args.cni.debug"],
  ["ADD without prevResult", addEnv, conf({ prevResult: undefined }), 7, "must be chained"],
  ["GC without valid-attachments", { CNI_COMMAND: "GC" }, conf({ cniVersion: "1.1.0", prevResult: undefined }), 7, "valid-attachments"],
  ["CHECK in 0.3.1", { ...addEnv, CNI_COMMAND: "CHECK" }, conf({ cniVersion: "0.3.1", prevResult: undefined }), 1, "CHECK"],
];
describe("bad input gets a CNI error with the right code, naming the field", () => {
  test.each(cases)("%s", (_name, env, stdin, code, text) => {
    expectCleanError(run(env, stdin), code, text);
  });
});

describe("a refused call writes nothing, not even the state directory (a node that never ran the plugin)", () => {
  test.each(cases)("%s", (_name, env, stdin, code) => {
    const fresh = fs.mkdtempSync(`${tmp}/fresh-`);
    const state = `${fresh}/run/cni/rdma`;
    const r = run({ ...env, RDMA_CNI_STATE_DIR: state }, stdin);
    expect(r.json.code).toBe(code);
    expect(fs.readdirSync(fresh)).toEqual([]);
  });
});
