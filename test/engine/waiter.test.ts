/**
 * The worker's wait for a connection (src/sys/unix-socket.ts connectionWaiter): an epoll instance
 * per thread with the listener registered EPOLLEXCLUSIVE and the drain's pipe beside it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { acceptNow, closeFd, connectionWaiter, connectionWaiting, listenUnix, pipe } from "../../src/sys/unix-socket.ts";

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
      expect(connectionWaiting(listenFd)).toBe(false);
      const client = await connectTo(path);
      expect(connectionWaiting(listenFd)).toBe(true);
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
