/**
 * `rdma engine --socket PATH`: the long-running side of the thick plugin. The DaemonSet runs it;
 * /opt/cni/bin/rdma is then the shim (shim/rdma-shim.c), which forwards each CNI call here and
 * falls back to running this executable one-shot when no engine answers.
 */
import * as fs from "node:fs";
import type { LogLevel } from "../config/netconf.ts";
import { StreamLogger } from "../log.ts";
import { LinuxNetns } from "../netns/netns.ts";
import * as sys from "../sys/libc.ts";
import { bindEngineSocket, prepareSocketDir, serve } from "./server.ts";

export const DEFAULT_ENGINE_SOCKET = "/run/rdma-cni/engine.sock";

const USAGE = `usage: rdma engine [--socket PATH] [--log-level error|warn|info|debug]
  Serves CNI calls forwarded by the shim (/opt/cni/bin/rdma) on a root-only unix socket
  (default ${DEFAULT_ENGINE_SOCKET}), one at a time, until killed.
`;

const write = (fd: number) => (s: string) => void fs.writeSync(fd, s);

import { productionDeps } from "../wiring.ts";

export { productionDeps };

/** The engine's thread must be in its own netns between calls; if a restore ever failed, put it back or stop. */
function netnsGuard(): () => void {
  const homeFd = new LinuxNetns().home().fd; // the same fd the plugin's moves back use
  const home = fs.fstatSync(homeFd).ino;
  return () => {
    if (fs.statSync("/proc/thread-self/ns/net").ino === home) return;
    try {
      sys.setns(homeFd, sys.CLONE_NEWNET);
    } catch {
      // Serving the next call from a pod's netns would move devices to the wrong place: stop; the shim falls back.
      write(2)("rdma engine: the thread is stuck in another netns; exiting\n");
      process.exit(70);
    }
  };
}

export async function main(argv: string[]): Promise<number> {
  let socketPath = DEFAULT_ENGINE_SOCKET;
  let level: LogLevel = "warn";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--help" || a === "-h") {
      write(1)(USAGE);
      return 0;
    }
    if (a === "--socket" && v) {
      socketPath = v;
      i++;
    } else if (a === "--log-level" && (v === "error" || v === "warn" || v === "info" || v === "debug")) {
      level = v;
      i++;
    } else {
      write(2)(`rdma engine: bad argument ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    }
  }
  if (!socketPath.startsWith("/")) {
    write(2)(`rdma engine: --socket must be an absolute path\n`);
    return 2;
  }
  const log = new StreamLogger(write(2), level, { component: "engine" });
  try {
    prepareSocketDir(socketPath);
    // One engine per socket: the lock keeps a second one from unlinking a live socket.
    const lockFd = fs.openSync(`${socketPath}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | sys.O_CLOEXEC, 0o600);
    if (!sys.flock(lockFd, sys.LOCK_EX | sys.LOCK_NB)) {
      log.error("another engine serves this socket", { socket: socketPath });
      return 1;
    }
    const listenFd = bindEngineSocket(socketPath);
    const guard = netnsGuard();
    log.info("engine listening", { socket: socketPath, pid: process.pid });
    serve(listenFd, { socketPath, depsFor: productionDeps, log, allowedUid: 0, afterCall: guard });
    return 0;
  } catch (e) {
    log.error("engine failed", { socket: socketPath, error: (e as Error).message });
    return 1;
  }
}
