/**
 * The cache keys of the test bed's fragments (test/vm/lib.sh, tb_key and the tb_*_key functions):
 * each key covers what its fragment is built from, so an edit of lib.sh that does not touch a
 * fragment's build keeps its key (the cached fragment is used), and an edit of one of its inputs
 * changes it (no stale fragment is served). Computed on the host from scratch copies of lib.sh and
 * the files it builds from, with stand-in paths for the fragments a key takes in by name; nothing
 * is built or fetched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const VM = `${import.meta.dir}/../vm`;
const FRAGMENTS = ["module", "sysroot", "base", "plugin", "podman", "containerd"] as const;
type Keys = Record<(typeof FRAGMENTS)[number], string>;

let tmp: string;
let copies = 0;

beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-keys-`);
  fs.writeFileSync(`${tmp}/plugin`, "a stand-in for build/rdma");
  fs.writeFileSync(`${tmp}/other-plugin`, "another build of it");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A scratch copy of test/vm's lib.sh and the files the fragments are built from, edited. */
function scratch(edit: (dir: string) => void = () => {}): string {
  const dir = `${tmp}/vm-${copies++}`;
  fs.mkdirSync(dir);
  fs.copyFileSync(`${VM}/lib.sh`, `${dir}/lib.sh`);
  for (const sub of ["guest", "tools", "module"]) fs.cpSync(`${VM}/${sub}`, `${dir}/${sub}`, { recursive: true });
  edit(dir);
  return dir;
}

/** Replaces `from` (which must be there) in DIR/FILE. */
function replaceIn(dir: string, file: string, from: string, to: string) {
  const text = fs.readFileSync(`${dir}/${file}`, "utf8");
  expect(text).toContain(from);
  fs.writeFileSync(`${dir}/${file}`, text.replace(from, to));
}

