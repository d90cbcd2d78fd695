/**
 * The few messages of the Kubernetes CRI (k8s.io/cri-api, package runtime.v1) that a kubelet
 * sends to run one pod, written down from the published api.proto's field numbers and types.
 * Only the fields this client sets or reads are declared: protobuf skips unknown fields on
 * decode, so a reply with more fields still decodes.
 */
import protobuf from "protobufjs";

type Fields = Record<string, { type: string; id: number; rule?: "repeated"; keyType?: string }>;
const str = (id: number) => ({ type: "string", id });
const map = (id: number) => ({ keyType: "string", type: "string", id });

const messages: Record<string, Fields> = {
  VersionRequest: { version: str(1) },
  VersionResponse: { version: str(1), runtimeName: str(2), runtimeVersion: str(3), runtimeApiVersion: str(4) },

  PodSandboxMetadata: { name: str(1), uid: str(2), namespace: str(3), attempt: { type: "uint32", id: 4 } },
  NamespaceOption: { network: { type: "int32", id: 1 }, pid: { type: "int32", id: 2 }, ipc: { type: "int32", id: 3 } },
  LinuxSandboxSecurityContext: { namespaceOptions: { type: "NamespaceOption", id: 1 } },
  LinuxPodSandboxConfig: { cgroupParent: str(1), securityContext: { type: "LinuxSandboxSecurityContext", id: 2 } },
  PodSandboxConfig: {
    metadata: { type: "PodSandboxMetadata", id: 1 },
    hostname: str(2),
    logDirectory: str(3),
    labels: map(6),
    annotations: map(7),
    linux: { type: "LinuxPodSandboxConfig", id: 8 },
  },
  RunPodSandboxRequest: { config: { type: "PodSandboxConfig", id: 1 }, runtimeHandler: str(2) },
  RunPodSandboxResponse: { podSandboxId: str(1) },
  StopPodSandboxRequest: { podSandboxId: str(1) },
  StopPodSandboxResponse: {},
  RemovePodSandboxRequest: { podSandboxId: str(1) },
  RemovePodSandboxResponse: {},

  PodSandboxStatusRequest: { podSandboxId: str(1), verbose: { type: "bool", id: 2 } },
  PodSandboxNetworkStatus: { ip: str(1) },
  PodSandboxStatus: {
    id: str(1),
    metadata: { type: "PodSandboxMetadata", id: 2 },
    // PodSandboxState: SANDBOX_READY = 0, SANDBOX_NOTREADY = 1
    state: { type: "int32", id: 3 },
    createdAt: { type: "int64", id: 4 },
    network: { type: "PodSandboxNetworkStatus", id: 5 },
    labels: map(7),
    annotations: map(8),
    runtimeHandler: str(9),
  },
  PodSandboxStatusResponse: { status: { type: "PodSandboxStatus", id: 1 }, info: map(2) },

  PodSandboxFilter: { id: str(1) },
  ListPodSandboxRequest: { filter: { type: "PodSandboxFilter", id: 1 } },
  PodSandbox: {
    id: str(1),
    metadata: { type: "PodSandboxMetadata", id: 2 },
    state: { type: "int32", id: 3 },
    runtimeHandler: str(7),
  },
  ListPodSandboxResponse: { items: { type: "PodSandbox", id: 1, rule: "repeated" } },

  ContainerMetadata: { name: str(1), attempt: { type: "uint32", id: 2 } },
  ImageSpec: { image: str(1) },
  ContainerConfig: {
    metadata: { type: "ContainerMetadata", id: 1 },
    image: { type: "ImageSpec", id: 2 },
    command: { type: "string", id: 3, rule: "repeated" },
    args: { type: "string", id: 4, rule: "repeated" },
    logPath: str(11),
  },
  CreateContainerRequest: {
    podSandboxId: str(1),
    config: { type: "ContainerConfig", id: 2 },
    sandboxConfig: { type: "PodSandboxConfig", id: 3 },
  },
  CreateContainerResponse: { containerId: str(1) },
  StartContainerRequest: { containerId: str(1) },
  StartContainerResponse: {},
  StopContainerRequest: { containerId: str(1), timeout: { type: "int64", id: 2 } },
  StopContainerResponse: {},
  RemoveContainerRequest: { containerId: str(1) },
  RemoveContainerResponse: {},
  ExecSyncRequest: {
    containerId: str(1),
    cmd: { type: "string", id: 2, rule: "repeated" },
    timeout: { type: "int64", id: 3 },
  },
  ExecSyncResponse: { stdout: { type: "bytes", id: 1 }, stderr: { type: "bytes", id: 2 }, exitCode: { type: "int32", id: 3 } },
};

const root = protobuf.Root.fromJSON({
  nested: { runtime: { nested: { v1: { nested: Object.fromEntries(Object.entries(messages).map(([k, fields]) => [k, { fields }])) } } } },
});

export const SANDBOX_READY = 0;
export const NAMESPACE_POD = 0;
export const NAMESPACE_CONTAINER = 1;

/** RuntimeService methods: name, request type, response type (rpc Name(NameRequest) returns (NameResponse)). */
export const RUNTIME_METHODS = [
  "Version",
  "RunPodSandbox",
  "StopPodSandbox",
  "RemovePodSandbox",
  "PodSandboxStatus",
  "ListPodSandbox",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
  "ExecSync",
] as const;
export type RuntimeMethod = (typeof RUNTIME_METHODS)[number];

export const SERVICE_PATH = "/runtime.v1.RuntimeService/";

export function messageType(name: string): protobuf.Type {
  return root.lookupType(`runtime.v1.${name}`);
}

/** Encodes a plain object (camelCase field names) as the named message, after protobufjs checks its field types. */
export function encode(name: string, value: Record<string, unknown>): Uint8Array {
  const type = messageType(name);
  const problem = type.verify(value);
  if (problem) throw new Error(`${name}: ${problem}`);
  return type.encode(type.fromObject(value)).finish();
}

/** Decodes the named message into a plain object: int64 as decimal strings, bytes as Buffers, enums as numbers. */
export function decode(name: string, bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(name);
  return type.toObject(type.decode(bytes), { longs: String, defaults: true }) as Record<string, unknown>;
}
