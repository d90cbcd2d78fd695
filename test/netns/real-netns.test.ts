/**
 * Real network namespaces on the host (root, iproute2): opening and entering netns paths, paths
 * that are not a netns, and the plugin's ADD/DEL/CHECK with the fake RDMA layer following the
 * real thread's netns.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { LinuxNetns, NetnsError, type NetnsHandle } from "../../src/netns/netns.ts";
import type { FakeRdma } from "../fake/rdma.ts";
import { FakeNode, netconf, prevResultFor } from "../fake/node.ts";

const netns = new LinuxNetns();
const tag = `rdmacni${process.pid}`;
const created: string[] = [];

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString()}`);
}
function addNetns(name: string): string {
  ip("netns", "add", name);
  created.push(name);
  return `/var/run/netns/${name}`;
}
const threadNs = () => {
  const st = fs.statSync("/proc/thread-self/ns/net");
  return `${st.dev}:${st.ino}`;
};
/** Device and inode of the nsfs file behind a handle: equal for two handles of one netns. */
const identity = (h: NetnsHandle) => {
  const st = fs.fstatSync(h.fd);
  return `${st.dev}:${st.ino}`;
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-netns-`);
});
afterAll(() => {
  for (const n of created) Bun.spawnSync(["ip", "netns", "del", n]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("LinuxNetns", () => {
  test("opens a netns path and knows it for a network namespace", () => {
    const path = addNetns(`${tag}a`);
    const h = netns.open(path);
    const self = netns.open("/proc/thread-self/ns/net");
    expect(identity(h)).not.toBe(identity(self));
    netns.close(h);
    netns.close(self);
  });

  test.each([
    ["a regular file", () => {
      fs.writeFileSync(`${tmp}/file`, "x");
      return `${tmp}/file`;
    }, "not-netns"],
    ["a directory", () => tmp, "not-netns"],
    ["a mount namespace", () => "/proc/self/ns/mnt", "not-netns"],
    ["a missing path", () => `${tmp}/missing`, "missing"],
    ["a dead process's netns", () => "/proc/999999999/ns/net", "missing"],
  ])("refuses %s", (_what, make, kind) => {
    try {
      netns.open(make());
      throw new Error("opened");
    } catch (e) {
      expect(e).toBeInstanceOf(NetnsError);
      expect((e as NetnsError).kind).toBe(kind as "missing" | "not-netns");
    }
  });

  test("inside() runs in the target netns and comes straight back, even when the function throws", () => {
    const path = addNetns(`${tag}b`);
    const home = threadNs();
    const h = netns.open(path);
    const target = identity(h);
    expect(netns.inside(h, threadNs)).toBe(target);
    expect(threadNs()).toBe(home);
    expect(() =>
      netns.inside(h, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(threadNs()).toBe(home);
    // what a socket-free check sees inside: only the pod's loopback
    const links = netns.inside(h, () => fs.readdirSync("/proc/self/net/dev_snmp6").sort());
    expect(links).toEqual(["lo"]);
    netns.close(h);
  });

  test("inside() nested: each level returns to the one around it, the outermost to home", () => {
    const outer = netns.open(addNetns(`${tag}nest1`));
    const inner = netns.open(addNetns(`${tag}nest2`));
    const home = threadNs();
    const seen = netns.inside(outer, () => [threadNs(), netns.inside(inner, threadNs), threadNs()]);
    expect(seen).toEqual([identity(outer), identity(inner), identity(outer)]);
    expect(threadNs()).toBe(home);
    netns.close(inner);
    netns.close(outer);
  });

  test("home() is the plugin's own netns, one handle for the process, which close() refuses", () => {
    const h = netns.home();
    expect(new LinuxNetns().home()).toBe(h);
    expect(identity(h)).toBe(threadNs());
    expect(() => netns.close(h)).toThrow("kept open");
    expect(identity(h)).toBe(threadNs()); // still open
  });
});

describe("the plugin in real namespaces, with the fake RDMA layer", () => {
  const host = threadNs();
  let node: FakeNode<LinuxNetns>;
  let stateDir: string;
  let rdma: FakeRdma;
  afterEach(() => node?.cleanup());

  function call(command: string, conf: Record<string, unknown>, netnsPath: string): { code: number; json: Record<string, unknown> | undefined } {
    return node.call(command, conf, { netns: netnsPath });
  }

  function setup() {
    node = new FakeNode({ netns, hostNs: host, currentNs: threadNs, nsOfFd: (fd) => identity({ fd, path: "" }) });
    node.lockTimeoutMs = 500;
    fs.mkdirSync(node.stateDir);
    stateDir = node.stateDir;
    rdma = node.rdma;
    node.addPci("0000:03:00.5", "mlx5_3");
  }
  afterEach(() => expect(threadNs()).toBe(host));

  const conf = netconf("1.0.0", { deviceID: "0000:03:00.5", prevResult: prevResultFor("1.0.0") });

  test("ADD moves the device into the pod's netns; CHECK sees it there; DEL brings it back from inside", () => {
    setup();
    const path = addNetns(`${tag}n1`);
    const podId = (() => {
      const h = netns.open(path);
      const id = identity(h);
      netns.close(h);
      return id;
    })();
    expect(call("ADD", conf, path).code).toBe(0);
    expect(rdma.device("mlx5_3").ns).toBe(podId);
    expect(call("CHECK", conf, path).code).toBe(0);
    expect(call("DEL", conf, path).code).toBe(0);
    expect(rdma.device("mlx5_3").ns).toBe(host);
  });

  test("DEL after `ip netns del` succeeds and drops the record", () => {
    setup();
    const name = `${tag}d`;
    const path = addNetns(name);
    expect(call("ADD", conf, path).code).toBe(0);
    ip("netns", "del", name);
    rdma.device("mlx5_3").ns = host; // what the kernel does when the netns dies
    expect(call("DEL", conf, path).code).toBe(0);
    expect(fs.readdirSync(`${stateDir}/attachments`)).toEqual([]);
  });

  test("ADD into a mount namespace path is refused, moves nothing and writes nothing", () => {
    setup();
    const r = call("ADD", conf, "/proc/self/ns/mnt");
    expect(r.json).toMatchObject({ code: 104 });
    expect(rdma.device("mlx5_3").ns).toBe(host);
    expect(fs.readdirSync(stateDir)).toEqual([]); // not even the attachments and locks directories
  });

  test("ADD into a regular file is refused and writes nothing", () => {
    setup();
    fs.writeFileSync(`${tmp}/notns`, "");
    expect(call("ADD", conf, `${tmp}/notns`).json).toMatchObject({ code: 104 });
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });
});
