/**
 * src/sys/fs.ts, the file operations of the CNI verbs over libc: the same flags, results and
 * error messages as node:fs, which it replaced on the one-shot path.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as nodefs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "../../src/sys/fs.ts";

let dir: string;
beforeEach(() => {
  dir = nodefs.mkdtempSync(`${os.tmpdir()}/rdma-sysfs-`);
});
afterEach(() => nodefs.rmSync(dir, { recursive: true, force: true }));

/** node:fs's message for the same failure. */
function nodeMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("node:fs did not fail");
}

describe("sys/fs", () => {
  test("open flags are this architecture's", () => {
    const c = nodefs.constants;
    expect([fs.O_RDONLY, fs.O_WRONLY, fs.O_RDWR, fs.O_CREAT, fs.O_EXCL, fs.O_APPEND, fs.O_NOFOLLOW, fs.W_OK]).toEqual([
      c.O_RDONLY, c.O_WRONLY, c.O_RDWR, c.O_CREAT, c.O_EXCL, c.O_APPEND, c.O_NOFOLLOW, c.W_OK,
    ]);
  });

  test("write, read back, rename, stat, list, unlink", () => {
    const file = `${dir}/a`;
    const fd = fs.openSync(file, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW | fs.O_CLOEXEC, 0o600);
    const text = `héllo ${"x".repeat(100_000)}\n`;
    fs.writeAllSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    expect(nodefs.statSync(file).mode & 0o777).toBe(0o600);
    fs.renameSync(file, `${dir}/b`);
    const rfd = fs.openSync(`${dir}/b`, fs.O_RDONLY | fs.O_CLOEXEC);
    const st = fs.fstatSync(rfd);
    const ns = nodefs.statSync(`${dir}/b`, { bigint: true });
    expect(st.isFile()).toBe(true);
    expect(st.isDirectory()).toBe(false);
    expect(st.size).toBe(Buffer.byteLength(text));
    expect(st.nlink).toBe(1);
    expect(st.ino).toBe(ns.ino);
    expect(fs.readText(rfd)).toBe(text);
    fs.closeSync(rfd);
    expect(fs.lstatSync(`${dir}/b`).dev).toBe(st.dev);
    expect(fs.readdirSync(dir)).toEqual(["b"]);
    expect(fs.existsSync(`${dir}/b`)).toBe(true);
    fs.unlinkIfExists(`${dir}/b`);
    fs.unlinkIfExists(`${dir}/b`);
    expect(fs.existsSync(`${dir}/b`)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("symlinks: lstat sees them, O_NOFOLLOW refuses them, existsSync follows them", () => {
    nodefs.symlinkSync("/nonexistent", `${dir}/dangling`);
    nodefs.symlinkSync(dir, `${dir}/up`);
    expect(fs.lstatSync(`${dir}/up`).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(`${dir}/dangling`)).toBe(false);
    expect(fs.existsSync(`${dir}/up`)).toBe(true);
    expect(() => fs.openSync(`${dir}/up`, fs.O_RDONLY | fs.O_NOFOLLOW)).toThrow(
      nodeMessage(() => nodefs.openSync(`${dir}/up`, nodefs.constants.O_RDONLY | nodefs.constants.O_NOFOLLOW)),
    );
  });

  test("errors carry node's code and message", () => {
    const missing = `${dir}/missing/x`;
    for (const [ours, theirs] of [
      [() => fs.openSync(missing, fs.O_RDONLY), () => nodefs.openSync(missing, "r")],
      [() => fs.lstatSync(missing), () => nodefs.lstatSync(missing)],
      [() => fs.readdirSync(missing), () => nodefs.readdirSync(missing)],
      [() => fs.accessSync(missing, fs.W_OK), () => nodefs.accessSync(missing, nodefs.constants.W_OK)],
      [() => fs.renameSync(missing, `${dir}/y`), () => nodefs.renameSync(missing, `${dir}/y`)],
      [() => fs.unlinkSync(missing), () => nodefs.unlinkSync(missing)],
    ] as const) {
      expect(ours).toThrow(nodeMessage(theirs));
    }
    try {
      fs.openSync(missing, fs.O_RDONLY);
    } catch (e) {
      expect(e).toBeInstanceOf(fs.FsError);
      expect((e as fs.FsError).code).toBe("ENOENT");
    }
  });

  test("mkdirp makes the missing parents with the mode, and accepts an existing directory only", () => {
    const deep = `${dir}/a/b/c`;
    fs.mkdirp(deep, 0o700);
    fs.mkdirp(deep, 0o700);
    expect(nodefs.statSync(deep).isDirectory()).toBe(true);
    expect(nodefs.statSync(`${dir}/a`).mode & 0o777).toBe(0o700);
    nodefs.writeFileSync(`${dir}/file`, "");
    expect(() => fs.mkdirp(`${dir}/file`, 0o700)).toThrow(/^EEXIST: file already exists, mkdir/);
    expect(() => fs.mkdirp(`${dir}/file/x`, 0o700)).toThrow(/^ENOTDIR/);
  });

  test("dirname agrees with node's path.dirname", () => {
    for (const p of ["/", "/a", "/a/b", "/a/b/", "/a//b", "/run/cni/x.json", "a", "a/b"]) {
      expect([p, fs.dirname(p)]).toEqual([p, path.dirname(p)]);
    }
  });
});
