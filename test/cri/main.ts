/**
 * cri-client: drives containerd's CRI plugin the way kubelet does, one call per command, for the
 * test bed's containerd boot (test/e2e/containerd). Compiled like the plugin (make
 * build/cri-client) and run in the guest.
 *
 *   cri-client [--socket PATH] [--timeout S] [--log-root DIR] COMMAND ...
 *   (--log-root: where the pods' log directories go, made as kubelet makes them; /var/log/pods)
 *     version
 *     runp --name N --namespace NS --uid U [--handler H] [--annotation K=V]... [--label K=V]...
 *                                           RunPodSandbox; prints the sandbox id
 *     inspectp ID                           PodSandboxStatus (verbose); prints one JSON line:
 *                                           id, state, metadata, annotations, handler, netns
 *     pods                                  ListPodSandbox; one line per sandbox: ID STATE NAME HANDLER
 *     create ID --name C --image IMAGE -- COMMAND...
 *                                           CreateContainer in sandbox ID; prints the container id
 *     start CID | stop CID | rm CID         StartContainer, StopContainer (timeout 0), RemoveContainer
 *     exec CID [--exec-timeout S] -- COMMAND...
 *                                           ExecSync; the command's stdout and stderr, its exit status
 *     stopp ID | rmp ID                     StopPodSandbox, RemovePodSandbox
 *     runp-all [--namespace NS] NAME:HANDLER...
 *                                           RunPodSandbox for every pod at once, over one connection
 *                                           (as kubelet starts a node's pods; uid uid-NAME); one line
 *                                           per pod, in argument order: NAME ID, or NAME error: MESSAGE
 *     stopp-all ID... | rmp-all ID...       StopPodSandbox, RemovePodSandbox for every sandbox at once;
 *                                           one line each: ID ok, or ID error: MESSAGE
 *   The -all commands exit 1 when any call failed.
 *
 * A failed call prints "cri-client: METHOD: CODE: message" on stderr and exits 1; bad usage exits 2.
 */
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { NAMESPACE_CONTAINER, NAMESPACE_POD, SANDBOX_READY } from "./api.ts";
import { type Message, RuntimeClient } from "./client.ts";

const USAGE = "usage: cri-client [--socket PATH] [--timeout S] version|runp|runp-all|inspectp|pods|create|start|stop|rm|exec|stopp|stopp-all|rmp|rmp-all ...";

class UsageError extends Error {}

function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} wants KEY=VALUE, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function one(positionals: string[], what: string): string {
  const [value, ...rest] = positionals;
  if (value === undefined || rest.length > 0) throw new UsageError(`wants exactly one ${what}`);
  return value;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The sandbox config kubelet builds for a pod: metadata, hostname, log directory, annotations, namespaces. */
function sandboxConfig(logRoot: string, meta: { name: string; namespace: string; uid: string }, labels: Record<string, string>, annotations: Record<string, string>): Message {
  return {
    metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, attempt: 0 },
    hostname: meta.name,
    logDirectory: `${logRoot}/${meta.namespace}_${meta.name}_${meta.uid}`,
    labels,
    annotations,
    linux: {
      cgroupParent: "",
      securityContext: { namespaceOptions: { network: NAMESPACE_POD, pid: NAMESPACE_CONTAINER, ipc: NAMESPACE_POD } },
    },
  };
}

/** The network namespace path out of PodSandboxStatus's verbose info (containerd: info.runtimeSpec). */
function netnsOf(info: Record<string, string>): string {
  try {
    const parsed = JSON.parse(info.info ?? "{}") as { runtimeSpec?: { linux?: { namespaces?: { type?: string; path?: string }[] } } };
    return parsed.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path ?? "";
  } catch {
    return "";
  }
}

