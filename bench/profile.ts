/**
 * Where a CNI call's time goes, step by step, inside the test VM: compiled like the plugin and
 * run there against a real device by `make bench-profile`.
 * usage: bench-profile DEVICEID NETNS [REPS]
 * Prints, per step, the first run (cold: JIT, FFI) and the median of the rest, in ms; then whole
 * in-process ADD/DEL calls, over the first REPS cycles and over REPS cycles after 4*REPS more
 * (JavaScriptCore compiles hot code in tiers: a long-running engine runs the later figures).
 */
import { type CniIo, runCni } from "../src/cni/dispatch.ts";
import { productionFuncs } from "../src/wiring.ts";
import { LinuxNetns } from "../src/netns/netns.ts";
import { parseDeviceId } from "../src/config/deviceid.ts";
import { NetlinkRdma } from "../src/rdma/netlink.ts";
import { lookupRdmaDevice } from "../src/rdma/sysfs.ts";
import { FileStore } from "../src/state/store.ts";

const [deviceId = "rdma_sim.sf.0", netnsPath = "/var/run/netns/bseq", repsArg = "50"] = process.argv.slice(2);
const reps = Number(repsArg);
const samples = new Map<string, number[]>();
function time<T>(step: string, fn: () => T): T {
  const t0 = performance.now();
  const v = fn();
  const list = samples.get(step) ?? [];
  list.push(performance.now() - t0);
  samples.set(step, list);
  return v;
}

// performance.now() counts from the process's start: here, the runtime's start and the bundle's evaluation
const t0 = performance.now();
console.log(`profile start-up: ${t0.toFixed(1)} ms from process start to the first statement`);
const kernel = new NetlinkRdma();
time("first netlink call (dlopen + FFI compile)", () => kernel.netnsMode());
const netns = new LinuxNetns();
const id = parseDeviceId(deviceId);
const stateDir = "/run/cni/rdma-profile";
const conf = JSON.stringify({ cniVersion: "1.0.0", name: "prof", type: "rdma", deviceID: deviceId, prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1", sandbox: netnsPath }], ips: [] } });
const env = (cmd: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: "prof", CNI_NETNS: netnsPath, CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: stateDir });
const io = (cmd: string): CniIo => ({ env: env(cmd), readStdin: () => new TextEncoder().encode(conf), stdout: () => {}, stderr: (s) => void process.stderr.write(s) });

for (let i = 0; i < reps; i++) {
  time("netlink: netns mode", () => kernel.netnsMode());
  const devs = time("netlink: dump devices (host)", () => kernel.listDevices());
  const lookup = time("sysfs: device lookup", () => lookupRdmaDevice("/sys", id));
  const name = lookup.found === "one" ? lookup.name : "";
  const dev = devs.find((d) => d.name === name);
  if (!dev) throw new Error(`no device ${deviceId}`);
  const store = time("state: open store (mkdir x3 once per process)", () => new FileStore(stateDir).init());
  const lock = time("state: lock", () => store.lockDevice(deviceId, 1000));
  const key = { network: "prof", containerId: "p", ifName: "net1" };
  time("state: get record", () => store.get(key));
  const rec = { version: 1 as const, ...key, deviceId, rdmaDevice: name, rdmaIndex: dev.index, netns: netnsPath, phase: "moving" as const, createdAt: "", updatedAt: "" };
  time("state: put record (write, fsync, rename)", () => store.put(rec));
  const pod = time("netns: open", () => netns.open(netnsPath));
  time("netlink: move in", () => kernel.moveDevice(dev.index, pod.fd));
  time("netlink: dump devices inside pod (setns x2)", () => netns.inside(pod, () => kernel.listDevices()));
  const host = netns.open("/proc/thread-self/ns/net");
  time("netlink: move back from inside pod (setns x2)", () => netns.inside(pod, () => kernel.moveDevice(dev.index, host.fd)));
  netns.close(host);
  netns.close(pod);
  time("state: remove record", () => store.remove(key));
  lock.release();
}
for (let i = 0; i < 6 * reps; i++) {
  const phase = i < reps ? "first cycles" : i >= 5 * reps ? "after warm-up" : "";
  const add = () => runCni(io("ADD"), productionFuncs());
  const del = () => runCni(io("DEL"), productionFuncs());
  if (phase === "") {
    add();
    del();
    continue;
  }
  time(`whole ADD in-process (runCni), ${phase}`, add);
  time(`whole DEL in-process (runCni), ${phase}`, del);
}
console.log(`profile total ${(performance.now() - t0).toFixed(1)} ms, ${reps} reps, process up ${(process.uptime() * 1000).toFixed(0)} ms`);
for (const [step, v] of samples) {
  const rest = v.slice(1).sort((a, b) => a - b);
  const med = rest.length ? rest[Math.floor(rest.length / 2)] ?? 0 : Number.NaN;
  console.log(`profile ${step.padEnd(48)} first ${(v[0] ?? 0).toFixed(2).padStart(8)}  median ${med.toFixed(2).padStart(8)}`);
}
