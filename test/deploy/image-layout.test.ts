/**
 * The image's root filesystem, as deployment/rootfs.sh assembles it from build/rdma and
 * build/rdma-shim: exactly the executable, its loader and libraries, and the static shim, and it
 * works as a container would run it: chroot into a read-only copy with /proc mounted, then
 * --version, CNI VERSION and `install` into a bind-mounted host dir. Where buildah works, the
 * same through a real image FROM scratch.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = `${import.meta.dir}/../..`;
// Each test copies or hashes the 111 MB executable; on a busy 2-core machine that takes seconds.
setDefaultTimeout(60_000);
const BIN = `${ROOT}/build/rdma`;
const SHIM = `${ROOT}/build/rdma-shim`;
const isRoot = process.getuid?.() === 0;
const CHROOT = "/usr/sbin/chroot";
let tmp: string;
let rootfs: string;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  if (!fs.existsSync(SHIM)) {
    const made = Bun.spawnSync(["make", "-s", "build/rdma-shim"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`make build/rdma-shim failed: ${made.stderr.toString()}`);
  }
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-image-`);
  rootfs = `${tmp}/rootfs`;
  const r = Bun.spawnSync([`${ROOT}/deployment/rootfs.sh`, BIN, SHIM, rootfs], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`rootfs.sh failed: ${r.stderr.toString()}`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sha256(file: string): string {
  return new Bun.CryptoHasher("sha256").update(fs.readFileSync(file)).digest("hex");
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`/${path.relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** The libraries the dynamic loader itself resolves for build/rdma, by a second method. */
function lddPaths(): string[] {
  const out = Bun.spawnSync(["ldd", BIN], { stdout: "pipe" }).stdout.toString();
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? "").filter((p) => p !== "");
}

