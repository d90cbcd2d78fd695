/**
 * How a verb changes the node: a list of steps, each of which does one thing and hands back how
 * to take it back (as containernetworking/plugins host-device pairs its moves in and out). One
 * runner does them in order and, when one fails, takes back what the others did, newest first.
 */
import type { Logger } from "../log.ts";

/** How to take back what a step did; `what` names it in the log when that fails too. */
export interface Undo {
  what: string;
  run(): void;
}

/** Does its part; returns its undo, or undefined when it changed nothing. */
type Step = () => Undo | undefined;

/**
 * Runs `steps` in order. When one throws, the undos of those before it run newest first (a
 * failing undo is logged, and the others still run), and the step's error is thrown on.
 */
export function runSteps(verb: string, steps: readonly Step[], log: Logger): void {
  const undos: Undo[] = [];
  try {
    for (const step of steps) {
      const undo = step();
      if (undo) undos.push(undo);
    }
  } catch (e) {
    for (const undo of undos.reverse()) {
      try {
        undo.run();
      } catch (undoErr) {
        log.error(`${verb} failed and could not ${undo.what}`, { error: (undoErr as Error).message });
      }
    }
    throw e;
  }
}
