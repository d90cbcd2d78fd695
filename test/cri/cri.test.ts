/**
 * The CRI client against the published field numbers (wire bytes written out by hand) and
 * against a gRPC server on a unix socket standing in for containerd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { decode, encode } from "./api.ts";
import { CriError, RuntimeClient } from "./client.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const text = (s: string) => Buffer.from(s).toString("hex");

describe("CRI messages use runtime.v1's field numbers", () => {
  test("RunPodSandboxRequest: config = 1 { metadata = 1 { name = 1, uid = 2, namespace = 3 }, annotations = 7 }, runtime_handler = 2", () => {
    const bytes = encode("RunPodSandboxRequest", {
      config: { metadata: { name: "a", uid: "u", namespace: "n" }, annotations: { k: "v" } },
      runtimeHandler: "h",
    });
    // metadata: 0a 09 | 0a 01 'a' | 12 01 'u' | 1a 01 'n'
    const metadata = `0a09 0a01${text("a")} 1201${text("u")} 1a01${text("n")}`;
    // a map entry is a message { key = 1, value = 2 } in field 7: 3a 06 | 0a 01 'k' | 12 01 'v'
    const annotation = `3a06 0a01${text("k")} 1201${text("v")}`;
    const config = `0a13 ${metadata} ${annotation}`;
    expect(hex(bytes)).toBe(`${config} 1201${text("h")}`.replaceAll(" ", ""));
  });

  test("ExecSyncRequest: container_id = 1, cmd = 2 (repeated), timeout = 3 (varint)", () => {
    const bytes = encode("ExecSyncRequest", { containerId: "c", cmd: ["ls", "/"], timeout: 5 });
    expect(hex(bytes)).toBe(`0a01${text("c")}1202${text("ls")}1201${text("/")}1805`);
  });

  test("PodSandboxStatusResponse: status = 1 { id = 1, state = 3, annotations = 8, runtime_handler = 9 }, info = 2", () => {
    // status: 0a 01 'p' | 18 01 (NOTREADY) | 42 06 {0a 01 'k' 12 01 'v'} | 4a 01 'h'
    const status = `0a01${text("p")}1801 4206 0a01${text("k")}1201${text("v")} 4a01${text("h")}`.replaceAll(" ", "");
    const info = `0a01${text("i")}1202${text("{}")}`;
    const wire = Buffer.from(`0a${(status.length / 2).toString(16).padStart(2, "0")}${status}12${(info.length / 2).toString(16).padStart(2, "0")}${info}`, "hex");
    const r = decode("PodSandboxStatusResponse", wire) as { status: Record<string, unknown>; info: Record<string, string> };
    expect(r.status.id).toBe("p");
    expect(r.status.state).toBe(1);
    expect(r.status.annotations).toEqual({ k: "v" });
    expect(r.status.runtimeHandler).toBe("h");
    expect(r.info).toEqual({ i: "{}" });
  });
});

describe("RuntimeClient over a unix socket", () => {
  let dir: string;
  let socket: string;
  let server: grpc.Server;
  const seen: { method: string; bytes: Buffer }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cri-test-"));
    socket = join(dir, "cri.sock");
    server = new grpc.Server();
    const raw = (path: string, answer: (req: Buffer) => Buffer | grpc.ServiceError) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
      answer,
    });
    const methods = {
      // the sandbox id is "sb-" and the pod's name; a pod named "bad" fails
      RunPodSandbox: raw("/runtime.v1.RuntimeService/RunPodSandbox", (req) => {
        const name = String((decode("RunPodSandboxRequest", req) as { config: { metadata: { name: string } } }).config.metadata.name);
        if (name === "bad") return Object.assign(new Error("bad"), { code: grpc.status.UNKNOWN, details: "failed to setup network", metadata: new grpc.Metadata() });
        return Buffer.from(encode("RunPodSandboxResponse", { podSandboxId: `sb-${name}` }));
      }),
      StopPodSandbox: raw("/runtime.v1.RuntimeService/StopPodSandbox", () =>
        Object.assign(new Error("no such sandbox"), { code: grpc.status.NOT_FOUND, details: "an error occurred when try to find sandbox: not found", metadata: new grpc.Metadata() }),
      ),
    };
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(methods)) {
      impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        seen.push({ method: name, bytes: call.request });
        const a = m.answer(call.request);
        if (Buffer.isBuffer(a)) done(null, a);
        else done(a as grpc.ServiceError);
      };
    }
    server.addService(methods as unknown as grpc.ServiceDefinition, impl);
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  });

  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a call reaches /runtime.v1.RuntimeService/METHOD with the encoded request, and the reply is decoded", async () => {
    const client = new RuntimeClient(socket, 10_000);
    try {
      const reply = await client.call("RunPodSandbox", { config: { metadata: { name: "pod", uid: "u1", namespace: "ns" } }, runtimeHandler: "rdma-sf1" });
      expect(reply.podSandboxId).toBe("sb-pod");
      const req = seen.find((s) => s.method === "RunPodSandbox");
      expect(req).toBeDefined();
      const got = decode("RunPodSandboxRequest", req!.bytes) as { config: { metadata: Record<string, unknown> }; runtimeHandler: string };
      expect(got.config.metadata).toMatchObject({ name: "pod", uid: "u1", namespace: "ns" });
      expect(got.runtimeHandler).toBe("rdma-sf1");
    } finally {
      client.close();
    }
  });

  test("a failed call rejects with the status code's name and the runtime's message", async () => {
    const client = new RuntimeClient(socket, 10_000);
    try {
      const err = await client.call("StopPodSandbox", { podSandboxId: "nope" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CriError);
      expect((err as CriError).message).toBe("StopPodSandbox: NOT_FOUND: an error occurred when try to find sandbox: not found");
    } finally {
      client.close();
    }
  });

  test("no runtime on the socket: UNAVAILABLE", async () => {
    const client = new RuntimeClient(join(dir, "absent.sock"), 5_000);
    try {
      const err = await client.call("Version", { version: "v1" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CriError);
      expect((err as CriError).code).toBe("UNAVAILABLE");
    } finally {
      client.close();
    }
  });

  test("cri-client runp-all: concurrent RunPodSandbox, one line per pod in argument order, exit 1 when one failed", async () => {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts"), "--socket", socket, "--log-root", join(dir, "pods"), "--namespace", "ns", "runp-all", "a:h1", "bad:h2", "c:"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(out).toBe("a sb-a\nbad error: RunPodSandbox: UNKNOWN: failed to setup network\nc sb-c\n");
    expect(code).toBe(1);
    expect(existsSync(join(dir, "pods", "ns_a_uid-a"))).toBe(true);
    const sent = seen.filter((s) => s.method === "RunPodSandbox").map((s) => decode("RunPodSandboxRequest", s.bytes) as { config: { metadata: Record<string, unknown> }; runtimeHandler: string });
    expect(sent.find((r) => r.config.metadata.name === "a")).toMatchObject({ runtimeHandler: "h1", config: { metadata: { uid: "uid-a", namespace: "ns" } } });
  });
});
