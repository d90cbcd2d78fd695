/**
 * The engine's memory against its pool size, for the DaemonSet's memory limit (docs/deploy.md,
 * "Resources"). Runs on the host, no RDMA needed: for each pool size N it starts the compiled
 * engine with `--max-workers N`, holds one device's lock, and sends 2N DELs through the shim, each
 * for an attachment of that device: N of them wait on the lock inside the engine (every thread
 * busy), N in the listen backlog. While they wait it samples the engine's RSS, runs one probe
 * (`rdma engine --check`) beside it, as the kubelet does in the same cgroup, then lets the calls go.
 *   bun bench/engine-memory.ts [ENGINE [SHIM [N ...]]]     (defaults: build/rdma build/rdma-shim 1 4 8 16 32)
 * Prints one line per N: idle and busy RSS (VmRSS, its anonymous and file parts), the peak
 * (VmHWM), thread count, the cgroup's charge, the probe's own peak and anonymous RSS, and how the
 * calls ended. RDMA_BENCH_LIMIT="BASE PER_WORKER" runs each N under a memory limit (as the
 * kubelet sets one) of BASE + PER_WORKER x N MiB. Needs root (cgroups) and flock(1).
 * Results and what follows from them: docs/deploy.md, "The engine's memory limit".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { attachmentKey, FileStore } from "../src/state/store.ts";

const [engineExe = "build/rdma", shimExe = "build/rdma-shim", ...sizeArgs] = process.argv.slice(2);
const sizes = sizeArgs.length > 0 ? sizeArgs.map(Number) : [1, 4, 8, 16, 32];
const DEVICE = "0000:03:00.5";
/** RDMA_BENCH_LIMIT="BASE PER_WORKER" (MiB): run each N under a memory limit of BASE + PER_WORKER * N. */
const LIMIT = (() => {
  const v = process.env.RDMA_BENCH_LIMIT?.split(/\s+/).map(Number);
  return v && v.length === 2 ? { base: v[0] ?? 0, perWorker: v[1] ?? 0 } : undefined;
})();

/**
 * A memory cgroup of its own for the engine and its probe, as the pod has (cgroup v1's memory
 * controller or cgroup v2); its peak is what a memory limit is compared with: anonymous memory,
 * the executable's pages the engine touched (charged to it when they were not cached before: the
 * engine runs a fresh copy whose cache was dropped) and kernel memory.
 */
class MemoryCgroup {
  readonly dir: string;
  readonly v1: boolean;
  constructor(name: string) {
    this.v1 = fs.existsSync("/sys/fs/cgroup/memory/cgroup.procs");
    this.dir = this.v1 ? `/sys/fs/cgroup/memory/${name}` : `/sys/fs/cgroup/${name}`;
    fs.mkdirSync(this.dir);
  }
  /** argv run inside the cgroup (a shell moves itself in, then execs). */
  wrap(argv: string[]): string[] {
    return ["sh", "-c", `echo $$ > ${this.dir}/cgroup.procs && exec "$@"`, "sh", ...argv];
  }
  private read(file: string): string {
    return fs.readFileSync(`${this.dir}/${file}`, "utf8");
  }
  private stat(key: string): number {
    return Number(new RegExp(`^${key} (\\d+)`, "m").exec(this.read("memory.stat"))?.[1] ?? Number.NaN);
  }
  /** MiB: now, peak, and the anonymous and file-backed parts now. */
  usage(): { now: number; peak: number; anon: number; file: number } {
    const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
    if (this.v1) return { now: mib(Number(this.read("memory.usage_in_bytes"))), peak: mib(Number(this.read("memory.max_usage_in_bytes"))), anon: mib(this.stat("rss")), file: mib(this.stat("cache")) };
    return { now: mib(Number(this.read("memory.current"))), peak: mib(Number(this.read("memory.peak"))), anon: mib(this.stat("anon")), file: mib(this.stat("file")) };
  }
  /** Sets the memory limit (bytes), as the kubelet does for the container's limit. */
  limit(mib: number): void {
    fs.writeFileSync(`${this.dir}/${this.v1 ? "memory.limit_in_bytes" : "memory.max"}`, String(mib * 1024 * 1024));
  }
  /** OOM kills in the cgroup so far. */
  oomKills(): number {
    const text = this.read(this.v1 ? "memory.oom_control" : "memory.events");
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  }
  remove(): void {
    fs.rmdirSync(this.dir);
  }
}

interface Status {
  rss: number;
  anon: number;
  file: number;
  hwm: number;
  threads: number;
}

/** /proc/PID/status in MiB (threads as a count). */
function status(pid: number): Status {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
  const mib = (key: string) => Math.round((kib(key) / 1024) * 10) / 10;
  return { rss: mib("VmRSS"), anon: mib("RssAnon"), file: mib("RssFile"), hwm: mib("VmHWM"), threads: kib("Threads") };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Samples until the value has not grown for `quietMs`: the pool has started its threads and they wait. */
async function settle(pid: number, quietMs: number): Promise<Status> {
  let last = status(pid);
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await Bun.sleep(200);
    const now = status(pid);
    if (now.rss > last.rss + 0.5 || now.threads !== last.threads) since = Date.now();
    last = now;
  }
  return last;
}

