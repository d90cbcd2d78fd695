/**
 * The runner's check of the command's output (test/vm/lib.sh, tb_output_check): the guest ends
 * the output file with "TB_OUTPUT_END rc=<n> bytes=<size before it>", and test/vm/run fails
 * (125) unless that marker is the whole last line and names the size that came before it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const LIB = `${import.meta.dir}/../vm/lib.sh`;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-output-test-`);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Verdict {
  ok: boolean;
  bytes: number;
  rc: string;
  error: string;
}

// Writes `content` (or nothing, for null) as the output file and runs the check on it.
function check(content: string | null): Verdict {
  const file = `${tmp}/output`;
  fs.rmSync(file, { force: true });
  if (content !== null) fs.writeFileSync(file, content);
  const script = `. "${LIB}"
if tb_output_check "${file}"; then ok=1; else ok=0; fi
printf '%s|%s|%s|%s' "$ok" "$TB_OUTPUT_BYTES" "$TB_OUTPUT_RC" "$TB_OUTPUT_ERROR"`;
  const r = Bun.spawnSync(["bash", "-c", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  const [ok, bytes, rc, error] = r.stdout.toString().split("|");
  return { ok: ok === "1", bytes: Number(bytes), rc: rc ?? "", error: error ?? "" };
}

const marker = (rc: number, bytes: number) => `TB_OUTPUT_END rc=${rc} bytes=${bytes}\n`;

describe("tb_output_check", () => {
  test("takes the output before a marker that names its size, and the marker's exit status", () => {
    const out = "step1\nstep2\n";
    expect(check(out + marker(3, out.length))).toEqual({ ok: true, bytes: out.length, rc: "3", error: "" });
  });

  test("an output without a final newline is whole when the marker names its size", () => {
    const out = "no newline";
    expect(check(out + marker(0, out.length))).toMatchObject({ ok: true, bytes: 10, rc: "0" });
  });

  test("an empty output is whole with bytes=0", () => {
    expect(check(marker(7, 0))).toMatchObject({ ok: true, bytes: 0, rc: "7" });
  });

  test("a marker the command printed itself, earlier in the output, is output", () => {
    const out = `a\n${marker(0, 0)}b\n`;
    expect(check(out + marker(1, out.length))).toMatchObject({ ok: true, bytes: out.length, rc: "1" });
  });

  test("an empty file (the output was lost) is an error", () => {
    expect(check("")).toMatchObject({ ok: false, bytes: 0, rc: "" });
    expect(check("").error).toContain("no end marker");
  });

  test("no file is an error", () => {
    expect(check(null)).toMatchObject({ ok: false, error: "no output file" });
  });

  test("output without a marker is an error, and all of it is handed over", () => {
    const v = check("step1\nstep2\n");
    expect(v).toMatchObject({ ok: false, bytes: 12, rc: "" });
    expect(v.error).toContain("no end marker");
  });

  test("a marker that names another size (bytes lost or added) is an error", () => {
    const lost = check(`step2\n${marker(0, 12)}`);
    expect(lost.ok).toBe(false);
    expect(lost.error).toBe("the end marker says 12 bytes of output, 6 came");
    expect(check(`step1\nstep2\n${marker(0, 6)}`).ok).toBe(false);
  });

  test("a garbled or cut marker is an error", () => {
    for (const bad of ["TB_OUTPUT_END rc=0 bytes=\n", "TB_OUTPUT_END rc=x bytes=0\n", "TB_OUTPUT_END rc=0\n", "TB_OUTPUT_EN"]) {
      expect(check(bad).ok).toBe(false);
    }
  });

  test("a marker without its final newline is an error", () => {
    const v = check(`ab${marker(0, 2).trimEnd()}`);
    expect(v.ok).toBe(false);
    expect(v.error).toBe("the end marker is not a whole line");
  });

  test("an exit status above 255 is an error", () => {
    expect(check(marker(300, 0))).toMatchObject({ ok: false, error: "the end marker's exit status 300 is not one" });
  });
});
