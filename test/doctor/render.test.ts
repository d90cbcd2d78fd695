import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { FINDINGS } from "../../src/doctor/findings.ts";
import { renderJson, renderText } from "../../src/doctor/render.ts";
import { doctorReport } from "../../src/doctor/report.ts";
import { FakeNode } from "../fake/node.ts";

let node: FakeNode;
afterEach(() => node?.cleanup());

/** A node with one device of each kind: free, attached, returned by a dead pod; and a stale lock. */
function mixedNode(): FakeNode {
  const n = new FakeNode();
  n.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
  n.addPci("0000:03:00.3", "mlx5_3", "ens1f0v1");
  n.addAux("mlx5_core.sf.4", "mlx5_4", "enp3s0f0s4");
  n.moveToPod("mlx5_3", "/var/run/netns/cni-1111");
  n.record("5f0c9a8e7d6b5a4c3b2a19081726354453627180", "0000:03:00.3", "mlx5_3", "/var/run/netns/cni-1111");
  n.moveToPod("mlx5_4", "/var/run/netns/cni-2222");
  n.record("9e8d7c6b5a49382716051423", "mlx5_core.sf.4", "mlx5_4", "/var/run/netns/cni-2222");
  n.deletePod("/var/run/netns/cni-2222");
  n.lockFile("0000:03:00.9");
  return n;
}

describe("doctor output", () => {
  test("the text report: header, aligned tables, findings with their fix, and the summary line", () => {
    node = mixedNode();
    const text = renderText(doctorReport(node.doctorDeps()));
    const lines = text.split("\n");
    expect(lines[0]).toBe("rdma doctor (plugin dev, commit unknown) at 2026-01-02T03:04:05.000Z");
    expect(lines).toContain("kernel     6.1.0-28-amd64");
    expect(lines).toContain("RDMA       present, netns mode exclusive");
    expect(lines).toContain(`state dir  ${node.stateDir}: 2 records, 0 unreadable, 3 lock files`);
    const devices = lines.slice(lines.indexOf("RDMA devices") + 1, lines.indexOf("Records") - 1);
    expect(devices).toEqual([
      "  DEVICE  INDEX  STATE     PARENT              NETDEV      NETNS                    CONTAINER     IFNAME",
      "  mlx5_2  1      free      pci 0000:03:00.2    ens1f0v0    host                     -             -",
      "  mlx5_3  2      attached  pci 0000:03:00.3    -           /var/run/netns/cni-1111  5f0c9a8e7d6b  net1",
      "  mlx5_4  3      returned  aux mlx5_core.sf.4  enp3s0f0s4  host                     9e8d7c6b5a49  net1",
    ]);
    expect(text).toContain("  warning record-netns-gone  ");
    expect(text).toContain("          fix: nothing is held");
    expect(text).toContain(`  info    stale-lock  ${node.stateDir}/locks/0000%3A03%3A00%2E9.lock`);
    expect(text.endsWith("0 errors, 1 warning, 1 info: needs attention (exit status 1)\n")).toBe(true);
  });

  test("a node without RDMA says so in the RDMA line, and the finding says what to do", () => {
    node = new FakeNode();
    node.rdma.absent = true;
    const text = renderText(doctorReport(node.doctorDeps()));
    expect(text).toMatch(/RDMA {7}ABSENT \(.*EPROTONOSUPPORT/);
    expect(text).toContain("  error   rdma-absent  rdma\n");
    expect(text).toContain("fix: load the RDMA core");
    expect(text).toContain("RDMA devices\n  (none)\n");
    expect(text.endsWith("needs attention (exit status 1)\n")).toBe(true);
  });

  test("the JSON report is one document holding the whole report", () => {
    node = mixedNode();
    const report = doctorReport(node.doctorDeps());
    const json = renderJson(report);
    expect(json.endsWith("}\n")).toBe(true);
    const parsed = JSON.parse(json);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(report)));
    expect(Object.keys(parsed)).toEqual(["schema", "generatedAt", "plugin", "kernel", "rdma", "sysfsRoot", "stateDir", "devices", "attachments", "unreadableRecords", "goStateDir", "goRecords", "unreadableGoRecords", "locks", "findings", "summary"]);
    expect(parsed.summary).toEqual({ errors: 0, warnings: 1, infos: 1, needsAttention: true, exitStatus: 1 });
    expect(parsed.devices.map((d: { name: string; state: string }) => `${d.name}:${d.state}`)).toEqual(["mlx5_2:free", "mlx5_3:attached", "mlx5_4:returned"]);
  });

  test("every finding is documented in docs/doctor.md with its severity", () => {
    const doc = fs.readFileSync(`${import.meta.dir}/../../docs/doctor.md`, "utf8");
    for (const [id, { severity }] of Object.entries(FINDINGS)) {
      expect(doc).toMatch(new RegExp(`^\\| \`${id}\` \\| ${severity} \\|`, "m"));
    }
  });
});
