/**
 * Moving over from the Go rdma-cni and back (docs/migration.md), on the fake node: our DEL of a pod
 * the Go plugin attached, and the handover of our attachments to the Go plugin's records.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { handOverToGoPlugin } from "../../src/install/handover.ts";
import { StreamLogger } from "../../src/log.ts";
import { goRecordPath, readGoRecord, writeGoRecord } from "../../src/state/go-state.ts";
import { FileStore } from "../../src/state/store.ts";
import { HOST_NS } from "../fake/netns.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

const VF = "0000:03:00.5";
const POD = "/var/run/netns/pod1";
const KEY = { network: "sriov-network", containerId: "c1", ifName: "net1" };
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(VF, "mlx5_3");
  w.addPci("0000:03:00.6", "mlx5_4");
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0);
  w.cleanup();
});

/** A pod as the Go plugin's ADD leaves it: the device in the pod's netns, its record in its state dir. */
function attachedByGo(device = "mlx5_3"): string {
  w.moveToPod(device, POD);
  return writeGoRecord(w.goStateDir, KEY, { version: "1.0", deviceID: VF, sandboxRdmaDevName: device, containerRdmaDevName: device });
}

const delConf = () => netconf("1.0.0", { deviceID: VF, prevResult: prevResultFor("1.0.0") });

describe("our DEL of a pod the Go plugin attached (no record of ours)", () => {
  test("brings the device home and removes the Go plugin's record", () => {
    const file = attachedByGo();
    const r = w.call("DEL", delConf());
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(fs.existsSync(file)).toBe(false);
    expect(w.records()).toEqual([]);
    expect(w.strayFiles()).toEqual([]);
  });

  test("a netns that is gone: the record goes, nothing to move", () => {
    const file = attachedByGo();
    w.deletePod(POD);
    expect(w.call("DEL", delConf()).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });

  test("a device already home: the record goes, success", () => {
    const file = writeGoRecord(w.goStateDir, KEY, { version: "1.0", deviceID: VF, sandboxRdmaDevName: "mlx5_3", containerRdmaDevName: "mlx5_3" });
    w.pod(POD);
    expect(w.call("DEL", delConf()).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  test("only the call's own attachment: another container's Go record is left alone", () => {
    attachedByGo();
    w.pod("/var/run/netns/pod2");
    expect(w.call("DEL", delConf(), { containerId: "c2", netns: "/var/run/netns/pod2" }).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(readGoRecord(w.goStateDir, KEY)).toMatchObject({ containerRdmaDevName: "mlx5_3" });
  });

  test("an unreadable Go record: DEL succeeds as with no record, and leaves the file and the device", () => {
    w.moveToPod("mlx5_3", POD);
    fs.mkdirSync(w.goStateDir, { recursive: true });
    const file = goRecordPath(w.goStateDir, KEY) as string;
    fs.writeFileSync(file, "{broken");
    const r = w.call("DEL", delConf());
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("unreadable");
    expect(fs.readFileSync(file, "utf8")).toBe("{broken");
    expect(w.whereIs("mlx5_3")).toBe(POD);
  });
});

describe("handover to the Go plugin (rdma install --uninstall)", () => {
  const log = new StreamLogger(() => {}, "error");
  const handover = () =>
    handOverToGoPlugin({ store: new FileStore(w.stateDir).init(), goStateDir: w.goStateDir, kernel: w.rdma, netns: w.netns, log, lockTimeoutMs: 200 });

  test("a live attachment of ours becomes the Go plugin's record, ours goes, the device stays in the pod", () => {
    w.pod(POD);
    expect(w.call("ADD", delConf()).code).toBe(0);
    const s = handover();
    expect(s).toEqual({ handedOver: [goRecordPath(w.goStateDir, KEY) as string], dropped: [], kept: [] });
    expect(fs.readFileSync(s.handedOver[0] as string, "utf8")).toBe('{"version":"1.0","deviceID":"0000:03:00.5","sandboxRdmaDevName":"mlx5_3","containerRdmaDevName":"mlx5_3"}');
    expect(w.records()).toEqual([]);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(fs.readdirSync(`${w.stateDir}/locks`)).toEqual([]);
    // Whichever plugin runs the pod's DEL now brings the device home; here ours, through that record.
    expect(w.call("DEL", delConf()).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(fs.existsSync(s.handedOver[0] as string)).toBe(false);
  });

  test("a record whose netns is gone is dropped without a Go record (its device is home)", () => {
    w.pod(POD);
    expect(w.call("ADD", delConf()).code).toBe(0);
    w.deletePod(POD);
    expect(handover()).toEqual({ handedOver: [], dropped: ["network sriov-network, container c1, interface net1"], kept: [] });
    expect(w.records()).toEqual([]);
    expect(fs.existsSync(w.goStateDir)).toBe(false);
  });

  test("a record whose device is not in its pod is kept, and says why", () => {
    w.pod(POD);
    w.record("c1", VF, "mlx5_3", POD, { phase: "moving" });
    const s = handover();
    expect(s.handedOver).toEqual([]);
    expect(s.kept[0]?.why).toContain("is not in netns");
    expect(w.records()).toHaveLength(1);
  });
});
