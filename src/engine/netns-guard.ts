/**
 * The check a worker thread runs after every call: is it back in the netns it started in? A call
 * enters a pod's netns for the way back of a device; a thread left there would move the next
 * call's devices from and to the wrong place (docs/engine.md).
 */
import * as fs from "node:fs";
import type { Logger } from "../log.ts";
import { LinuxNetns } from "../netns/netns.ts";
import * as sys from "../sys/libc.ts";

/** Where a worker thread stands with its network namespace after a call. */
type GuardVerdict = "home" | "restored" | "stuck";

interface NetnsGuardOps {
  /** Inode of the thread's current netns (/proc/thread-self/ns/net). */
  currentInode(): number;
  /** Enters the home netns (setns); throws on failure. */
  enterHome(): void;
}

/**
 * After each call: a thread that is still in a pod's netns (a restore inside the plugin failed)
 * is put back; if even that fails it is "stuck" and must never serve again, since its next call
 * would move devices from and to the wrong place.
 */
export function checkNetns(homeInode: number, ops: NetnsGuardOps): GuardVerdict {
  if (ops.currentInode() === homeInode) return "home";
  try {
    ops.enterHome();
  } catch {
    return "stuck";
  }
  return ops.currentInode() === homeInode ? "restored" : "stuck";
}

/**
 * The guard of the calling thread, against the netns it is in now: call it on the worker thread
 * before its first call. The guard says whether the thread may serve again.
 */
export function threadNetnsGuard(log: Logger): () => boolean {
  const home = new LinuxNetns().home();
  const homeInode = fs.fstatSync(home.fd).ino;
  return () => {
    const verdict = checkNetns(homeInode, {
      currentInode: () => fs.statSync("/proc/thread-self/ns/net").ino,
      enterHome: () => sys.setns(home.fd, sys.CLONE_NEWNET),
    });
    if (verdict === "restored") log.warn("engine: a worker thread was left in another netns after a call; brought back");
    if (verdict === "stuck") log.error("engine: a worker thread is stuck in another netns; it stops serving");
    return verdict !== "stuck";
  };
}
