/**
 * The manifests as a cluster and a user would meet them: what the API server would reject, what
 * would schedule nothing, and what the plugin itself would refuse at the first pod. Parsed with
 * Bun's built-in YAML parser.
 */
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { decodeJsonObject, parseNetConf } from "../../src/config/netconf.ts";
import { DEFAULT_GO_STATE_DIR, DEFAULT_STATE_DIR } from "../../src/config/settings.ts";
import { DEFAULT_ENGINE_SOCKET, DEFAULT_MAX_WORKERS } from "../../src/engine/defaults.ts";
import { DEFAULT_CNI_BIN_DIR } from "../../src/install/options.ts";
import { DEVICE_INFO_ROOTS } from "../../src/config/paths.ts";

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
type Mount = { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string };
type Volume = { name: string; hostPath?: { path: string; type?: string } };
const initContainers = (podSpec.initContainers ?? []) as Obj[];
const longRunning = podSpec.containers as Obj[];
/** Every container of the pod, init containers first. */
const containers = [...initContainers, ...longRunning];
const byName = (list: Obj[], name: string): Obj => {
  const c = list.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};
const installer = byName(initContainers, "install");
const engine = byName(longRunning, "engine");
const ENGINE_CHECK = ["/rdma", "engine", "--check", "--socket", DEFAULT_ENGINE_SOCKET];
const volumes = podSpec.volumes as Volume[];
const mountsOf = (c: Obj) => (c.volumeMounts ?? []) as Mount[];
/** The host path a container sees at `mountPath`, and how it is mounted. */
function hostPathAt(c: Obj, mountPath: string): { mount: Mount; volume: Volume | undefined } | undefined {
  const mount = mountsOf(c).find((m) => m.mountPath === mountPath);
  return mount && { mount, volume: volumes.find((v) => v.name === mount.name) };
}
const configMap = load("examples/sriovdp-configmap.yaml");
const sriovNad = load("examples/sriov-network.yaml");
const sfNad = load("examples/sf-network.yaml");
const pod = load("examples/rdma-test-pod.yaml");

