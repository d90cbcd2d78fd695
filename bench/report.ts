/**
 * Turns the raw output of bench/run (meta lines, then cnibench's "call" lines grouped by scale,
 * mode and load) into the table of issue 5, a JSON file and an SVG chart.
 * usage: bun bench/report.ts RAW.txt OUT.json OUT.svg
 */
import * as fs from "node:fs";

type Verb = "ADD" | "DEL" | "VERSION";
interface Call {
  verb: Verb;
  i: number;
  us: number;
  status: number;
  rssKb: number;
}
interface Series {
  calls: Call[];
  errors: string[];
  check?: { devicesOnHost: number; records: number };
  wall: Partial<Record<Verb, number>>;
  /** every "wall" line, for series made of several rounds (the burst) */
  walls: Partial<Record<Verb, number[]>>;
  /** the devices-home checks of every round */
  checks: { devicesOnHost: number; records: number }[];
}

const [rawPath, jsonPath, svgPath] = process.argv.slice(2);
if (!rawPath || !jsonPath || !svgPath) {
  console.error("usage: bun bench/report.ts RAW.txt OUT.json OUT.svg");
  process.exit(2);
}

const meta: Record<string, string> = {};
const seq = new Map<string, Series>(); // `${scale}/${mode}`
const load = new Map<string, Series>(); // `${scale}/${mode}`
const host = new Map<string, Series>(); // mode
const burst = new Map<string, Series>(); // mode, its rounds in one series
let burstDevices = 0;
const hostDevices = new Map<number, number>();
let engineStatus = "";
/** The quiet node (issue 20): `${section}/${mode}`, section "first", "gap2000", "b2b", ... */
const quiet = new Map<string, Series>();
let quietSection: string | undefined;
/** "engine_rss LABEL VmHWM: N kB VmRSS: N kB": the engine's memory at a moment of the run */
const engineRss: { label: string; rssKb: number; hwmKb: number }[] = [];
const newSeries = (): Series => ({ calls: [], errors: [], wall: {}, walls: {}, checks: [] });
let current: Series | undefined;
let scale = 0;
for (const line of fs.readFileSync(rawPath, "utf8").split("\n")) {
  const w = line.trim().split(/\s+/);
  switch (w[0]) {
    case "meta":
      meta[w[1] ?? ""] = w.slice(2).join(" ");
      break;
    case "host":
      current = newSeries();
      host.set(w[2] ?? "", current);
      break;
    case "quiet":
      quietSection = w[1];
      current = undefined;
      break;
    case "engine_rss":
      engineRss.push({ label: w[1] ?? "", rssKb: Number(w[w.indexOf("VmRSS:") + 1]), hwmKb: Number(w[w.indexOf("VmHWM:") + 1]) });
      break;
    case "scale":
      quietSection = undefined;
      if (w[1] === "burst") {
        burstDevices = Number(w[2]);
        current = undefined;
        break;
      }
      scale = Number(w[1]);
      hostDevices.set(scale, Number(w[2]));
      current = undefined;
      break;
    case "mode": {
      // cnibench alt announces each cycle's mode: a series continues where it left off
      if (quietSection) {
        const q = `${quietSection}/${w[1]}`;
        current = quiet.get(q) ?? newSeries();
        quiet.set(q, current);
        break;
      }
      const key = `${scale}/${w[1]}`;
      current = seq.get(key) ?? newSeries();
      seq.set(key, current);
      break;
    }
    case "load":
      current = newSeries();
      load.set(`${scale}/${w[1]}`, current);
      break;
    case "burst": {
      // "burst MODE PODS DELAY_MS ROUND": a round continues its mode's series
      current = burst.get(w[1] ?? "") ?? newSeries();
      burst.set(w[1] ?? "", current);
      break;
    }
    case "wall":
      if (current) {
        const verb = w[1] as Verb;
        current.wall[verb] = Number(w[2]);
        current.walls[verb] = [...(current.walls[verb] ?? []), Number(w[2])];
      }
      break;
    case "call":
      current?.calls.push({ verb: w[1] as Verb, i: Number(w[2]), us: Number(w[3]), status: Number(w[4]), rssKb: Number(w[5]) });
      break;
    case "error":
      current?.errors.push(w.slice(1).join(" "));
      break;
    case "check": {
      if (w[1] === "quiet") {
        const last = [...quiet.keys()].filter((k) => k.startsWith(`${quietSection}/`));
        for (const k of last) quiet.get(k)?.checks.push({ devicesOnHost: Number(w[4]), records: Number(w[6]) });
        break;
      }
      const s = w[1] === "burst" ? burst.get(w[2] ?? "") : (w[1] === "seq" ? seq : load).get(`${scale}/${w[2]}`);
      if (s) {
        s.check = { devicesOnHost: Number(w[4]), records: Number(w[6]) };
        s.checks.push(s.check);
      }
      break;
    }
    case "engine_status":
      engineStatus = w.slice(1).join(" ");
      break;
    case "fatal":
      console.error(`the guest stopped: ${line}`);
      break;
  }
}

