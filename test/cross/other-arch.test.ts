/**
 * The executable and the shim of the other architecture (arm64 on an amd64 host, amd64 on an
 * arm64 one), run through qemu-user as a runtime would run them: the image's root filesystem for
 * that architecture (`make image-rootfs IMAGE_ARCH=...`, built here) in a read-only chroot, with
 * binfmt_misc handing its ELF files to qemu (test/run-host-tests installs qemu-user-static and the
 * cross compiler, and registers it). Process-level behaviour only: VERSION, bad input, the host without RDMA, doctor, install,
 * the shim's fallback. Not the engine: qemu-user does not pass the NS_GET_NSTYPE ioctl through,
 * so the engine cannot check its own netns and refuses to start there (as it should), and an ADD
 * reaching CNI_NETNS fails the same check; the kernel work is proven in the VM.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

// Every call starts an emulated Bun (about 2 s of host CPU).
setDefaultTimeout(60_000);
const ROOT = `${import.meta.dir}/../..`;
const HOST = process.arch === "arm64" ? "arm64" : "amd64";
const OTHER = HOST === "amd64" ? "arm64" : "amd64";
const QEMU_NAME = OTHER === "arm64" ? "aarch64" : "x86_64";
/** ELF e_machine of the other architecture. */
const MACHINE = OTHER === "arm64" ? 183 : 62;
const ROOTFS = `${ROOT}/build/image/rootfs-${OTHER}`;
const CHROOT = "/usr/sbin/chroot";
const BINFMT = `/proc/sys/fs/binfmt_misc/qemu-${QEMU_NAME}`;

let tmp: string;
let root: string;
let hostBin: string;
let scratch: string;
const mounted: string[] = [];

