/**
 * The engine's worker threads, seen from the main thread. Each worker (worker.ts) blocks in
 * poll/accept on the one listening socket and serves one call at a time; the main thread only
 * starts workers, keeps a few spare, and drains. setns is per thread, so a call that enters a
 * pod's netns moves its own worker and nothing else.
 *
 * Sizing: at most `maxWorkers` threads; the pool starts `spare` and, whenever a worker takes a
 * call, starts more until `spare - 1` are idle or starting again (growWhileServing), so a burst
 * grows the pool by up to `spare - 1` threads at a time while the first calls run. Growing faster only piles up start-ups:
 * a new thread costs about 25 ms of CPU on a host (its own JavaScript heap, module evaluation,
 * FFI symbols, cold code), far more under emulation, and about 3 MiB (docs/engine.md). Threads
 * idle for `idleMs` retire one per `idleMs` (pool-counters.ts tryRetire), down to `spare` idle ones.
 * Calls beyond `maxWorkers` wait in the listen backlog for the next free worker.
 */
import type { Logger, LogLevel } from "../log.ts";
import * as us from "../sys/unix-socket.ts";
import { idleCount, POOL_COUNTERS_BYTES, type PoolCounters, poolCounters } from "./pool-counters.ts";
import type { WorkerExit } from "./worker-loop.ts";

/** The one message a worker gets, right after it starts. */
export interface WorkerInit {
  socketPath: string;
  listenFd: number;
  wakeFd: number;
  idleMs: number;
  keepIdle: number;
  /** The pool's counters (pool-counters.ts), shared by all threads. */
  counters: SharedArrayBuffer;
  level: LogLevel;
  /** Rehearse ADD and DEL before serving (rehearsal.ts): the engine's first worker only. */
  rehearse: boolean;
}

/** What a worker tells the main thread. */
export type WorkerReport = { type: "ready" } | { type: "busy" } | { type: "exit"; exit: WorkerExit | "failed" };

/**
 * While calls come, the pool starts threads only when fewer than this many are idle: one fewer
 * than the `spare` it starts with and retires down to. A call that meets the resting pool (its
 * `spare` threads idle) leaves `spare - 1` idle and starts nothing; without that margin every call
 * on a quiet node started a thread (a third of a second of CPU under emulation, beside the call)
 * that retired a minute later.
 */
export function growWhileServing(spare: number): number {
  return Math.max(1, spare - 1);
}

interface PoolOptions {
  socketPath: string;
  listenFd: number;
  workerUrl: URL | string;
  maxWorkers: number;
  spare: number;
  idleMs: number;
  level: LogLevel;
  log: Logger;
  /** A worker could not even start (a broken build): the engine cannot serve; the caller stops it. */
  onBroken(reason: string): void;
  /**
   * The listener is a service manager's too (socket activation, activation.ts): drain leaves it
   * open, since a shutdown would refuse connections to the next engine as well. Connections that
   * come after the backlog is served wait there for that engine.
   */
  sharedListener?: boolean;
}

export class WorkerPool {
  private readonly shared = new SharedArrayBuffer(POOL_COUNTERS_BYTES);
  private readonly counters: PoolCounters = poolCounters(this.shared);
  private readonly workers = new Set<Worker>();
  private starting = 0;
  private draining = false;
  private readonly wakeRead: number;
  private wakeWrite: number;
  private allGone: (() => void) | undefined;
  /** The most workers that ever ran at once (reported when the engine stops). */
  peak = 0;
  private taken = 0;

  constructor(private readonly opts: PoolOptions) {
    [this.wakeRead, this.wakeWrite] = us.pipe();
  }

  /**
   * Starts the first worker alone; the others start once it is ready. Being the first of the
   * listener's waiters, it gets every call that finds it idle (unix-socket.ts connectionWaiter): on
   * a quiet node, all of them. It rehearses ADD and DEL before it serves (rehearsal.ts), and stops
   * for a call that comes meanwhile: with no other thread started yet, that call waits for the end
   * of one rehearsed cycle, not for a cold thread.
   */
  start(): void {
    this.spawn(true);
  }

  get size(): number {
    return this.workers.size;
  }

  /** Calls taken so far, and whether every worker waits for one (the idle exit, idle-exit.ts). */
  activity(): { taken: number; quiet: boolean } {
    return { taken: this.taken, quiet: this.starting === 0 && idleCount(this.counters) === this.workers.size };
  }

  /**
   * Stops taking calls and waits for the workers to finish theirs: the listener is shut down (a
   * new connect is refused, and the shim runs the call one-shot), every worker wakes, serves what
   * the backlog still holds, and ends. The caller may remove the socket file and let a new engine
   * bind while this runs.
   */
  drain(): Promise<void> {
    this.draining = true;
    if (!this.opts.sharedListener) us.shutdownListener(this.opts.listenFd);
    if (this.wakeWrite >= 0) {
      us.closeFd(this.wakeWrite); // the read end now polls as hung up in every worker
      this.wakeWrite = -1;
    }
    return new Promise((resolve) => {
      this.allGone = () => {
        us.closeFd(this.wakeRead);
        us.closeFd(this.opts.listenFd);
        resolve();
      };
      if (this.workers.size === 0) this.allGone();
    });
  }

  /**
   * Starts workers until `want` are idle or starting: `spare` when one has become ready (the engine
   * starting, a burst growing the pool), one fewer when a call takes a worker (growWhileServing).
   */
  private topUp(want = growWhileServing(this.opts.spare)): void {
    const { maxWorkers } = this.opts;
    while (!this.draining && this.workers.size < maxWorkers && idleCount(this.counters) + this.starting < want) this.spawn(false);
  }

  private spawn(rehearse: boolean): void {
    // smol: a small JavaScriptCore heap per thread; each worker holds little between calls.
    const worker = new Worker(this.opts.workerUrl, { smol: true, ref: true });
    this.workers.add(worker);
    this.peak = Math.max(this.peak, this.workers.size);
    this.starting++;
    let ready = false;
    worker.addEventListener("message", (ev: MessageEvent<WorkerReport>) => {
      const m = ev.data;
      if (m.type === "ready") {
        ready = true;
        this.starting--;
        this.topUp(this.opts.spare);
      } else if (m.type === "busy") {
        this.taken++;
        this.topUp();
      } else {
        if (m.exit === "stuck" || m.exit === "failed") this.opts.log.error("engine: a worker thread ended", { exit: m.exit });
        else this.opts.log.debug("engine: a worker thread ended", { exit: m.exit });
        // A stuck thread sits in a pod's netns: end it now rather than wait for it to unwind.
        worker.terminate();
      }
    });
    worker.addEventListener("error", (ev: ErrorEvent) => {
      this.opts.log.error("engine: a worker thread failed", { error: ev.message });
    });
    worker.addEventListener("close", () => {
      this.workers.delete(worker);
      if (!ready) this.starting--;
      if (this.draining) {
        if (this.workers.size === 0) this.allGone?.();
      } else if (!ready) {
        this.opts.onBroken("a worker thread ended before it was ready");
      } else {
        this.topUp();
      }
    });
    const init: WorkerInit = {
      socketPath: this.opts.socketPath,
      listenFd: this.opts.listenFd,
      wakeFd: this.wakeRead,
      idleMs: this.opts.idleMs,
      keepIdle: this.opts.spare,
      counters: this.shared,
      level: this.opts.level,
      rehearse,
    };
    worker.postMessage(init);
  }
}
