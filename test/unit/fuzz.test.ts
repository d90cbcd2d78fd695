/**
 * Fuzz of the config and prevResult parsers. The property: for any bytes on stdin, parsing either
 * returns a NetConf whose fields have the types the plugin relies on, or throws a CniError with a
 * spec code (1, 6 or 7). Never another exception, never a hang.
 * Bounded in CI; FUZZ_ITERATIONS=200000 bun test test/unit/fuzz.test.ts for a longer run.
 */
import { expect, test } from "bun:test";
import { CniError } from "../../src/errors.ts";
import { SUPPORTED_VERSIONS } from "../../src/config/version.ts";
import { decodeJsonObject, deviceIdFor, type NetConf, parseNetConf } from "../../src/config/netconf.ts";

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS) || 4000;
const SEED = Number(process.env.FUZZ_SEED) || 0x5eed;

/** xorshift32: the same sequence for the same seed, so a failure can be replayed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)] as T;
    },
  };
}

const KEYS = ["cniVersion", "name", "type", "deviceID", "runtimeConfig", "prevResult", "args", "cni", "debug", "logLevel", "logFile", "stateDir", "interfaces", "ips", "routes", "dns", "pciID", "sandbox", "cni.dev/valid-attachments", "containerID", "ifname", "CNIDeviceInfoFile", "__proto__", "constructor"];
const STRINGS = ["", "1.1.0", "1.0.0", "0.3.0", "0.2.0", "rdma", "net1", "0000:03:00.5", "mlx5_core.sf.4", "../../etc", "/var/log/x", "/run/cni/x", "\u0000", "a\nb", "é", "x".repeat(300), "debug", "true"];

function value(r: ReturnType<typeof rng>, depth: number): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return r.pick(STRINGS);
    case 5:
    case 6: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(KEYS)] = value(r, depth + 1);
      return o;
    }
    default:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
  }
}

function validConfig(r: ReturnType<typeof rng>): Record<string, unknown> {
  const v = r.pick(SUPPORTED_VERSIONS);
  return {
    cniVersion: v,
    name: "sriov-network",
    type: "rdma",
    deviceID: "0000:03:00.5",
    runtimeConfig: { deviceID: "0000:03:00.6" },
    args: { cni: { debug: true } },
    prevResult: { cniVersion: v, interfaces: [{ name: "net1", sandbox: "/var/run/netns/p", pciID: "0000:03:00.5" }], ips: [], dns: {} },
    "cni.dev/valid-attachments": [{ containerID: "c", ifname: "net1" }],
  };
}

/** Replaces one node somewhere in the tree with a random value. */
function mutate(r: ReturnType<typeof rng>, obj: unknown): unknown {
  if (typeof obj !== "object" || obj === null || r.next() < 0.2) return value(r, 0);
  const copy: Record<string, unknown> = Array.isArray(obj) ? ([...obj] as unknown as Record<string, unknown>) : { ...(obj as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || r.next() < 0.15) {
    copy[r.pick(KEYS)] = value(r, 1);
    return copy;
  }
  const k = r.pick(keys);
  if (r.next() < 0.1) delete copy[k];
  else copy[k] = mutate(r, copy[k]);
  return copy;
}

function bytesOf(r: ReturnType<typeof rng>, text: string): Uint8Array {
  const b = new TextEncoder().encode(text);
  switch (r.int(6)) {
    case 0:
      return b.subarray(0, r.int(b.length + 1)); // truncated
    case 1: {
      const c = b.slice();
      if (c.length) c[r.int(c.length)] = r.int(256); // one byte flipped
      return c;
    }
    default:
      return b;
  }
}

function checkParsed(conf: NetConf): void {
  expect(SUPPORTED_VERSIONS as readonly string[]).toContain(conf.cniVersion);
  expect(typeof conf.name).toBe("string");
  expect(conf.name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
  expect(typeof conf.type).toBe("string");
  expect(typeof conf.debug).toBe("boolean");
  if (conf.deviceId) expect(conf.deviceId.id).not.toContain("/");
  if (conf.prevResult) for (const i of conf.prevResult.interfaces) expect(typeof i.name).toBe("string");
  for (const a of conf.validAttachments ?? []) {
    expect(typeof a.containerID).toBe("string");
    expect(typeof a.ifname).toBe("string");
  }
  for (const ifName of ["net1", "eth0"]) {
    try {
      const d = deviceIdFor(conf, ifName);
      if (d) expect(d.deviceId.id).not.toContain("/");
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
    }
  }
}

test(`config parsing returns a valid config or a typed error (${ITERATIONS} inputs, seed ${SEED})`, () => {
  const r = rng(SEED);
  const seen = new Map<number | "ok", number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const input = r.next() < 0.3 ? value(r, 0) : mutate(r, validConfig(r));
    const bytes = bytesOf(r, JSON.stringify(input) ?? "");
    try {
      const conf = parseNetConf(decodeJsonObject(bytes, "stdin"));
      checkParsed(conf);
      seen.set("ok", (seen.get("ok") ?? 0) + 1);
    } catch (e) {
      if (!(e instanceof CniError)) throw new Error(`input ${i} (seed ${SEED}) threw ${String(e)}: ${Buffer.from(bytes).toString()}`);
      expect([1, 6, 7]).toContain(e.code);
      expect(e.message.length).toBeGreaterThan(0);
      seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
    }
  }
  // the generator reaches every outcome, or the property says little
  expect(seen.get("ok") ?? 0).toBeGreaterThan(ITERATIONS / 50);
  for (const code of [1, 6, 7]) expect(seen.get(code) ?? 0).toBeGreaterThan(0);
});
