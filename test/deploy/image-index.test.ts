/**
 * `make image`: the amd64 and arm64 images FROM scratch and the manifest list naming both. The
 * list is pushed here to an OCI layout directory (the index a registry receives; without --all,
 * which would also compress and copy both 115 MB images: half a minute) and read back; each
 * image's manifest and config come from buildah, and each platform's image picked through the
 * list runs `/rdma --version` with buildah (the arm64 one under qemu-user, by the binfmt_misc
 * entry test/run-host-tests registers). Where buildah works.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

// Two 115 MB root filesystems copied into images (and, on a fresh checkout, the executables built).
setDefaultTimeout(300_000);
const ROOT = `${import.meta.dir}/../..`;
const isRoot = process.getuid?.() === 0;
const buildahWorks = isRoot && Bun.which("buildah") !== null && Bun.spawnSync(["buildah", "info"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
const IMAGE = `localhost/rdma-cni-index-test:t${process.pid}`;
const ELF_MACHINE: Record<string, number> = { amd64: 62, arm64: 183 };
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

function sh(cmd: string[], cwd = ROOT) {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ""}` } });
  return { status: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { os: string; architecture: string };
}

describe.skipIf(!buildahWorks)("make image: the OCI image index for amd64 and arm64", () => {
  let tmp: string;
  let layout: string;
  const containers: string[] = [];
  const blob = (d: string) => JSON.parse(fs.readFileSync(`${layout}/blobs/${d.replace(":", "/")}`, "utf8"));

  beforeAll(() => {
    tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-index-`);
    layout = `${tmp}/oci`;
    const made = sh(["make", "-s", "image", `IMAGE=${IMAGE}`]);
    if (made.status !== 0) throw new Error(`make image failed: ${made.stderr}${made.stdout}`);
    const pushed = sh(["buildah", "manifest", "push", "--quiet", "--format", "oci", IMAGE, `oci:${layout}:latest`]);
    if (pushed.status !== 0) throw new Error(`buildah manifest push: ${pushed.stderr}`);
  });
  afterAll(() => {
    for (const c of containers) sh(["buildah", "rm", c]);
    sh(["buildah", "manifest", "rm", IMAGE]);
    sh(["buildah", "rmi", `${IMAGE}-amd64`, `${IMAGE}-arm64`]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function platformManifests(): Descriptor[] {
    const top = JSON.parse(fs.readFileSync(`${layout}/index.json`, "utf8"));
    expect(top.manifests).toHaveLength(1);
    const ref: Descriptor = top.manifests[0];
    expect(ref.mediaType).toBe(OCI_INDEX);
    const index = blob(ref.digest);
    expect(index.mediaType).toBe(OCI_INDEX);
    return index.manifests;
  }

  test("the index names exactly one linux/amd64 and one linux/arm64 image manifest", () => {
    const ms = platformManifests();
    expect(ms.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort()).toEqual(["linux/amd64", "linux/arm64"]);
    for (const m of ms) expect(m.mediaType).toBe(OCI_MANIFEST);
  });

  test("its entries are the images make image tagged <image>-<arch>, each configured for its platform, running /rdma install", () => {
    for (const m of platformManifests()) {
      const arch = m.platform?.architecture ?? "";
      const r = sh(["buildah", "inspect", "--type", "image", `${IMAGE}-${arch}`]);
      expect(r.stderr).toBe("");
      const image = JSON.parse(r.stdout);
      expect(image.FromImageDigest).toBe(m.digest);
      const config = JSON.parse(image.Config);
      expect(`${config.os}/${config.architecture}`).toBe(`linux/${arch}`);
      expect(config.config.Entrypoint).toEqual(["/rdma", "install"]);
      expect(JSON.parse(image.Manifest).layers.length).toBeGreaterThan(0);
    }
  });

  for (const arch of ["amd64", "arm64"]) {
    test(`the ${arch} image's /rdma is a ${arch} executable and answers --version`, () => {
      const from = sh(["buildah", "from", "--pull=never", "--platform", `linux/${arch}`, IMAGE]);
      expect(from.stderr).toBe("");
      const c = from.stdout.trim();
      containers.push(c);
      const mnt = sh(["buildah", "mount", c]).stdout.trim();
      const head = fs.readFileSync(`${mnt}/rdma`).subarray(0, 20);
      sh(["buildah", "umount", c]);
      expect(head.readUInt16LE(18)).toBe(ELF_MACHINE[arch] ?? -1);
      const run = sh(["buildah", "run", "--isolation", "chroot", c, "/rdma", "--version"]);
      if (run.status !== 0) throw new Error(`buildah run /rdma --version (${arch}): ${run.stderr} (arm64 needs qemu-user-static registered with binfmt_misc, flag F: test/run-host-tests does it)`);
      const version = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, "utf8")).version;
      expect(run.stdout).toMatch(new RegExp(`^rdma CNI plugin version ${version.replaceAll(".", "\\.")} commit [0-9a-f]+ built \\S+\\n$`));
    });
  }
});
