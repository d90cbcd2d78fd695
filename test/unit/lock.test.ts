/**
 * Lock files that are deleted when done: a holder deletes its file before letting go, and an
 * acquirer that locked a file deleted meanwhile notices and starts again on the path.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { acquireLock, isCurrentFile } from "../../src/state/lock.ts";
import { FileStore } from "../../src/state/store.ts";

const WORKER = `${import.meta.dir}/../helpers/store-worker.ts`;
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-lock-`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("lock files", () => {
  test("release keeps the file; release with removeFile deletes it, and the next lock makes it again", () => {
    const file = `${dir}/x.lock`;
    acquireLock(file, 0, "x").release();
    expect(fs.existsSync(file)).toBe(true);
    const held = acquireLock(file, 0, "x");
    expect(() => acquireLock(file, 0, "x")).toThrow(/busy/);
    held.release({ removeFile: true });
    expect(fs.existsSync(file)).toBe(false);
    const again = acquireLock(file, 0, "x");
    expect(fs.existsSync(file)).toBe(true);
    again.release({ removeFile: true });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("isCurrentFile: the file at the path, not one unlinked or replaced", () => {
    const file = `${dir}/x.lock`;
    fs.writeFileSync(file, "");
    const fd = fs.openSync(file, "r");
    try {
      expect(isCurrentFile(fd, file)).toBe(true);
      fs.renameSync(file, `${dir}/moved.lock`);
      fs.writeFileSync(file, ""); // replaced: same name, another inode
      expect(isCurrentFile(fd, file)).toBe(false);
      fs.rmSync(file);
      expect(isCurrentFile(fd, file)).toBe(false); // missing
      fs.rmSync(`${dir}/moved.lock`);
      fs.writeFileSync(file, "");
      expect(isCurrentFile(fd, file)).toBe(false); // unlinked (nlink 0), a new file at the path
    } finally {
      fs.closeSync(fd);
    }
  });

  test("a waiter whose file the holder deleted gets the lock on the new file, not on the deleted one", async () => {
    const store = new FileStore(dir).init();
    const file = store.deviceLockPath("0000:03:00.5");
    const holder = Bun.spawn([process.execPath, WORKER, dir, "hold-remove", "300"], { stdout: "pipe" });
    const { value } = await holder.stdout.getReader().read();
    expect(new TextDecoder().decode(value)).toContain("locked");
    expect(fs.existsSync(file)).toBe(true);
    // Opens the holder's file now and polls; at 300 ms the holder deletes it and lets go, so the
    // flock this call gets first is on a deleted file, and it has to start again.
    const started = Date.now();
    const lock = store.lockDevice("0000:03:00.5", 5000);
    // It waited for the holder: its first flock attempt was on the holder's (later deleted) file.
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    try {
      expect(await holder.exited).toBe(0);
      const fd = fs.openSync(file, "r"); // the lock's file is at the path ...
      try {
        expect(isCurrentFile(fd, file)).toBe(true);
      } finally {
        fs.closeSync(fd);
      }
      expect(() => store.lockDevice("0000:03:00.5", 0)).toThrow(/busy/); // and it excludes others
    } finally {
      lock.release({ removeFile: true });
    }
    expect(fs.readdirSync(`${dir}/locks`)).toEqual([]);
  }, 30_000);

  test("processes that delete the lock file at every release still exclude each other", async () => {
    new FileStore(dir).init();
    const procs = [1, 2, 3, 4].map(() => Bun.spawn([process.execPath, WORKER, dir, "count-remove", "150"]));
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0]);
    expect(fs.readFileSync(`${dir}/counter`, "utf8")).toBe("600"); // no increment lost: never two holders
    expect(fs.readdirSync(`${dir}/locks`)).toEqual([]); // and no file left behind
  }, 120_000);
});