function sh(cmd: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const r = Bun.spawnSync(cmd, { env: opts.env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin), stdout: "pipe", stderr: "pipe" });
  return { status: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("image root filesystem", () => {
  test("holds /rdma, its ELF loader and the libraries it links, /rdma-shim, and nothing else", () => {
    const files = filesUnder(rootfs);
    expect(files).toContain("/rdma");
    expect(files).toContain("/rdma-shim");
    const libs = lddPaths();
    expect(libs.length).toBeGreaterThan(0);
    for (const lib of libs) expect(files.some((f) => path.basename(f) === path.basename(lib))).toBe(true);
    // nothing beyond them: no shell, no tools
    expect(files.length).toBe(2 + new Set(libs.map((l) => path.basename(l))).size);
    expect(files.filter((f) => /\/(s?bin|usr)\//.test(f))).toEqual([]);
  });

  test("has /rdma and /rdma-shim byte-identical to build/rdma and build/rdma-shim, executable", () => {
    expect(sha256(`${rootfs}/rdma`)).toBe(sha256(BIN));
    expect(sha256(`${rootfs}/rdma-shim`)).toBe(sha256(SHIM));
    for (const f of ["rdma", "rdma-shim"]) expect(fs.statSync(`${rootfs}/${f}`).mode & 0o111).toBe(0o111);
  });

  test("the shim is static: no ELF interpreter, no shared library", () => {
    expect(sh(["readelf", "-l", `${rootfs}/rdma-shim`]).stdout).not.toContain("Requesting program interpreter");
    expect(sh(["readelf", "-d", `${rootfs}/rdma-shim`]).stdout).not.toContain("(NEEDED)");
  });

  test("rootfs.sh refuses a shim that is not static", () => {
    const r = sh([`${ROOT}/deployment/rootfs.sh`, BIN, BIN, `${tmp}/refused`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${BIN} is not statically linked`);
    expect(fs.existsSync(`${tmp}/refused`)).toBe(false);
  });

  test("has the mount point the DaemonSet mounts the host's CNI bin dir on", () => {
    expect(fs.statSync(`${rootfs}/host/opt/cni/bin`).isDirectory()).toBe(true);
  });
});

describe.skipIf(!isRoot)("image root filesystem in a chroot, read-only like the DaemonSet's", () => {
  let root: string;
  let hostBin: string;
  const mounted: string[] = [];
  const mount = (args: string[], target: string) => {
    const r = sh(["mount", ...args, target]);
    if (r.status !== 0) throw new Error(`mount ${args.join(" ")} ${target}: ${r.stderr}`);
    mounted.push(target);
  };

  beforeAll(() => {
    root = `${tmp}/ro-root`;
    hostBin = `${tmp}/host-cni-bin`;
    fs.mkdirSync(root);
    fs.mkdirSync(hostBin);
    mount(["--bind", rootfs], root);
    mount(["-o", "remount,bind,ro"], root);
    mount(["-t", "proc", "proc"], `${root}/proc`);
    mount(["--bind", hostBin], `${root}/host/opt/cni/bin`);
  });
  afterAll(() => {
    for (const target of mounted.reverse()) sh(["umount", target]);
  });

  test("the root really is read-only", () => {
    expect(sh([CHROOT, root, "/rdma", "install", "--cni-bin-dir", "/", "--no-sleep"]).stderr).toContain("EROFS");
  });

  test("/rdma --version runs with nothing but the image's files", () => {
    const r = sh([CHROOT, root, "/rdma", "--version"], { env: {} });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rdma CNI plugin version \S+ commit \S+ built \S+\n$/);
  });

  test("a CNI VERSION call answers with the supported versions", () => {
    const r = sh([CHROOT, root, "/rdma"], { env: { CNI_COMMAND: "VERSION" }, stdin: '{"cniVersion":"1.1.0"}' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });

  test("the entrypoint's install puts /rdma as rdma-engine and /rdma-shim as rdma into the mounted host dir", () => {
    const r = sh([CHROOT, root, "/rdma", "install", "--no-sleep"], { env: {} });
    expect(r.status).toBe(0);
    // what the image holds (build/ may have been rebuilt since the rootfs was assembled)
    expect(sha256(`${hostBin}/rdma-engine`)).toBe(sha256(`${rootfs}/rdma`));
    expect(sha256(`${hostBin}/rdma`)).toBe(sha256(`${rootfs}/rdma-shim`));
    // and the installed pair answers as the runtime on the host calls it, with no engine running
    const v = sh([`${hostBin}/rdma`], { env: { CNI_COMMAND: "VERSION", RDMA_CNI_ENGINE_SOCKET: `${tmp}/no-engine.sock` }, stdin: '{"cniVersion":"1.1.0"}' });
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout).supportedVersions).toContain("1.1.0");
  }, 60_000);

  test("/rdma-shim in the image runs with nothing but itself (it finds no rdma-engine there)", () => {
    const r = sh([CHROOT, root, "/rdma-shim"], { env: { CNI_COMMAND: "VERSION", RDMA_CNI_ENGINE_SOCKET: "/no-engine.sock" }, stdin: '{"cniVersion":"1.1.0"}' });
    // it started (a static executable needs no loader) and says why it cannot go on
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 5 });
    expect(r.stdout).toContain("the one-shot engine /rdma-engine cannot run");
  });
});

// buildah from Debian's archive builds FROM scratch here (chroot isolation, as root).
const buildahWorks = isRoot && Bun.which("buildah") !== null && Bun.spawnSync(["buildah", "info"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;

describe.skipIf(!buildahWorks)("the image built FROM scratch with buildah", () => {
  const tag = `localhost/rdma-cni-layout-test:${process.pid}`;
  let container = "";
  beforeAll(() => {
    const built = sh(["buildah", "build", "--quiet", "-f", `${ROOT}/deployment/Dockerfile.scratch`, "-t", tag, rootfs]);
    if (built.status !== 0) throw new Error(`buildah build: ${built.stderr}`);
    container = sh(["buildah", "from", tag]).stdout.trim();
  }, 120_000);
  afterAll(() => {
    if (container) sh(["buildah", "rm", container]);
    sh(["buildah", "rmi", tag]);
  }, 60_000);

  test("has the installer as its entrypoint", () => {
    const config = JSON.parse(sh(["buildah", "inspect", "--type", "image", tag]).stdout);
    expect(config.OCIv1.config.Entrypoint).toEqual(["/rdma", "install"]);
  });

  test("runs /rdma install in a container and installs into a mounted dir", () => {
    const hostBin = `${tmp}/buildah-cni-bin`;
    fs.mkdirSync(hostBin);
    const r = sh(["buildah", "run", "--isolation", "chroot", "-v", `${hostBin}:/host/opt/cni/bin`, container, "/rdma", "install", "--no-sleep"]);
    expect(r.status).toBe(0);
    // what the image holds (build/ may have been rebuilt since the rootfs was assembled)
    expect(sha256(`${hostBin}/rdma-engine`)).toBe(sha256(`${rootfs}/rdma`));
    expect(sha256(`${hostBin}/rdma`)).toBe(sha256(`${rootfs}/rdma-shim`));
  }, 60_000);
});
