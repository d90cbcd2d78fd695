/**
 * The worker's wait for a connection (src/sys/unix-socket.ts connectionWaiter): an epoll instance
 * per thread with the listener registered EPOLLEXCLUSIVE and the drain's pipe beside it; and what
 * ends a worker's preparation before it serves (src/engine/worker-loop.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { POOL_COUNTERS_BYTES, poolCounters } from "../../src/engine/pool-counters.ts";
import { serveUntilStopped, type WorkerLoopOptions } from "../../src/engine/worker-loop.ts";
import { StreamLogger } from "../../src/log.ts";
import { acceptNow, closeFd, connectionWaiter, listenUnix, pipe } from "../../src/sys/unix-socket.ts";
import { productionFuncs } from "../../src/wiring.ts";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(`${os.tmpdir()}/rdma-waiter-`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function connectTo(path: string): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const s = net.connect(path, () => resolve(s));
    s.on("error", reject);
  });
}

describe("connectionWaiter", () => {
  test("times out with nothing queued, sees a queued connection, and the drain's wake wins over it", async () => {
    const path = `${tmp}/a.sock`;
    const listenFd = listenUnix(path, 8);
    const [wakeRead, wakeWrite] = pipe();
    const a = connectionWaiter(listenFd, wakeRead);
    const b = connectionWaiter(listenFd, wakeRead);
    try {
      expect(a.wait(0)).toBe("timeout");
      const client = await connectTo(path);
      expect(a.wait(1000)).toBe("connection");
      expect(b.wait(1000)).toBe("connection"); // not waiting when it came: it still sees it (level-triggered)
      const fd = acceptNow(listenFd);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(acceptNow(listenFd)).toBeUndefined();
      expect(a.wait(0)).toBe("timeout"); // taken: nothing left to see
      const second = await connectTo(path);
      closeFd(wakeWrite); // the drain: every waiter wakes, and says so even with a connection queued
      expect(a.wait(1000)).toBe("wake");
      expect(b.wait(1000)).toBe("wake");
      client.destroy();
      second.destroy();
      if (fd !== undefined) closeFd(fd);
    } finally {
      a.close();
      b.close();
      closeFd(wakeRead);
      closeFd(listenFd);
    }
  });
});

describe("serveUntilStopped: what stops a worker's preparation (the first worker's rehearsal)", () => {
  const opts = { plugin: productionFuncs(), log: new StreamLogger(() => {}, "error"), allowedUid: 0 };
  /** One worker's loop on `listenFd` with the drain's pipe `wakeFd`, preparing with `prepare`. */
  const serve = (listenFd: number, wakeFd: number, prepare: WorkerLoopOptions["prepare"], onBusy = () => {}) =>
    serveUntilStopped(opts, {
      listenFd,
      wakeFd,
      idleMs: 60_000,
      keepIdle: 1,
      counters: poolCounters(new SharedArrayBuffer(POOL_COUNTERS_BYTES)),
      prepare,
      onReady: () => {},
      onBusy,
      guard: () => true,
    });

  test("a connection queued while it prepares", async () => {
    const path = `${tmp}/prepare-call.sock`;
    const listenFd = listenUnix(path, 8);
    const [wakeRead, wakeWrite] = pipe();
    const client = await connectTo(path);
    client.destroy(); // still queued: the worker accepts it and reads its end at once
    const asked: boolean[] = [];
    try {
      // Served, then the drain ends the loop.
      const exit = serve(listenFd, wakeRead, (callWaiting) => void asked.push(callWaiting()), () => closeFd(wakeWrite));
      expect(asked).toEqual([true]);
      expect(exit).toBe("drained");
    } finally {
      closeFd(wakeRead);
      closeFd(listenFd);
    }
  });

  test("the drain, also on a listener the drain leaves open (socket activation): a SIGTERM does not wait for the rehearsal", () => {
    const listenFd = listenUnix(`${tmp}/prepare-drain.sock`, 8);
    const [wakeRead, wakeWrite] = pipe();
    const asked: boolean[] = [];
    try {
      const exit = serve(listenFd, wakeRead, (callWaiting) => {
        asked.push(callWaiting());
        closeFd(wakeWrite); // what WorkerPool.drain does; the listener is not shut down
        asked.push(callWaiting());
      });
      expect(asked).toEqual([false, true]);
      expect(exit).toBe("drained");
    } finally {
      closeFd(wakeRead);
      closeFd(listenFd);
    }
  });
});
