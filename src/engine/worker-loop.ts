/**
 * One worker thread's life (worker.ts runs it): wait on the shared listening socket in an epoll
 * of its own, take one connection at a time and serve it synchronously (connection.ts), check
 * the thread's netns after each call, until the engine drains or the worker retires
 * (docs/engine.md, "Threads").
 */
import * as us from "../sys/unix-socket.ts";
import { type EngineOptions, serveConnection } from "./connection.ts";
import { countBusy, countIdle, type PoolCounters, tryRetire } from "./pool-counters.ts";

export interface WorkerLoopOptions {
  listenFd: number;
  /** Readable (or hung up) once the engine drains: serve what is queued, then leave. */
  wakeFd: number;
  /** A worker idle this long may retire: one worker per `idleMs`, never below `keepIdle` idle. */
  idleMs: number;
  keepIdle: number;
  /** Shared with the pool and every worker (pool-counters.ts). */
  counters: PoolCounters;
  /**
   * Runs once the worker has its place among the listener's waiters and before it counts as idle
   * (the first worker rehearses here, rehearsal.ts). `callWaiting` says whether a connection waits
   * to be accepted or the engine drains: preparing stops for either. A shared listener (socket
   * activation) is not shut down by the drain, so the wake alone tells this worker of it.
   */
  prepare?(callWaiting: () => boolean): void;
  /** Called once this worker counts as idle (the pool counts it as started). */
  onReady(): void;
  /** Called when this worker takes a connection, with how many stay idle (the pool may start another). */
  onBusy(idleLeft: number): void;
  /** After every call; false when the thread could not be brought home (netns-guard.ts). */
  guard(): boolean;
}

export type WorkerExit = "drained" | "retired" | "stuck";

/** One worker's life: accept, serve, check the netns, until the engine drains or the worker retires. */
export function serveUntilStopped(opts: EngineOptions, loop: WorkerLoopOptions): WorkerExit {
  // Registered first: the kernel offers a connection to the listener's waiters in this order.
  const waiter = us.connectionWaiter(loop.listenFd, loop.wakeFd);
  const counters = loop.counters;
  let counted = false;
  const serveOne = (fd: number): boolean => {
    serveConnection(fd, opts);
    return loop.guard();
  };
  try {
    loop.prepare?.(() => waiter.wait(0) !== "timeout");
    countIdle(counters);
    counted = true;
    loop.onReady();
    let idleSince = Date.now();
    for (;;) {
      const left = idleSince + loop.idleMs - Date.now();
      const event = left > 0 ? waiter.wait(left) : "timeout";
      if (event === "wake") {
        countBusy(counters);
        counted = false;
        // The listener is shut down: connect() is refused now, but what the backlog holds was sent
        // by shims waiting for an answer; every worker takes from it until it is empty.
        for (let fd = us.acceptNow(loop.listenFd); fd !== undefined; fd = us.acceptNow(loop.listenFd)) {
          if (!serveOne(fd)) return "stuck";
        }
        return "drained";
      }
      if (event === "timeout") {
        if (Date.now() - idleSince < loop.idleMs) continue; // a signal cut the wait short
        if (tryRetire(counters, loop.keepIdle, Date.now(), loop.idleMs)) {
          counted = false;
          return "retired";
        }
        idleSince = Date.now();
        continue;
      }
      const fd = us.acceptNow(loop.listenFd);
      if (fd === undefined) continue; // another worker was faster (a connection a busy thread's waiter still saw)
      const idleLeft = countBusy(counters);
      counted = false;
      loop.onBusy(idleLeft);
      if (!serveOne(fd)) return "stuck";
      countIdle(counters);
      counted = true;
      idleSince = Date.now();
    }
  } finally {
    waiter.close();
    if (counted) countBusy(counters);
  }
}