function sh(cmd: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const r = Bun.spawnSync(cmd, {
    env: opts.env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { status: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Runs `argv` inside the chroot with exactly `env`. */
function inRoot(argv: string[], env: Record<string, string> = {}, stdin?: string) {
  return sh([CHROOT, root, ...argv], { env, stdin });
}

function mount(args: string[], target: string) {
  const r = sh(["mount", ...args, target]);
  if (r.status !== 0) throw new Error(`mount ${args.join(" ")} ${target}: ${r.stderr}`);
  mounted.push(target);
}

function elfMachine(file: string): number {
  const head = fs.readFileSync(file).subarray(0, 20);
  return head.readUInt16LE(18);
}

// Built here, where it is needed; make leaves an up-to-date one alone. A cold build compiles the
// executable for OTHER with Bun's runtime for it (npm) and takes Debian's libc6 for it (13 s on the
// 2-core machine, 2026-12); the timeout leaves room for a slow mirror.
const ROOTFS_TIMEOUT_MS = 600_000;

beforeAll(() => {
  const made = Bun.spawnSync(["make", "-s", "image-rootfs", `IMAGE_ARCH=${OTHER}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`make image-rootfs IMAGE_ARCH=${OTHER} failed: ${made.stderr.toString()}`);
  const binfmt = fs.existsSync(BINFMT) ? fs.readFileSync(BINFMT, "utf8") : "";
  if (!binfmt.startsWith("enabled") || !/flags: \S*F/.test(binfmt)) {
    throw new Error(`qemu-${QEMU_NAME} is not registered with binfmt_misc (flag F): test/run-host-tests sets it up (qemu-user-static, binfmt-support)`);
  }
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-${OTHER}-`);
  root = `${tmp}/root`;
  hostBin = `${tmp}/host-cni-bin`;
  scratch = `${tmp}/scratch`;
  for (const d of [root, hostBin, scratch]) fs.mkdirSync(d);
  mount(["--bind", ROOTFS], root);
  mount(["-o", "remount,bind,ro"], root);
  mount(["-t", "proc", "proc"], `${root}/proc`);
  mount(["--bind", hostBin], `${root}/host/opt/cni/bin`);
  mount(["--bind", scratch], `${root}/tmp`);
}, ROOTFS_TIMEOUT_MS);
afterAll(() => {
  for (const target of mounted.reverse()) sh(["umount", target]);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const addEnv = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "net1", RDMA_CNI_STATE_DIR: "/tmp/state" };
const goodConf = { cniVersion: "1.0.0", name: "sriov-network", type: "rdma", deviceID: "0000:03:00.5", prevResult: { cniVersion: "1.0.0", interfaces: [] } };
const conf = (patch: Record<string, unknown>) => JSON.stringify({ ...goodConf, ...patch });

function expectCniError(r: { status: number; stdout: string; stderr: string }, code: number, text: string) {
  expect(r.status).toBe(1);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  const json = JSON.parse(r.stdout);
  expect(json.code).toBe(code);
  expect(String(json.msg)).toContain(text);
  expect(r.stdout + r.stderr).not.toMatch(/\n\s+at\s/);
}

describe(`the ${OTHER} executable and shim under qemu-user`, () => {
  test(`/rdma and /rdma-shim are ${OTHER} executables`, () => {
    expect(elfMachine(`${ROOTFS}/rdma`)).toBe(MACHINE);
    expect(elfMachine(`${ROOTFS}/rdma-shim`)).toBe(MACHINE);
  });

  test("--version and CNI VERSION answer", () => {
    const v = inRoot(["/rdma", "--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^rdma CNI plugin version \S+ commit \S+ built \S+\n$/);
    const r = inRoot(["/rdma"], { CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.1.0"}');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });

  const bad: [string, Record<string, string>, string, number, string][] = [
    ["malformed JSON", addEnv, "{", 6, "not valid JSON"],
    ["an unsupported cniVersion", addEnv, conf({ cniVersion: "0.2.0" }), 1, "not supported"],
    ["an unknown CNI_COMMAND", { ...addEnv, CNI_COMMAND: "FROB" }, conf({}), 4, "CNI_COMMAND"],
    ["a container ID with ..", { ...addEnv, CNI_CONTAINERID: "../../etc" }, conf({}), 4, "CNI_CONTAINERID"],
    ["a deviceID that looks like a path", addEnv, conf({ deviceID: "../../../../etc" }), 7, "deviceID"],
    ["a stateDir outside /run/cni", addEnv, conf({ stateDir: "/etc/cni" }), 7, "stateDir"],
    ["ADD without prevResult", addEnv, conf({ prevResult: undefined }), 7, "must be chained"],
    ["a CNI_NETNS that does not exist", { ...addEnv, CNI_NETNS: "/var/run/netns/none-such" }, conf({}), 104, "does not exist"],
  ];
  test.each(bad)("bad input: %s gets its CNI error", (_name, env, stdin, code, text) => {
    expectCniError(inRoot(["/rdma"], env, stdin), code, text);
  });

  test("STATUS on a host without RDMA is code 50 and says why; DEL without a record succeeds", () => {
    expectCniError(inRoot(["/rdma"], { CNI_COMMAND: "STATUS" }, JSON.stringify({ cniVersion: "1.1.0", name: "n", type: "rdma" })), 50, "not reachable");
    const del = inRoot(["/rdma"], { ...addEnv, CNI_COMMAND: "DEL" }, conf({}));
    expect(del.status).toBe(0);
    expect(del.stdout).toBe("");
  });

  test("doctor reports a node without RDMA as JSON, exit status 1", () => {
    const r = inRoot(["/rdma", "doctor", "--json"]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.rdma.present).toBe(false);
    expect(report.findings.map((f: { id: string }) => f.id)).toContain("rdma-absent");
  });

  test("install puts /rdma as rdma-engine and /rdma-shim as rdma into the mounted host dir", () => {
    const r = inRoot(["/rdma", "install", "--no-sleep"]);
    expect(r.status).toBe(0);
    expect(Bun.hash(fs.readFileSync(`${hostBin}/rdma-engine`))).toBe(Bun.hash(fs.readFileSync(`${ROOTFS}/rdma`)));
    expect(Bun.hash(fs.readFileSync(`${hostBin}/rdma`))).toBe(Bun.hash(fs.readFileSync(`${ROOTFS}/rdma-shim`)));
  });

  test("the installed shim with no engine falls back to rdma-engine one-shot, stdin replayed", () => {
    const noEngine = { RDMA_CNI_ENGINE_SOCKET: "/tmp/no-engine.sock" };
    const v = inRoot(["/host/opt/cni/bin/rdma"], { ...noEngine, CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.1.0"}');
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout).supportedVersions).toContain("1.1.0");
    expectCniError(inRoot(["/host/opt/cni/bin/rdma"], { ...addEnv, ...noEngine }, conf({ prevResult: undefined })), 7, "must be chained");
  });
});
