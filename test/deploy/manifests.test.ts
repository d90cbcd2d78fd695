/**
 * The manifests as a cluster and a user would meet them: what the API server would reject, what
 * would schedule nothing, and what the plugin itself would refuse at the first pod. Parsed with
 * Bun's built-in YAML parser.
 */
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { decodeJsonObject, parseNetConf } from "../../src/config/netconf.ts";
import { DEFAULT_CNI_BIN_DIR } from "../../src/install/options.ts";

const ROOT = `${import.meta.dir}/../..`;
type Obj = Record<string, unknown>;

function load(file: string): Obj {
  const doc = Bun.YAML.parse(fs.readFileSync(`${ROOT}/${file}`, "utf8"));
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`${file} is not one YAML object`);
  return doc as Obj;
}

/** Walks a path of keys and indexes, failing the test with the path when a step is missing. */
function at(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) throw new Error(`missing ${path.join(".")}`);
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

const daemonset = load("deployment/rdma-cni-daemonset.yaml");
const podSpec = at(daemonset, "spec", "template", "spec") as Obj;
const container = at(podSpec, "containers", 0) as Obj;
const configMap = load("examples/sriovdp-configmap.yaml");
const sriovNad = load("examples/sriov-network.yaml");
const sfNad = load("examples/sf-network.yaml");
const pod = load("examples/rdma-test-pod.yaml");

const packageVersion = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, "utf8")).version as string;
const image = container.image as string;

/** The conflist of a NAD and each plugin entry as libcni hands it to the plugin. */
function chainOf(nad: Obj): { conflist: Obj; plugins: Obj[] } {
  const text = at(nad, "spec", "config");
  expect(typeof text).toBe("string");
  const conflist = JSON.parse(text as string) as Obj;
  const plugins = conflist.plugins as Obj[];
  expect(Array.isArray(plugins)).toBe(true);
  return { conflist, plugins };
}

/** libcni copies cniVersion and name from the list into each plugin's config. */
function asPluginConfig(conflist: Obj, entry: Obj): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...entry, cniVersion: conflist.cniVersion, name: conflist.name }));
}

describe("DaemonSet", () => {
  test("is an apps/v1 DaemonSet in kube-system whose selector matches its pod labels", () => {
    expect(daemonset.apiVersion).toBe("apps/v1");
    expect(daemonset.kind).toBe("DaemonSet");
    expect(at(daemonset, "metadata", "namespace")).toBe("kube-system");
    const selector = at(daemonset, "spec", "selector", "matchLabels") as Record<string, string>;
    const labels = at(daemonset, "spec", "template", "metadata", "labels") as Record<string, string>;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(selector)) expect(labels[k]).toBe(v);
  });

  test("runs on every node at node-critical priority", () => {
    expect(podSpec.tolerations).toEqual([{ operator: "Exists" }]);
    expect(podSpec.priorityClassName).toBe("system-node-critical");
  });

  test("runs the installer directly, with no shell", () => {
    expect(container.command).toEqual(["/rdma", "install"]);
    const args = (container.args ?? []) as string[];
    expect(args.join(" ")).not.toMatch(/\bsh\b|bash|&&|;/);
  });

  test("grants no privilege: not privileged, every capability dropped, read-only root, no escalation", () => {
    const sc = container.securityContext as Obj;
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(at(sc, "capabilities", "drop")).toEqual(["ALL"]);
    expect(at(sc, "capabilities", "add")).toBeUndefined();
    expect(podSpec.hostNetwork ?? false).toBe(false);
    expect(podSpec.hostPID ?? false).toBe(false);
    expect(podSpec.automountServiceAccountToken).toBe(false);
  });

  test("sets requests and limits for cpu and memory, requests not above limits", () => {
    const res = container.resources as { requests: Record<string, string>; limits: Record<string, string> };
    const mebibytes = (q: string) => Number(q.replace(/Mi$/, ""));
    const millicores = (q: string) => Number(q.replace(/m$/, ""));
    for (const key of ["cpu", "memory"]) {
      expect(res.requests[key]).toBeDefined();
      expect(res.limits[key]).toBeDefined();
    }
    expect(mebibytes(res.requests.memory ?? "")).toBeLessThanOrEqual(mebibytes(res.limits.memory ?? ""));
    expect(millicores(res.requests.cpu ?? "")).toBeLessThanOrEqual(millicores(res.limits.cpu ?? ""));
    // measured: about 55 MiB for the VERSION check alone (docs/deploy.md)
    expect(mebibytes(res.limits.memory ?? "")).toBeGreaterThanOrEqual(64);
  });

  test("mounts the host's /opt/cni/bin where the installer writes by default", () => {
    const mounts = container.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[];
    const volumes = podSpec.volumes as { name: string; hostPath?: { path: string } }[];
    const mount = mounts.find((m) => m.mountPath === DEFAULT_CNI_BIN_DIR);
    expect(mount).toBeDefined();
    expect(mount?.readOnly ?? false).toBe(false);
    const volume = volumes.find((v) => v.name === mount?.name);
    expect(volume?.hostPath?.path).toBe("/opt/cni/bin");
    // an explicit --cni-bin-dir must name the same mount
    const args = (container.args ?? []) as string[];
    const i = args.indexOf("--cni-bin-dir");
    if (i >= 0) expect(args[i + 1]).toBe(DEFAULT_CNI_BIN_DIR);
  });

  test("names the image with a registry and the package's version as tag", () => {
    expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/_-]+:[\w.-]+$/);
    expect(image.endsWith(`:${packageVersion}`)).toBe(true);
  });
});

