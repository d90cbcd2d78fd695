/**
 * A worker thread for the engine's netns guard test: enters the netns at the path it is sent (as a
 * plugin call does with setns), then runs the guard the engine's workers run after each call, and
 * reports the thread's netns inode at each step.
 */
import * as fs from "node:fs";
import { parentPort } from "node:worker_threads";
import { checkNetns } from "../../src/engine/netns-guard.ts";
import * as sys from "../../src/sys/libc.ts";

const inode = () => fs.statSync("/proc/thread-self/ns/net").ino;
parentPort?.once("message", (target: string) => {
  const homeFd = fs.openSync("/proc/thread-self/ns/net", "r");
  const home = inode();
  const podFd = fs.openSync(target, "r");
  sys.setns(podFd, sys.CLONE_NEWNET);
  const entered = inode();
  const verdict = checkNetns(home, { currentInode: inode, enterHome: () => sys.setns(homeFd, sys.CLONE_NEWNET) });
  parentPort?.postMessage({ home, entered, verdict, after: inode() });
});
