import { describe, expect, test } from "bun:test";
import { fallbackHostName, hostNameOfFallback, MAX_RDMA_NAME_BYTES, rdmaNameProblem } from "../../src/config/rdma-name.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe("rdmaNameProblem", () => {
  test("names a job would ask for are fine", () => {
    for (const n of ["rdma0", "mlx5_0", "rail-7", "a.b_c-d:e", "é", "a".repeat(63)]) expect(rdmaNameProblem(n)).toBeUndefined();
  });
  test("the limit counts UTF-8 bytes, not characters", () => {
    expect(rdmaNameProblem("é".repeat(31) + "a")).toBeUndefined(); // 63 bytes
    expect(rdmaNameProblem("é".repeat(32))).toContain("64 bytes long");
  });
  test("DEL and the escape of every control character", () => {
    expect(rdmaNameProblem("a\u007fb")).toContain("control");
    expect(rdmaNameProblem("a\u0085b")).toContain("control");
  });
});

describe("fallbackHostName", () => {
  test("says the host name and the pod's, then numbers", () => {
    expect(fallbackHostName("mlx5_3", "rdma0", 1)).toBe("mlx5_3-from-rdma0");
    expect(fallbackHostName("mlx5_3", "rdma0", 2)).toBe("mlx5_3-from-rdma0-2");
    expect(hostNameOfFallback("mlx5_3-from-rdma0-2")).toBe("mlx5_3");
    expect(hostNameOfFallback("mlx5_3")).toBeUndefined();
  });
  test("stays within the kernel's limit, and is a valid name", () => {
    const long = fallbackHostName("h".repeat(40), "é".repeat(31), 9);
    expect(bytes(long)).toBeLessThanOrEqual(MAX_RDMA_NAME_BYTES);
    expect(long.endsWith("-9")).toBe(true);
    expect(rdmaNameProblem(long)).toBeUndefined();
  });
});