/** Nearest-rank percentile, in milliseconds. */
function pct(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! / 1000;
}
const times = (s: Series | undefined, verb: Verb) => (s?.calls ?? []).filter((c) => c.verb === verb).map((c) => c.us);
/** Each DEL with the ADD of its number before it (a series may repeat numbers: the quiet node's first cycles). */
function cycles(s: Series | undefined): number[] {
  const add = new Map<number, number>();
  const out: number[] = [];
  for (const c of s?.calls ?? []) {
    if (c.verb === "ADD") add.set(c.i, c.us);
    const a = add.get(c.i);
    if (c.verb === "DEL" && a !== undefined) {
      out.push(a + c.us);
      add.delete(c.i);
    }
  }
  return out;
}
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const stat = (v: number[]) => ({ n: v.length, p50: pct(v, 50), p99: pct(v, 99) });
const failed = (s: Series | undefined) => (s?.calls ?? []).filter((c) => c.status !== 0).length;
const maxRssMiB = (s: Series | undefined) => Math.max(0, ...(s?.calls ?? []).map((c) => c.rssKb)) / 1024;

const scales = [...new Set([...seq.keys()].map((k) => Number(k.split("/")[0])))].sort((a, b) => a - b);
const modes = ["floor", "engine", "engine-cold", "floor-oneshot", "oneshot", "fallback"];
/** The floor a mode was timed interleaved with: the one-shot has its own floor cycles. */
const floorOf = (m: string) => (m === "oneshot" || m === "floor-oneshot" ? "floor-oneshot" : "floor");
const result = {
  meta,
  engineStatus,
  host: Object.fromEntries([...host].map(([m, s]) => [m, { version: stat(times(s, "VERSION")), errors: failed(s) }])),
  scales: scales.map((sc) => ({
    devices: hostDevices.get(sc),
    scale: sc,
    modes: Object.fromEntries(
      modes
        .filter((m) => seq.has(`${sc}/${m}`))
        .map((m) => {
          const s = seq.get(`${sc}/${m}`);
          return [m, { add: stat(times(s, "ADD")), del: stat(times(s, "DEL")), cycle: stat(cycles(s)), errors: failed(s), maxRssMiB: maxRssMiB(s), after: s?.check }];
        }),
    ),
    load: Object.fromEntries(
      modes
        .filter((m) => load.has(`${sc}/${m}`))
        .map((m) => {
          const s = load.get(`${sc}/${m}`);
          return [m, { wallMs: { add: (s?.wall.ADD ?? 0) / 1000, del: (s?.wall.DEL ?? 0) / 1000 }, add: stat(times(s, "ADD")), del: stat(times(s, "DEL")), errors: failed(s), errorLines: s?.errors.slice(0, 5), after: s?.check }];
        }),
    ),
  })),
  quiet: Object.fromEntries(
    [...new Set([...quiet.keys()].map((k) => k.split("/")[0] ?? ""))].map((sec) => [
      sec,
      Object.fromEntries(
        [...quiet]
          .filter(([k]) => k.startsWith(`${sec}/`))
          .map(([k, s]) => [k.slice(sec.length + 1), { add: stat(times(s, "ADD")), del: stat(times(s, "DEL")), cycle: stat(cycles(s)), cycleMax: Math.max(...cycles(s)) / 1000, cycleMean: mean(cycles(s)) / 1000, errors: failed(s), after: s.checks }]),
      ),
    ]),
  ),
  engineRss,
  burst: {
    pods: Number(meta.burst ?? 0),
    moveDelayMs: Number(meta.move_delay_ms ?? 0),
    rounds: Number(meta.burst_rounds ?? 0),
    devices: burstDevices,
    modes: Object.fromEntries(
      [...burst].map(([m, s]) => {
        const walls = (verb: Verb) => (s.walls[verb] ?? []).map((us) => us / 1000);
        const home = s.checks.length > 0 && s.checks.every((c) => c.devicesOnHost === burstDevices && c.records === 0);
        return [m, { wallMs: { add: mean(walls("ADD")), del: mean(walls("DEL")) }, wallsMs: { add: walls("ADD"), del: walls("DEL") }, add: stat(times(s, "ADD")), del: stat(times(s, "DEL")), errors: failed(s), errorLines: s.errors.slice(0, 5), everyDeviceHome: home, after: s.checks }];
      }),
    ),
  },
};
fs.writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);

