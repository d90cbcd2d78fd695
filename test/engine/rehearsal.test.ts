/**
 * The first worker's rehearsal (src/engine/rehearsal.ts): ADD and DEL run through the plugin on
 * made-up input, against a stand-in kernel that keeps the kernel's rules, and leave nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { KernelError } from "../../src/rdma/kernel.ts";
import { rehearse, StandInNode } from "../../src/engine/rehearsal.ts";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-rehearsal-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("rehearse", () => {
  test("runs ADD and DEL cycles to success and removes its scratch directory", () => {
    const dir = fs.mkdtempSync(`${tmp}/run-`);
    const r = rehearse(dir, { cycles: 3 });
    expect(r).toMatchObject({ cycles: 3, interrupted: false });
    expect(r.failed).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("stops for a waiting call before its next call (asked before each)", () => {
    const dir = fs.mkdtempSync(`${tmp}/stop-`);
    let asked = 0;
    // the netlink read, VERSION, then ADD, DEL, ADD, DEL: the seventh question says stop
    const r = rehearse(dir, { cycles: 10, stop: () => ++asked > 6 });
    expect(r).toMatchObject({ cycles: 2, interrupted: true });
    expect(asked).toBe(7);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a directory it cannot use is a failure it reports, not an exception", () => {
    const r = rehearse(`${tmp}/does-not-exist/run`, { cycles: 3 });
    expect(r.cycles).toBe(0);
    expect(r.failed).toContain("ENOENT");
  });
});

describe("the stand-in kernel keeps the kernel's rules", () => {
  test("a device is seen and moved only from the netns it is in", () => {
    const node = new StandInNode();
    const device = node.listDevices()[0];
    if (!device) throw new Error("the stand-in holds no device");
    const index = device.index;
    const pod = node.open("/var/run/netns/p");
    node.moveDevice(index, pod.fd);
    expect(node.listDevices()).toEqual([]);
    expect(node.getDevice(index)).toBeUndefined();
    expect(() => node.moveDevice(index, node.home().fd)).toThrow(KernelError); // not from the host
    expect(node.inside(pod, () => node.listDevices())).toEqual([device]);
    node.inside(pod, () => node.moveDevice(index, node.home().fd));
    expect(node.getDevice(index)).toEqual(device);
  });
});
