/** Paths from a network config (logFile, stateDir) stay below their fixed roots, never through symlinks. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { CniError } from "../../src/errors.ts";
import { confinedPath } from "../../src/config/paths.ts";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(`${os.tmpdir()}/rdma-paths-`);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test("a path below the root is accepted, even if it does not exist yet", () => {
  expect(confinedPath("stateDir", `${root}/a/b`, root)).toBe(`${root}/a/b`);
});

test.each(["relative/x", "/etc/passwd", "/", "ROOT", "ROOT/../etc", "ROOT/a/../../etc", "ROOT//a", "ROOT/./a", "ROOT/a\n", "ROOTx/a"])("%p is refused", (p) => {
  const value = p.replace("ROOT", root);
  expect(() => confinedPath("stateDir", value, root)).toThrow(CniError);
});

test("a symlink inside the root is refused, wherever it points", () => {
  fs.mkdirSync(`${root}/real`);
  fs.symlinkSync("/etc", `${root}/link`);
  fs.symlinkSync(`${root}/real`, `${root}/inner`);
  expect(() => confinedPath("logFile", `${root}/link/x.log`, root)).toThrow(/symlink/);
  expect(() => confinedPath("logFile", `${root}/inner/x.log`, root)).toThrow(/symlink/);
  expect(() => confinedPath("logFile", `${root}/link`, root)).toThrow(/symlink/);
});

test("the error names the field", () => {
  try {
    confinedPath("logFile", "/etc/shadow", root);
    throw new Error("accepted");
  } catch (e) {
    expect((e as CniError).code).toBe(7);
    expect((e as CniError).message).toContain("logFile");
  }
});