// ---- the table ------------------------------------------------------------------------------
const f = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 2 : 1) : "-");
const r = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-");
const lines: string[] = [];
const row = (cells: string[]) => lines.push(`| ${cells.join(" | ")} |`);
lines.push(`rdma CNI latency, ${meta.date ?? ""}: ${meta.command ?? ""}`);
lines.push(`guest: kernel ${meta.kernel ?? "?"}, ${meta.cpus ?? "?"} vCPU (qemu ${(meta.accel ?? "tcg").toUpperCase()}), ${meta.reps ?? "?"} repetitions; times in ms, from fork to reap`);
lines.push(`engine: timed after ${meta.engine_warmup ?? "?"} untimed cycles (a running engine); engine-cold: the first calls of a new engine`);
lines.push("engine and oneshot are each timed interleaved with the floor, cycle by cycle; oneshot's ratio is to its own floor cycles (floor-oneshot)");
lines.push("");
row(["devices", "mode", "ADD p50", "ADD p99", "DEL p50", "DEL p99", "cycle p50", "cycle p99", "cycle p50 / floor", "errors", "peak RSS MiB"]);
row(Array(11).fill("---"));
for (const s of result.scales) {
  for (const [m, v] of Object.entries(s.modes)) {
    const floor = (s.modes[floorOf(m)] ?? s.modes.floor)?.cycle.p50 ?? Number.NaN;
    row([String(s.devices), m, f(v.add.p50), f(v.add.p99), f(v.del.p50), f(v.del.p99), f(v.cycle.p50), f(v.cycle.p99), r(v.cycle.p50, floor), String(v.errors), v.maxRssMiB.toFixed(1)]);
  }
}
const q = result.quiet;
if (Object.keys(q).length > 0) {
  lines.push("");
  lines.push(
    `quiet node (issue 20), before the scales, each regime on a new engine: cycles with ${meta.quiet_gaps ?? "?"} ms of idle before each, the floor, the engine and the one-shot in turn (${meta.quiet_reps ?? "?"} each); back to back after ${meta.quiet_warmup ?? "?"} untimed cycles (${meta.reps ?? "?"} each, interleaved with the floor); the first cycle of ${meta.quiet_first ?? "?"} new engines, 2 s after each bound its socket (the floor's cycle 2 s before it); cycle p50 (mean), ms`,
  );
  row(["regime", "floor", "shim + engine", "/ floor", "one-shot", "/ floor", "engine cycle max", "errors"]);
  row(Array(8).fill("---"));
  // "first", "gap2000", "b2b", each perhaps with a suffix ("-old": an A/B run names its builds so)
  const label = (sec: string) => {
    const [, kind = sec, ms, suffix = ""] = /^(first|gap|b2b)(\d*)(.*)$/.exec(sec) ?? [];
    const what = kind === "first" ? "first cycle of a new engine" : kind === "b2b" ? `back to back after ${meta.quiet_warmup ?? "?"} warm-ups` : kind === "gap" ? `one cycle every ${Number(ms) / 1000} s` : sec;
    return `${what}${suffix}`;
  };
  for (const [sec, v] of Object.entries(q)) {
    const fl = v.floor?.cycle.p50 ?? Number.NaN;
    const cell = (m: string) => (v[m] ? `${f(v[m].cycle.p50)} (${f(v[m].cycleMean)})` : "-");
    const errors = Object.values(v).reduce((a, m) => a + m.errors, 0);
    row([label(sec), cell("floor"), cell("engine"), r(v.engine?.cycle.p50 ?? Number.NaN, fl), cell("oneshot"), v.oneshot ? r(v.oneshot.cycle.p50, fl) : "-", f(v.engine?.cycleMax ?? Number.NaN), String(errors)]);
  }
  if (engineRss.length > 0) lines.push(`engine memory: ${engineRss.map((e) => `${e.label} RSS ${(e.rssKb / 1024).toFixed(1)} MiB (peak ${(e.hwmKb / 1024).toFixed(1)})`).join("; ")}`);
}
lines.push("");
row(["load", "mode", "ADD wall", "ADD p50", "ADD p99", "DEL wall", "DEL p50", "DEL p99", "p99 / seq p50 (ADD, DEL)", "errors", "devices home, records"]);
row(Array(11).fill("---"));
for (const s of result.scales) {
  for (const [m, v] of Object.entries(s.load)) {
    const sq = s.modes[m];
    row([
      `${meta.load ?? 32} pods, ${s.devices} devices`,
      m,
      f(v.wallMs.add),
      f(v.add.p50),
      f(v.add.p99),
      f(v.wallMs.del),
      f(v.del.p50),
      f(v.del.p99),
      `${r(v.add.p99, sq?.add.p50 ?? Number.NaN)}, ${r(v.del.p99, sq?.del.p50 ?? Number.NaN)}`,
      String(v.errors),
      `${v.after?.devicesOnHost}/${s.devices}, ${v.after?.records}`,
    ]);
  }
}
const bf = result.burst.modes.floor;
if (Object.keys(result.burst.modes).length > 0) {
  lines.push("");
  lines.push(
    `burst: ${result.burst.pods} pods at once (ADDs together, then their DELs together), each its own device and netns, every move sleeping ${result.burst.moveDelayMs} ms in the kernel; ${result.burst.rounds} rounds of the modes in turn; wall = mean over rounds, p50/p99 over every call; engine-cold: one burst on a new engine, before the rounds (its pool starts threads during the burst), ratios to the rounds' floor`,
  );
  row(["burst", "mode", "ADD wall", "ADD wall / floor", "ADD p50", "ADD p99", "ADD p99 / floor", "DEL wall", "DEL wall / floor", "DEL p50", "DEL p99", "DEL p99 / floor", "errors", "every device home"]);
  row(Array(14).fill("---"));
  for (const [m, v] of Object.entries(result.burst.modes)) {
    row([
      `${result.burst.pods} pods, ${result.burst.moveDelayMs} ms/move`,
      m,
      f(v.wallMs.add),
      r(v.wallMs.add, bf?.wallMs.add ?? Number.NaN),
      f(v.add.p50),
      f(v.add.p99),
      r(v.add.p99, bf?.add.p99 ?? Number.NaN),
      f(v.wallMs.del),
      r(v.wallMs.del, bf?.wallMs.del ?? Number.NaN),
      f(v.del.p50),
      f(v.del.p99),
      r(v.del.p99, bf?.del.p99 ?? Number.NaN),
      String(v.errors),
      String(v.everyDeviceHome),
    ]);
  }
}
lines.push("");
for (const [m, v] of Object.entries(result.host)) lines.push(`host VERSION ${m}: p50 ${f(v.version.p50)} ms, p99 ${f(v.version.p99)} ms (host load ${meta.host_load ?? "?"})`);
lines.push(`host load average while the guest ran: ${meta.host_load_during ?? "?"}`);
lines.push(`engine resident memory after the run: ${engineStatus}`);