const packageVersion = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, "utf8")).version as string;
const image = installer.image as string;

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

  test("runs on every RDMA node (Node Feature Discovery's label for PCI vendor 15b3), whatever its taints, at node-critical priority", () => {
    expect(podSpec.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "feature.node.kubernetes.io/pci-15b3.present": "true" });
    // NFD's PCI label: feature.node.kubernetes.io/pci-<fields>.present, fields here the vendor alone
    expect(Object.keys(podSpec.nodeSelector as Obj)[1]).toMatch(/^feature\.node\.kubernetes\.io\/pci-[0-9a-f]{4}\.present$/);
    expect(podSpec.affinity).toBeUndefined(); // one place to change: the nodeSelector
    expect(podSpec.tolerations).toEqual([{ operator: "Exists" }]);
    expect(podSpec.priorityClassName).toBe("system-node-critical");
  });

  test("runs the installer as the one init container and the engine as the one container, from the same image", () => {
    expect(initContainers.map((c) => c.name)).toEqual(["install"]);
    expect(longRunning.map((c) => c.name)).toEqual(["engine"]);
    expect(engine.image).toBe(image);
  });

  test("runs the installer directly, with no shell, to completion (an init container that sleeps would block the engine)", () => {
    expect(installer.command).toEqual(["/rdma", "install", "--no-sleep"]);
    const args = (installer.args ?? []) as string[];
    expect(args.join(" ")).not.toMatch(/\bsh\b|bash|&&|;/);
    // the image's /rdma-shim is installed by default; nothing turns it off
    expect(args).not.toContain("--no-shim");
  });

  test("runs the engine on the socket the shim connects to, with its pool size stated", () => {
    expect(engine.command).toEqual(["/rdma", "engine", "--socket", DEFAULT_ENGINE_SOCKET]);
    expect(engine.args).toEqual(["--max-workers", String(DEFAULT_MAX_WORKERS), "--log-level", "info"]);
  });

  test("the engine sees the Go rdma-cni's records, so its DEL brings home what that plugin attached", () => {
    const found = hostPathAt(engine, DEFAULT_GO_STATE_DIR);
    expect(found?.mount.readOnly ?? false).toBe(false);
    expect(found?.volume?.hostPath).toEqual({ path: DEFAULT_GO_STATE_DIR, type: "DirectoryOrCreate" });
  });

  test("the installer holds no privilege: not privileged, every capability dropped, read-only root, no escalation", () => {
    const sc = installer.securityContext as Obj;
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(at(sc, "capabilities", "drop")).toEqual(["ALL"]);
    expect(at(sc, "capabilities", "add")).toBeUndefined();
    expect(podSpec.automountServiceAccountToken).toBe(false);
  });

  test("the engine holds exactly NET_ADMIN and SYS_ADMIN (no SYS_PTRACE), not privileged, read-only root, no escalation", () => {
    const sc = engine.securityContext as Obj;
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(at(sc, "capabilities", "drop")).toEqual(["ALL"]);
    expect([...(at(sc, "capabilities", "add") as string[])].sort()).toEqual(["NET_ADMIN", "SYS_ADMIN"]);
    expect(sc.procMount ?? "Default").toBe("Default");
  });

  test("no container holds a capability or host namespace the engine does not: the pod's privileges are the engine's", () => {
    const added = (c: Obj) => (at(c, "securityContext", "capabilities", "add") ?? []) as string[];
    for (const c of containers) for (const cap of added(c)) expect(added(engine)).toContain(cap);
    // the installer is done before the engine starts: no restartable (sidecar) init container
    expect(installer.restartPolicy).toBeUndefined();
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe", "lifecycle"]) expect(installer[probe]).toBeUndefined();
  });

  test("shares the host's network namespace (the engine's netns is where devices go back), not its PID or IPC namespace", () => {
    expect(podSpec.hostNetwork).toBe(true);
    expect(podSpec.hostPID ?? false).toBe(false);
    expect(podSpec.hostIPC ?? false).toBe(false);
    expect(podSpec.shareProcessNamespace ?? false).toBe(false);
  });

  test("runs as uid 0 with the runtime's default seccomp profile, and no container overrides either", () => {
    const sc = podSpec.securityContext as Obj;
    expect(sc.runAsUser).toBe(0);
    expect(at(sc, "seccompProfile", "type")).toBe("RuntimeDefault");
    for (const c of containers) {
      const csc = c.securityContext as Obj;
      expect(csc.runAsUser).toBeUndefined();
      expect(csc.seccompProfile).toBeUndefined();
    }
  });

  for (const [label, c] of [
    ["installer", installer], // measured: about 55 MiB for the VERSION check alone (docs/deploy.md)
    ["engine", engine], // measured: about 57 MiB resident (docs/engine.md)
  ] as const) {
    test(`the ${label} sets requests and limits for cpu and memory, requests not above limits`, () => {
      const res = c.resources as { requests: Record<string, string>; limits: Record<string, string> };
      const mebibytes = (q: string) => Number(q.replace(/Mi$/, ""));
      const millicores = (q: string) => Number(q.replace(/m$/, ""));
      for (const key of ["cpu", "memory"]) {
        expect(res.requests[key]).toBeDefined();
        expect(res.limits[key]).toBeDefined();
      }
      expect(mebibytes(res.requests.memory ?? "")).toBeLessThanOrEqual(mebibytes(res.limits.memory ?? ""));
      expect(millicores(res.requests.cpu ?? "")).toBeLessThanOrEqual(millicores(res.limits.cpu ?? ""));
      expect(mebibytes(res.requests.memory ?? "")).toBeGreaterThanOrEqual(64);
    });
  }

  test("limits the engine's memory to 80 MiB + 4 MiB per thread of --max-workers (docs/deploy.md, Resources)", () => {
    const args = (engine.args ?? []) as string[];
    const i = args.indexOf("--max-workers");
    const maxWorkers = i >= 0 ? Number(args[i + 1]) : DEFAULT_MAX_WORKERS;
    expect(Number.isInteger(maxWorkers) && maxWorkers > 0).toBe(true);
    expect(at(engine, "resources", "limits", "memory")).toBe(`${80 + 4 * maxWorkers}Mi`);
  });

  test("mounts the host's /opt/cni/bin where the installer writes by default, and only there writable", () => {
    const found = hostPathAt(installer, DEFAULT_CNI_BIN_DIR);
    expect(found?.mount.readOnly ?? false).toBe(false);
    expect(found?.volume?.hostPath).toEqual({ path: "/opt/cni/bin", type: "Directory" });
    for (const m of mountsOf(installer)) if (m.mountPath !== DEFAULT_CNI_BIN_DIR) expect(m.readOnly).toBe(true);
    // an explicit --cni-bin-dir must name the same mount
    const args = (installer.args ?? []) as string[];
    const i = args.indexOf("--cni-bin-dir");
    if (i >= 0) expect(args[i + 1]).toBe(DEFAULT_CNI_BIN_DIR);
    // the engine never writes the plugin
    expect(mountsOf(engine).some((m) => m.name === found?.mount.name)).toBe(false);
  });

  test("the installer sees the records and the netns they name, read-only, for its doctor summary", () => {
    expect(hostPathAt(installer, DEFAULT_STATE_DIR)?.volume?.hostPath?.path).toBe(DEFAULT_STATE_DIR);
    for (const dir of ["/var/run/netns", "/run/netns"]) {
      const found = hostPathAt(installer, dir);
      expect(found?.volume?.hostPath?.path).toBe("/var/run/netns");
      expect(found?.mount.mountPropagation).toBe("HostToContainer");
    }
  });

  test("the engine's socket dir is the host's, at the path of DEFAULT_ENGINE_SOCKET, created if missing", () => {
    const dir = DEFAULT_ENGINE_SOCKET.slice(0, DEFAULT_ENGINE_SOCKET.lastIndexOf("/"));
    expect(dir).toBe("/run/rdma-cni");
    const found = hostPathAt(engine, dir);
    expect(found?.mount.readOnly ?? false).toBe(false);
    expect(found?.volume?.hostPath).toEqual({ path: dir, type: "DirectoryOrCreate" });
  });

  test("the engine shares the state dir (records and locks) with one-shot calls, writable", () => {
    const found = hostPathAt(engine, DEFAULT_STATE_DIR);
    expect(found?.mount.readOnly ?? false).toBe(false);
    expect(found?.volume?.hostPath).toEqual({ path: DEFAULT_STATE_DIR, type: "DirectoryOrCreate" });
  });

  test("the engine sees new pod netns mounts (HostToContainer) under both spellings of /var/run/netns", () => {
    for (const dir of ["/var/run/netns", "/run/netns"]) {
      const found = hostPathAt(engine, dir);
      expect(found?.volume?.hostPath?.path).toBe("/var/run/netns");
      expect(found?.mount.mountPropagation).toBe("HostToContainer");
      expect(found?.mount.readOnly).toBe(true);
    }
  });

  test("the engine reads the host's /sys, read-only", () => {
    const found = hostPathAt(engine, "/sys");
    expect(found?.volume?.hostPath?.path).toBe("/sys");
    expect(found?.mount.readOnly).toBe(true);
  });

  test("the engine can write the device-info files under every root the plugin accepts", () => {
    for (const root of DEVICE_INFO_ROOTS) {
      const dir = root.slice(0, root.lastIndexOf("/")); // …/devinfo; the plugin creates cni/ below it
      const found = hostPathAt(engine, dir);
      expect(found?.mount.readOnly ?? false).toBe(false);
      expect(found?.volume?.hostPath).toEqual({ path: "/var/run/k8s.cni.cncf.io/devinfo", type: "DirectoryOrCreate" });
    }
  });

  test("every volume is a hostPath with a type and is mounted; no mount propagates back to the host", () => {
    for (const v of volumes) {
      expect(v.hostPath?.type).toBeDefined();
      expect(containers.some((c) => mountsOf(c).some((m) => m.name === v.name))).toBe(true);
    }
    // Bidirectional would need a privileged container
    for (const c of containers) for (const m of mountsOf(c)) expect(m.mountPropagation ?? "None").not.toBe("Bidirectional");
  });

  test("probes the engine's readiness and liveness with `rdma engine --check` on the socket the shim uses", () => {
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      // the image has no shell: a probe runs /rdma itself, which sends a real CNI VERSION request
      expect(at(engine, probe, "exec", "command")).toEqual(ENGINE_CHECK);
      expect(at(engine, probe, "httpGet")).toBeUndefined();
      expect(at(engine, probe, "tcpSocket")).toBeUndefined();
    }
    expect(engine.startupProbe).toBeUndefined();
  });

  test("restarts the engine only after a minute without an answer, each check waiting behind the calls in service", () => {
    const seconds = (probe: string, key: string, dflt: number) => (at(engine, probe, key) as number | undefined) ?? dflt;
    // Kubernetes' defaults: period 10 s, timeout 1 s, failureThreshold 3, initialDelay 0
    const live = { period: seconds("livenessProbe", "periodSeconds", 10), timeout: seconds("livenessProbe", "timeoutSeconds", 1), failures: seconds("livenessProbe", "failureThreshold", 3) };
    // a check queues behind a call that may wait 10 s for a device lock: the timeout covers that
    expect(live.timeout).toBeGreaterThanOrEqual(10);
    expect(live.timeout).toBeLessThan(live.period);
    expect(live.period * live.failures).toBeGreaterThanOrEqual(60);
    const ready = { period: seconds("readinessProbe", "periodSeconds", 10), timeout: seconds("readinessProbe", "timeoutSeconds", 1) };
    expect(ready.timeout).toBeGreaterThanOrEqual(5);
    expect(ready.timeout).toBeLessThanOrEqual(ready.period);
    // the rollout counts a node as done only once its new engine has been ready for a while
    expect(at(daemonset, "spec", "minReadySeconds") as number).toBeGreaterThanOrEqual(ready.period);
  });

  test("gives the engine's drain a grace period above a call's longest lock wait (10 s) and a move", () => {
    const grace = podSpec.terminationGracePeriodSeconds as number;
    expect(grace).toBeGreaterThanOrEqual(20);
    // a rolling update of every node waits this long per batch at worst: keep it bounded
    expect(grace).toBeLessThanOrEqual(60);
  });

  test("names the image with a registry and the package's version as tag", () => {
    expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/_-]+:[\w.-]+$/);
    expect(image.endsWith(`:${packageVersion}`)).toBe(true);
  });
});