/** One line per call: KEY VALUE, or KEY error: MESSAGE; 1 if any failed. */
function report(lines: [string, unknown][]): number {
  let failed = 0;
  for (const [key, outcome] of lines) {
    if (typeof outcome === "string") console.log(`${key} ${outcome}`);
    else {
      failed++;
      console.log(`${key} error: ${outcome instanceof Error ? outcome.message : String(outcome)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      socket: { type: "string", default: "/run/containerd/containerd.sock" },
      timeout: { type: "string", default: "120" },
      "log-root": { type: "string", default: "/var/log/pods" },
      name: { type: "string" },
      namespace: { type: "string", default: "default" },
      uid: { type: "string" },
      handler: { type: "string", default: "" },
      annotation: { type: "string", multiple: true },
      label: { type: "string", multiple: true },
      image: { type: "string" },
      "exec-timeout": { type: "string", default: "60" },
    },
  });
  const [command, ...args] = positionals;
  const timeout = Number(values.timeout);
  if (!command) throw new UsageError("no command");
  if (!(timeout > 0)) throw new UsageError(`--timeout wants seconds, got ${JSON.stringify(values.timeout)}`);
  const cri = new RuntimeClient(values.socket, timeout * 1000);
  try {
    switch (command) {
      case "version": {
        const r = await cri.call("Version", { version: "v1" });
        console.log(`${str(r.runtimeName)} ${str(r.runtimeVersion)} (CRI ${str(r.runtimeApiVersion)})`);
        return 0;
      }
      case "runp": {
        if (!values.name || !values.uid) throw new UsageError("runp wants --name and --uid");
        if (args.length > 0) throw new UsageError("runp takes no positional arguments");
        const meta = { name: values.name, namespace: values.namespace, uid: values.uid };
        const config = sandboxConfig(values["log-root"], meta, pairs(values.label, "label"), pairs(values.annotation, "annotation"));
        mkdirSync(str(config.logDirectory), { recursive: true });
        const r = await cri.call("RunPodSandbox", { config, runtimeHandler: values.handler });
        console.log(str(r.podSandboxId));
        return 0;
      }
      case "inspectp": {
        const id = one(args, "sandbox id");
        const r = await cri.call("PodSandboxStatus", { podSandboxId: id, verbose: true });
        const s = (r.status ?? {}) as Message;
        console.log(
          JSON.stringify({
            id: s.id,
            state: s.state === SANDBOX_READY ? "READY" : "NOTREADY",
            metadata: s.metadata,
            annotations: s.annotations,
            handler: s.runtimeHandler,
            netns: netnsOf((r.info ?? {}) as Record<string, string>),
          }),
        );
        return 0;
      }
      case "pods": {
        const r = await cri.call("ListPodSandbox", {});
        for (const p of (r.items ?? []) as Message[]) {
          const m = (p.metadata ?? {}) as Message;
          console.log(`${str(p.id)} ${p.state === SANDBOX_READY ? "READY" : "NOTREADY"} ${str(m.name)} ${str(p.runtimeHandler) || "-"}`);
        }
        return 0;
      }
      case "create": {
        const [id, ...cmd] = args;
        if (!id || cmd.length === 0 || !values.name || !values.image) throw new UsageError("create wants ID --name C --image IMAGE -- COMMAND...");
        // kubelet passes the pod's sandbox config again; rebuild it from what the runtime kept
        const status = (await cri.call("PodSandboxStatus", { podSandboxId: id, verbose: false })).status as Message;
        const m = (status.metadata ?? {}) as Message;
        const meta = { name: str(m.name), namespace: str(m.namespace), uid: str(m.uid) };
        const sandbox = sandboxConfig(values["log-root"], meta, (status.labels ?? {}) as Record<string, string>, (status.annotations ?? {}) as Record<string, string>);
        mkdirSync(`${str(sandbox.logDirectory)}/${values.name}`, { recursive: true });
        const r = await cri.call("CreateContainer", {
          podSandboxId: id,
          config: { metadata: { name: values.name, attempt: 0 }, image: { image: values.image }, command: cmd, logPath: `${values.name}/0.log` },
          sandboxConfig: sandbox,
        });
        console.log(str(r.containerId));
        return 0;
      }
      case "start":
        await cri.call("StartContainer", { containerId: one(args, "container id") });
        return 0;
      case "stop":
        await cri.call("StopContainer", { containerId: one(args, "container id"), timeout: 0 });
        return 0;
      case "rm":
        await cri.call("RemoveContainer", { containerId: one(args, "container id") });
        return 0;
      case "exec": {
        const [cid, ...cmd] = args;
        if (!cid || cmd.length === 0) throw new UsageError("exec wants CID -- COMMAND...");
        const r = await cri.call("ExecSync", { containerId: cid, cmd, timeout: Number(values["exec-timeout"]) });
        process.stdout.write((r.stdout as Uint8Array | undefined) ?? new Uint8Array());
        process.stderr.write((r.stderr as Uint8Array | undefined) ?? new Uint8Array());
        return Number(r.exitCode ?? 0);
      }
      case "runp-all": {
        if (args.length === 0) throw new UsageError("runp-all wants NAME:HANDLER...");
        const pods = args.map((arg) => {
          const colon = arg.indexOf(":");
          if (colon <= 0) throw new UsageError(`runp-all wants NAME:HANDLER, got ${JSON.stringify(arg)}`);
          return { name: arg.slice(0, colon), handler: arg.slice(colon + 1) };
        });
        const results = await Promise.allSettled(
          pods.map(({ name, handler }) => {
            const config = sandboxConfig(values["log-root"], { name, namespace: values.namespace, uid: `uid-${name}` }, {}, {});
            mkdirSync(str(config.logDirectory), { recursive: true });
            return cri.call("RunPodSandbox", { config, runtimeHandler: handler });
          }),
        );
        return report(results.map((r, i) => [pods[i]!.name, r.status === "fulfilled" ? str(r.value.podSandboxId) : r.reason]));
      }
      case "stopp-all":
      case "rmp-all": {
        if (args.length === 0) throw new UsageError(`${command} wants ID...`);
        const method = command === "stopp-all" ? "StopPodSandbox" : "RemovePodSandbox";
        const results = await Promise.allSettled(args.map((id) => cri.call(method, { podSandboxId: id })));
        return report(results.map((r, i) => [args[i]!, r.status === "fulfilled" ? "ok" : r.reason]));
      }
      case "stopp":
        await cri.call("StopPodSandbox", { podSandboxId: one(args, "sandbox id") });
        return 0;
      case "rmp":
        await cri.call("RemovePodSandbox", { podSandboxId: one(args, "sandbox id") });
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } finally {
    cri.close();
  }
}

// no top-level await: the executable is built with --bytecode (CommonJS output), as the plugin
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      console.error(`cri-client: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      // CriError: "METHOD: CODE: message"
      console.error(`cri-client: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    }
  },
);
