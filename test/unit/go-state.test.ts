/** The Go rdma-cni's records, against the layout read in its pkg/cache (file name) and pkg/types (JSON fields). */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { goRecordPath, parseGoRecord, readGoRecord, removeGoRecord, writeGoRecord } from "../../src/state/go-state.ts";

let dir: string;
beforeEach(() => {
  dir = `${fs.mkdtempSync(`${os.tmpdir()}/rdma-go-state-`)}/var/lib/cni/rdma`;
});
afterEach(() => fs.rmSync(dir.replace(/\/var\/lib\/cni\/rdma$/, ""), { recursive: true, force: true }));

const key = { network: "sriov-net", containerId: "3f2a9c", ifName: "net1" };

test("one file per attachment: network, container ID and ifname joined by '-', no extension", () => {
  expect(goRecordPath("/var/lib/cni/rdma", key)).toBe("/var/lib/cni/rdma/sriov-net-3f2a9c-net1");
});

test("written as the Go plugin writes it: its four JSON fields, 0600 in a 0700 directory", () => {
  const file = writeGoRecord(dir, key, { version: "1.0", deviceID: "0000:03:00.2", sandboxRdmaDevName: "mlx5_3", containerRdmaDevName: "mlx5_3" });
  expect(file).toBe(`${dir}/sriov-net-3f2a9c-net1`);
  expect(fs.readFileSync(file, "utf8")).toBe('{"version":"1.0","deviceID":"0000:03:00.2","sandboxRdmaDevName":"mlx5_3","containerRdmaDevName":"mlx5_3"}');
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  expect(fs.readdirSync(dir)).toEqual(["sriov-net-3f2a9c-net1"]); // no temp file left
});

test("read back, and gone once removed", () => {
  writeGoRecord(dir, key, { version: "1.0", deviceID: "mlx5_core.sf.4", sandboxRdmaDevName: "mlx5_9", containerRdmaDevName: "mlx5_9" });
  expect(readGoRecord(dir, key)).toEqual({ version: "1.0", deviceID: "mlx5_core.sf.4", sandboxRdmaDevName: "mlx5_9", containerRdmaDevName: "mlx5_9" });
  removeGoRecord(dir, key);
  expect(readGoRecord(dir, key)).toBeUndefined();
  expect(readGoRecord(`${dir}/nosuch`, key)).toBeUndefined();
});

test("a later 1.x record with more fields is read (as Go's json.Unmarshal reads it); 2.x or a missing field is not", () => {
  expect(parseGoRecord('{"version":"1.3","deviceID":"0000:03:00.2","sandboxRdmaDevName":"a","containerRdmaDevName":"b","guid":"x"}')).toEqual({
    version: "1.3",
    deviceID: "0000:03:00.2",
    sandboxRdmaDevName: "a",
    containerRdmaDevName: "b",
  });
  expect("error" in parseGoRecord('{"version":"2.0","deviceID":"d","sandboxRdmaDevName":"a","containerRdmaDevName":"b"}')).toBe(true);
  expect("error" in parseGoRecord('{"version":"1.0","deviceID":"d","sandboxRdmaDevName":"a"}')).toBe(true);
  expect("error" in parseGoRecord('{"version":"1.0","deviceID":"d","sandboxRdmaDevName":"a","containerRdmaDevName":"../x"}')).toBe(true);
  expect("error" in parseGoRecord("not json")).toBe(true);
});
