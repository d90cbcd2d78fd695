/** Every verb through the CNI dispatcher, in-process, against the fake node (test/fake/node.ts). */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { SUPPORTED_VERSIONS } from "../../src/config/version.ts";
import { FileStore } from "../../src/state/store.ts";
import { HOST_NS } from "../fake/netns.ts";
import { EOPNOTSUPP } from "../fake/rdma.ts";
import { netconf, prevResultFor, FakeNode } from "../fake/node.ts";

const PCI = "0000:03:00.5";
const POD = "/var/run/netns/pod1";
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(PCI, "mlx5_3");
  w.addPci("0000:03:00.6", "mlx5_4");
  w.pod(POD);
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0); // every netns fd the plugin opened was closed
  expect(w.strayFiles()).toEqual([]); // no temp files left in the state dir
  w.cleanup();
});

function addConf(version: string, extra: Record<string, unknown> = {}) {
  return netconf(version, { deviceID: PCI, prevResult: prevResultFor(version), ...extra });
}

describe.each([...SUPPORTED_VERSIONS])("cniVersion %s", (version) => {
  test("ADD moves the RDMA device into the pod netns and prints prevResult unchanged (1.1.0: with the VF's pciID)", () => {
    const conf = addConf(version);
    const r = w.call("ADD", conf);
    expect(r.code).toBe(0);
    const expected = structuredClone(conf.prevResult) as { interfaces: Record<string, unknown>[] };
    if (version === "1.1.0") expected.interfaces[0]!.pciID = PCI;
    expect(r.json).toEqual(expected as unknown as Record<string, unknown>);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
    const [rec, ...more] = w.records();
    expect(more).toEqual([]);
    expect(rec).toMatchObject({ version: 1, network: "sriov-network", containerId: "c1", ifName: "net1", deviceId: PCI, rdmaDevice: "mlx5_3", netns: POD, phase: "attached" });
  });

  test("DEL moves the device back to the host and drops the record", () => {
    expect(w.call("ADD", addConf(version)).code).toBe(0);
    const r = w.call("DEL", addConf(version));
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("CHECK is answered from 0.4.0 on and refused before", () => {
    expect(w.call("ADD", addConf(version)).code).toBe(0);
    const r = w.call("CHECK", addConf(version));
    if (version === "0.3.0" || version === "0.3.1") {
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: 1, cniVersion: version });
      expect(String(r.json?.msg)).toContain("CHECK");
    } else {
      expect(r).toMatchObject({ code: 0, stdout: "" });
    }
  });

  test("STATUS and GC are answered in 1.1.0 and refused before", () => {
    for (const command of ["STATUS", "GC"]) {
      const r = w.call(command, netconf(version, { "cni.dev/valid-attachments": [] }));
      if (version === "1.1.0") expect(r).toMatchObject({ code: 0, stdout: "" });
      else expect(r.json).toMatchObject({ code: 1, cniVersion: version });
    }
  });

  test("errors carry the config's cniVersion", () => {
    w.rdma.mode = "shared";
    const r = w.call("ADD", addConf(version));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ cniVersion: version, code: 101 });
  });
});

