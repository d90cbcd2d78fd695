/**
 * `rdma engine --socket PATH`: the long-running side of the thick plugin. The DaemonSet runs it;
 * /opt/cni/bin/rdma is then the shim (shim/rdma-shim.c), which forwards each CNI call here and
 * falls back to running this executable one-shot when no engine answers.
 * `rdma engine --check`: the DaemonSet's readiness and liveness probe (check.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readFlags } from "../cli-args.ts";
import { type LogLevel, StreamLogger } from "../log.ts";
import * as sys from "../sys/libc.ts";
import { adoptPassedListener, forgetListenEnv, passedListener, tightenSocketNode } from "./activation.ts";
import { DEFAULT_CHECK_TIMEOUT_MS, checkEngine } from "./check.ts";
import { DEFAULT_ENGINE_SOCKET, DEFAULT_MAX_WORKERS } from "./defaults.ts";
import { exitWhenIdle } from "./idle-exit.ts";
import { bindEngineSocket, prepareSocketDir } from "./listener.ts";
import { WorkerPool } from "./pool.ts";
import { removeStaleRehearsals } from "./rehearsal-scratch.ts";

/** Idle threads kept ready (and started ahead of need while calls arrive). */
const SPARE_WORKERS = 4;
/** A thread idle this long may end: one per this time, down to the spare ones. */
const DEFAULT_WORKER_IDLE_MS = 60_000;
/** How long a new engine waits for the previous one (draining after SIGTERM) to let go of the socket. */
const DEFAULT_LOCK_WAIT_MS = 10_000;

const USAGE = `usage: rdma engine [--socket PATH] [--max-workers N] [--worker-idle-ms N] [--lock-wait-ms N]
                   [--idle-exit-ms N] [--log-level error|warn|info|debug]
       rdma engine --check [--socket PATH] [--timeout-ms N]
  Serves CNI calls forwarded by the shim (/opt/cni/bin/rdma) on a root-only unix socket
  (default ${DEFAULT_ENGINE_SOCKET}), each call on a thread of its own, at most --max-workers
  (default ${DEFAULT_MAX_WORKERS}) at once; further calls wait for a free thread. Threads idle for
  --worker-idle-ms (default ${DEFAULT_WORKER_IDLE_MS}) end one per that time, down to ${SPARE_WORKERS} kept ready.
  On SIGTERM or SIGINT it stops accepting (the shim then runs calls one-shot), finishes and
  answers the calls it holds, and exits 0. A new engine waits up to --lock-wait-ms (default
  ${DEFAULT_LOCK_WAIT_MS}) for an old one to let go of the socket.
  Socket activation (systemd's rdma-engine.socket): given a listening unix stream socket by the
  LISTEN_PID/LISTEN_FDS protocol (fd 3), it serves that one instead of binding its own (--socket,
  if given, must be its path), leaves it open when it stops, and with --idle-exit-ms N stops once
  no call came for N ms; the service manager starts it again at the next call.
  --check sends a CNI VERSION call through the socket, as the shim does, and exits 0 only on a
  correct answer within --timeout-ms (default ${DEFAULT_CHECK_TIMEOUT_MS}); otherwise 1, with the reason
  on stderr. For the DaemonSet's readiness and liveness probes.
`;

const write = (fd: number) => (s: string) => void fs.writeSync(fd, s);

interface Args {
  socketPath: string;
  level: LogLevel;
  maxWorkers: number;
  workerIdleMs: number;
  lockWaitMs: number;
  check: boolean;
  timeoutMs: number;
  /** Whether --socket was given (a passed socket must then be bound there). */
  socketGiven: boolean;
  idleExitMs: number | undefined;
}

type ParsedEngineArgs = { help: true } | { help: false; options: Args } | { error: string };

const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];
const LEVEL_NAMES = "error, warn, info or debug";
const MS = { needs: "a number of milliseconds" } as const;
const FLAGS = {
  check: "switch",
  socket: { needs: "a path" },
  "log-level": { needs: `a level (${LEVEL_NAMES})` },
  "max-workers": { needs: "a number" },
  "worker-idle-ms": MS,
  "lock-wait-ms": MS,
  "idle-exit-ms": MS,
  "timeout-ms": MS,
} as const;
/** The largest number any flag takes: beyond it a time is a typo, not a wish (11 days in ms). */
const MAX_NUMBER = 1_000_000_000;

