/**
 * The image's root filesystem, as deployment/rootfs.sh assembles it from build/rdma: exactly the
 * executable, its loader and libraries, and it works as a container would run it: chroot into
 * a read-only copy with /proc mounted, then --version, CNI VERSION and `install` into a bind-
 * mounted host dir. Where buildah works, the same through a real image FROM scratch.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = `${import.meta.dir}/../..`;
// Each test copies or hashes the 109 MB executable; on a busy 2-core machine that takes seconds.
setDefaultTimeout(60_000);
const BIN = `${ROOT}/build/rdma`;
const isRoot = process.getuid?.() === 0;
const CHROOT = "/usr/sbin/chroot";
let tmp: string;
let rootfs: string;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run make build first`);
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-image-`);
  rootfs = `${tmp}/rootfs`;
  const r = Bun.spawnSync([`${ROOT}/deployment/rootfs.sh`, BIN, rootfs], { stdout: "pipe", stderr: "pipe" });
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
  test("holds /rdma, its ELF loader and the libraries it links, and nothing else", () => {
    const files = filesUnder(rootfs);
    expect(files).toContain("/rdma");
    const libs = lddPaths();
    expect(libs.length).toBeGreaterThan(0);
    for (const lib of libs) expect(files.some((f) => path.basename(f) === path.basename(lib))).toBe(true);
    // nothing beyond them: no shell, no tools
    expect(files.length).toBe(1 + new Set(libs.map((l) => path.basename(l))).size);
    expect(files.filter((f) => /\/(s?bin|usr)\//.test(f))).toEqual([]);
  });

  test("has /rdma byte-identical to build/rdma and executable", () => {
    expect(sha256(`${rootfs}/rdma`)).toBe(sha256(BIN));
    expect(fs.statSync(`${rootfs}/rdma`).mode & 0o111).toBe(0o111);
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

  test("the entrypoint's install copies /rdma into the mounted host dir", () => {
    const r = sh([CHROOT, root, "/rdma", "install", "--no-sleep"], { env: {} });
    expect(r.status).toBe(0);
    expect(sha256(`${hostBin}/rdma`)).toBe(sha256(BIN));
  }, 60_000);
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
    expect(sha256(`${hostBin}/rdma`)).toBe(sha256(BIN));
  }, 60_000);
});
