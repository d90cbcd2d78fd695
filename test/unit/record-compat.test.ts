/**
 * The compatibility rule of our records across versions (docs/migration.md, "Records across
 * versions"): fields are added under version 1, and a plugin reads, uses and keeps a record with
 * fields it does not know; a record of a version it does not know is refused (code 106) and nothing moves.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import { checkRecord, FileStore } from "../../src/state/store.ts";
import { HOST_NS } from "../fake/netns.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

const VF = "0000:03:00.5";
const POD = "/var/run/netns/pod1";
let w: FakeNode;
beforeEach(() => {
  w = new FakeNode();
  w.addPci(VF, "mlx5_3");
  w.moveToPod("mlx5_3", POD);
});
afterEach(() => w.cleanup());

const conf = () => netconf("1.0.0", { deviceID: VF, prevResult: prevResultFor("1.0.0") });
/** A record as a newer plugin might write it: version 1 with fields this one does not know. */
const newer = () => w.record("c1", VF, "mlx5_3", POD, { nameInPod: "rdma0", future: { any: ["shape"] } } as object);

test("a newer version-1 record is read with its unknown fields, and DEL releases it", () => {
  newer();
  expect(checkRecord(JSON.parse(fs.readFileSync(new FileStore(w.stateDir).recordPath({ network: "sriov-network", containerId: "c1", ifName: "net1" }), "utf8")))).toMatchObject({
    nameInPod: "rdma0",
  });
  const r = w.call("DEL", conf());
  expect(r.code).toBe(0);
  expect(w.whereIs("mlx5_3")).toBe(HOST_NS);
  expect(w.records()).toEqual([]);
});

test("a repeated ADD that rewrites a newer record keeps the fields it does not know", () => {
  newer();
  const store = new FileStore(w.stateDir);
  const key = { network: "sriov-network", containerId: "c1", ifName: "net1" };
  store.put({ ...(store.get(key) as NonNullable<ReturnType<typeof store.get>>), phase: "moving" });
  expect(w.call("ADD", conf()).code).toBe(0);
  const rec = JSON.parse(fs.readFileSync(store.recordPath(key), "utf8"));
  expect(rec).toMatchObject({ version: 1, phase: "attached", nameInPod: "rdma0", future: { any: ["shape"] } });
});

test("a record of a version this plugin does not know is refused with code 106, and nothing moves", () => {
  w.record("c1", VF, "mlx5_3", POD, { version: 2 } as object);
  const r = w.call("DEL", conf());
  expect(r.json).toMatchObject({ code: 106 });
  expect(String(r.json?.msg)).toContain("unsupported record version 2");
  expect(w.whereIs("mlx5_3")).toBe(POD);
  expect(fs.readdirSync(`${w.stateDir}/attachments`)).toHaveLength(1);
});
