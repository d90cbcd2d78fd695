/**
 * What the pool's threads share, over one SharedArrayBuffer of POOL_COUNTERS_BYTES, changed with
 * Atomics: how many workers wait for a connection, and when (Date.now()) a worker last retired.
 * The main thread allocates it (pool.ts); every worker reads and changes it (worker-loop.ts).
 */

export interface PoolCounters {
  idle: Int32Array;
  lastRetiredMs: BigInt64Array;
}
export const POOL_COUNTERS_BYTES = 16;

export function poolCounters(shared: SharedArrayBuffer): PoolCounters {
  return { idle: new Int32Array(shared, 0, 1), lastRetiredMs: new BigInt64Array(shared, 8, 1) };
}

/** This thread waits for a connection again (or for the first time). */
export function countIdle(c: PoolCounters): void {
  Atomics.add(c.idle, 0, 1);
}

/** This thread stops waiting (it took a connection, or it leaves); how many stay idle. */
export function countBusy(c: PoolCounters): number {
  return Atomics.sub(c.idle, 0, 1) - 1;
}

/** How many threads wait for a connection now. */
export function idleCount(c: PoolCounters): number {
  return Atomics.load(c.idle, 0);
}

/** Leaves the idle count by one if more than `keep` would remain; false if this worker must stay. */
function tryLeaveIdle(idle: Int32Array, keep: number): boolean {
  for (;;) {
    const n = Atomics.load(idle, 0);
    if (n <= keep) return false;
    if (Atomics.compareExchange(idle, 0, n, n - 1) === n) return true;
  }
}

/**
 * Whether an idle worker may retire at `nowMs`: only while more than `keep` workers are idle,
 * and only one worker per `gapMs` in the whole pool. A pool that a burst grew to 16 threads
 * shrinks back one thread at a time rather than all at once, so the next wave of pods (a rollout,
 * a job's next batch) finds most threads still started: starting one costs far more CPU than
 * keeping it (docs/engine.md).
 */
export function tryRetire(c: PoolCounters, keep: number, nowMs: number, gapMs: number): boolean {
  const last = Atomics.load(c.lastRetiredMs, 0);
  const now = BigInt(Math.floor(nowMs));
  if (now - last < BigInt(gapMs)) return false;
  if (Atomics.compareExchange(c.lastRetiredMs, 0, last, now) !== last) return false; // another worker took this turn
  if (tryLeaveIdle(c.idle, keep)) return true;
  Atomics.compareExchange(c.lastRetiredMs, 0, now, last); // nobody may leave: give the turn back
  return false;
}
