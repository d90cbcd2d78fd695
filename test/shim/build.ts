/** Builds shim/rdma-shim.c for a test, static as it ships (musl-gcc when present, else gcc -static). */
import * as fs from "node:fs";

const SOURCE = `${import.meta.dir}/../../shim/rdma-shim.c`;

export function compiler(): string[] {
  const musl = Bun.which("musl-gcc");
  return musl ? [musl, "-static"] : ["gcc", "-static"];
}

/** Compiles the shim to `out`; `defines` become -D flags (e.g. ENGINE_NAME). */
export function buildShim(out: string, defines: Record<string, string> = {}): void {
  const flags = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  const r = Bun.spawnSync([...compiler(), "-Os", "-Wall", "-Wextra", "-Werror", ...flags, "-o", out, SOURCE], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`building the shim failed: ${r.stderr.toString()}`);
  fs.chmodSync(out, 0o755);
}