// ---- the targets ----------------------------------------------------------------------------
const first = result.scales[0];
const last = result.scales[result.scales.length - 1];
const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
lines.push("");
if (first && last) {
  const e1 = first.modes.engine?.cycle.p50 ?? Number.NaN;
  const fl1 = first.modes.floor?.cycle.p50 ?? Number.NaN;
  const eN = last.modes.engine?.cycle.p50 ?? Number.NaN;
  lines.push(`target: fast-path cycle p50 <= 1.5x floor (${first.devices} device): ${r(e1, fl1)} ${verdict(e1 <= 1.5 * fl1)}`);
  const flN = last.modes.floor?.cycle.p50 ?? Number.NaN;
  // The scales run one after the other, and the VM's speed drifts: the floor's own change says how much.
  lines.push(`target: fast-path cycle p50 with ${last.devices} devices <= 1.2x with ${first.devices}: ${r(eN, e1)} ${verdict(eN <= 1.2 * e1)} (the floor moved ${r(flN, fl1)} between the two; engine/floor ${r(eN / flN, e1 / fl1)})`);
  for (const [m, v] of Object.entries(last.load)) {
    const sq = last.modes[m];
    const worst = Math.max(v.add.p99 / (sq?.add.p50 ?? Number.NaN), v.del.p99 / (sq?.del.p50 ?? Number.NaN));
    const home = v.after?.devicesOnHost === last.devices && v.after?.records === 0;
    lines.push(`target (${m}): ${meta.load ?? 32}-way load, 0 errors and p99 <= 3x sequential p50: errors ${v.errors}, devices home ${home}, worst ${worst.toFixed(2)}x ${verdict(v.errors === 0 && home && worst <= 3)}`);
  }
  const co = first.modes.oneshot?.cycle.p50 ?? Number.NaN;
  const flo = (first.modes["floor-oneshot"] ?? first.modes.floor)?.cycle.p50 ?? Number.NaN;
  lines.push(`target: one-shot cycle p50 <= 8x floor (${first.devices} device, the floor's cycles interleaved with it): ${r(co, flo)} ${verdict(co <= 8 * flo)}`);
  const rss = first.modes.oneshot?.maxRssMiB ?? Number.NaN;
  lines.push(`target: one-shot peak RSS per call <= 40 MiB: ${rss.toFixed(1)} MiB ${verdict(rss <= 40)}`);
}
for (const [sec, v] of Object.entries(q)) {
  const e = v.engine?.cycle.p50 ?? Number.NaN;
  const fl = v.floor?.cycle.p50 ?? Number.NaN;
  const limit = sec.startsWith("first") ? 3 : 1.5;
  lines.push(`target: quiet node, ${sec}: shim+engine cycle p50 <= ${limit}x the floor's interleaved with it: ${r(e, fl)} ${verdict(e <= limit * fl)}`);
}
const startRss = Math.max(...engineRss.filter((x) => x.label.startsWith("start")).map((x) => x.rssKb)) / 1024;
if (Number.isFinite(startRss)) lines.push(`target: engine RSS after start <= 64 MiB (the largest of the new engines): ${startRss.toFixed(1)} MiB ${verdict(startRss <= 64)}`);
const loadRss = Math.max(...engineRss.filter((x) => x.label === "load").map((x) => x.hwmKb)) / 1024;
if (Number.isFinite(loadRss)) lines.push(`target: engine peak RSS through the ${meta.load ?? 32}-way load <= 128 MiB: ${loadRss.toFixed(1)} MiB ${verdict(loadRss <= 128)}`);
const be = result.burst.modes.engine;
if (be && bf) {
  const ok = be.wallMs.add <= 1.3 * bf.wallMs.add && be.wallMs.del <= 1.3 * bf.wallMs.del && be.add.p99 <= 2 * bf.add.p99 && be.del.p99 <= 2 * bf.del.p99 && be.errors === 0 && be.everyDeviceHome;
  lines.push(
    `target: burst of ${result.burst.pods} with ${result.burst.moveDelayMs} ms moves, engine wall <= 1.3x floor, p99 <= 2x floor's, 0 errors, every device home: ADD wall ${r(be.wallMs.add, bf.wallMs.add)}, DEL wall ${r(be.wallMs.del, bf.wallMs.del)}, ADD p99 ${r(be.add.p99, bf.add.p99)}, DEL p99 ${r(be.del.p99, bf.del.p99)}, errors ${be.errors}, home ${be.everyDeviceHome} ${verdict(ok)}`,
  );
}
const bc = result.burst.modes["engine-cold"];
if (bc && bf) {
  lines.push(`not a target: the first burst of a new engine (threads started during it): ADD wall ${r(bc.wallMs.add, bf.wallMs.add)}, DEL wall ${r(bc.wallMs.del, bf.wallMs.del)}, ADD p99 ${r(bc.add.p99, bf.add.p99)}, errors ${bc.errors}, home ${bc.everyDeviceHome}`);
}
console.log(lines.join("\n"));
fs.writeFileSync(jsonPath.replace(/\.json$/, ".txt"), `${lines.join("\n")}\n`);

