/**
 * Entry point of an engine worker thread (a second entry point of the compiled executable, see
 * the Makefile). The pool (pool.ts) starts it and sends one WorkerInit; the thread then serves
 * calls one at a time, blocking only itself, until the engine drains or the thread retires. No
 * top-level await: bytecode builds need entry points without it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parentPort } from "node:worker_threads";
import { CALL_MESSAGE, callLineFields } from "../cni/call-line.ts";
import { StreamLogger } from "../log.ts";
import { productionFuncs } from "../wiring.ts";
import { threadNetnsGuard } from "./netns-guard.ts";
import { growWhileServing, type WorkerInit, type WorkerReport } from "./pool.ts";
import { poolCounters } from "./pool-counters.ts";
import { rehearse } from "./rehearsal.ts";
import { serveUntilStopped } from "./worker-loop.ts";

function run(init: WorkerInit, report: (m: WorkerReport) => void): void {
  const log = new StreamLogger((s) => void fs.writeSync(2, s), init.level, { component: "engine" });
  // One line per call on stdout, at info (docs/engine.md); the engine's own messages stay on stderr.
  const calls = new StreamLogger((s) => void fs.writeSync(1, s), init.level, { component: "engine" });
  // Taken here, on this thread, before any call: the netns this thread must be in between calls.
  const guard = threadNetnsGuard(log);
  const exit = serveUntilStopped(
    { plugin: productionFuncs(), log, allowedUid: 0, onCall: (f) => calls.info(CALL_MESSAGE, callLineFields(f)) },
    {
      listenFd: init.listenFd,
      wakeFd: init.wakeFd,
      idleMs: init.idleMs,
      keepIdle: init.keepIdle,
      counters: poolCounters(init.counters),
      prepare: init.rehearse
        ? (callWaiting: () => boolean) => {
            const r = rehearse(path.dirname(init.socketPath), { stop: callWaiting });
            if (r.failed) log.warn("engine: the rehearsal of ADD and DEL stopped early", { ...r });
            else log.info("engine: rehearsed ADD and DEL", { ...r });
          }
        : undefined,
      onReady: () => report({ type: "ready" }),
      // Only when the pool would start a thread: a call on a quiet node wakes no other thread.
      onBusy: (idleLeft) => {
        if (idleLeft < growWhileServing(init.keepIdle)) report({ type: "busy" });
      },
      guard,
    },
  );
  report({ type: "exit", exit });
}

const port = parentPort;
if (!port) throw new Error("src/engine/worker.ts runs only as a worker thread of `rdma engine`");
port.once("message", (init: WorkerInit) => {
  try {
    run(init, (m) => port.postMessage(m));
  } catch (e) {
    // Anything thrown here is a bug in the loop itself (calls catch their own errors): say so and end the thread.
    fs.writeSync(2, `rdma engine: worker failed: ${(e as Error).stack ?? e}\n`);
    port.postMessage({ type: "exit", exit: "failed" } satisfies WorkerReport);
  }
});