async function measure(n: number): Promise<string> {
  const tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-engine-memory-`);
  const socket = `${tmp}/run/engine.sock`;
  // a fresh copy, written back and dropped from the page cache, so its pages are charged to the cgroup
  const exe = `${tmp}/rdma`;
  fs.copyFileSync(engineExe, exe);
  fs.chmodSync(exe, 0o755);
  Bun.spawnSync(["sync", exe]);
  Bun.spawnSync(["dd", `if=${exe}`, "iflag=nocache", "count=0", "status=none"]);
  const cg = new MemoryCgroup(`rdma-engine-memory-${process.pid}-${n}`);
  const limitMiB = LIMIT ? LIMIT.base + LIMIT.perWorker * n : undefined;
  if (limitMiB !== undefined) cg.limit(limitMiB);
  const engine = Bun.spawn(cg.wrap([exe, "engine", "--socket", socket, "--max-workers", String(n)]), { stdout: "ignore", stderr: "inherit" });
  try {
    await waitFor(() => fs.existsSync(socket), 30_000, "the engine's socket");
    const idle = await settle(engine.pid, 2000);
    const store = new FileStore(`${tmp}/state`).init();
    // flock(1) hands the lock's fd to cat, which holds it until its stdin closes
    const holder = Bun.spawn(["flock", store.deviceLockPath(DEVICE), "cat"], { stdin: "pipe", stdout: "ignore" });
    await Bun.sleep(200);
    const calls = Array.from({ length: 2 * n }, (_, i) => {
      const containerId = `c${i}`;
      const record = { version: 1, network: "n", containerId, ifName: "net1", deviceId: DEVICE, rdmaDevice: "mlx5_0", rdmaIndex: 1, netns: "/nonexistent", phase: "attached", createdAt: "x", updatedAt: "x" };
      fs.writeFileSync(store.recordPath(attachmentKey("n", containerId, "net1")), JSON.stringify(record));
      const env = { RDMA_CNI_ENGINE_SOCKET: socket, CNI_COMMAND: "DEL", CNI_CONTAINERID: containerId, CNI_NETNS: "", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: `${tmp}/state`, RDMA_CNI_LOCK_TIMEOUT_MS: "600000" };
      return Bun.spawn([shimExe], { env, stdin: new TextEncoder().encode(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "rdma" })), stdout: "pipe", stderr: "pipe" });
    });
    const busy = await settle(engine.pid, 3000);
    // The probe queues behind the busy threads (the kubelet would time it out); what it costs is its start.
    const cgBusy = cg.usage();
    const probe = await runProbe(cg.wrap([exe, "engine", "--check", "--socket", socket, "--timeout-ms", "2000"]));
    holder.stdin.end();
    const codes = await Promise.all(calls.map((c) => c.exited));
    const firstFailed = calls.find((c) => c.exitCode !== 0);
    const failure = firstFailed ? (await new Response(firstFailed.stdout).text()).trim().slice(0, 160) : "";
    const alive = engine.exitCode === null && engine.signalCode === null;
    const after = alive ? status(engine.pid) : undefined;
    const cgAfter = cg.usage();
    const failed = codes.filter((c) => c !== 0).length;
    return [
      `N=${n}`,
      `idle rss ${idle.rss} (anon ${idle.anon}, file ${idle.file}) threads ${idle.threads}`,
      `busy rss ${busy.rss} (anon ${busy.anon}, file ${busy.file}) threads ${busy.threads}`,
      `peak ${after?.hwm ?? `(engine ended: ${engine.signalCode ?? engine.exitCode})`}`,
      `cgroup busy ${cgBusy.now} (anon ${cgBusy.anon}, file ${cgBusy.file}) peak ${cgAfter.peak}`,
      `probe peak ${probe.hwm} anon ${probe.anon} (exit ${probe.exit})`,
      `calls ${codes.length} failed ${failed}${failure ? ` (first: ${failure})` : ""}`,
      ...(limitMiB !== undefined ? [`limit ${limitMiB} MiB: oom kills ${cg.oomKills()}, engine ${alive ? "alive" : `ended by ${engine.signalCode ?? `exit ${engine.exitCode}`}`}`] : []),
    ].join(" | ");
  } finally {
    engine.kill("SIGTERM");
    await engine.exited;
    await Bun.sleep(100);
    cg.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * One probe's peak and anonymous RSS, sampled while it runs. Its answer queues behind the busy
 * threads, so it fails at its 2 s timeout; one still running after 4 s (an executable from before
 * check.ts closed its connection at the timeout) is killed, as the kubelet would at timeoutSeconds.
 */
async function runProbe(argv: string[]): Promise<{ hwm: number; anon: number; exit: string }> {
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore" });
  const stopAt = Date.now() + 4000;
  let hwm = 0;
  let anon = 0;
  while (p.exitCode === null && p.signalCode === null && Date.now() < stopAt) {
    try {
      // a process between fork and exec, or already a zombie, has no memory lines: NaN, skipped
      const s = status(p.pid);
      if (Number.isFinite(s.hwm)) hwm = Math.max(hwm, s.hwm);
      if (Number.isFinite(s.anon)) anon = Math.max(anon, s.anon);
    } catch {
      break;
    }
    await Bun.sleep(20);
  }
  const stopped = p.exitCode === null && p.signalCode === null;
  if (stopped) p.kill("SIGKILL");
  await p.exited;
  return { hwm, anon, exit: stopped ? "killed after 4 s" : String(p.exitCode) };
}

for (const n of sizes) console.log(await measure(n));
