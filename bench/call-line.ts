/**
 * What the line per call costs (docs/engine.md, "One line per call"): building its fields and
 * writing it, per call, measured against the whole in-process call it describes.
 *   bun bench/call-line.ts [N]
 * The whole call is a DEL of an attachment with no record (state dir on tmpfs-like temp), served
 * by the dispatcher as the engine serves it, once at logLevel warn (no line) and once at info.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { type CniIo, runCni } from "../src/cni/dispatch.ts";
import { CALL_MESSAGE, callLineFields } from "../src/cni/call-line.ts";
import { StreamLogger } from "../src/log.ts";
import { productionFuncs } from "../src/wiring.ts";

const N = Number(process.argv[2] ?? 20000);
const devnull = fs.openSync("/dev/null", "w");
const sink = (s: string) => void fs.writeSync(devnull, s);

/** CPU time (user + system) per call, in µs: on a machine busy with other VMs, wall time mostly measures them. */
function perCallUs(fn: () => void): number {
  for (let i = 0; i < 1000; i++) fn();
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / N;
}

const log = new StreamLogger(sink, "info", { component: "engine" });
const facts = { verb: "ADD", containerId: "3f2a9c0e5b7d41e8a6c2f0b9d8e7a6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9", ifName: "net1", network: "sriov-network", deviceId: "0000:03:00.5", rdmaDevice: "mlx5_3", code: 0, ms: 12.34 };
const line = perCallUs(() => log.info(CALL_MESSAGE, callLineFields(facts)));

const state = fs.mkdtempSync(`${os.tmpdir()}/rdma-bench-callline-`);
const stdin = new TextEncoder().encode(JSON.stringify({ cniVersion: "1.0.0", name: "sriov-network", type: "rdma", deviceID: "0000:03:00.5" }));
const env = { CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: state };
const funcs = productionFuncs();
const call = (logLevel: string) => {
  const conf = new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(stdin)), logLevel }));
  const io: CniIo = { env, readStdin: (max) => conf.subarray(0, max + 1), stdout: () => {}, stderr: sink, report: () => {} };
  return () => void runCni(io, funcs);
};
// Alternated, so that neither level gets all of the machine's quiet moments (or the JIT's warm-up).
let warn = 0;
let info = 0;
for (let round = 0; round < 4; round++) {
  info += perCallUs(call("info")) / 4;
  warn += perCallUs(call("warn")) / 4;
}
fs.rmSync(state, { recursive: true, force: true });
console.log(`N=${N}, CPU time: the line alone ${line.toFixed(2)} us/call; a whole DEL in-process ${warn.toFixed(1)} us at warn (no line), ${info.toFixed(1)} us at info (the line written once, to the call's log)`);