describe("ADD", () => {
  test("ADD without prevResult says the plugin must be chained", () => {
    const r = w.call("ADD", netconf("1.0.0", { deviceID: PCI }));
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("must be chained");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("ADD without any deviceID says what to configure", () => {
    const r = w.call("ADD", netconf("1.0.0", { prevResult: prevResultFor("1.0.0") }));
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain("deviceID");
    expect(String(r.json?.msg)).toContain("runtimeConfig.deviceID");
  });

  test("ADD takes the container interface's pciID from a 1.1.0 prevResult", () => {
    const r = w.call("ADD", netconf("1.1.0", { prevResult: prevResultFor("1.1.0", { pciID: "0000:03:00.6" }) }));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_4")).toBe(POD);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });

  test("runtimeConfig.deviceID wins over the top-level deviceID", () => {
    const r = w.call("ADD", addConf("1.0.0", { runtimeConfig: { deviceID: "0000:03:00.6" } }));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_4")).toBe(POD);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()[0]).toMatchObject({ deviceId: "0000:03:00.6" });
  });

  test("ADD of an auxiliary (sub-function) device moves its RDMA device", () => {
    w.addAux("mlx5_core.sf.4", "mlx5_7");
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "mlx5_core.sf.4" }));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_7")).toBe(POD);
  });

  test("ADD in shared mode tells the operator how to set exclusive mode, and moves nothing", () => {
    w.rdma.mode = "shared";
    const r = w.call("ADD", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 101 });
    expect(String(r.json?.details)).toContain("options ib_core netns_mode=0");
    expect(String(r.json?.details)).toContain("rdma system set netns exclusive");
    expect(w.records()).toEqual([]);
  });

  test("ADD of an unknown deviceID on a node without RDMA says RDMA is missing (100), not 102", () => {
    w.rdma.absent = true;
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "0000:09:00.1" }));
    expect(r.json).toMatchObject({ code: 100 });
  });

  test("ADD without an RDMA subsystem fails with code 100", () => {
    w.rdma.absent = true;
    const r = w.call("ADD", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 100 });
    expect(w.records()).toEqual([]);
  });

  test("a kernel failure while listing devices is error 100, with nothing moved or written", () => {
    w.rdma.failListWith = 12; // ENOMEM
    const r = w.call("ADD", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 100 });
    expect(String(r.json?.msg)).toContain("list RDMA devices");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("ADD finds a device that a dump skipped, as a concurrent move elsewhere can make it", () => {
    w.rdma.skipInNextDumps = 2; // mlx5_4 is the last device: make it the one skipped
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "0000:03:00.6" }));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_4")).toBe(POD);
  });

  test("ADD gives up with 102 when dump after dump misses the device", () => {
    w.rdma.skipInNextDumps = 100;
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "0000:03:00.6" }));
    expect(r.json).toMatchObject({ code: 102 });
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("a later ADD finds its device by the index an earlier dump gave: one GET, no dump", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    w.rdma.calls.length = 0;
    expect(w.call("ADD", addConf("1.0.0", { deviceID: "0000:03:00.6" })).code).toBe(0); // mlx5_4: seen in the first dump
    expect(w.rdma.calls).toContain("getDevice");
    expect(w.rdma.calls).not.toContain("listDevices");
    expect(w.whereIs("mlx5_4")).toBe(POD);
  });

  test("a cached index the kernel no longer gives that name (the device came back under a new index) means a new dump", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    const old = w.rdma.device("mlx5_3").index;
    w.rdma.removeDevice("mlx5_3"); // a driver rebind: same name, same sysfs parent, new index
    const again = w.rdma.addDevice("mlx5_3", HOST_NS);
    expect(again.index).not.toBe(old);
    w.rdma.calls.length = 0;
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.rdma.calls.slice(0, 2)).toEqual(["getDevice", "listDevices"]);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.records()[0]).toMatchObject({ rdmaDevice: "mlx5_3", rdmaIndex: again.index });
  });

  test("a cached index that now names another device is not taken for the one asked for", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    w.indexCache.set("mlx5_3", w.rdma.device("mlx5_4").index); // what a reused index would look like
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.whereIs("mlx5_4")).toBe(HOST_NS);
  });

  test("a repeated ADD that already succeeded succeeds again", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    const again = w.call("ADD", addConf("1.0.0"));
    expect(again.code).toBe(0);
    expect(again.json).toEqual(addConf("1.0.0").prevResult as Record<string, unknown>);
    const again11 = w.call("ADD", addConf("1.1.0"));
    expect(again11.code).toBe(0);
    expect(again11.json?.interfaces).toEqual([expect.objectContaining({ name: "net1", pciID: PCI })]);
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.records()).toHaveLength(1);
  });

  test("ADD of a device attached to another pod is refused and changes nothing", () => {
    w.pod("/var/run/netns/pod2");
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    const r = w.call("ADD", addConf("1.0.0"), { containerId: "c2", netns: "/var/run/netns/pod2" });
    expect(r.json).toMatchObject({ code: 103 });
    expect(String(r.json?.msg)).toContain("c1");
    expect(w.whereIs("mlx5_3")).toBe(POD);
    expect(w.records()).toHaveLength(1);
  });

  test("a record whose netns does not hold the device does not make it busy: 102, naming the record", () => {
    w.pod("/var/run/netns/pod2");
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    // the device vanishes from the pod (driver unloaded, reset) while its record stays
    w.rdma.devices.splice(w.rdma.devices.indexOf(w.rdma.device("mlx5_3")), 1);
    const r = w.call("ADD", addConf("1.0.0"), { containerId: "c2", netns: "/var/run/netns/pod2" });
    expect(r.json).toMatchObject({ code: 102 });
    expect(String(r.json?.msg)).toContain("container c1");
    expect(String(r.json?.msg)).toContain("does not hold it");
  });

  test("ADD of a deviceID without an RDMA device names the path it looked at", () => {
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "0000:09:00.1" }));
    expect(r.json).toMatchObject({ code: 102 });
    expect(String(r.json?.msg)).toContain("bus/pci/devices/0000:09:00.1");
  });

  test("ADD of a deviceID with two RDMA devices names both", () => {
    w.addPci("0000:05:00.0", "mlx5_8");
    w.addPci("0000:05:00.0", "mlx5_9");
    const r = w.call("ADD", addConf("1.0.0", { deviceID: "0000:05:00.0" }));
    expect(r.json).toMatchObject({ code: 102 });
    expect(String(r.json?.msg)).toContain("mlx5_8, mlx5_9");
  });

  test("ADD into a netns that does not exist fails before anything is written", () => {
    const r = w.call("ADD", addConf("1.0.0"), { netns: "/var/run/netns/nope" });
    expect(r.json).toMatchObject({ code: 104 });
    expect(String(r.json?.msg)).toContain("CNI_NETNS");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("ADD into a path that is not a netns is refused", () => {
    w.netns.notNetns.add("/proc/self/ns/mnt");
    const r = w.call("ADD", addConf("1.0.0"), { netns: "/proc/self/ns/mnt" });
    expect(r.json).toMatchObject({ code: 104 });
    expect(w.records()).toEqual([]);
  });

  test("a failed move leaves no record and the device on the host", () => {
    w.rdma.failNextMove = EOPNOTSUPP;
    const r = w.call("ADD", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 105 });
    expect(String(r.json?.msg)).toContain("mlx5_3");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("a failure after the move moves the device back and drops the record", () => {
    w.wrapStore = (store) => {
      let puts = 0;
      return Object.assign(Object.create(Object.getPrototypeOf(store)), store, {
        put(rec: Parameters<typeof store.put>[0]) {
          if (++puts === 2) throw new Error("disk full");
          store.put(rec);
        },
      });
    };
    const r = w.call("ADD", addConf("1.0.0"));
    expect(r.code).toBe(1);
    expect(String(r.json?.msg)).toContain("disk full");
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("ADD waits for the device lock and then says try again later", () => {
    const store = new FileStore(w.stateDir).init();
    const lock = store.lockDevice(PCI, 100);
    try {
      const started = Date.now();
      const r = w.call("ADD", addConf("1.0.0"));
      expect(r.json).toMatchObject({ code: 11 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(w.lockTimeoutMs);
      expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    } finally {
      lock.release();
    }
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
  });

  test("ADD logs go to stderr, never stdout", () => {
    const r = w.call("ADD", addConf("1.0.0", { args: { cni: { debug: true } } }));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('"level":"debug"');
  });

  test("debug=true in CNI_ARGS turns on debug logs", () => {
    const quiet = w.call("CHECK", addConf("1.0.0"));
    expect(quiet.stderr).not.toContain('"level":"debug"');
    const r = w.call("DEL", addConf("1.0.0"), { args: "IgnoreUnknown=1;debug=true" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('"level":"debug"');
  });
});

describe("DEL", () => {
  test("DEL without a record succeeds and changes nothing", () => {
    const r = w.call("DEL", netconf("1.0.0"));
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });

  test("DEL twice succeeds twice", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });

  test("DEL with an empty CNI_NETNS uses the netns path in the record", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    const r = w.callRaw({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_IFNAME: "net1", CNI_NETNS: "" }, JSON.stringify(netconf("1.0.0")));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("DEL after the pod netns was deleted drops the record and succeeds", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    w.deletePod(POD);
    const r = w.call("DEL", addConf("1.0.0"));
    expect(r.code).toBe(0);
    expect(w.records()).toEqual([]);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    // and the device can be attached again
    w.pod("/var/run/netns/pod3");
    expect(w.call("ADD", addConf("1.0.0"), { containerId: "c3", netns: "/var/run/netns/pod3" }).code).toBe(0);
  });

  test("DEL when the RDMA subsystem is gone drops the record", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    w.rdma.absent = true;
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    expect(w.records()).toEqual([]);
  });

  test("DEL of a record whose device never moved (crash before the move) drops it and touches nothing", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    // put the device back behind the plugin's back, as if the move had never happened
    const dev = w.rdma.device("mlx5_3");
    dev.ns = HOST_NS;
    const r = w.call("DEL", addConf("1.0.0"));
    expect(r.code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.records()).toEqual([]);
  });

  test("DEL fails, keeping the record, when the move back fails in exclusive mode", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    w.rdma.failNextMove = 16;
    const r = w.call("DEL", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 105 });
    expect(w.records()).toHaveLength(1);
    expect(w.call("DEL", addConf("1.0.0")).code).toBe(0);
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  });
});

describe("CHECK", () => {
  test("CHECK without a record fails", () => {
    const r = w.call("CHECK", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 107 });
    expect(String(r.json?.msg)).toContain("no attachment record");
  });

  test("CHECK fails when the device is no longer in the pod", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    w.rdma.device("mlx5_3").ns = HOST_NS;
    const r = w.call("CHECK", addConf("1.0.0"));
    expect(r.json).toMatchObject({ code: 107 });
    expect(String(r.json?.msg)).toContain("mlx5_3");
  });

  test("CHECK fails when the config names another device than the attachment holds", () => {
    expect(w.call("ADD", addConf("1.0.0")).code).toBe(0);
    const r = w.call("CHECK", addConf("1.0.0", { deviceID: "0000:03:00.6" }));
    expect(r.json).toMatchObject({ code: 107 });
  });
});

