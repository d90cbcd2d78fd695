/**
 * A listening socket passed by a service manager: systemd's socket activation (rdma-engine.socket),
 * or Debian's systemd-socket-activate standing in for it. The protocol is sd_listen_fds(3)'s:
 * LISTEN_PID names the process the sockets are for, LISTEN_FDS how many there are, the first is
 * fd 3. The engine takes exactly one, a listening unix stream socket bound to a path (the shim
 * connects to a path), and serves it as it serves the socket it binds itself.
 */
import * as fs from "node:fs";
import * as us from "../sys/unix-socket.ts";

/** sd_listen_fds(3)'s SD_LISTEN_FDS_START. */
const LISTEN_FDS_START = 3;

type PassedListener = { passed: false } | { passed: true; fd: number } | { error: string };

const DIGITS = /^[0-9]+$/;

/**
 * Whether `env` passes a socket to the process `pid`. As sd_listen_fds(3): LISTEN_* meant for
 * another process (a LISTEN_PID not ours, inherited through a fork) pass nothing.
 */
export function passedListener(env: Readonly<Record<string, string | undefined>>, pid: number): PassedListener {
  const fds = env.LISTEN_FDS;
  const forPid = env.LISTEN_PID;
  if (fds === undefined && forPid === undefined) return { passed: false };
  if (forPid === undefined || !DIGITS.test(forPid)) return { error: `LISTEN_PID ${JSON.stringify(forPid ?? "")} is not a process id` };
  if (Number(forPid) !== pid) return { passed: false };
  if (fds === undefined || !DIGITS.test(fds)) return { error: `LISTEN_FDS ${JSON.stringify(fds ?? "")} is not a number` };
  if (fds === "0") return { passed: false };
  if (fds !== "1") return { error: `LISTEN_FDS is ${fds}: the engine serves exactly one socket` };
  return { passed: true, fd: LISTEN_FDS_START };
}

/** The protocol's variables go once read, so that nothing the engine starts takes them for its own. */
export function forgetListenEnv(env: Record<string, string | undefined>): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}

/**
 * Checks the passed fd and makes it the engine's listener: a listening unix stream socket bound
 * to a path, `expectedPath` when the command line named one. Returns the path it is bound to.
 * The socket's directory then gets the checks of a socket the engine binds itself
 * (listener.ts prepareSocketDir), and the socket node is tightened to 0600 (a service manager may
 * have created it wider: systemd-socket-activate makes it 0666).
 */
export function adoptPassedListener(fd: number, expectedPath: string | undefined): string {
  const what = `fd ${fd} (LISTEN_FDS)`;
  let kind: us.SocketKind;
  try {
    kind = us.socketKind(fd);
  } catch (e) {
    throw new Error(`${what} is not a socket: ${(e as Error).message}`);
  }
  if (kind.domain !== us.UNIX_DOMAIN) throw new Error(`${what} is not a unix socket (address family ${kind.domain})`);
  if (kind.type !== us.STREAM_TYPE) throw new Error(`${what} is not a stream socket (type ${kind.type})`);
  if (!kind.listening) throw new Error(`${what} is not listening`);
  const path = us.boundPath(fd);
  if (!path.startsWith("/")) throw new Error(`${what} is not bound to a path${path ? ` (${path})` : ""}: the shim connects to a path`);
  if (expectedPath !== undefined && path !== expectedPath) throw new Error(`${what} is bound to ${path}, not to --socket ${expectedPath}`);
  us.adoptListener(fd);
  return path;
}

/** The passed socket's node, tightened to 0600 (after its directory's checks). */
export function tightenSocketNode(path: string): void {
  const st = fs.lstatSync(path);
  if (!st.isSocket()) throw new Error(`${path} is not a socket`);
  if (st.uid !== process.getuid?.()) throw new Error(`${path} belongs to uid ${st.uid}, not to this process`);
  if ((st.mode & 0o777) !== 0o600) fs.chmodSync(path, 0o600);
}
