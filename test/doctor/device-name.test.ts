/** doctor and rdmaDeviceName: a device on the host under a pod's name is a finding with the command that fixes it. */
import { afterEach, expect, test } from "bun:test";
import { doctorReport } from "../../src/doctor/report.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

let node: FakeNode;
afterEach(() => node.cleanup());
const POD = "/var/run/netns/pod1";
const named = (name: string) => netconf("1.1.0", { deviceID: "0000:03:00.2", prevResult: prevResultFor("1.1.0"), args: { cni: { rdmaDeviceName: name } } });

test("a pod's device is not a finding while the pod holds it under its name", () => {
  node = new FakeNode();
  node.addPci("0000:03:00.2", "mlx5_2");
  node.pod(POD);
  expect(node.call("ADD", named("rdma0")).code).toBe(0);
  const r = doctorReport(node.doctorDeps());
  expect(r.findings.map((f) => f.id)).toEqual([]);
  expect(r.attachments[0]).toMatchObject({ rdmaDevice: "mlx5_2", podRdmaDevice: "rdma0", seenAs: "rdma0" });
});

test("the pod's netns died: the device is on the host as rdma0, and the fix renames it to its recorded host name", () => {
  node = new FakeNode();
  node.addPci("0000:03:00.2", "mlx5_2");
  node.pod(POD);
  expect(node.call("ADD", named("rdma0")).code).toBe(0);
  node.deletePod(POD);
  const r = doctorReport(node.doctorDeps());
  const f = r.findings.find((x) => x.id === "device-pod-name");
  expect(f?.severity).toBe("warning");
  expect(f?.subject).toBe("rdma0");
  expect(f?.message).toContain("its host name is mlx5_2");
  expect(f?.fix).toContain("rdma dev set rdma0 name mlx5_2");
  expect(r.summary.exitStatus).toBe(1);
  // and DEL puts it right, after which doctor finds nothing of the kind
  expect(node.call("DEL", named("rdma0")).code).toBe(0);
  expect(doctorReport(node.doctorDeps()).findings.map((x) => x.id)).not.toContain("device-pod-name");
});

test("a device left under a HOST-from-POD name without a record is a finding; the fix says when HOST is taken", () => {
  node = new FakeNode();
  node.addPci("0000:03:00.2", "mlx5_2");
  node.addPci("0000:03:00.3", "mlx5_3");
  node.pod(POD);
  expect(node.call("ADD", named("rdma0")).code).toBe(0);
  node.rdma.renameDevice(node.rdma.device("mlx5_3").index, "mlx5_2");
  expect(node.call("DEL", named("rdma0")).code).toBe(0);
  let f = doctorReport(node.doctorDeps()).findings.find((x) => x.id === "device-pod-name");
  expect(f?.subject).toBe("mlx5_2-from-rdma0");
  expect(f?.message).toContain("has no record");
  expect(f?.fix).toContain("mlx5_2 is taken on the host by another device");
  node.rdma.renameDevice(node.rdma.device("mlx5_2").index, "mlx5_3");
  f = doctorReport(node.doctorDeps()).findings.find((x) => x.id === "device-pod-name");
  expect(f?.fix).toBe("rdma dev set mlx5_2-from-rdma0 name mlx5_2");
});
