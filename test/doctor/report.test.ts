import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { type DoctorDeps, doctorReport, type Report } from "../../src/doctor/report.ts";
import { NetnsError } from "../../src/netns/netns.ts";
import { acquireLock } from "../../src/state/lock.ts";
import { attachmentKey, FileStore } from "../../src/state/store.ts";
import { FakeNode } from "../fake/node.ts";

let node: FakeNode;
afterEach(() => node?.cleanup());

const ids = (r: Report) => r.findings.map((f) => f.id);
const device = (r: Report, name: string) => {
  const d = r.devices.find((x) => x.name === name);
  if (!d) throw new Error(`no device ${name} in the report: ${r.devices.map((x) => x.name).join(", ")}`);
  return d;
};

/** Every file under the state dir with its bytes and mtime, to show that doctor changed nothing. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(`${p} ${fs.statSync(p).mtimeMs} ${fs.readFileSync(p, "utf8")}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe("doctor report", () => {
  test("a healthy node: free and attached devices with parent, netdev and pod; exit status 0", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.addPci("0000:03:00.3", "mlx5_3", "ens1f0v1");
    node.addAux("mlx5_core.sf.4", "mlx5_4", "enp3s0f0s4");
    node.moveToPod("mlx5_3", "/var/run/netns/pod-a");
    node.record("c0ffee0123456789abcdef", "0000:03:00.3", "mlx5_3", "/var/run/netns/pod-a");

    const r = doctorReport(node.doctorDeps());

    expect(r.kernel.release).toBe("6.1.0-28-amd64");
    expect(r.rdma).toEqual({ present: true, netnsMode: "exclusive", error: null });
    expect(device(r, "mlx5_2")).toEqual({
      name: "mlx5_2",
      index: 1,
      state: "free",
      seenIn: "host",
      parent: { bus: "pci", name: "0000:03:00.2" },
      netdevs: ["ens1f0v0"],
      attachment: null,
    });
    expect(device(r, "mlx5_4")).toMatchObject({ state: "free", parent: { bus: "auxiliary", name: "mlx5_core.sf.4" }, netdevs: ["enp3s0f0s4"] });
    expect(device(r, "mlx5_3")).toMatchObject({
      state: "attached",
      seenIn: "/var/run/netns/pod-a",
      parent: { bus: "pci", name: "0000:03:00.3" },
      attachment: { network: "sriov-network", containerId: "c0ffee0123456789abcdef", ifName: "net1", netns: "/var/run/netns/pod-a" },
    });
    expect(r.attachments).toHaveLength(1);
    expect(r.attachments[0]).toMatchObject({ check: "in-netns", seenAs: "mlx5_3", phase: "attached" });
    expect(r.locks).toEqual([{ file: `${node.stateDir}/locks/0000%3A03%3A00%2E3.lock`, kind: "device", deviceId: "0000:03:00.3", state: "free", hasRecord: true }]);
    expect(r.findings).toEqual([]);
    expect(r.summary).toEqual({ errors: 0, warnings: 0, infos: 0, needsAttention: false, exitStatus: 0 });
  });

  test("a record whose netns is gone is a warning, and its device is shown returned to the host", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.moveToPod("mlx5_2", "/var/run/netns/gone");
    node.record("dead", "0000:03:00.2", "mlx5_2", "/var/run/netns/gone");
    node.deletePod("/var/run/netns/gone");

    const r = doctorReport(node.doctorDeps());

    expect(ids(r)).toEqual(["record-netns-gone"]);
    expect(r.findings[0]?.severity).toBe("warning");
    expect(r.findings[0]?.message).toContain("the kernel returned mlx5_2 to the host");
    expect(r.attachments[0]?.check).toBe("netns-gone");
    expect(device(r, "mlx5_2")).toMatchObject({ state: "returned", seenIn: "host", attachment: { containerId: "dead" } });
    expect(r.summary.exitStatus).toBe(1);
  });

  test("an attached record whose device is not in its netns is an error, whether it is on the host or gone", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.addPci("0000:03:00.3", "mlx5_3");
    node.netns.create("/var/run/netns/pod-a");
    node.netns.create("/var/run/netns/pod-b");
    node.record("on-host", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a");
    node.record("vanished", "0000:03:00.3", "mlx5_3", "/var/run/netns/pod-b");
    node.rdma.devices.splice(node.rdma.devices.findIndex((d) => d.name === "mlx5_3"), 1); // VF removed

    const r = doctorReport(node.doctorDeps());

    expect(ids(r)).toEqual(["record-device-missing", "record-device-missing"]);
    expect(r.findings.every((f) => f.severity === "error")).toBe(true);
    expect(r.findings[0]?.message).toContain("it is on the host as mlx5_2");
    expect(r.findings[1]?.message).toContain("not on the host either");
    expect(device(r, "mlx5_2").state).toBe("misplaced");
    expect(device(r, "mlx5_3")).toMatchObject({ state: "missing", seenIn: null, parent: { bus: "pci", name: "0000:03:00.3" } });
    expect(r.summary).toMatchObject({ errors: 2, exitStatus: 1 });
  });

  test("a lock file without a record that nobody holds is a stale lock: info, exit status unchanged", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    const file = node.lockFile("0000:03:00.2");

    const r = doctorReport(node.doctorDeps());

    expect(r.locks).toEqual([{ file, kind: "device", deviceId: "0000:03:00.2", state: "free", hasRecord: false }]);
    expect(ids(r)).toEqual(["stale-lock"]);
    expect(r.findings[0]?.severity).toBe("info");
    expect(r.summary).toEqual({ errors: 0, warnings: 0, infos: 1, needsAttention: false, exitStatus: 0 });
  });

  test("a lock held right now is reported held, and the probe leaves it held", () => {
    node = new FakeNode();
    node.addAux("mlx5_core.sf.4", "mlx5_4");
    const file = node.lockFile("mlx5_core.sf.4");
    const lock = acquireLock(file, 100, "test");
    try {
      const r = doctorReport(node.doctorDeps());
      expect(r.locks[0]).toMatchObject({ deviceId: "mlx5_core.sf.4", state: "held", hasRecord: false });
      expect(ids(r)).toEqual(["lock-held"]);
      expect(r.summary.exitStatus).toBe(0);
      expect(() => acquireLock(file, 0, "test").release()).toThrow(/busy/); // still ours
    } finally {
      lock.release();
    }
  });

  test("an attachment's lock file left by a killed call is a stale lock; held, it is a call at work", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    const file = new FileStore(node.stateDir).init().attachmentLockPath(attachmentKey("net", "c1", "net1"));
    fs.writeFileSync(file, "");
    const r = doctorReport(node.doctorDeps());
    expect(r.locks).toEqual([{ file, kind: "attachment", deviceId: null, state: "free", hasRecord: false }]);
    expect(ids(r)).toEqual(["stale-lock"]);
    expect(r.findings[0]?.message).toContain("lock file of an attachment");
    const lock = acquireLock(file, 100, "test");
    try {
      expect(ids(doctorReport(node.doctorDeps()))).toEqual(["lock-held"]);
    } finally {
      lock.release();
    }
  });

  test("a lock file its holder deletes between the listing and the probe is skipped, not unreadable", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    node.lockFile("0000:03:00.2");
    const deps = node.doctorDeps();
    const r = doctorReport({
      ...deps,
      probeLock: (file) => {
        fs.rmSync(file); // what a DEL finishing right now does
        return deps.probeLock(file);
      },
    });
    expect(r.locks).toEqual([]);
    expect(ids(r)).toEqual([]);
  });

  test("a record stuck in phase moving with a free lock is an interrupted call; with the lock held, one in progress", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.netns.create("/var/run/netns/pod-a");
    node.record("c1", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a", { phase: "moving" });

    const idle = doctorReport(node.doctorDeps());
    expect(ids(idle)).toEqual(["record-interrupted"]);
    expect(idle.findings[0]?.message).toContain("mlx5_2 is on the host");
    expect(device(idle, "mlx5_2").state).toBe("moving");
    expect(idle.summary.exitStatus).toBe(1);

    const lock = acquireLock(new FileStore(node.stateDir).deviceLockPath("0000:03:00.2"), 100, "test");
    try {
      const busy = doctorReport(node.doctorDeps());
      expect(ids(busy)).toEqual(["record-in-progress", "lock-held"]);
      expect(busy.summary.exitStatus).toBe(0);
    } finally {
      lock.release();
    }
  });

  test("shared mode is an error that says how to switch to exclusive mode", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2", "ens1f0v0");
    fs.mkdirSync(node.stateDir);
    node.rdma.mode = "shared";

    const r = doctorReport(node.doctorDeps());

    expect(ids(r)).toEqual(["netns-mode-shared"]);
    expect(r.findings[0]).toMatchObject({ severity: "error", subject: "rdma" });
    expect(r.findings[0]?.fix).toContain("rdma system set netns exclusive");
    expect(r.rdma.netnsMode).toBe("shared");
    expect(device(r, "mlx5_2").state).toBe("free");
    expect(r.summary.exitStatus).toBe(1);
  });

  test("a node without RDMA is an error; records there cannot be verified", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.netns.create("/var/run/netns/pod-a");
    node.record("c1", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a");
    node.rdma.absent = true;

    const r = doctorReport(node.doctorDeps());

    expect(r.rdma).toMatchObject({ present: false, netnsMode: null });
    expect(r.rdma.error).toContain("EPROTONOSUPPORT");
    expect(ids(r)).toEqual(["rdma-absent", "record-unverified"]);
    expect(r.findings[0]?.fix).toContain("modprobe ib_core");
    expect(device(r, "mlx5_2")).toMatchObject({ state: "unverified", seenIn: null });
    expect(r.summary).toMatchObject({ errors: 1, warnings: 1, exitStatus: 1 });
  });

  test("a netns that cannot be entered leaves the record unverified (a warning)", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.moveToPod("mlx5_2", "/var/run/netns/pod-a");
    node.record("c1", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a");
    const deps: DoctorDeps = node.doctorDeps();
    deps.netns = Object.assign(Object.create(node.netns), {
      inside: () => {
        throw new NetnsError("enter", "/var/run/netns/pod-a", "cannot enter netns /var/run/netns/pod-a: setns: EPERM (errno 1)");
      },
    });

    const r = doctorReport(deps);

    expect(ids(r)).toEqual(["record-unverified"]);
    expect(r.findings[0]?.message).toContain("EPERM");
    expect(device(r, "mlx5_2").state).toBe("unverified");
    expect(r.summary.exitStatus).toBe(1);
  });

  test("a netns path that is not a network namespace is an error", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.netns.notNetns.add("/proc/1/ns/mnt");
    node.record("c1", "0000:03:00.2", "mlx5_2", "/proc/1/ns/mnt");

    const r = doctorReport(node.doctorDeps());

    expect(ids(r)).toEqual(["record-netns-invalid"]);
    expect(r.summary.exitStatus).toBe(1);
  });

  test("unreadable records are errors and are listed", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    fs.mkdirSync(`${node.stateDir}/attachments`, { recursive: true });
    fs.writeFileSync(`${node.stateDir}/attachments/broken.json`, "{ not json");

    const r = doctorReport(node.doctorDeps());

    expect(r.unreadableRecords).toHaveLength(1);
    expect(r.unreadableRecords[0]?.file).toBe(`${node.stateDir}/attachments/broken.json`);
    expect(ids(r)).toEqual(["record-unreadable"]);
    expect(r.summary).toMatchObject({ errors: 1, exitStatus: 1 });
  });

  test("two live records for one device are an error; a dead pod's record next to a live one is not", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.moveToPod("mlx5_2", "/var/run/netns/pod-a");
    node.netns.create("/var/run/netns/pod-b");
    node.record("a", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-a");
    node.record("b", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-b");
    expect(ids(doctorReport(node.doctorDeps()))).toEqual(["record-device-missing", "record-duplicate-device"]);

    node.netns.destroy("/var/run/netns/pod-b");
    expect(ids(doctorReport(node.doctorDeps()))).toEqual(["record-netns-gone"]);
  });

  test("no state dir yet is only information", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    const r = doctorReport(node.doctorDeps());
    expect(ids(r)).toEqual(["state-dir-missing"]);
    expect(r.summary.exitStatus).toBe(0);
  });

  test("an RDMA subsystem without devices is only information", () => {
    node = new FakeNode();
    fs.mkdirSync(node.stateDir);
    const r = doctorReport(node.doctorDeps());
    expect(ids(r)).toEqual(["no-rdma-devices"]);
    expect(r.summary.exitStatus).toBe(0);
  });

  test("findings come errors first, then warnings, then infos", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.lockFile("0000:03:00.9");
    node.moveToPod("mlx5_2", "/var/run/netns/gone");
    node.record("dead", "0000:03:00.2", "mlx5_2", "/var/run/netns/gone");
    node.deletePod("/var/run/netns/gone");
    node.rdma.mode = "shared";
    expect(ids(doctorReport(node.doctorDeps()))).toEqual(["netns-mode-shared", "record-netns-gone", "stale-lock"]);
  });

  test("doctor changes nothing: state files, devices and their namespaces stay as they were", () => {
    node = new FakeNode();
    node.addPci("0000:03:00.2", "mlx5_2");
    node.addPci("0000:03:00.3", "mlx5_3");
    node.moveToPod("mlx5_3", "/var/run/netns/pod-a");
    node.record("c1", "0000:03:00.3", "mlx5_3", "/var/run/netns/pod-a");
    node.record("c2", "0000:03:00.2", "mlx5_2", "/var/run/netns/pod-b", { phase: "moving" });
    node.lockFile("0000:03:00.9");
    const before = snapshot(node.stateDir);
    const where = node.rdma.devices.map((d) => `${d.name}@${d.ns}`);

    doctorReport(node.doctorDeps());

    expect(snapshot(node.stateDir)).toEqual(before);
    expect(node.rdma.devices.map((d) => `${d.name}@${d.ns}`)).toEqual(where);
    expect(new Set(node.rdma.calls)).toEqual(new Set(["netnsMode", "listDevices"]));
    expect(node.netns.current_).toBe("host");
    expect(node.netns.openFds()).toBe(0);
  });
});
