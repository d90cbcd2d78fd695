/**
 * A CRI RuntimeService client over gRPC (@grpc/grpc-js) on a unix socket, as kubelet talks to
 * containerd: one unary call per method, messages encoded by api.ts.
 */
import * as grpc from "@grpc/grpc-js";
import { decode, encode, type RuntimeMethod, SERVICE_PATH } from "./api.ts";

export type Message = Record<string, unknown>;

/** A failed call: the gRPC status code's name and the runtime's message. */
export class CriError extends Error {
  constructor(
    readonly method: RuntimeMethod,
    readonly code: string,
    readonly details: string,
  ) {
    super(`${method}: ${code}: ${details}`);
  }
}

export class RuntimeClient {
  private readonly client: grpc.Client;

  constructor(
    socket: string,
    private readonly timeoutMs: number,
  ) {
    this.client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  call(method: RuntimeMethod, request: Message): Promise<Message> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        SERVICE_PATH + method,
        (value: Message) => Buffer.from(encode(`${method}Request`, value)),
        (bytes: Buffer) => decode(`${method}Response`, bytes),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err: grpc.ServiceError | null, reply?: Message) => {
          if (err) reject(new CriError(method, grpc.status[err.code] ?? String(err.code), err.details));
          else resolve(reply ?? {});
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