/** A whole number in decimal digits from min to max, else undefined. */
function wholeNumber(v: string, min: number, max: number): number | undefined {
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

export function parseEngineArgs(argv: readonly string[]): ParsedEngineArgs {
  const read = readFlags(argv, FLAGS);
  if ("error" in read || read.help) return read;
  const args: Args = {
    socketPath: DEFAULT_ENGINE_SOCKET,
    level: "warn",
    maxWorkers: DEFAULT_MAX_WORKERS,
    workerIdleMs: DEFAULT_WORKER_IDLE_MS,
    lockWaitMs: DEFAULT_LOCK_WAIT_MS,
    check: false,
    timeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
    socketGiven: false,
    idleExitMs: undefined,
  };
  for (const { name, value } of read.given) {
    if (name === "check") args.check = true;
    else if (name === "socket") {
      if (!value.startsWith("/")) return { error: "--socket must be an absolute path" };
      args.socketPath = value;
      args.socketGiven = true;
    } else if (name === "log-level") {
      const level = LOG_LEVELS.find((l) => l === value);
      if (level === undefined) return { error: `--log-level must be ${LEVEL_NAMES}, not ${JSON.stringify(value)}` };
      args.level = level;
    } else {
      // --lock-wait-ms 0: do not wait for an old engine at all.
      const [min, max] = name === "max-workers" ? [1, 1024] : name === "lock-wait-ms" ? [0, MAX_NUMBER] : [1, MAX_NUMBER];
      const n = wholeNumber(value, min, max);
      if (n === undefined) return { error: `--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}` };
      if (name === "max-workers") args.maxWorkers = n;
      else if (name === "worker-idle-ms") args.workerIdleMs = n;
      else if (name === "lock-wait-ms") args.lockWaitMs = n;
      else if (name === "idle-exit-ms") args.idleExitMs = n;
      else args.timeoutMs = n;
    }
  }
  return { help: false, options: args };
}

/** The engine lock, waited for while an old engine still holds it (it lets go as soon as it drains). */
async function lockEngine(lockFd: number, waitMs: number, log: StreamLogger, socketPath: string): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let said = false;
  while (!sys.flock(lockFd, sys.LOCK_EX | sys.LOCK_NB)) {
    if (Date.now() >= deadline) return false;
    if (!said) log.info("waiting for the engine that holds the socket's lock", { socket: socketPath, waitMs });
    said = true;
    await Bun.sleep(50);
  }
  return true;
}

/**
 * The worker's entry point, relative to the program's main entry point (src/main.ts): from
 * source that is src/engine/worker.ts; in the compiled executable, whose entry points are
 * src/main.ts and src/engine/worker.ts (Makefile), Bun embeds the worker at the same relative
 * place (/$bunfs/root/engine/worker.js) and resolves the .ts name to it. import.meta.url would
 * not do: in the executable it names the bundle, not this file.
 */
function workerEntry(): string {
  return new URL("./engine/worker.ts", Bun.pathToFileURL(Bun.main)).href;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseEngineArgs(argv);
  if ("error" in parsed) {
    write(2)(`rdma engine: ${parsed.error}\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    write(1)(USAGE);
    return 0;
  }
  const args = parsed.options;
  if (args.check) return checkEngine(args.socketPath, args.timeoutMs, write(2));
  const passed = passedListener(process.env, process.pid);
  forgetListenEnv(process.env);
  if ("error" in passed) {
    write(2)(`rdma engine: ${passed.error}\n`);
    return 2;
  }
  if (args.idleExitMs !== undefined && !passed.passed) {
    write(2)("rdma engine: --idle-exit-ms needs a socket passed by a service manager (LISTEN_PID/LISTEN_FDS)\n");
    return 2;
  }
  const { level } = args;
  let socketPath = args.socketPath;
  const log = new StreamLogger(write(2), level, { component: "engine" });
  let lockFd = -1;
  try {
    if (passed.passed) socketPath = adoptPassedListener(passed.fd, args.socketGiven ? args.socketPath : undefined);
    prepareSocketDir(socketPath);
    if (passed.passed) tightenSocketNode(socketPath);
    // One engine per socket: the lock keeps a second one from unlinking a live socket.
    lockFd = fs.openSync(`${socketPath}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | sys.O_CLOEXEC, 0o600);
    if (!(await lockEngine(lockFd, args.lockWaitMs, log, socketPath))) {
      log.error("another engine serves this socket", { socket: socketPath, waitedMs: args.lockWaitMs });
      fs.closeSync(lockFd);
      return 1;
    }
    // Only now, with the lock: no other live engine rehearses beside this socket.
    removeStaleRehearsals(path.dirname(socketPath), log);
    const listenFd = passed.passed ? passed.fd : bindEngineSocket(socketPath);
    let failure: string | undefined;
    let stop: (why: string) => void = () => {};
    const stopped = new Promise<string>((resolve) => {
      stop = resolve;
    });
    const pool = new WorkerPool({
      socketPath,
      listenFd,
      workerUrl: workerEntry(),
      maxWorkers: args.maxWorkers,
      spare: Math.min(SPARE_WORKERS, args.maxWorkers),
      idleMs: args.workerIdleMs,
      level,
      log,
      sharedListener: passed.passed,
      onBroken: (reason) => {
        failure = reason;
        stop(reason);
      },
    });
    const onSignal = (signal: NodeJS.Signals) => stop(signal);
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    pool.start();
    const stopWatching = args.idleExitMs === undefined ? () => {} : exitWhenIdle(args.idleExitMs, () => pool.activity(), () => stop("idle"));
    log.info("engine listening", { socket: socketPath, pid: process.pid, maxWorkers: args.maxWorkers, activated: passed.passed, idleExitMs: args.idleExitMs });

    const why = await stopped;
    stopWatching();
    const started = performance.now();
    log.info("engine draining", { reason: why, workers: pool.size });
    const drained = pool.drain();
    // The listener is shut down; the name goes too, and with the lock a new engine may bind a
    // fresh socket there while this one finishes its calls. A passed socket stays: it is the
    // service manager's, which starts the next engine on it.
    if (!passed.passed) fs.rmSync(socketPath, { force: true });
    fs.closeSync(lockFd);
    lockFd = -1;
    await drained;
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    log.info("engine stopped", { ms: Math.round(performance.now() - started), peakWorkers: pool.peak });
    if (failure) {
      log.error("engine failed", { socket: socketPath, error: failure });
      return 1;
    }
    return 0;
  } catch (e) {
    log.error("engine failed", { socket: socketPath, error: (e as Error).message });
    if (lockFd >= 0) fs.closeSync(lockFd);
    return 1;
  }
}
