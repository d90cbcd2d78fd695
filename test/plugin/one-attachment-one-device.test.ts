/**
 * One attachment, one device: two ADDs for the same (network, container, interface) naming
 * different devices never both move one. And lock files do not pile up: a call deletes the lock
 * files it no longer needs.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { attachmentKey, deviceLockName, FileStore, type Store } from "../../src/state/store.ts";
import { HOST_NS } from "../fake/netns.ts";
import { type CallResult, netconf, prevResultFor, FakeNode } from "../fake/node.ts";

const A = "0000:03:00.5";
const B = "0000:03:00.6";
const POD = "/var/run/netns/pod1";
let w: FakeNode;

beforeEach(() => {
  w = new FakeNode();
  w.addPci(A, "mlx5_3");
  w.addPci(B, "mlx5_4");
  w.pod(POD);
});
afterEach(() => {
  expect(w.netns.openFds()).toBe(0);
  expect(w.strayFiles()).toEqual([]);
  w.cleanup();
});

const conf = (deviceID: string) => netconf("1.1.0", { deviceID, prevResult: prevResultFor("1.1.0") });
const lockFiles = () => new FileStore(w.stateDir).listLocks().map((l) => path.basename(l.file));
const inPod = () => ["mlx5_3", "mlx5_4"].filter((d) => w.whereIs(d) !== HOST_NS);

/**
 * Runs `during` in the middle of the next ADD: right after it has read its attachment's record
 * (none yet), before it writes one. That is where a second ADD of another process would slip in
 * if the record were guarded only by the device's lock.
 */
function interleave(during: () => void): void {
  let armed = true;
  w.wrapStore = (store: Store): Store => {
    const get: Store["get"] = (key) => {
      const found = store.get(key);
      if (armed) {
        armed = false;
        during();
      }
      return found;
    };
    return Object.assign(Object.create(store), { get });
  };
}

describe("two ADDs of one attachment with different devices", () => {
  test("at once: the one that comes second waits for the attachment and gives up (11); one device moved, one record", () => {
    let second: CallResult | undefined;
    interleave(() => {
      second = w.call("ADD", conf(B));
    });
    const first = w.call("ADD", conf(A));
    expect(first.code).toBe(0);
    expect(second?.json).toMatchObject({ code: 11 });
    expect(String(second?.json?.msg)).toContain("attachment (network sriov-network, container c1, interface net1) is busy");
    expect(inPod()).toEqual(["mlx5_3"]);
    expect(w.records()).toEqual([expect.objectContaining({ deviceId: A, rdmaDevice: "mlx5_3", phase: "attached" })]);
    expect(w.call("DEL", conf(A)).code).toBe(0);
    expect(inPod()).toEqual([]);
    expect(w.records()).toEqual([]);
  });

  test("one after the other: the second is refused with 103 naming the device the attachment holds, and changes nothing", () => {
    expect(w.call("ADD", conf(A)).code).toBe(0);
    const r = w.call("ADD", conf(B));
    expect(r.json).toMatchObject({ code: 103 });
    expect(String(r.json?.msg)).toContain("already holds RDMA device mlx5_3 (deviceID 0000:03:00.5), not 0000:03:00.6");
    expect(inPod()).toEqual(["mlx5_3"]);
    expect(w.records()).toHaveLength(1);
    // The refused ADD left no lock file of its own behind.
    expect(lockFiles()).toEqual(["0000%3A03%3A00%2E5.lock"]);
    expect(w.call("DEL", conf(B)).code).toBe(0); // DEL goes by the attachment: it releases mlx5_3
    expect(inPod()).toEqual([]);
    expect(w.records()).toEqual([]);
  });
});

describe("lock files", () => {
  test("many ADD/DEL cycles over several devices and attachments leave the locks directory empty", () => {
    const devices = [A, B, "0000:03:00.7", "0000:04:00.1"];
    w.addPci("0000:03:00.7", "mlx5_5");
    w.addPci("0000:04:00.1", "mlx5_6");
    for (let i = 0; i < 40; i++) {
      const id = devices[i % devices.length]!;
      const env = { containerId: `c${i}`, ifName: `net${i % 3}` };
      const add = w.call("ADD", netconf("1.1.0", { deviceID: id, prevResult: prevResultFor("1.1.0", { ifName: env.ifName }) }), env);
      expect(add.code).toBe(0);
      // While attached: the device's lock file and nothing else.
      expect(lockFiles()).toEqual([deviceLockName(id)]);
      expect(w.call("DEL", conf(id), env).code).toBe(0);
      expect(lockFiles()).toEqual([]);
    }
    expect(w.records()).toEqual([]);
  });

  test("an ADD that fails and undoes everything leaves no lock file; GC removes the ones of what it releases", () => {
    w.rdma.failNextMove = 16; // EBUSY
    expect(w.call("ADD", conf(A)).json).toMatchObject({ code: 105 });
    expect(lockFiles()).toEqual([]);
    expect(w.records()).toEqual([]);

    w.pod("/var/run/netns/pod2");
    expect(w.call("ADD", conf(A)).code).toBe(0);
    expect(w.call("ADD", conf(B), { containerId: "c2", netns: "/var/run/netns/pod2" }).code).toBe(0);
    expect(lockFiles()).toHaveLength(2);
    const gc = w.call("GC", netconf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: "c2", ifname: "net1" }] }));
    expect(gc.code).toBe(0);
    expect(lockFiles()).toEqual([deviceLockName(B)]); // the kept attachment's device only
  });

  test("a stale lock file (from a killed call) is taken over and removed by the next call of that device", () => {
    const store = new FileStore(w.stateDir).init();
    fs.writeFileSync(store.deviceLockPath(A), "");
    fs.writeFileSync(store.attachmentLockPath(attachmentKey("sriov-network", "c1", "net1")), "");
    expect(w.call("ADD", conf(A)).code).toBe(0);
    expect(lockFiles()).toEqual([deviceLockName(A)]);
    expect(w.call("DEL", conf(A)).code).toBe(0);
    expect(lockFiles()).toEqual([]);
  });
});
