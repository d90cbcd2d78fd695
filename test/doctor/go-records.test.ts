/**
 * `rdma doctor` and the Go rdma-cni's records (src/state/go-state.ts, docs/migration.md): listed in
 * the report as they say, and a finding when the host contradicts one (its device is on the host)
 * or one of ours claims the same device; files that are no record are named.
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { renderText } from "../../src/doctor/render.ts";
import { doctorReport, type Report } from "../../src/doctor/report.ts";
import { writeGoRecord } from "../../src/state/go-state.ts";
import { FakeNode } from "../fake/node.ts";

let node: FakeNode;
afterEach(() => node?.cleanup());

/** The findings about Go records (a fake node without a state dir has info findings of its own). */
const goFindings = (r: Report) => r.findings.filter((f) => f.id.startsWith("go-"));
const ids = (r: Report) => goFindings(r).map((f) => f.id);
const POD_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const goRecord = (n: FakeNode, containerId: string, deviceID: string, name: string) =>
  writeGoRecord(n.goStateDir, { network: "sriov-network", containerId, ifName: "net1" }, { version: "1.0", deviceID, sandboxRdmaDevName: name, containerRdmaDevName: name });

describe("doctor: the Go rdma-cni's records", () => {
  test("a record whose device is in its pod is listed as it says, with nothing to find", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.moveToPod("mlx5_2", "/var/run/netns/go-pod");
    const file = goRecord(node, POD_ID, "0000:03:00.2", "mlx5_2");

    const r = doctorReport(node.doctorDeps());

    expect(r.goStateDir).toBe(node.goStateDir);
    expect(r.goRecords).toEqual([
      { file, name: `sriov-network-${POD_ID}-net1`, deviceId: "0000:03:00.2", rdmaDevice: "mlx5_2", podRdmaDevice: "mlx5_2", onHostAs: null, alsoClaimedBy: null },
    ]);
    expect(r.unreadableGoRecords).toEqual([]);
    expect(goFindings(r)).toEqual([]);
    expect(r.summary.exitStatus).toBe(0);
    const text = renderText(r).split("\n");
    expect(text).toContain(`Go state   ${node.goStateDir}: 1 record, 0 unreadable`);
    const table = text.slice(text.indexOf("Go rdma-cni records") + 1, text.indexOf("Locks") - 1);
    expect(table).toEqual([
      "  DEVICE ID     HOST NAME  POD NAME  ON HOST  OURS TOO  NAME (network-container-ifname)",
      `  0000:03:00.2  mlx5_2     mlx5_2    no       no        sriov-network-${POD_ID}-net1`,
    ]);
  });

  test("a record whose device is on the host is stale: a warning naming the host's device", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.addPci("0000:03:00.3", "mlx5_3", "ens1f0v1");
    node.moveToPod("mlx5_3", "/var/run/netns/go-pod");
    // The device came back to the host under another name: the record's deviceID finds it.
    const stale = goRecord(node, "gone", "0000:03:00.2", "mlx5_9");
    goRecord(node, "alive", "0000:03:00.3", "mlx5_3");

    const r = doctorReport(node.doctorDeps());

    expect(r.goRecords.map((g) => [g.name, g.onHostAs])).toEqual([
      ["sriov-network-alive-net1", null],
      ["sriov-network-gone-net1", "mlx5_2"],
    ]);
    expect(ids(r)).toEqual(["go-record-device-on-host"]);
    const [f] = goFindings(r);
    expect(f).toMatchObject({ severity: "warning", subject: stale });
    expect(f?.message).toContain("deviceID 0000:03:00.2, mlx5_9 on the host");
    expect(f?.message).toContain("it is on the host as mlx5_2");
    expect(r.summary.exitStatus).toBe(1);
  });

  test("a record of ours on the same device: one attachment is a handover cut short, two are a conflict", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.addPci("0000:03:00.3", "mlx5_3");
    node.moveToPod("mlx5_2", "/var/run/netns/pod-a");
    node.moveToPod("mlx5_3", "/var/run/netns/pod-b");
    node.record("pod-a", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a");
    node.record("pod-b", "0000:03:00.3", "mlx5_3", "/var/run/netns/pod-b");
    const handedOver = goRecord(node, "pod-a", "0000:03:00.2", "mlx5_2");
    const other = goRecord(node, "pod-c", "0000:03:00.3", "mlx5_3");

    const r = doctorReport(node.doctorDeps());

    expect(ids(r)).toEqual(["go-record-device-ours", "go-record-device-ours"]);
    const [first, second] = goFindings(r);
    expect(first?.subject).toBe(handedOver);
    expect(first?.message).toContain("a handover to the Go plugin (rdma install --uninstall) that stopped before it removed our record");
    expect(first?.fix).toContain("run rdma install --uninstall again");
    expect(second?.subject).toBe(other);
    expect(second?.message).toContain("for another attachment (container pod-b (network sriov-network, interface net1))");
    expect(r.goRecords.map((g) => g.alsoClaimedBy)).toEqual(r.attachments.map((a) => a.file));
  });

  test("a file that is no record is named; temp files are skipped; no directory is nothing to report", () => {
    node = new FakeNode();
    const none = doctorReport(node.doctorDeps());
    expect(none).toMatchObject({ goRecords: [], unreadableGoRecords: [] });
    expect(goFindings(none)).toEqual([]);

    fs.mkdirSync(node.goStateDir, { recursive: true });
    fs.writeFileSync(`${node.goStateDir}/sriov-network-x-net1`, "{not json");
    fs.mkdirSync(`${node.goStateDir}/a-dir`);
    fs.writeFileSync(`${node.goStateDir}/.tmp-123-abc-1`, "{");
    const before = fs.readdirSync(node.goStateDir).sort();

    const r = doctorReport(node.doctorDeps());

    expect(r.unreadableGoRecords.map((u) => u.file)).toEqual([`${node.goStateDir}/a-dir`, `${node.goStateDir}/sriov-network-x-net1`]);
    expect(r.unreadableGoRecords[0]?.reason).toBe("not a regular file");
    expect(r.unreadableGoRecords[1]?.reason).toContain("not JSON");
    expect(ids(r)).toEqual(["go-record-unreadable", "go-record-unreadable"]);
    expect(fs.readdirSync(node.goStateDir).sort()).toEqual(before);
  });
});
