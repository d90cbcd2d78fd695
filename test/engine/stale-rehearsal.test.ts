/**
 * What an engine killed during its rehearsal leaves beside the socket (a `rehearsal-*` scratch
 * directory, src/engine/rehearsal-scratch.ts) is removed by the next engine once it holds the
 * engine lock; nothing of that name is followed out of the socket's directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";

const BUN = process.execPath;
const MAIN = `${import.meta.dir}/../../src/main.ts`;
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-stale-rehearsal-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await Bun.sleep(20);
  }
}

describe("a new engine removes the rehearsal directories a killed one left", () => {
  test("stale directories and entries of that name go, symlinks unfollowed; other entries stay; the engine serves", async () => {
    const run = `${tmp}/run`;
    fs.mkdirSync(run, { mode: 0o700 });
    // Outside the socket's directory: what a followed link would reach.
    const outside = `${tmp}/outside`;
    fs.mkdirSync(outside);
    fs.writeFileSync(`${outside}/keep`, "mine");
    // As a SIGKILLed rehearsal leaves it: a store and a sysfs tree, and here a link out as well.
    const stale = `${run}/rehearsal-Ab12Cd`;
    fs.mkdirSync(`${stale}/state/locks`, { recursive: true });
    fs.writeFileSync(`${stale}/state/locks/rdma_cni.rehearsal.0.lock`, "");
    fs.mkdirSync(`${stale}/sys/bus/auxiliary/devices/rdma_cni.rehearsal.0/infiniband/rdmacni_rehearsal0`, { recursive: true });
    fs.symlinkSync(outside, `${stale}/link-out`);
    fs.symlinkSync(outside, `${run}/rehearsal-x`);
    fs.writeFileSync(`${run}/rehearsal-file`, "");
    fs.mkdirSync(`${run}/rehearsals`); // another name: not ours to remove
    fs.writeFileSync(`${run}/rehearsal-`, ""); // no mkdtemp suffix: not a rehearsal's

    const socket = `${run}/engine.sock`;
    const proc = Bun.spawn([BUN, MAIN, "engine", "--socket", socket, "--log-level", "info"], { stdout: "ignore", stderr: "pipe" });
    let log = "";
    (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) log += Buffer.from(chunk).toString();
    })();
    try {
      // The engine's own rehearsal comes and goes after the cleanup: wait for both lines.
      await waitFor(() => log.includes("engine: rehearsed ADD and DEL") && log.includes("stale rehearsal"), 10_000, () => `the engine's log lines; log:\n${log}`);
      const line = log.split("\n").find((l) => l.includes("stale rehearsal"));
      expect(JSON.parse(line ?? "{}")).toMatchObject({ level: "info", dir: run, removed: 3 });
      expect(fs.readdirSync(run).sort()).toEqual(["engine.sock", "engine.sock.lock", "rehearsal-", "rehearsals"]);
      expect(fs.readFileSync(`${outside}/keep`, "utf8")).toBe("mine");
      expect(fs.readdirSync(outside)).toEqual(["keep"]);

      const check = Bun.spawnSync([BUN, MAIN, "engine", "--check", "--socket", socket], { stdout: "pipe", stderr: "pipe" });
      expect({ status: check.exitCode, stderr: check.stderr.toString() }).toEqual({ status: 0, stderr: "" });
    } finally {
      proc.kill();
      await proc.exited;
    }
  }, 20_000);
});