describe("the image reference", () => {
  test("is the same everywhere it is written", () => {
    const name = image.slice(0, image.lastIndexOf(":"));
    const files = ["deployment/rdma-cni-daemonset.yaml", "deployment/kustomization.yaml", "deployment/image.mk", "docs/deploy.md"];
    for (const file of files) {
      const text = fs.readFileSync(`${ROOT}/${file}`, "utf8");
      // every mention of the image's name with a tag carries this very tag
      for (const m of text.matchAll(new RegExp(`${name.replace(/[.]/g, "\\.")}:[\\w.-]+`, "g"))) expect(m[0]).toBe(image);
    }
    const occurrences = fs.readFileSync(`${ROOT}/deployment/rdma-cni-daemonset.yaml`, "utf8").match(/^\s*image:/gm) ?? [];
    expect(occurrences).toHaveLength(1);
  });

  test("is what make image tags", () => {
    const r = Bun.spawnSync(["make", "-s", "-f", "deployment/image.mk", "--eval", "print-image: ; @echo $(IMAGE)", "print-image"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe(image);
  });
});

describe("SR-IOV device plugin ConfigMap", () => {
  const config = JSON.parse(at(configMap, "data", "config.json") as string) as { resourceList: Obj[] };
  const resources = new Map(config.resourceList.map((r) => [`${r.resourcePrefix}/${r.resourceName}`, r]));

  test("is a v1 ConfigMap whose config.json parses", () => {
    expect(configMap.apiVersion).toBe("v1");
    expect(configMap.kind).toBe("ConfigMap");
    expect(Array.isArray(config.resourceList)).toBe(true);
  });

  test("defines mellanox.com/sriov_rdma over Mellanox VFs with RDMA", () => {
    const r = resources.get("mellanox.com/sriov_rdma");
    expect(at(r, "selectors", "vendors")).toEqual(["15b3"]);
    expect(at(r, "selectors", "isRdma")).toBe(true);
  });

  test("defines an RDMA pool of sub-functions as auxiliary network devices", () => {
    const r = resources.get("nvidia.com/sf_rdma");
    expect(r?.deviceType).toBe("auxNetDevice");
    expect(at(r, "selectors", "auxTypes")).toEqual(["sf"]);
    expect(at(r, "selectors", "isRdma")).toBe(true);
  });

  test("defines every resource a NetworkAttachmentDefinition names", () => {
    for (const nad of [sriovNad, sfNad]) {
      const name = at(nad, "metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName") as string;
      expect(resources.has(name)).toBe(true);
    }
  });
});

describe("NetworkAttachmentDefinitions", () => {
  for (const [label, nad, main, resource] of [
    ["sriov-network", sriovNad, "sriov", "mellanox.com/sriov_rdma"],
    ["sf-network", sfNad, "host-device", "nvidia.com/sf_rdma"],
  ] as const) {
    test(`${label} is a k8s.cni.cncf.io/v1 NetworkAttachmentDefinition bound to ${resource}`, () => {
      expect(nad.apiVersion).toBe("k8s.cni.cncf.io/v1");
      expect(nad.kind).toBe("NetworkAttachmentDefinition");
      expect(at(nad, "metadata", "name")).toBe(label);
      expect(at(nad, "metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName")).toBe(resource);
    });

    test(`${label}'s config is a cniVersion 1.0.0 conflist: ${main}, then rdma`, () => {
      const { conflist, plugins } = chainOf(nad);
      expect(conflist.cniVersion).toBe("1.0.0");
      expect(conflist.name).toBe(label);
      expect(plugins.map((p) => p.type)).toEqual([main, "rdma"]);
    });

    test(`${label}'s rdma entry is a config the plugin accepts`, () => {
      const { conflist, plugins } = chainOf(nad);
      const entry = plugins.find((p) => p.type === "rdma") as Obj;
      const conf = parseNetConf(decodeJsonObject(asPluginConfig(conflist, entry), "the network config on stdin"));
      expect(conf).toMatchObject({ cniVersion: "1.0.0", name: label, type: "rdma" });
    });

    test(`${label}'s rdma entry accepts the deviceID Multus injects`, () => {
      const { conflist, plugins } = chainOf(nad);
      const entry = plugins.find((p) => p.type === "rdma") as Obj;
      const deviceID = main === "sriov" ? "0000:03:00.5" : "mlx5_core.sf.4";
      const injected = { ...entry, deviceID, runtimeConfig: { deviceID } };
      const conf = parseNetConf(decodeJsonObject(asPluginConfig(conflist, injected), "the network config on stdin"));
      expect(conf.deviceId?.id).toBe(deviceID);
    });
  }

  test("sf-network asks Multus for the auxiliary deviceID in runtimeConfig (host-device reads it there)", () => {
    const { plugins } = chainOf(sfNad);
    for (const p of plugins) expect(at(p, "capabilities", "deviceID")).toBe(true);
  });
});

describe("test pod", () => {
  test("requests the network sriov-network and the resource that network is bound to", () => {
    expect(pod.apiVersion).toBe("v1");
    expect(pod.kind).toBe("Pod");
    const networks = at(pod, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks") as string;
    expect(networks).toBe(at(sriovNad, "metadata", "name") as string);
    expect(at(pod, "metadata", "namespace")).toBe(at(sriovNad, "metadata", "namespace") as string);
    const resource = at(sriovNad, "metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName") as string;
    const c = at(pod, "spec", "containers", 0) as Obj;
    // extended resources must have requests equal to limits
    expect(at(c, "resources", "limits", resource)).toBe("1");
    expect(at(c, "resources", "requests", resource)).toBe("1");
  });
});