/** The keys of every fragment as the lib.sh in DIR computes them, with the inputs `vars` sets. */
function keys(dir: string, vars = ""): Keys {
  const script = `set -e
. "$1/lib.sh"
TB_KVER=6.1.0-0-amd64 TB_CNI_DIR=/cache/cni/containernetworking-plugins_1.1.1_amd64
TB_MODULE=/cache/module/0123/rdma_sim.ko TB_BUSYBOX_DIR=/cache/busybox/busybox_1.35.0_amd64
TB_SYSROOT="" TB_PLUGIN=$2/plugin
debs="/cache/debs/podman_4.3.1_amd64.deb /cache/debs/libc6_2.36_amd64.deb"
${vars}
echo "module $(tb_module_key)"
echo "sysroot $(tb_sysroot_key $debs)"
echo "base $(tb_base_key)"
echo "plugin $(tb_plugin_key)"
echo "podman $(tb_podman_key $debs)"
echo "containerd $(tb_containerd_key $debs)"
`;
  const r = Bun.spawnSync(["bash", "-c", script, "keys", dir, tmp], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", RDMA_TESTBED_CACHE: `${tmp}/cache` },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.stderr.toString()).not.toContain("testbed: error");
  expect(r.exitCode).toBe(0);
  const out = Object.fromEntries(r.stdout.toString().trim().split("\n").map((l) => l.split(" "))) as Keys;
  for (const f of FRAGMENTS) expect(out[f]).toMatch(/^[0-9a-f]{16}$/);
  return out;
}

/** The fragments whose keys differ between a and b. */
function changed(a: Keys, b: Keys): string[] {
  return FRAGMENTS.filter((f) => a[f] !== b[f]);
}

describe("fragment keys", () => {
  let before: Keys;
  beforeAll(() => {
    before = keys(scratch());
  });

  test("are the same when computed twice, and differ between fragments", () => {
    expect(keys(scratch())).toEqual(before);
    expect(new Set(Object.values(before)).size).toBe(FRAGMENTS.length);
  });

  const keeps: [string, (dir: string) => void][] = [
    ["an edit of tb_log, which builds nothing", (d) => replaceIn(d, "lib.sh", `"testbed: $*"`, `"test bed: $*"`)],
    ["a comment in tb_build_base", (d) => replaceIn(d, "lib.sh", "tb_build_base() {\n", "tb_build_base() {\n\t# a note\n")],
    ["a new function", (d) => fs.appendFileSync(`${d}/lib.sh`, "tb_new() { echo new; }\n")],
    ["an edit of the accelerator's choice", (d) => replaceIn(d, "lib.sh", "RDMA_TESTBED_KVM_PROBE_TIMEOUT:-30", "RDMA_TESTBED_KVM_PROBE_TIMEOUT:-40")],
  ];
  test.each(keeps)("keep every key after %s", (_name, edit) => {
    expect(changed(before, keys(scratch(edit)))).toEqual([]);
  });

  const changes: [string, (dir: string) => void, string[]][] = [
    ["an edit of tb_copy_libs", (d) => replaceIn(d, "lib.sh", "tb_copy_libs() {\n", "tb_copy_libs() {\n\t: edited\n"), ["base", "plugin", "podman", "containerd"]],
    ["an edit of tb_build_module", (d) => replaceIn(d, "lib.sh", "tb_build_module() {\n", "tb_build_module() {\n\t: edited\n"), ["module"]],
    ["an edit of tb_prepare_sysroot", (d) => replaceIn(d, "lib.sh", "tb_prepare_sysroot() {\n", "tb_prepare_sysroot() {\n\t: edited\n"), ["sysroot"]],
    ["an edit of tb_guest_modules", (d) => replaceIn(d, "lib.sh", "tb_guest_modules() {\n", "tb_guest_modules() {\n\t: edited\n"), ["base"]],
    ["an edit of tb_prepare_podman", (d) => replaceIn(d, "lib.sh", "tb_prepare_podman() {\n", "tb_prepare_podman() {\n\t: edited\n"), ["podman"]],
    ["an edit of tb_podman_image_tar", (d) => replaceIn(d, "lib.sh", "tb_podman_image_tar() {\n", "tb_podman_image_tar() {\n\t: edited\n"), ["podman", "containerd"]],
    ["an edit of tb_oci_archive", (d) => replaceIn(d, "lib.sh", "tb_oci_archive() {\n", "tb_oci_archive() {\n\t: edited\n"), ["containerd"]],
    ["an edit of the guest's init", (d) => fs.appendFileSync(`${d}/guest/init`, "# edited\n"), ["base"]],
    ["an edit of rdma-nlprobe.c", (d) => fs.appendFileSync(`${d}/tools/rdma-nlprobe.c`, "/* edited */\n"), ["base"]],
    ["an edit of rdma_sim.c", (d) => fs.appendFileSync(`${d}/module/rdma_sim.c`, "/* edited */\n"), ["module"]],
    ["an edit of podman's containers.conf", (d) => fs.appendFileSync(`${d}/guest/podman/containers.conf`, "# edited\n"), ["podman"]],
    ["an edit of containerd's setup.sh", (d) => fs.appendFileSync(`${d}/guest/containerd/setup.sh`, "# edited\n"), ["containerd"]],
    ["an edit of pause.c", (d) => fs.appendFileSync(`${d}/tools/pause.c`, "/* edited */\n"), ["containerd"]],
  ];
  test.each(changes)("after %s, change the keys of the fragments built with it", (_name, edit, which) => {
    expect(changed(before, keys(scratch(edit)))).toEqual(which);
  });

  const inputs: [string, string, string[]][] = [
    ["another kernel", "TB_KVER=6.1.0-1-amd64", ["module", "base"]],
    ["another rdma_sim.ko", "TB_MODULE=/cache/module/4567/rdma_sim.ko", ["base"]],
    ["another busybox", "TB_BUSYBOX_DIR=/cache/busybox/busybox_1.36.0_amd64", ["base", "podman", "containerd"]],
    ["other CNI plugins", "TB_CNI_DIR=/cache/cni/containernetworking-plugins_1.2.0_amd64", ["base", "containerd"]],
    ["another .deb", 'debs="/cache/debs/podman_4.3.2_amd64.deb /cache/debs/libc6_2.36_amd64.deb"', ["sysroot", "podman", "containerd"]],
    ["another plugin", "TB_PLUGIN=$2/other-plugin", ["plugin"]],
  ];
  test.each(inputs)("with %s, change the keys of the fragments built from it", (_name, vars, which) => {
    expect(changed(before, keys(scratch(), vars))).toEqual(which);
  });
});
