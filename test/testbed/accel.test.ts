/**
 * The test bed's choice of accelerator (test/vm/lib.sh, tb_choose_accel), against stand-in
 * `qemu-system-x86_64` executables earlier on PATH: one that aborts as qemu does on a KVM that
 * cannot run a guest, one that hangs, one that exits with an error, one whose guest boots. No
 * real VM runs; a regular file stands in for /dev/kvm.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const LIB = `${import.meta.dir}/../vm/lib.sh`;
let tmp: string;

// Every stand-in answers --version (the verdict's key) and counts its boots.
const PROLOGUE = `#!/bin/sh
if [ "$1" = --version ]; then echo "QEMU emulator version \${STANDIN_VERSION:-7.2.0}"; exit 0; fi
echo boot >>"$STANDIN_COUNT"
`;
const STANDINS: Record<string, string> = {
  abort: `echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \\\`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
kill -ABRT $$
`,
  hang: "exec sleep 600\n",
  error: `echo "qemu-system-x86_64: Could not access KVM kernel module: Permission denied" >&2
echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2
exit 1
`,
  // Boots: writes what the guest's /init writes on the console (-serial file:PATH), exits as
  // isa-debug-exit makes qemu exit (2 * 0 + 1).
  boots: `for a in "$@"; do case "$a" in file:*) console=\${a#file:} ;; esac; done
printf 'testbed-guest: ready after 0.9s\\r\\nTB_EXIT=0\\r\\n' >>"$console"
exit 1
`,
  guestFails: `for a in "$@"; do case "$a" in file:*) console=\${a#file:} ;; esac; done
printf 'testbed-guest: boot failed: insmod\\r\\nTB_EXIT=125\\r\\n' >>"$console"
exit 251
`,
};

beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-accel-`);
  for (const [name, body] of Object.entries(STANDINS)) {
    fs.mkdirSync(`${tmp}/bin-${name}`);
    fs.writeFileSync(`${tmp}/bin-${name}/qemu-system-x86_64`, PROLOGUE + body, { mode: 0o755 });
  }
  fs.mkdirSync(`${tmp}/kernel/root/boot`, { recursive: true });
  fs.writeFileSync(`${tmp}/kernel/root/boot/vmlinuz-6.1.0-0-amd64`, "not a kernel");
  fs.writeFileSync(`${tmp}/base.cpio`, "");
  fs.writeFileSync(`${tmp}/kvm`, "");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Choice {
  status: number;
  accel: string;
  args: string;
  log: string;
  boots: number;
  seconds: number;
}

/** Sources lib.sh and runs tb_choose_accel with `standin` first on PATH and a fresh or given cache. */
function choose(standin: string, opts: { kvm?: string; cache?: string; kvmDevice?: string; version?: string } = {}): Choice {
  const cache = opts.cache ?? fs.mkdtempSync(`${tmp}/cache-`);
  const count = `${tmp}/count-${standin}-${Math.random().toString(36).slice(2)}`;
  const script = `. "${LIB}"
TB_KVM_DEV='${opts.kvmDevice ?? `${tmp}/kvm`}'
TB_KVER=6.1.0-0-amd64
TB_KDIR='${tmp}/kernel'
TB_BASE='${tmp}/base.cpio'
tb_choose_accel
echo "ACCEL=$TB_ACCEL"
echo "ARGS=$TB_ACCEL_ARGS"`;
  const env: Record<string, string> = {
    PATH: `${tmp}/bin-${standin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    RDMA_TESTBED_CACHE: cache,
    RDMA_TESTBED_KVM_PROBE_TIMEOUT: "2",
    STANDIN_COUNT: count,
    STANDIN_VERSION: opts.version ?? "7.2.0",
  };
  if (opts.kvm !== undefined) env.RDMA_TESTBED_KVM = opts.kvm;
  const t0 = performance.now();
  const r = Bun.spawnSync(["bash", "-c", script], { env, stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString();
  return {
    status: r.exitCode ?? -1,
    accel: /^ACCEL=(.*)$/m.exec(out)?.[1] ?? "",
    args: /^ARGS=(.*)$/m.exec(out)?.[1] ?? "",
    log: r.stderr.toString(),
    boots: fs.existsSync(count) ? fs.readFileSync(count, "utf8").split("\n").filter(Boolean).length : 0,
    seconds: (performance.now() - t0) / 1000,
  };
}

describe("test bed accelerator, chosen by trying KVM", () => {
  test("a qemu that aborts on KVM (failed to set MSR) means TCG, with qemu's reason in one line", () => {
    const c = choose("abort");
    expect(c.status).toBe(0);
    expect(c.accel).toBe("tcg");
    expect(c.args).toBe("-accel tcg -cpu max");
    expect(c.boots).toBe(1);
    expect(c.log).toContain("testbed: KVM unusable here (qemu: failed to set MSR 0x10a to 0x69); using TCG");
    expect(c.log.trim().split("\n")).toHaveLength(1);
  });

  test("a KVM guest that shows no sign of life is given up after the deadline: TCG", () => {
    const c = choose("hang");
    expect(c.accel).toBe("tcg");
    expect(c.log).toContain("no sign of life from a KVM guest within 2 s");
    expect(c.log).toContain("using TCG");
    expect(c.seconds).toBeLessThan(15);
  });

  test("qemu exiting with an error means TCG, and says the error", () => {
    const c = choose("error");
    expect(c.accel).toBe("tcg");
    expect(c.log).toContain("qemu: Could not access KVM kernel module: Permission denied");
  });

  test("a probe guest that reports a failure is not a working KVM", () => {
    const c = choose("guestFails");
    expect(c.accel).toBe("tcg");
    expect(c.log).toContain("the probe guest failed (TB_EXIT=125)");
  });

  test("a guest that boots and reports in means KVM", () => {
    const c = choose("boots");
    expect(c.status).toBe(0);
    expect(c.accel).toBe("kvm");
    expect(c.args).toBe("-accel kvm -cpu host");
    expect(c.log).toMatch(/testbed: using KVM \(a guest booted with it in [0-9.]+ s\)/);
  });

  test("the verdict is kept: a second choice boots nothing, and says where the verdict is", () => {
    const cache = fs.mkdtempSync(`${tmp}/cache-`);
    expect(choose("abort", { cache }).boots).toBe(1);
    const again = choose("abort", { cache });
    expect(again.boots).toBe(0);
    expect(again.accel).toBe("tcg");
    expect(again.log).toContain("failed to set MSR 0x10a");
    expect(again.log).toContain(`kept in ${cache}/accel/`);
    const ok = fs.mkdtempSync(`${tmp}/cache-`);
    choose("boots", { cache: ok });
    const okAgain = choose("boots", { cache: ok });
    expect(okAgain.boots).toBe(0);
    expect(okAgain.accel).toBe("kvm");
  });

  test("another qemu (or kernel) probes again instead of trusting the old verdict", () => {
    const cache = fs.mkdtempSync(`${tmp}/cache-`);
    expect(choose("abort", { cache, version: "7.2.0" }).accel).toBe("tcg");
    const upgraded = choose("boots", { cache, version: "8.0.0" });
    expect(upgraded.boots).toBe(1);
    expect(upgraded.accel).toBe("kvm");
  });

  test("RDMA_TESTBED_KVM=1 fails loudly where KVM cannot run a guest", () => {
    const c = choose("abort", { kvm: "1" });
    expect(c.status).not.toBe(0);
    expect(c.accel).toBe("");
    expect(c.log).toContain("RDMA_TESTBED_KVM=1, but KVM is unusable here (qemu: failed to set MSR 0x10a to 0x69)");
  });

  test("RDMA_TESTBED_KVM=1 uses KVM where it works", () => {
    expect(choose("boots", { kvm: "1" }).accel).toBe("kvm");
  });

  test("RDMA_TESTBED_KVM=0 is TCG without a probe, even where KVM works", () => {
    const c = choose("boots", { kvm: "0" });
    expect(c.accel).toBe("tcg");
    expect(c.boots).toBe(0);
    expect(c.log).toContain("using TCG (RDMA_TESTBED_KVM=0)");
  });

  test("no KVM device means TCG without a probe", () => {
    const c = choose("boots", { kvmDevice: `${tmp}/no-such-kvm` });
    expect(c.accel).toBe("tcg");
    expect(c.boots).toBe(0);
    expect(c.log).toContain(`KVM unusable here (no ${tmp}/no-such-kvm); using TCG`);
  });

  test("a bad RDMA_TESTBED_KVM value is refused, naming the variable", () => {
    const c = choose("boots", { kvm: "yes" });
    expect(c.status).not.toBe(0);
    expect(c.log).toContain("RDMA_TESTBED_KVM is 'yes'");
  });
});
