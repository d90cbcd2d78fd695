/** The shim's wire format, byte for byte, and its limits. */
import { describe, expect, test } from "bun:test";
import {
  decodeEnv,
  decodeReply,
  decodeRequestHeader,
  encodeReply,
  encodeRequest,
  MAX_REQUEST_ENV,
  MAX_REQUEST_STDIN,
  ProtocolError,
} from "../../src/engine/protocol.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("engine protocol", () => {
  test("a request is magic, two lengths, NUL-terminated env, stdin", () => {
    const bytes = encodeRequest({ env: { CNI_COMMAND: "DEL", HOME: "/root" }, stdin: new TextEncoder().encode("{}") });
    // 16 bytes of env (HOME is not forwarded), 2 of stdin
    expect(hex(bytes)).toBe(`${hex(Buffer.from("RCQ1"))}1000000002000000${hex(Buffer.from("CNI_COMMAND=DEL\0{}"))}`);
    expect(decodeRequestHeader(bytes.subarray(0, 12))).toEqual({ envLen: 16, stdinLen: 2 });
  });

  test("a reply is magic, status, two lengths, stdout, stderr", () => {
    const bytes = encodeReply({ status: 1, stdout: Buffer.from("out"), stderr: Buffer.from("e") });
    // status 1, 3 bytes of stdout, 1 of stderr
    expect(hex(bytes)).toBe(`${hex(Buffer.from("RCR1"))}010000000300000001000000${hex(Buffer.from("oute"))}`);
    const back = decodeReply(bytes);
    expect(back.status).toBe(1);
    expect(Buffer.from(back.stdout).toString()).toBe("out");
    expect(Buffer.from(back.stderr).toString()).toBe("e");
  });

  test("headers announcing more than the limits are refused before any body is read", () => {
    const header = (env: number, stdin: number) => {
      const b = Buffer.alloc(12);
      b.write("RCQ1");
      b.writeUInt32LE(env, 4);
      b.writeUInt32LE(stdin, 8);
      return new Uint8Array(b);
    };
    expect(decodeRequestHeader(header(MAX_REQUEST_ENV, MAX_REQUEST_STDIN))).toEqual({ envLen: MAX_REQUEST_ENV, stdinLen: MAX_REQUEST_STDIN });
    expect(() => decodeRequestHeader(header(MAX_REQUEST_ENV + 1, 0))).toThrow(ProtocolError);
    expect(() => decodeRequestHeader(header(0, MAX_REQUEST_STDIN + 1))).toThrow(ProtocolError);
    const bad = header(0, 0);
    bad[0] = 0x58;
    expect(() => decodeRequestHeader(bad)).toThrow("bad request magic");
  });

  test("the engine keeps only CNI_* and RDMA_CNI_* variables, whatever a client sends", () => {
    const block = Buffer.from("CNI_COMMAND=ADD\0LD_PRELOAD=/x.so\0RDMA_CNI_STATE_DIR=/run/cni/t\0CNI_ARGS=a=b;c=d\0");
    expect(decodeEnv(new Uint8Array(block))).toEqual({ CNI_COMMAND: "ADD", RDMA_CNI_STATE_DIR: "/run/cni/t", CNI_ARGS: "a=b;c=d" });
    expect(() => decodeEnv(new Uint8Array(Buffer.from("CNI_COMMAND=ADD")))).toThrow("NUL-terminated");
    expect(() => decodeEnv(new Uint8Array(Buffer.from("=x\0")))).toThrow(ProtocolError);
  });

  test("stderr beyond 1 MiB is cut; the status is one byte", () => {
    const r = decodeReply(encodeReply({ status: 256 + 3, stdout: new Uint8Array(0), stderr: new Uint8Array(2 * 1024 * 1024) }));
    expect(r.status).toBe(3);
    expect(r.stderr.length).toBe(1024 * 1024);
  });
});
