/** The network config, prevResult and deviceID: a valid NetConf or a CniError naming the field. */
import { describe, expect, test } from "bun:test";
import { CniError } from "../../src/errors.ts";
import { isDeviceId, parseDeviceId } from "../../src/config/deviceid.ts";
import { decodeJsonObject, deviceIdFor, parseNetConf } from "../../src/config/netconf.ts";

const base = { cniVersion: "1.0.0", name: "sriov-network", type: "rdma" };

function failure(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return { code: (e as CniError).code, msg: (e as CniError).message };
  }
  throw new Error("expected a CniError");
}

describe("deviceID", () => {
  test.each(["0000:03:00.5", "0000:af:1f.7", "10000:e1:00.0", "0000:AF:00.1"])("%s is a PCI address", (id) => {
    const d = parseDeviceId(id);
    expect(isDeviceId(d) && d.kind).toBe("pci");
    expect(isDeviceId(d) && d.id).toBe(id.toLowerCase());
  });

  test.each(["mlx5_core.sf.4", "mlx5_core.eth.0", "rdma_sim.sf.255"])("%s is an auxiliary device", (id) => {
    const d = parseDeviceId(id);
    expect(isDeviceId(d) && d.kind).toBe("aux");
  });

  test.each([
    "",
    "03:00.5",
    "0000:03:00.8",
    "0000:03:20.0",
    "0000:03:00.5/../../../etc",
    "../0000:03:00.5",
    "0000:03:00.5\n",
    "mlx5_core.sf",
    "mlx5_core..4",
    "/sys/bus/pci/devices/0000:03:00.5",
    "mlx5_core.sf.4/infiniband",
    "Mlx5_core.sf.4",
    "a".repeat(300),
  ])("%p is refused", (id) => {
    const d = parseDeviceId(id);
    expect(isDeviceId(d)).toBe(false);
  });
});

describe("parseNetConf", () => {
  test("a minimal config parses, unknown keys are ignored", () => {
    const conf = parseNetConf({ ...base, somethingElse: { x: 1 }, deviceID: "0000:03:00.5" });
    expect(conf).toMatchObject({ cniVersion: "1.0.0", name: "sriov-network", type: "rdma", deviceId: { kind: "pci", id: "0000:03:00.5" }, deviceIdField: "deviceID", debug: false });
  });

  test("runtimeConfig.deviceID wins over deviceID", () => {
    const conf = parseNetConf({ ...base, deviceID: "0000:03:00.5", runtimeConfig: { deviceID: "0000:03:00.6" } });
    expect(conf.deviceId?.id).toBe("0000:03:00.6");
    expect(conf.deviceIdField).toBe("runtimeConfig.deviceID");
  });

  test("args.cni.debug switches debug on", () => {
    expect(parseNetConf({ ...base, args: { cni: { debug: true } } }).debug).toBe(true);
  });

  test.each([
    [{ cniVersion: undefined }, 1, "cniVersion is missing"],
    [{ cniVersion: 1 }, 1, "cniVersion must be a string"],
    [{ cniVersion: "2.0.0" }, 1, "2.0.0 is not supported"],
    [{ cniVersion: "0.2.0" }, 1, "0.2.0 is not supported"],
    [{ cniVersion: "1.0" }, 1, "is not a version"],
    [{ cniVersion: "01.0.0" }, 1, "is not a version"],
    [{ name: undefined }, 7, "name is missing"],
    [{ name: 5 }, 7, "name must be a non-empty string"],
    [{ name: "../etc" }, 7, "name"],
    [{ name: "a/b" }, 7, "name"],
    [{ name: "a\nb" }, 7, "name"],
    [{ name: "x".repeat(254) }, 7, "name"],
    [{ type: undefined }, 7, "type"],
    [{ deviceID: 5 }, 7, "deviceID must be a string"],
    [{ deviceID: "../../etc" }, 7, "deviceID"],
    [{ runtimeConfig: [] }, 7, "runtimeConfig must be an object"],
    [{ runtimeConfig: { deviceID: true } }, 7, "runtimeConfig.deviceID must be a string"],
    [{ runtimeConfig: { deviceID: "/dev/null" } }, 7, "runtimeConfig.deviceID"],
    [{ args: "x" }, 7, "args must be an object"],
    [{ args: { cni: { debug: "yes" } } }, 7, "args.cni.debug must be a boolean"],
    [{ logLevel: "loud" }, 7, "logLevel must be one of"],
    [{ logLevel: 3 }, 7, "logLevel must be a string"],
    [{ logFile: {} }, 7, "logFile must be a string"],
    [{ stateDir: [] }, 7, "stateDir must be a string"],
    [{ prevResult: "x" }, 7, "prevResult must be an object"],
    [{ prevResult: { interfaces: {} } }, 7, "prevResult.interfaces must be an array"],
    [{ prevResult: { interfaces: [1] } }, 7, "prevResult.interfaces[0] must be an object"],
    [{ prevResult: { interfaces: [{}] } }, 7, "prevResult.interfaces[0].name is missing"],
    [{ prevResult: { interfaces: [{ name: "a", pciID: 3 }] } }, 7, "prevResult.interfaces[0].pciID must be a string"],
    [{ prevResult: { ips: {} } }, 7, "prevResult.ips must be an array"],
    [{ prevResult: { dns: [] } }, 7, "prevResult.dns must be an object"],
    [{ prevResult: { cniVersion: "0.4.0" } }, 1, "prevResult.cniVersion \"0.4.0\" cannot be read under the config's cniVersion"],
    [{ prevResult: { cniVersion: 1 } }, 7, "prevResult.cniVersion must be a string"],
    [{ "cni.dev/valid-attachments": {} }, 7, "cni.dev/valid-attachments must be an array"],
    [{ "cni.dev/valid-attachments": [{ containerID: 1, ifname: "x" }] }, 7, "cni.dev/valid-attachments[0].containerID"],
  ])("%p is refused with code %d naming the field", (patch, code, text) => {
    const f = failure(() => parseNetConf({ ...base, ...patch } as Record<string, unknown>));
    expect(f.code).toBe(code);
    expect(f.msg).toContain(text);
  });
});

