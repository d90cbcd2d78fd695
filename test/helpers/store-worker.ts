/**
 * A separate process working on a state dir, for tests of what several plugin processes do at
 * once. Usage: bun store-worker.ts DIR MODE N
 *   put:     N atomic rewrites of one record, each with a different payload
 *   count:   N increments of a counter file, each under the device lock
 *   count-remove: the same, each time deleting the lock file before letting go (as DEL does)
 *   hold-remove: takes the device lock, prints "locked", after N ms deletes the lock file and
 *            lets go
 *   hold:    takes the device lock, prints "locked", sleeps until killed
 */
import * as fs from "node:fs";
import { FileStore } from "../../src/state/store.ts";

const [dir, mode, n] = process.argv.slice(2);
if (!dir || !mode) throw new Error("usage: store-worker.ts DIR MODE N");
const store = new FileStore(dir).init();
const count = Number(n ?? 1);
const key = { network: "net", containerId: "shared", ifName: "net1" };

if (mode === "put") {
  for (let i = 0; i < count; i++) {
    const now = new Date().toISOString();
    store.put({ version: 1, ...key, deviceId: "0000:03:00.5", rdmaDevice: `mlx5_${process.pid}_${i}`.padEnd(200 + (i % 50), "x"), rdmaIndex: i, netns: "/var/run/netns/p", phase: "attached", createdAt: now, updatedAt: now });
  }
} else if (mode === "count" || mode === "count-remove") {
  for (let i = 0; i < count; i++) {
    const lock = store.lockDevice("0000:03:00.5", 30_000);
    const file = `${dir}/counter`;
    const v = fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0;
    fs.writeFileSync(file, String(v + 1));
    lock.release({ removeFile: mode === "count-remove" });
  }
} else if (mode === "hold-remove") {
  const lock = store.lockDevice("0000:03:00.5", 1000);
  process.stdout.write("locked\n");
  setTimeout(() => lock.release({ removeFile: true }), count);
} else if (mode === "hold") {
  store.lockDevice("0000:03:00.5", 1000);
  process.stdout.write("locked\n");
  setInterval(() => {}, 1000);
}
