/**
 * The configs of bench/config-schema: the typical one a node's ADD gets (examples/sriov-network.yaml
 * after Multus: the network's config, runtimeConfig from the capabilities, the SR-IOV plugin's
 * result as prevResult) and a table of bad ones, each a change of it.
 */

/** As text: the one-shot entries parse it at run time, as the plugin parses stdin. */
export const TYPICAL = JSON.stringify({
  cniVersion: "1.0.0",
  name: "sriov-network",
  type: "rdma",
  capabilities: { deviceID: true, CNIDeviceInfoFile: true },
  runtimeConfig: {
    deviceID: "0000:03:00.5",
    CNIDeviceInfoFile: "/var/run/k8s.cni.cncf.io/devinfo/cni/sriov-network-net1.json",
  },
  logLevel: "info",
  prevResult: {
    cniVersion: "1.0.0",
    interfaces: [{ name: "net1", mac: "02:00:00:00:00:01", sandbox: "/var/run/netns/pod1" }],
    ips: [{ address: "192.168.101.10/24", interface: 0 }],
    dns: {},
  },
});

type Json = Record<string, unknown>;
const typical = (): Json => JSON.parse(TYPICAL) as Json;
const rc = (extra: Json): Json => ({ ...(typical().runtimeConfig as Json), ...extra });
const prev = (extra: Json): Json => ({ ...(typical().prevResult as Json), ...extra });

/** [what is wrong, the config]. */
export const CASES: [string, Json][] = [
  ["valid (typical)", typical()],
  ["valid, top-level deviceID, args.cni", { ...typical(), runtimeConfig: undefined, deviceID: "mlx5_core.sf.4", args: { cni: { debug: true, rdmaDeviceName: "pod_rdma0" } } }],
  ["extra unknown fields (allowed by the spec)", { ...typical(), mtu: 9000, foo: { bar: [1] } }],
  ["cniVersion missing", { ...typical(), cniVersion: undefined }],
  ["cniVersion a number", { ...typical(), cniVersion: 1 }],
  ["cniVersion malformed", { ...typical(), cniVersion: "1.0" }],
  ["cniVersion unsupported", { ...typical(), cniVersion: "2.0.0" }],
  ["name missing", { ...typical(), name: undefined }],
  ["name a number", { ...typical(), name: 42 }],
  ["name with a slash", { ...typical(), name: "net/1" }],
  ["type empty", { ...typical(), type: "" }],
  ["deviceID not PCI nor aux", { ...typical(), runtimeConfig: rc({ deviceID: "eth0" }) }],
  ["top-level deviceID a number", { ...typical(), deviceID: 3 }],
  ["runtimeConfig an array", { ...typical(), runtimeConfig: [] }],
  ["runtimeConfig.deviceID a number", { ...typical(), runtimeConfig: rc({ deviceID: 5 }) }],
  ["runtimeConfig.CNIDeviceInfoFile an object", { ...typical(), runtimeConfig: rc({ CNIDeviceInfoFile: {} }) }],
  ["args.cni.debug a string", { ...typical(), args: { cni: { debug: "yes" } } }],
  ["args a string", { ...typical(), args: "debug" }],
  ["rdmaDeviceName with a slash", { ...typical(), rdmaDeviceName: "a/b" }],
  ["runtimeConfig.rdmaDeviceName too long", { ...typical(), runtimeConfig: rc({ rdmaDeviceName: "x".repeat(70) }) }],
  ["logLevel unknown", { ...typical(), logLevel: "verbose" }],
  ["logFile a number", { ...typical(), logFile: 1 }],
  ["stateDir a boolean", { ...typical(), stateDir: true }],
  ["prevResult a string", { ...typical(), prevResult: "none" }],
  ["prevResult.interfaces an object", { ...typical(), prevResult: prev({ interfaces: { name: "net1" } }) }],
  ["prevResult.interfaces[0].name missing", { ...typical(), prevResult: prev({ interfaces: [{ sandbox: "/x" }] }) }],
  ["prevResult.interfaces[0].pciID a number", { ...typical(), prevResult: prev({ interfaces: [{ name: "net1", pciID: 7 }] }) }],
  ["prevResult.ips an object", { ...typical(), prevResult: prev({ ips: {} }) }],
  ["prevResult of another format", { ...typical(), prevResult: prev({ cniVersion: "0.4.0" }) }],
  ["valid-attachments item without ifname", { ...typical(), "cni.dev/valid-attachments": [{ containerID: "c1" }] }],
  ["three mistakes at once", { ...typical(), name: 42, logLevel: "verbose", stateDir: true }],
];
