/** The call's resolution (config/call.ts): everything a verb needs, or the first refusal in the reply's version. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { type Resolution, resolveCall } from "../../src/config/call.ts";
import { LATEST_VERSION } from "../../src/config/version.ts";

const ENV = { CNI_CONTAINERID: "c1", CNI_NETNS: "/var/run/netns/pod1", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin", RDMA_CNI_STATE_DIR: "/tmp/unused" };
const PREV = { cniVersion: "1.1.0", interfaces: [{ name: "net1", sandbox: "/var/run/netns/pod1", pciID: "0000:03:00.5" }] };

let roots: string[];
beforeEach(() => {
  roots = [fs.mkdtempSync(`${os.tmpdir()}/rdma-call-devinfo-`)];
});
afterEach(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function resolve(command: string | undefined, config: unknown, extraEnv: Record<string, string> = {}): Resolution {
  const bytes = new TextEncoder().encode(typeof config === "string" ? config : JSON.stringify(config));
  return resolveCall({ ...ENV, CNI_COMMAND: command, ...extraEnv }, (max) => bytes.subarray(0, max + 1), roots);
}

const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: "1.1.0", name: "sriov-network", type: "rdma", ...extra });

function refusal(r: Resolution) {
  if (r.kind !== "refused") throw new Error(`expected a refusal, got ${r.kind}`);
  return r;
}

function resolved(r: Resolution) {
  if (r.kind !== "call") throw new Error(`expected a call, got ${r.kind}: ${r.kind === "refused" ? r.error.message : ""}`);
  return r.call;
}

describe("VERSION and what comes before the config", () => {
  test("VERSION needs no config: the reply lists the supported versions", () => {
    const r = resolve("VERSION", "{}");
    expect(r).toMatchObject({ kind: "version", verb: "VERSION", reply: { cniVersion: LATEST_VERSION } });
    expect(r.kind === "version" && r.reply.supportedVersions).toContain("0.3.0");
  });

  test("a missing CNI_COMMAND is refused before stdin is read (a terminal would keep the call waiting)", () => {
    let read = false;
    const r = resolveCall({ ...ENV }, () => {
      read = true;
      return new Uint8Array();
    });
    expect(refusal(r)).toMatchObject({ verb: undefined, replyVersion: LATEST_VERSION, input: undefined });
    expect(refusal(r).error.code).toBe(4);
    expect(read).toBe(false);
  });

  test("stdin larger than any config is refused, even for VERSION", () => {
    const big = new Uint8Array(4 * 1024 * 1024 + 1);
    const r = resolveCall({ CNI_COMMAND: "VERSION" }, (max) => big.subarray(0, max + 1));
    expect(refusal(r)).toMatchObject({ verb: "VERSION" });
    expect(refusal(r).error.code).toBe(6);
  });
});

describe("a refusal says what was parsed before it", () => {
  test("once cniVersion is parsed, the reply is in it", () => {
    const r = refusal(resolve("DEL", { cniVersion: "0.4.0", name: "", type: "rdma" }));
    expect(r).toMatchObject({ verb: "DEL", replyVersion: "0.4.0", input: undefined });
    expect(r.error.message).toContain("name");
  });

  test("a stateDir outside its root is refused after the input is parsed: the call line still names the container", () => {
    const r = refusal(resolve("DEL", conf({ stateDir: "/etc/rdma" })));
    expect(r.error).toMatchObject({ code: 7 });
    expect(r.error.message).toContain("stateDir");
    expect(r.input?.env.containerId).toBe("c1");
    expect(r.input?.conf.name).toBe("sriov-network");
  });
});

describe("ADD's device, prevResult and device-info file", () => {
  test("a configured deviceID, and the field it came from", () => {
    const call = resolved(resolve("ADD", conf({ prevResult: PREV, runtimeConfig: { deviceID: "0000:04:00.1" } })));
    expect(call.verb === "ADD" && call.add.device).toEqual({ deviceId: { kind: "pci", id: "0000:04:00.1" }, source: "runtimeConfig.deviceID" });
  });

  test("else a 1.1.0 prevResult's pciID of the container interface", () => {
    const call = resolved(resolve("ADD", conf({ prevResult: PREV })));
    expect(call.verb === "ADD" && call.add.device).toEqual({ deviceId: { kind: "pci", id: "0000:03:00.5" }, source: "prevResult pciID of net1" });
  });

  test("else none: the pod's interface will say", () => {
    const call = resolved(resolve("ADD", conf({ prevResult: { ...PREV, interfaces: [{ name: "net1", sandbox: "/var/run/netns/pod1" }] } })));
    expect(call.verb === "ADD" && call.add).toMatchObject({ device: undefined, deviceInfoFile: undefined });
  });

  test("a missing prevResult is refused before a bad device-info file, a bad stateDir before both", () => {
    const badFile = { runtimeConfig: { CNIDeviceInfoFile: "/etc/passwd" } };
    expect(refusal(resolve("ADD", conf(badFile))).error.message).toContain("prevResult is missing");
    expect(refusal(resolve("ADD", conf({ ...badFile, stateDir: "/etc/rdma" }))).error.message).toContain("stateDir");
  });

  test("the device-info file is confined below the roots it is given", () => {
    const inside = `${roots[0]}/pod1-net1.json`;
    const call = resolved(resolve("ADD", conf({ prevResult: PREV, runtimeConfig: { CNIDeviceInfoFile: inside } })));
    expect(call.verb === "ADD" && call.add.deviceInfoFile).toBe(inside);

    const outside = refusal(resolve("ADD", conf({ prevResult: PREV, runtimeConfig: { CNIDeviceInfoFile: `${roots[0]}/../x.json` } })));
    expect(outside.error).toMatchObject({ code: 7 });
    expect(outside.error.message).toContain("runtimeConfig.CNIDeviceInfoFile");
  });

  test("a symlink below the root is refused", () => {
    fs.symlinkSync("/etc", `${roots[0]}/link`);
    const r = refusal(resolve("ADD", conf({ prevResult: PREV, runtimeConfig: { CNIDeviceInfoFile: `${roots[0]}/link/x.json` } })));
    expect(r.error.message).toContain("symlink");
  });

  test("only ADD writes the file: DEL with a bad one is not refused, and carries no ADD input", () => {
    const call = resolved(resolve("DEL", conf({ runtimeConfig: { CNIDeviceInfoFile: "/etc/passwd" } })));
    expect(call.verb).toBe("DEL");
    expect("add" in call).toBe(false);
  });
});
