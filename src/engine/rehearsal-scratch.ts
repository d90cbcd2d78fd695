/**
 * The rehearsal's scratch directories beside the engine's socket (rehearsal.ts). A rehearsal
 * removes its own when it ends, but an engine killed during one (SIGKILL, the OOM killer) cannot:
 * the next engine removes what is left before its own rehearsal, so the socket's directory does
 * not fill up with one directory per crash.
 */
import * as fs from "node:fs";
import type { Logger } from "../log.ts";

const PREFIX = "rehearsal-";

/** A fresh scratch directory in `dir` (0700, mkdtemp's), named so the next engine knows it. */
export function makeRehearsalScratch(dir: string): string {
  return fs.mkdtempSync(`${dir}/${PREFIX}`);
}

/**
 * Removes every `rehearsal-*` entry directly in `dir` and returns how many went. Only for an
 * engine that holds the engine lock: no other live engine then rehearses beside the socket (one
 * that drains stops its rehearsal when it lets go of the lock, and removes its own directory).
 * Nothing is followed: a directory goes with what it holds (links inside are removed, not their
 * targets); anything else of that name, a symlink too, is unlinked as it is. Never throws: the
 * engine serves whether the leftovers went or not, and says which stayed.
 */
export function removeStaleRehearsals(dir: string, log: Logger): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith(PREFIX) && n.length > PREFIX.length);
  } catch (e) {
    log.warn("engine: could not look for stale rehearsal directories", { dir, error: (e as Error).message });
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const entry = `${dir}/${name}`;
    try {
      if (fs.lstatSync(entry).isDirectory()) fs.rmSync(entry, { recursive: true, force: true });
      else fs.unlinkSync(entry);
      removed++;
    } catch (e) {
      log.warn("engine: could not remove a stale rehearsal directory", { path: entry, error: (e as Error).message });
    }
  }
  if (removed > 0) log.info("engine: removed stale rehearsal directories (left by an engine killed while it rehearsed)", { dir, removed });
  return removed;
}
