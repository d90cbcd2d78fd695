import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { tryLockFile } from "../../src/doctor/locks.ts";
import { acquireLock } from "../../src/state/lock.ts";

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("doctor lock probe", () => {
  test("a free lock probes free and stays free; a held one probes held and stays held", () => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-doctor-locks-`);
    const file = `${dir}/x.lock`;
    fs.writeFileSync(file, "");
    expect(tryLockFile(file)).toBe("free");
    acquireLock(file, 0, "x").release(); // the probe released it
    const held = acquireLock(file, 0, "x");
    try {
      expect(tryLockFile(file)).toBe("held");
      expect(() => acquireLock(file, 0, "x")).toThrow(/busy/);
    } finally {
      held.release();
    }
  });

  test("the probe creates nothing and refuses what is not a regular file", () => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-doctor-locks-`);
    expect(() => tryLockFile(`${dir}/missing.lock`)).toThrow();
    expect(fs.existsSync(`${dir}/missing.lock`)).toBe(false);
    fs.mkdirSync(`${dir}/dir.lock`);
    expect(() => tryLockFile(`${dir}/dir.lock`)).toThrow();
    fs.symlinkSync(`${dir}/dir.lock`, `${dir}/link.lock`);
    expect(() => tryLockFile(`${dir}/link.lock`)).toThrow();
  });
});
