/**
 * One-shot entry of bench/config-schema/run, compiled once per validation (ENTRY_IMPL picks it at
 * build time with --define). With no argument: parse the typical config once and print the
 * network name, as a plugin call would, then exit. With `--time N`: the time of loading the
 * validation's modules, of its first call (what a one-shot process pays), and the median of N
 * more calls (a warm process), in microseconds.
 */
import { TYPICAL } from "./cases.ts";

declare const ENTRY_IMPL: "hand" | "valibot";

type Impl = { parseCniVersion(o: Record<string, unknown>): string; parseNetConf(o: Record<string, unknown>, v: string): { name: string } };

function load(): Promise<Impl> {
  return ENTRY_IMPL === "valibot" ? import("./netconf-valibot.ts") : import("../../src/config/netconf.ts");
}

const config = () => JSON.parse(TYPICAL) as Record<string, unknown>;
const validate = (impl: Impl, obj: Record<string, unknown>) => impl.parseNetConf(obj, impl.parseCniVersion(obj)).name;

async function main(): Promise<void> {
  const timed = process.argv[2] === "--time";
  const obj = config();
  const t0 = performance.now();
  const impl = await load();
  const t1 = performance.now();
  const name = validate(impl, obj);
  const t2 = performance.now();
  if (!timed) {
    console.log(name);
    return;
  }
  const n = Number(process.argv[3] ?? 10000);
  const warm: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = config();
    const s = performance.now();
    validate(impl, o);
    warm.push(performance.now() - s);
  }
  warm.sort((a, b) => a - b);
  const us = (ms: number) => (ms * 1000).toFixed(1);
  console.log(`${ENTRY_IMPL} load_us ${us(t1 - t0)} first_us ${us(t2 - t1)} warm_median_us ${us(warm[n >> 1] ?? 0)}`);
}

main();
