/** The one line per call: its fields, and what the dispatcher puts in it for each verb (fake node, in-process). */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { CALL_MESSAGE, callLineFields, MAX_ERROR_CHARS } from "../../src/cni/call-line.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

describe("callLineFields", () => {
  test("every fact under its name, the duration to a tenth of a millisecond", () => {
    expect(
      callLineFields({ verb: "ADD", containerId: "c1", ifName: "net1", network: "n", deviceId: "0000:03:00.5", rdmaDevice: "mlx5_3", code: 0, ms: 12.345 }),
    ).toEqual({ verb: "ADD", container: "c1", interface: "net1", network: "n", deviceID: "0000:03:00.5", rdmaDevice: "mlx5_3", code: 0, ms: 12.3 });
  });

  test("what the call never learned is left out; an unparsed verb says so", () => {
    expect(callLineFields({ code: 4, error: "CNI_COMMAND is missing", ms: 0.04 })).toEqual({ verb: "unknown", code: 4, error: "CNI_COMMAND is missing", ms: 0 });
  });

  test("a long error is cut, and says so", () => {
    const error = callLineFields({ verb: "ADD", code: 7, error: "x".repeat(1000) }).error as string;
    expect(error).toHaveLength(MAX_ERROR_CHARS + 3);
    expect(error.endsWith("...")).toBe(true);
  });
});

const PCI = "0000:03:00.5";
const POD = "/var/run/netns/pod1";
let w: FakeNode;
beforeEach(() => {
  w = new FakeNode();
  w.addPci(PCI, "mlx5_3");
  w.pod(POD);
});
afterEach(() => w.cleanup());

/** The "call" lines of a call's stderr, parsed. */
const callLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === CALL_MESSAGE);

describe("the dispatcher's line", () => {
  const conf = (extra: Record<string, unknown> = {}) => netconf("1.0.0", { logLevel: "info", prevResult: prevResultFor("1.0.0"), ...extra });

  test("ADD, CHECK, DEL: one line each, with the device the record names", () => {
    for (const verb of ["ADD", "CHECK", "DEL"]) {
      const r = w.call(verb, conf({ deviceID: PCI }));
      expect(r.code).toBe(0);
      const [line, ...more] = callLines(r.stderr);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ level: "info", verb, container: "c1", interface: "net1", network: "sriov-network", deviceID: PCI, rdmaDevice: "mlx5_3", code: 0 });
      expect(typeof line?.ms).toBe("number");
    }
  });

  test("a DEL without deviceID in its config still names the device, from the record", () => {
    expect(w.call("ADD", conf({ deviceID: PCI })).code).toBe(0);
    const [line] = callLines(w.call("DEL", conf()).stderr);
    expect(line).toMatchObject({ verb: "DEL", deviceID: PCI, rdmaDevice: "mlx5_3", code: 0 });
  });

  test("a failed ADD: its code and message", () => {
    const r = w.call("ADD", conf({ deviceID: "0000:03:00.7" }));
    expect(r.code).toBe(1);
    const [line] = callLines(r.stderr);
    expect(line).toMatchObject({ verb: "ADD", deviceID: "0000:03:00.7", code: 102 });
    expect(String(line?.error)).toContain("no RDMA device found for deviceID 0000:03:00.7");
    expect(line?.rdmaDevice).toBeUndefined();
  });

  test("a logFile that cannot be opened (as under the engine: read-only root, no /var/log) costs the call nothing: a warning, and the line on stderr", () => {
    const r = w.call("ADD", conf({ deviceID: PCI, logFile: "/var/log/rdma-cni-no-such-dir-for-tests/rdma.log" }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("cannot open logFile; logging to stderr only");
    expect(callLines(r.stderr)).toMatchObject([{ verb: "ADD", rdmaDevice: "mlx5_3", code: 0 }]);
  });

  test("at the default level (warn) the one-shot path writes no line", () => {
    const r = w.call("ADD", netconf("1.0.0", { deviceID: PCI, prevResult: prevResultFor("1.0.0") }));
    expect(r.code).toBe(0);
    expect(callLines(r.stderr)).toEqual([]);
  });

  test("VERSION gets no line (the engine's probes send one every few seconds)", () => {
    const r = w.callRaw({ CNI_COMMAND: "VERSION" }, "{}");
    expect(r.code).toBe(0);
    expect(callLines(r.stderr)).toEqual([]);
  });
});
