/**
 * The error documentation against the code: README's code table lists exactly the codes the plugin
 * and the shim can answer with, and docs/troubleshooting.md carries every message the shim can
 * print. A new code or shim message without its documentation fails here.
 */
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ErrorCode } from "../../src/errors.ts";

const ROOT = `${import.meta.dir}/../..`;
const read = (file: string) => fs.readFileSync(`${ROOT}/${file}`, "utf8");

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(`${ROOT}/${dir}`, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f));
}

/** Codes the TypeScript plugin throws: every ErrorCode.X named outside errors.ts, and asCniError's fallback. */
function pluginCodes(): Set<number> {
  const codes = new Set<number>([ErrorCode.Internal]);
  for (const file of sourcesUnder("src")) {
    if (file === path.join("src", "errors.ts")) continue;
    for (const m of read(file).matchAll(/ErrorCode\.(\w+)/g)) {
      const value = (ErrorCode as Record<string, number>)[m[1] ?? ""];
      if (value === undefined) throw new Error(`${file}: ErrorCode.${m[1]} is not a code`);
      codes.add(value);
    }
  }
  return codes;
}

/** The shim's fail(CODE, "FORMAT", ...) calls. */
function shimFailures(): { code: number; format: string }[] {
  return [...read("shim/rdma-shim.c").matchAll(/\bfail\((\d+),\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => ({ code: Number(m[1]), format: m[2] ?? "" }));
}

/** The codes of README's "Error codes" table. */
function readmeCodes(): number[] {
  const section = read("README.md").split("\n## Error codes\n")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
}

describe("error documentation", () => {
  test("the shim's failures are found (the pattern still matches its source)", () => {
    const failures = shimFailures();
    expect(failures.length).toBeGreaterThanOrEqual(10);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set([4, 5, 11]));
  });

  test("README's error table lists exactly the codes the plugin and the shim answer with, each once", () => {
    const used = new Set([...pluginCodes(), ...shimFailures().map((f) => f.code)]);
    const listed = readmeCodes();
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort((a, b) => a - b)).toEqual([...used].sort((a, b) => a - b));
  });

  test("docs/troubleshooting.md has every message the shim can print, with its code", () => {
    const doc = read("docs/troubleshooting.md");
    const rows = doc.split("\n").filter((l) => l.startsWith("| `rdma-shim: ") || l.startsWith("| `rdma-shim:"));
    for (const { code, format } of shimFailures()) {
      // the fixed words of the format, up to its first conversion
      const words = format.split("%")[0]?.trim() ?? "";
      expect(words.length).toBeGreaterThan(5);
      const row = rows.find((r) => r.includes(words));
      if (!row) throw new Error(`docs/troubleshooting.md lacks the shim's message "${format}"`);
      expect(row).toContain(` | ${code} | `);
    }
    // the one line it writes to stderr before running a call one-shot
    expect(read("shim/rdma-shim.c")).toContain('"rdma-shim: %s; running the call one-shot\\n"');
    expect(doc).toContain("`rdma-shim: WHY; running the call one-shot`");
  });
});
