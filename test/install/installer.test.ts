/**
 * `rdma install` run as a process, the executable that `make build` made, against temp dirs:
 * what the DaemonSet's container does on a node.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const ROOT = `${import.meta.dir}/../..`;
// Each test copies or hashes the 109 MB executable; on a busy 2-core machine that takes seconds.
setDefaultTimeout(60_000);
const BIN = `${ROOT}/build/rdma`;
const BUN = `${ROOT}/node_modules/.bin/bun`;
const isRoot = process.getuid?.() === 0;
let tmp: string;
let counter = 0;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-installer-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freshDir(): string {
  const dir = `${tmp}/bin-${++counter}`;
  fs.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

function sha256(file: string): string {
  return new Bun.CryptoHasher("sha256").update(fs.readFileSync(file)).digest("hex");
}

function install(args: string[], prefix: string[] = []) {
  const r = Bun.spawnSync([...prefix, BIN, "install", ...args], { env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
  return { status: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

/** Starts `rdma install` in the background and waits until it says it is waiting. */
async function startWaiting(dir: string) {
  const proc = Bun.spawn([BIN, "install", "--cni-bin-dir", dir], { env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  const reader = (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  await waitFor(() => stderr.includes("waiting for SIGTERM or SIGINT") || proc.exitCode !== null, 20_000);
  return { proc, stderr: () => stderr, done: reader };
}

describe("rdma install", () => {
  test("--no-sleep installs a byte-identical executable copy and exits 0 at once", () => {
    const dir = freshDir();
    const started = performance.now();
    const r = install(["--cni-bin-dir", dir, "--no-sleep"]);
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(0);
    expect(seconds).toBeLessThan(10);
    expect(fs.readdirSync(dir)).toEqual(["rdma"]);
    expect(sha256(`${dir}/rdma`)).toBe(sha256(BIN));
    expect(fs.statSync(`${dir}/rdma`).mode & 0o777).toBe(0o755);
    expect(r.stdout).toBe(""); // logs go to stderr only
    const logs = logLines(r.stderr);
    expect(logs.find((l) => l.msg === `installed ${dir}/rdma`)?.supportedVersions).toEqual(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  test("reports the node's RDMA netns mode, and a host without RDMA is a warning, not a failure", () => {
    const r = install(["--cni-bin-dir", freshDir(), "--no-sleep"]);
    expect(r.status).toBe(0);
    const mode = logLines(r.stderr).find((l) => String(l.msg).startsWith("RDMA netns mode"));
    expect(mode).toBeDefined();
    // this machine has no RDMA subsystem; a machine with one logs the mode itself
    if (mode?.level === "warn" && mode.netnsMode === undefined) expect(String(mode.msg)).toContain("no RDMA subsystem");
  });

  test("the installed copy answers CNI VERSION as a runtime calls it", () => {
    const dir = freshDir();
    expect(install(["--cni-bin-dir", dir, "--no-sleep"]).status).toBe(0);
    const r = Bun.spawnSync([`${dir}/rdma`], { env: { CNI_COMMAND: "VERSION" }, stdin: new TextEncoder().encode('{"cniVersion":"1.1.0"}'), stdout: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout.toString()).supportedVersions).toContain("1.0.0");
  });

  test("stays up after installing until SIGTERM, then exits with status 0", async () => {
    const dir = freshDir();
    const { proc, stderr, done } = await startWaiting(dir);
    expect(proc.exitCode).toBeNull();
    expect(fs.existsSync(`${dir}/rdma`)).toBe(true);
    await Bun.sleep(300);
    expect(proc.exitCode).toBeNull();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await done;
    expect(stderr()).toContain("received SIGTERM, exiting");
  });

  test("SIGINT ends it with status 0 too", async () => {
    const { proc } = await startWaiting(freshDir());
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
  });

  test("replaces the plugin atomically: a reader looping over it sees only the old or the new file", async () => {
    const dir = freshDir();
    const target = `${dir}/rdma`;
    // the old plugin: same size class, different bytes
    const old = `${tmp}/old-rdma`;
    fs.writeFileSync(old, Buffer.alloc(fs.statSync(BIN).size, 0x5a));
    const oldHash = sha256(old);
    const newHash = sha256(BIN);
    fs.copyFileSync(old, target);
    const stop = `${tmp}/stop-${counter}`;
    const reader = Bun.spawn([BUN, `${import.meta.dir}/reader-worker.ts`, target, oldHash, newHash, stop], { stdout: "pipe", stderr: "inherit" });
    await waitFor(() => fs.existsSync(`${stop}.ready`), 20_000);
    for (let round = 0; round < 3; round++) {
      // back to the old file (atomically too), give the reader time to see it, then install
      fs.copyFileSync(old, `${dir}/.old`);
      fs.renameSync(`${dir}/.old`, target);
      await Bun.sleep(300);
      const r = Bun.spawn([BIN, "install", "--cni-bin-dir", dir, "--no-sleep"], { env: { PATH: "/usr/bin:/bin" }, stdout: "ignore", stderr: "pipe" });
      expect(await r.exited).toBe(0);
      await Bun.sleep(300);
    }
    fs.writeFileSync(stop, "");
    expect(await reader.exited).toBe(0);
    const counts = JSON.parse(await new Response(reader.stdout).text());
    expect(counts).toMatchObject({ other: 0, missing: 0 });
    expect(counts.old).toBeGreaterThan(0);
    expect(counts.new).toBeGreaterThan(0);
    expect(sha256(target)).toBe(newHash);
  }, 120_000);

  test("a missing target dir fails with a message naming the dir and ENOENT", () => {
    const r = install(["--cni-bin-dir", `${tmp}/does-not-exist`, "--no-sleep"]);
    expect(r.status).toBe(1);
    const error = logLines(r.stderr).find((l) => l.level === "error");
    expect(String(error?.msg)).toContain(`CNI bin dir ${tmp}/does-not-exist is not usable: ENOENT (no such file or directory)`);
  });

  test.skipIf(!isRoot)("a read-only target dir fails with a message naming the dir and EROFS, and writes nothing", () => {
    const dir = freshDir();
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0755", "tmpfs", dir], { stderr: "pipe" });
    expect(mounted.exitCode).toBe(0);
    try {
      const r = install(["--cni-bin-dir", dir, "--no-sleep"]);
      expect(r.status).toBe(1);
      const error = logLines(r.stderr).find((l) => l.level === "error");
      expect(String(error?.msg)).toBe(`install failed: cannot write into CNI bin dir ${dir}: EROFS (read-only file system)`);
      expect(r.stderr).not.toMatch(/\n\s+at\s/); // a message, not a stack trace
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      Bun.spawnSync(["umount", dir]);
    }
  });

  // The DaemonSet runs it as uid 0 with every capability dropped; the host dir is root's, 0755.
  const setpriv = Bun.which("setpriv");
  const dropAll = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs"];
  test.skipIf(!isRoot || !setpriv)("installs as uid 0 with every capability dropped into a root-owned dir", () => {
    const caps = Bun.spawnSync([...dropAll, "grep", "^CapEff", "/proc/self/status"], { stdout: "pipe" }).stdout.toString();
    expect(caps).toMatch(/CapEff:\s+0+\n/);
    const dir = freshDir();
    const r = install(["--cni-bin-dir", dir, "--no-sleep"], dropAll);
    expect(r.status).toBe(0);
    expect(sha256(`${dir}/rdma`)).toBe(sha256(BIN));
  });

  test.skipIf(!isRoot || !setpriv)("without capabilities it cannot write into a dir another user owns (no DAC override)", () => {
    const dir = freshDir();
    fs.chownSync(dir, 65534, 65534);
    const r = install(["--cni-bin-dir", dir, "--no-sleep"], dropAll);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot write into CNI bin dir ${dir}: EACCES (permission denied)`);
  });

  test("an unknown argument is a usage error with status 2", () => {
    const r = install(["--bogus"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: rdma install");
  });
});