describe("STATUS", () => {
  test("STATUS in shared mode returns 50 and says why", () => {
    w.rdma.mode = "shared";
    const r = w.call("STATUS", netconf("1.1.0"));
    expect(r.json).toMatchObject({ code: 50 });
    expect(String(r.json?.msg)).toContain("shared");
  });

  test("STATUS without an RDMA subsystem returns 50", () => {
    w.rdma.absent = true;
    const r = w.call("STATUS", netconf("1.1.0"));
    expect(r.json).toMatchObject({ code: 50 });
    expect(String(r.json?.msg)).toContain("not reachable");
  });
});

describe("GC", () => {
  test("GC releases the attachments of this network that are not valid, and keeps the rest", () => {
    w.addPci("0000:03:00.7", "mlx5_5");
    for (const [i, pci] of [PCI, "0000:03:00.6", "0000:03:00.7"].entries()) {
      w.pod(`/var/run/netns/p${i}`);
      expect(w.call("ADD", addConf("1.1.0", { deviceID: pci }), { containerId: `c${i}`, netns: `/var/run/netns/p${i}` }).code).toBe(0);
    }
    // one attachment of another network, not listed either: not ours to collect
    w.addPci("0000:04:00.1", "mlx5_6");
    w.pod("/var/run/netns/other");
    expect(w.call("ADD", netconf("1.1.0", { name: "other-net", deviceID: "0000:04:00.1", prevResult: prevResultFor("1.1.0") }), { containerId: "x", netns: "/var/run/netns/other" }).code).toBe(0);

    const r = w.call("GC", netconf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "net1" }] }));
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
    expect(w.whereIs("mlx5_4")).toBe("/var/run/netns/p1");
    expect(w.whereIs("mlx5_5")).toBe(HOST_NS);
    expect(w.whereIs("mlx5_6")).toBe("/var/run/netns/other");
    expect(w.records().map((r) => r.containerId).sort()).toEqual(["c1", "x"]);
  });

  test("GC carries on past a failure and reports it", () => {
    w.pod("/var/run/netns/p2");
    expect(w.call("ADD", addConf("1.1.0")).code).toBe(0);
    expect(w.call("ADD", addConf("1.1.0", { deviceID: "0000:03:00.6" }), { containerId: "c2", netns: "/var/run/netns/p2" }).code).toBe(0);
    w.rdma.failNextMove = 16; // the first release fails
    const r = w.call("GC", netconf("1.1.0", { "cni.dev/valid-attachments": [] }));
    expect(r.json).toMatchObject({ code: 108 });
    expect(String(r.json?.msg)).toContain("1 of 2");
    expect(w.records()).toHaveLength(1);
    expect([w.whereIs("mlx5_3"), w.whereIs("mlx5_4")].filter((ns) => ns === HOST_NS)).toHaveLength(1);
  });

  test("GC without cni.dev/valid-attachments is refused rather than collecting everything", () => {
    expect(w.call("ADD", addConf("1.1.0")).code).toBe(0);
    const r = w.call("GC", netconf("1.1.0"));
    expect(r.json).toMatchObject({ code: 7 });
    expect(w.whereIs("mlx5_3")).toBe(POD);
  });
});
