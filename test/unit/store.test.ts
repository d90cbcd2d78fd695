/** Attachment records on disk: atomic replace, safe names, concurrent processes, locks. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { CniError } from "../../src/errors.ts";
import { type AttachmentRecord, encodeComponent, FileStore, parseLockName, recordFileName } from "../../src/state/store.ts";

const WORKER = `${import.meta.dir}/../helpers/store-worker.ts`;
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-store-`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function record(containerId: string, ifName = "net1", network = "net"): AttachmentRecord {
  return { version: 1, network, containerId, ifName, deviceId: "0000:03:00.5", rdmaDevice: "mlx5_3", rdmaIndex: 3, netns: "/var/run/netns/p", phase: "moving", createdAt: "t", updatedAt: "t" };
}

describe("records", () => {
  test("put, get, list and remove round-trip", () => {
    const s = new FileStore(dir).init();
    s.put(record("c1"));
    s.put({ ...record("c1"), phase: "attached" });
    s.put(record("c2"));
    expect(s.get(record("c1"))?.phase).toBe("attached");
    expect(s.list().records.map((r) => r.containerId)).toEqual(["c1", "c2"]);
    s.remove(record("c1"));
    expect(s.get(record("c1"))).toBeUndefined();
    expect(fs.readdirSync(`${dir}/attachments`)).toEqual([recordFileName(record("c2"))]);
  });

  test("directories removed after the store was opened are made again by the next lock (a long-running engine)", () => {
    const s = new FileStore(dir).init();
    fs.rmSync(dir, { recursive: true });
    const again = new FileStore(dir).init(); // this process checked the dir already: no new check here
    const lock = again.lockDevice("0000:03:00.5", 100);
    again.put(record("c1"));
    lock.release();
    expect(s.get(record("c1"))?.containerId).toBe("c1");
    expect(fs.statSync(`${dir}/locks`).mode & 0o777).toBe(0o700);
  });

  test("directories are created private to root", () => {
    new FileStore(`${dir}/x/y`).init();
    expect(fs.statSync(`${dir}/x/y/attachments`).mode & 0o777).toBe(0o700);
  });

  test("hostile names stay inside the attachments directory and do not collide", () => {
    const hostile = ["../../../etc/passwd", "a/b", "..", ".", "a\0b", "a\nb", "x".repeat(400), "a.b", "a%2Eb", "é"];
    const s = new FileStore(dir).init();
    for (const h of hostile) {
      for (const r of [record(h), record("c", h), record("c", "i", h)]) {
        const name = recordFileName(r);
        expect(name).not.toContain("/");
        expect(name.startsWith(".")).toBe(false);
        expect(name.length).toBeLessThanOrEqual(255);
        s.put(r);
        expect(s.get(r)).toMatchObject({ containerId: r.containerId, ifName: r.ifName, network: r.network });
      }
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["attachments", "locks"]);
    expect(s.list().records).toHaveLength(hostile.length * 3);
    expect(s.list().unreadable).toEqual([]);
  });

  test("lock files list with their kind, and device lock names decode back to the device IDs", () => {
    const s = new FileStore(dir).init();
    const ids = ["0000:03:00.5", "mlx5_core.sf.4", "é/.."];
    const held = [...ids.map((id) => s.lockDevice(id, 100)), s.lockAttachment(record("c1"), 100)];
    fs.writeFileSync(`${s.locks}/0000:03:00.5.lock`, ""); // not the store's escaping
    fs.writeFileSync(`${s.locks}/abc.json`, "");
    const listed = s.listLocks();
    for (const l of held) l.release({ removeFile: true });
    expect(listed.filter((l) => l.kind === "device" && l.deviceId !== null).map((l) => l.deviceId).sort()).toEqual([...ids].sort());
    expect(listed.filter((l) => l.kind === "attachment").map((l) => l.file)).toEqual([s.attachmentLockPath(record("c1"))]);
    expect(listed.find((l) => l.file === `${s.locks}/0000:03:00.5.lock`)?.deviceId).toBeNull();
    expect(listed.some((l) => l.file.endsWith(".json"))).toBe(false);
    expect(parseLockName("abc.json").deviceId).toBeNull();
  });

  test("the encoding is injective on the separator", () => {
    expect(recordFileName(record("a.b", "c"))).not.toBe(recordFileName({ ...record("a"), ifName: "b.c" }));
    expect(encodeComponent("a.b")).toBe("a%2Eb");
  });

  test("a corrupt or foreign file is reported by list, not taken for a record", () => {
    const s = new FileStore(dir).init();
    s.put(record("c1"));
    fs.writeFileSync(`${dir}/attachments/junk.json`, "{not json");
    fs.writeFileSync(`${dir}/attachments/other.json`, JSON.stringify(record("c9")));
    const { records, unreadable } = s.list();
    expect(records.map((r) => r.containerId)).toEqual(["c1"]);
    expect(unreadable.map((u) => u.file.split("/").pop()).sort()).toEqual(["junk.json", "other.json"]);
  });

  test("a record file that is a symlink is not followed", () => {
    const s = new FileStore(dir).init();
    fs.writeFileSync(`${dir}/target.json`, JSON.stringify(record("c1")));
    fs.symlinkSync(`${dir}/target.json`, `${dir}/attachments/${recordFileName(record("c1"))}`);
    expect(() => s.get(record("c1"))).toThrow(CniError);
  });

  test("a state dir that is a symlink is refused", () => {
    fs.mkdirSync(`${dir}/real`);
    fs.symlinkSync(`${dir}/real`, `${dir}/link`);
    expect(() => new FileStore(`${dir}/link`).init()).toThrow(/not a directory/);
  });

  test("a state dir that is a file is refused with code 106", () => {
    fs.writeFileSync(`${dir}/file`, "");
    try {
      new FileStore(`${dir}/file`).init();
      throw new Error("accepted");
    } catch (e) {
      expect((e as CniError).code).toBe(106);
    }
  });
});

describe("separate processes", () => {
  test("concurrent writers never leave a partial record for a reader", async () => {
    const s = new FileStore(dir).init();
    const writers = [1, 2, 3].map(() => Bun.spawn([process.execPath, WORKER, dir, "put", "300"], { stderr: "pipe" }));
    let reads = 0;
    const done = Promise.all(writers.map((w) => w.exited));
    let finished = false;
    done.then(() => {
      finished = true;
    });
    while (!finished) {
      const r = s.get({ network: "net", containerId: "shared", ifName: "net1" });
      if (r) {
        expect(r.rdmaDevice.startsWith("mlx5_")).toBe(true);
        reads++;
      }
      await Bun.sleep(0);
    }
    expect(await done).toEqual([0, 0, 0]);
    expect(reads).toBeGreaterThan(10);
    expect(fs.readdirSync(`${dir}/attachments`)).toEqual([recordFileName({ network: "net", containerId: "shared", ifName: "net1" })]);
  }, 60_000);

  test("the device lock serializes processes", async () => {
    new FileStore(dir).init();
    const procs = [1, 2, 3, 4].map(() => Bun.spawn([process.execPath, WORKER, dir, "count", "50"]));
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0]);
    expect(fs.readFileSync(`${dir}/counter`, "utf8")).toBe("200");
  }, 60_000);

  test("a lock held by a process killed with SIGKILL is free again", async () => {
    const s = new FileStore(dir).init();
    const holder = Bun.spawn([process.execPath, WORKER, dir, "hold"], { stdout: "pipe" });
    const reader = holder.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("locked");
    expect(() => s.lockDevice("0000:03:00.5", 50)).toThrow(/busy/);
    holder.kill("SIGKILL");
    await holder.exited;
    const lock = s.lockDevice("0000:03:00.5", 2000);
    lock.release();
  }, 30_000);

  test("a lock timeout is code 11, try again later", () => {
    const s = new FileStore(dir).init();
    const held = s.lockDevice("0000:03:00.5", 10);
    try {
      s.lockDevice("0000:03:00.5", 30);
      throw new Error("acquired twice");
    } catch (e) {
      expect((e as CniError).code).toBe(11);
    } finally {
      held.release();
    }
  });
});
