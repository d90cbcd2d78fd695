/**
 * `rdma install` run as a process, the executable that `make build` made, against temp dirs:
 * what the DaemonSet's container does on a node. build/rdma-shim lies beside build/rdma as
 * /rdma-shim lies beside /rdma in the image, so the default install is the shim's.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const ROOT = `${import.meta.dir}/../..`;
// Each test copies or hashes the 109 MB executable; on a busy 2-core machine that takes seconds.
setDefaultTimeout(60_000);
const BIN = `${ROOT}/build/rdma`;
const SHIM = `${ROOT}/build/rdma-shim`;
const BUN = `${ROOT}/node_modules/.bin/bun`;
const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const isRoot = process.getuid?.() === 0;
let tmp: string;
let counter = 0;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  if (!fs.existsSync(SHIM)) {
    const made = Bun.spawnSync(["make", "-s", "build/rdma-shim"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`make build/rdma-shim failed: ${made.stderr.toString()}`);
  }
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

/** CNI VERSION as a runtime calls it; `socket` points the shim at an engine socket (none there). */
function cniVersion(executable: string, socket = `${tmp}/no-engine-here.sock`) {
  const r = Bun.spawnSync([executable], { env: { CNI_COMMAND: "VERSION", RDMA_CNI_ENGINE_SOCKET: socket }, stdin: new TextEncoder().encode('{"cniVersion":"1.1.0"}'), stdout: "pipe", stderr: "pipe" });
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
  test("--no-sleep installs the engine as rdma-engine and the shim as rdma, and exits 0 at once", () => {
    const dir = freshDir();
    const started = performance.now();
    const r = install(["--cni-bin-dir", dir, "--no-sleep"]);
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(0);
    expect(seconds).toBeLessThan(10);
    expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
    expect(sha256(`${dir}/rdma-engine`)).toBe(sha256(BIN));
    expect(sha256(`${dir}/rdma`)).toBe(sha256(SHIM));
    for (const name of ["rdma", "rdma-engine"]) expect(fs.statSync(`${dir}/${name}`).mode & 0o777).toBe(0o755);
    expect(r.stdout).toBe(""); // logs go to stderr only
    const logs = logLines(r.stderr);
    const installed = logs.filter((l) => String(l.msg).startsWith("installed "));
    // the engine first: a runtime never finds the new shim without the engine it falls back to
    expect(installed.map((l) => [l.msg, l.from])).toEqual([
      [`installed ${dir}/rdma-engine`, "rdma"],
      [`installed ${dir}/rdma`, "rdma-shim"],
    ]);
    for (const l of installed) expect(l.supportedVersions).toEqual(VERSIONS);
  });

  test("CNI VERSION through the installed rdma works with no engine running: the shim runs rdma-engine", () => {
    const dir = freshDir();
    expect(install(["--cni-bin-dir", dir, "--no-sleep"]).status).toBe(0);
    const r = cniVersion(`${dir}/rdma`);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: VERSIONS });
    // and without its rdma-engine the shim has nothing to fall back to
    fs.rmSync(`${dir}/rdma-engine`);
    const alone = cniVersion(`${dir}/rdma`);
    expect(alone.status).toBe(1);
    expect(alone.stdout).toContain("the one-shot engine");
  });

  test("--no-shim installs the one-shot plugin alone, byte-identical, as rdma", () => {
    const dir = freshDir();
    const r = install(["--cni-bin-dir", dir, "--no-shim", "--no-sleep"]);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(["rdma"]);
    expect(sha256(`${dir}/rdma`)).toBe(sha256(BIN));
    expect(fs.statSync(`${dir}/rdma`).mode & 0o777).toBe(0o755);
    expect(logLines(r.stderr).find((l) => l.msg === `installed ${dir}/rdma`)?.supportedVersions).toEqual(VERSIONS);
    expect(cniVersion(`${dir}/rdma`).status).toBe(0);
  });

  test("--shim PATH installs that shim in front of the engine", () => {
    const dir = freshDir();
    const other = `${tmp}/elsewhere/my-shim`;
    fs.mkdirSync(`${tmp}/elsewhere`, { recursive: true });
    fs.copyFileSync(SHIM, other);
    const r = install(["--cni-bin-dir", dir, "--shim", other, "--no-sleep"]);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
    expect(sha256(`${dir}/rdma`)).toBe(sha256(SHIM));
  });

  test("a --shim path that does not exist fails naming it, before anything is installed", () => {
    const dir = freshDir();
    const r = install(["--cni-bin-dir", dir, "--shim", `${tmp}/no-such-shim`, "--no-sleep"]);
    expect(r.status).toBe(1);
    const error = logLines(r.stderr).find((l) => l.level === "error");
    expect(String(error?.msg)).toBe(`install failed: the shim given by --shim, ${tmp}/no-such-shim, is not usable: ENOENT (no such file or directory)`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a shim that cannot answer VERSION is not installed, and the old rdma stays", () => {
    const dir = freshDir();
    fs.writeFileSync(`${dir}/rdma`, "old plugin");
    const broken = `${tmp}/broken-shim`;
    fs.writeFileSync(broken, "#!/bin/false\n", { mode: 0o755 });
    const r = install(["--cni-bin-dir", dir, "--shim", broken, "--no-sleep"]);
    expect(r.status).toBe(1);
    expect(String(logLines(r.stderr).find((l) => l.level === "error")?.msg)).toMatch(/^install failed: \S+\/\.rdma\.install-\d+ exited with status 1 on CNI VERSION/);
    expect(fs.readFileSync(`${dir}/rdma`, "utf8")).toBe("old plugin");
    expect(fs.readdirSync(dir).sort()).toEqual(["rdma", "rdma-engine"]);
  });

  test("logs the rdma doctor summary once, after installing, as one block", () => {
    const r = install(["--cni-bin-dir", freshDir(), "--no-sleep"]);
    expect(r.status).toBe(0);
    expect(r.stderr.match(/^rdma doctor \(plugin /gm) ?? []).toHaveLength(1);
    const lines = r.stderr.split("\n");
    const head = lines.findIndex((l) => l.startsWith("rdma doctor (plugin "));
    const counts = lines.findIndex((l) => /^\d+ errors?, \d+ warnings?, \d+ infos?: /.test(l));
    expect(head).toBeGreaterThan(0);
    expect(counts).toBeGreaterThan(head);
    // the JSON line with the counts comes just before the block; nothing interleaves with it
    const before = JSON.parse(lines[head - 1] ?? "");
    expect(String(before.msg)).toStartWith("rdma doctor summary follows");
    expect(lines.slice(head, counts + 1).some((l) => l.startsWith("{"))).toBe(false);
    const installedAt = lines.findIndex((l) => l.includes('"msg":"installed '));
    expect(installedAt).toBeLessThan(head);
  });

  test("reports the node's RDMA netns mode, and a host without RDMA is a warning, not a failure", () => {
    const r = install(["--cni-bin-dir", freshDir(), "--no-sleep"]);
    expect(r.status).toBe(0);
    const mode = logLines(r.stderr).find((l) => String(l.msg).startsWith("RDMA netns mode"));
    expect(mode).toBeDefined();
    // this machine has no RDMA subsystem; a machine with one logs the mode itself
    if (mode?.level === "warn" && mode.netnsMode === undefined) expect(String(mode.msg)).toContain("no RDMA subsystem");
  });

  test("stays up after installing until SIGTERM, then exits with status 0", async () => {
    const dir = freshDir();
    const { proc, stderr, done } = await startWaiting(dir);
    expect(proc.exitCode).toBeNull();
    expect(fs.existsSync(`${dir}/rdma`)).toBe(true);
    expect(fs.existsSync(`${dir}/rdma-engine`)).toBe(true);
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

  // The same write-beside-and-rename puts the shim and rdma-engine in place; the one-shot
  // plugin, as large as the engine, gives the reader the longest window to catch a partial file.
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
    // One read of the ~100 MB executable takes from 0.1 s to well over a second on a busy
    // machine: wait until the reader has classified a read begun after each change.
    const seen = () => {
      try {
        return JSON.parse(fs.readFileSync(`${stop}.counts`, "utf8")) as { old: number; new: number };
      } catch {
        return { old: 0, new: 0 };
      }
    };
    const readerSees = async (which: "old" | "new") => {
      const before = seen()[which];
      await waitFor(() => seen()[which] > before, 60_000);
    };
    for (let round = 0; round < 3; round++) {
      // back to the old file (atomically too), let the reader see it, then install
      fs.copyFileSync(old, `${dir}/.old`);
      fs.renameSync(`${dir}/.old`, target);
      await readerSees("old");
      const r = Bun.spawn([BIN, "install", "--cni-bin-dir", dir, "--no-shim", "--no-sleep"], { env: { PATH: "/usr/bin:/bin" }, stdout: "ignore", stderr: "pipe" });
      expect(await r.exited).toBe(0);
      await readerSees("new");
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
    expect(sha256(`${dir}/rdma-engine`)).toBe(sha256(BIN));
    expect(sha256(`${dir}/rdma`)).toBe(sha256(SHIM));
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