/** A JSON patch (RFC 6902) of `add` operations, applied as kustomize applies it, to a copy. */
function applyJsonPatch(doc: Obj, ops: { op: string; path: string; value: unknown }[]): Obj {
  const copy = structuredClone(doc);
  for (const { op, path, value } of ops) {
    expect(op).toBe("add"); // the only operation the overlay uses
    const keys = path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop() as string;
    const parent = at(copy, ...keys.map((k) => (/^\d+$/.test(k) ? Number(k) : k)));
    if (Array.isArray(parent)) {
      if (last === "-") parent.push(value);
      else parent.splice(Number(last), 0, value);
    } else {
      if (typeof parent !== "object" || parent === null) throw new Error(`no object at ${path}`);
      (parent as Obj)[last] = value;
    }
  }
  return copy;
}

/**
 * What the Pod Security Standards' baseline level forbids that a pod spec does (the checks that
 * concern a node agent: host namespaces, privileged containers, added capabilities beyond the
 * baseline's list, hostPath volumes, host ports, unconfined seccomp, /proc mount). Empty: baseline
 * admits it; anything else needs the privileged level.
 */
function baselineViolations(spec: Obj): string[] {
  const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, k) => (typeof cur === "object" && cur !== null ? (cur as Obj)[k] : undefined), o);
  const BASELINE_CAPS = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];
  const out: string[] = [];
  for (const ns of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[ns] === true) out.push(ns);
  if (((spec.volumes ?? []) as Volume[]).some((v) => v.hostPath)) out.push("hostPath volumes");
  const all = [...((spec.initContainers ?? []) as Obj[]), ...((spec.containers ?? []) as Obj[])];
  const caps = new Set<string>();
  for (const c of all) {
    const sc = (c.securityContext ?? {}) as Obj;
    if (sc.privileged === true) out.push(`privileged ${c.name}`);
    for (const cap of (get(sc, "capabilities", "add") ?? []) as string[]) if (!BASELINE_CAPS.includes(cap)) caps.add(cap);
    if ((sc.procMount ?? "Default") !== "Default") out.push(`procMount ${c.name}`);
    if (get(sc, "seccompProfile", "type") === "Unconfined") out.push(`seccomp ${c.name}`);
    for (const p of (c.ports ?? []) as Obj[]) if (p.hostPort) out.push(`hostPort ${c.name}`);
  }
  if (get(spec, "securityContext", "seccompProfile", "type") === "Unconfined") out.push("seccomp");
  if (caps.size > 0) out.push(`capabilities ${[...caps].sort().join(", ")}`);
  return out;
}

