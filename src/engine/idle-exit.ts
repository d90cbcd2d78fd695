/**
 * The engine's idle exit (`--idle-exit-ms`, only with a socket passed by a service manager): once
 * no call has come for that long, the engine stops as on SIGTERM. The service manager keeps the
 * socket; the next connection starts a new engine, which serves it.
 */

/** What the pool tells about its calls (pool.ts activity()). */
export interface PoolActivity {
  /** Calls taken since the pool started. */
  taken: number;
  /** Every worker waits for a call, none is starting. */
  quiet: boolean;
}

/**
 * Calls `onIdle` once the pool has been quiet, without a new call, for `idleMs`. Looks every
 * tenth of that (at least every second): the exit may come that much later, never earlier.
 * Returns the function that stops watching.
 */
export function exitWhenIdle(idleMs: number, activity: () => PoolActivity, onIdle: () => void, now: () => number = Date.now): () => void {
  let taken = -1;
  let quietSince = now();
  const timer = setInterval(
    () => {
      const a = activity();
      if (!a.quiet || a.taken !== taken) {
        taken = a.taken;
        quietSince = now();
        return;
      }
      if (now() - quietSince < idleMs) return;
      clearInterval(timer);
      onIdle();
    },
    Math.max(10, Math.min(1_000, Math.floor(idleMs / 10))),
  );
  return () => clearInterval(timer);
}