// ---- the chart: cycle p50 (and p99 whiskers) against devices, log-log -----------------------
const W = 720;
const H = 420;
const L = 70;
const R = 150;
const T = 50;
const B = 70;
const pts = modes
  .filter((m) => m !== "fallback" && m !== "engine-cold" && m !== "floor-oneshot")
  .map((m) => ({ m, v: result.scales.filter((s) => s.modes[m]).map((s) => ({ d: s.devices ?? s.scale, p50: s.modes[m]!.cycle.p50, p99: s.modes[m]!.cycle.p99 })) }));
const all = pts.flatMap((p) => p.v.flatMap((v) => [v.p50, v.p99])).filter((x) => x > 0 && Number.isFinite(x));
const yMin = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
const yMax = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
const dMax = Math.max(...result.scales.map((s) => s.devices ?? s.scale), 2);
const x = (d: number) => L + (Math.log10(Math.max(d, 1)) / Math.log10(dMax)) * (W - L - R);
const y = (ms: number) => T + (1 - (Math.log10(ms) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - T - B);
const colors: Record<string, string> = { floor: "#555555", engine: "#1f77b4", oneshot: "#d62728" };
const names: Record<string, string> = { floor: "floor (C, one netlink SET)", engine: "shim + engine (fast path)", oneshot: "one-shot Bun executable" };
const svg: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${L}" y="22" font-size="15">ADD+DEL cycle latency against RDMA devices on the host (p50, bar to p99)</text>`,
  `<text x="${L}" y="40" fill="#555">${esc(`${meta.command ?? "make bench"}, ${meta.date ?? ""}; qemu TCG, ${meta.cpus ?? "?"} vCPU`)}</text>`,
];
for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
  const v = 10 ** e;
  svg.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v >= 1 ? v : v.toFixed(1)} ms</text>`);
}
for (const s of result.scales) {
  const d = s.devices ?? s.scale;
  svg.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`, `<text x="${x(d)}" y="${H - B + 18}" text-anchor="middle">${d}</text>`);
}
svg.push(`<text x="${(L + W - R) / 2}" y="${H - B + 40}" text-anchor="middle">RDMA devices on the host (log scale)</text>`);
pts.forEach((p, k) => {
  const c = colors[p.m] ?? "black";
  svg.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.v.map((v) => `${x(v.d)},${y(v.p50)}`).join(" ")}"/>`);
  for (const v of p.v) svg.push(`<circle cx="${x(v.d)}" cy="${y(v.p50)}" r="4" fill="${c}"/>`, `<line x1="${x(v.d)}" x2="${x(v.d)}" y1="${y(v.p50)}" y2="${y(v.p99)}" stroke="${c}"/>`);
  const lastPt = p.v[p.v.length - 1];
  if (lastPt) svg.push(`<text x="${x(lastPt.d) + 8}" y="${y(lastPt.p50) + 4}" fill="${c}">${lastPt.p50.toFixed(1)} ms</text>`);
  svg.push(`<rect x="${W - R + 60}" y="${T + 8 + k * 18}" width="10" height="10" fill="${c}"/>`);
  svg.push(`<text x="${W - R + 74}" y="${T + 17 + k * 18}" font-size="10">${esc(p.m)}</text>`);
});
svg.push(`<text x="${L}" y="${H - 12}" font-size="10" fill="#555">${esc(pts.map((p) => `${p.m}: ${names[p.m]}`).join("; "))}</text>`, "</svg>");
fs.writeFileSync(svgPath, `${svg.join("\n")}\n`);

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