describe("the host-pid overlay (runtimes that pass /proc/<pid>/ns/net)", () => {
  const kustomization = load("overlays/host-pid/kustomization.yaml");
  const patches = kustomization.patches as { target: Obj; patch: string }[];
  const ops = patches.flatMap((p) => Bun.YAML.parse(p.patch) as { op: string; path: string; value: unknown }[]);
  const overlaid = applyJsonPatch(daemonset, ops);
  const overlaidSpec = at(overlaid, "spec", "template", "spec") as Obj;
  const overlaidEngine = byName(overlaidSpec.containers as Obj[], "engine");

  test("is a kustomization of the deployment directory that patches the DaemonSet rdma-cni", () => {
    expect(kustomization.resources).toEqual(["../../deployment"]);
    expect(load("deployment/kustomization.yaml").resources).toEqual(["rdma-cni-daemonset.yaml"]);
    expect(patches).toHaveLength(1);
    expect(patches[0]?.target).toEqual({ kind: "DaemonSet", name: at(daemonset, "metadata", "name") });
    // its patch names the engine by index
    expect(longRunning[0]).toBe(engine);
  });

  test("adds exactly the host's PID namespace and SYS_PTRACE to the engine, and changes nothing else", () => {
    expect(overlaidSpec.hostPID).toBe(true);
    expect([...(at(overlaidEngine, "securityContext", "capabilities", "add") as string[])].sort()).toEqual(["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"]);
    // undo the two additions: what is left is the default DaemonSet
    const back = structuredClone(overlaid);
    const backSpec = at(back, "spec", "template", "spec") as Obj;
    delete backSpec.hostPID;
    const added = at(byName(backSpec.containers as Obj[], "engine"), "securityContext", "capabilities", "add") as string[];
    added.splice(added.indexOf("SYS_PTRACE"), 1);
    expect(back).toEqual(daemonset);
  });

  const kubectl = Bun.which("kubectl");
  test.skipIf(!kubectl)("kubectl kustomize renders it as the patch above reads (skipped without kubectl)", () => {
    const r = Bun.spawnSync([kubectl as string, "kustomize", "overlays/host-pid"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(Bun.YAML.parse(r.stdout.toString())).toEqual(overlaid);
  }, 30_000);

  test("Pod Security: both variants need the privileged level; the default goes beyond baseline by less", () => {
    // the default: the host's network namespace, host paths, and two capabilities
    expect(baselineViolations(podSpec)).toEqual(["hostNetwork", "hostPath volumes", "capabilities NET_ADMIN, SYS_ADMIN"]);
    expect(baselineViolations(overlaidSpec)).toEqual(["hostNetwork", "hostPID", "hostPath volumes", "capabilities NET_ADMIN, SYS_ADMIN, SYS_PTRACE"]);
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
    // written once; the other container names it by a YAML alias
    const text = fs.readFileSync(`${ROOT}/deployment/rdma-cni-daemonset.yaml`, "utf8");
    expect(text.split(image)).toHaveLength(2);
    expect(text.match(/^\s*image:/gm)).toHaveLength(containers.length);
    expect(containers.length).toBe(2);
    expect(text.match(/^\s*image: \*image$/gm)).toHaveLength(containers.length - 1);
  });

  test("is what make image tags", () => {
    // Run as a top-level make even under `make test`: a sub-make would print "Entering directory".
    const { MAKEFLAGS: _flags, MAKELEVEL: _level, MFLAGS: _mflags, ...env } = process.env;
    const r = Bun.spawnSync(["make", "-s", "--no-print-directory", "-f", "deployment/image.mk", "--eval", "print-image: ; @echo $(IMAGE)", "print-image"], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
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

  for (const [label, nad] of [
    ["sriov-network", sriovNad],
    ["sf-network", sfNad],
  ] as const) {
    test(`${label}'s rdma entry declares the deviceID and CNIDeviceInfoFile capabilities, and reads the device-info file Multus then passes`, () => {
      const { conflist, plugins } = chainOf(nad);
      const entry = plugins.find((p) => p.type === "rdma") as Obj;
      expect(entry.capabilities).toEqual({ deviceID: true, CNIDeviceInfoFile: true });
      const file = `${DEVICE_INFO_ROOTS[0]}/${label}-pod-net1.json`;
      const injected = { ...entry, runtimeConfig: { deviceID: "0000:03:00.5", CNIDeviceInfoFile: file } };
      const conf = parseNetConf(decodeJsonObject(asPluginConfig(conflist, injected), "the network config on stdin"));
      expect(conf.deviceInfoFile).toBe(file);
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