describe("decodeJsonObject", () => {
  test.each([
    ["", "not valid JSON"],
    ["{", "not valid JSON"],
    ['{"a":1', "not valid JSON"],
    ["[]", "must be a JSON object"],
    ["null", "must be a JSON object"],
    ['"x"', "must be a JSON object"],
  ])("%p is a decoding failure (code 6)", (text, msg) => {
    const f = failure(() => decodeJsonObject(new TextEncoder().encode(text), "stdin"));
    expect(f.code).toBe(6);
    expect(f.msg).toContain(msg);
  });

  test("invalid UTF-8 is a decoding failure", () => {
    expect(failure(() => decodeJsonObject(Uint8Array.of(0x7b, 0xff, 0x7d), "stdin")).code).toBe(6);
  });
});

describe("deviceIdFor", () => {
  const prev = (ifaces: unknown[]) => ({ ...base, cniVersion: "1.1.0", prevResult: { cniVersion: "1.1.0", interfaces: ifaces } });

  test("the pciID of the container interface is used when no deviceID is configured", () => {
    const conf = parseNetConf(prev([{ name: "eth0", pciID: "0000:01:00.0" }, { name: "net1", sandbox: "/var/run/netns/x", pciID: "0000:03:00.5" }]));
    expect(deviceIdFor(conf, "net1")).toMatchObject({ deviceId: { id: "0000:03:00.5" } });
  });

  test("a host-side interface's pciID is not taken for the container's", () => {
    const conf = parseNetConf(prev([{ name: "net1", pciID: "0000:03:00.5" }]));
    expect(deviceIdFor(conf, "net1")).toBeUndefined();
  });

  test("a configured deviceID wins over pciID", () => {
    const conf = parseNetConf({ ...prev([{ name: "net1", sandbox: "/x", pciID: "0000:03:00.5" }]), deviceID: "0000:04:00.1" });
    expect(deviceIdFor(conf, "net1")?.deviceId.id).toBe("0000:04:00.1");
  });

  test("a malformed pciID is refused naming the interface", () => {
    const conf = parseNetConf(prev([{ name: "net1", sandbox: "/x", pciID: "../../x" }]));
    const f = failure(() => deviceIdFor(conf, "net1"));
    expect(f.code).toBe(7);
    expect(f.msg).toContain("net1");
  });
});
