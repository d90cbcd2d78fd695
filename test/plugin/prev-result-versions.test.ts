/**
 * prevResult as the reference library (containernetworking/cni pkg/version ParsePrevResult) reads
 * it: decoded with the result type of the config's cniVersion, which takes every version of its
 * own format (0.3.0, 0.3.1 and 0.4.0 share one, 1.0.0 and 1.1.0 another); a prevResult without a
 * version is of the config's. ADD hands the result on in the config's version.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { SUPPORTED_VERSIONS } from "../../src/config/version.ts";
import { HOST_NS } from "../fake/netns.ts";
import { netconf, prevResultFor, FakeNode } from "../fake/node.ts";

const PCI = "0000:03:00.5";
const POD = "/var/run/netns/pod1";
const FORMAT = (v: string) => (v.startsWith("0.") ? "0.x" : "1.x");
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(PCI, "mlx5_3");
  w.pod(POD);
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0);
  w.cleanup();
});

const pairs = SUPPORTED_VERSIONS.flatMap((config) => SUPPORTED_VERSIONS.map((prev) => [config, prev] as const));

describe.each(pairs)("config %s, prevResult %s", (config, prev) => {
  const accepted = FORMAT(config) === FORMAT(prev);
  test(accepted ? "ADD accepts it and prints it in the config's version" : "ADD refuses it with code 1 and writes nothing", () => {
    const prevResult = prevResultFor(prev);
    const r = w.call("ADD", netconf(config, { deviceID: PCI, prevResult }));
    if (accepted) {
      expect(r.code).toBe(0);
      const expected = structuredClone(prevResult) as { cniVersion: string; interfaces: Record<string, unknown>[] };
      expected.cniVersion = config;
      if (config === "1.1.0") expected.interfaces[0]!.pciID = PCI;
      expect(r.json).toEqual(expected as unknown as Record<string, unknown>);
      expect(w.whereIs("mlx5_3")).toBe(POD);
      expect(w.call("DEL", netconf(config, { deviceID: PCI, prevResult })).code).toBe(0);
      expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    } else {
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ cniVersion: config, code: 1 });
      expect(String(r.json?.msg)).toContain(`prevResult.cniVersion "${prev}"`);
      expect(String(r.json?.details)).toContain(config === "1.0.0" || config === "1.1.0" ? "1.0.0, 1.1.0" : "0.3.0, 0.3.1, 0.4.0");
      expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
      expect(fs.existsSync(w.stateDir)).toBe(false);
    }
  });
});

describe.each([...SUPPORTED_VERSIONS])("config %s", (config) => {
  test("a prevResult without cniVersion is read as the config's version and printed with it", () => {
    const prevResult = prevResultFor(config);
    delete prevResult.cniVersion;
    const r = w.call("ADD", netconf(config, { deviceID: PCI, prevResult }));
    expect(r.code).toBe(0);
    expect(r.json?.cniVersion).toBe(config);
    expect(r.json?.ips).toEqual(prevResult.ips);
    expect(w.whereIs("mlx5_3")).toBe(POD);
  });

  test("a prevResult whose cniVersion is empty or not a supported version is refused (the library decodes \"\" as a version too)", () => {
    for (const bad of ["", "0.2.0", "2.0.0", "1.0"]) {
      const r = w.call("ADD", netconf(config, { deviceID: PCI, prevResult: { ...prevResultFor(config), cniVersion: bad } }));
      expect(r.json).toMatchObject({ cniVersion: config, code: 1 });
      expect(String(r.json?.msg)).toContain("prevResult.cniVersion");
    }
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });
});

test("DEL and CHECK read prevResult the same way: a 1.1.0 config with a 1.0.0 prevResult", () => {
  const conf = netconf("1.1.0", { deviceID: PCI, prevResult: prevResultFor("1.0.0") });
  expect(w.call("ADD", conf).code).toBe(0);
  expect(w.call("CHECK", conf)).toMatchObject({ code: 0, stdout: "" });
  expect(w.call("DEL", conf)).toMatchObject({ code: 0, stdout: "" });
  expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  const mixed = netconf("1.1.0", { deviceID: PCI, prevResult: prevResultFor("0.4.0") });
  expect(w.call("DEL", mixed).json).toMatchObject({ code: 1 });
});
