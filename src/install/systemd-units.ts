/**
 * `rdma install --systemd-units DIR`: on a host without a DaemonSet (a podman host), systemd
 * starts the engine on demand. rdma-engine.socket holds the engine's socket; the first call
 * through the shim starts rdma-engine.service, which serves until it has been idle for a while
 * (`rdma engine --idle-exit-ms`), and the next call starts it again (docs/podman.md).
 * deployment/systemd/ holds the units as written for /opt/cni/bin (test/install keeps it so).
 * `rdma install --uninstall --systemd-units DIR` removes them again, those it wrote only.
 */
import * as fs from "node:fs";
import { DEFAULT_ENGINE_SOCKET } from "../engine/defaults.ts";
import type { Logger } from "../log.ts";
import { writeFileAtomic } from "../state/atomic.ts";
import { describeErrno, InstallError } from "./errors.ts";
import { ENGINE_NAME } from "./options.ts";

/** The engine stops after this long without a call; starting it again costs one call ~0.5 s. */
const UNIT_IDLE_EXIT_MS = 300_000;

interface SystemdUnit {
  name: string;
  text: string;
}

/**
 * The first line of each unit it writes: how the uninstall tells them from units of the same name
 * that someone else wrote, which it leaves.
 */
export const UNIT_MARKER = "# Written by `rdma install --systemd-units`; `rdma install --uninstall --systemd-units` removes it.";

const SOCKET_UNIT = "rdma-engine.socket";
const SERVICE_UNIT = "rdma-engine.service";
const UNIT_NAMES = [SOCKET_UNIT, SERVICE_UNIT];

/**
 * What the operator still runs once the units are gone: systemd keeps a loaded unit, and a running
 * socket or engine, until told otherwise; `disable` also removes the sockets.target.wants link.
 */
const AFTER_REMOVAL = `systemctl stop ${SOCKET_UNIT} ${SERVICE_UNIT}; systemctl disable ${SOCKET_UNIT}; systemctl daemon-reload`;

/** A path systemd takes in ExecStart= as it is: no space, quote, backslash or % specifier. */
const PLAIN_PATH = /^\/[A-Za-z0-9_./+-]*$/;

export function systemdUnits(cniBinDir: string): SystemdUnit[] {
  if (!PLAIN_PATH.test(cniBinDir)) throw new InstallError(`--cni-bin-dir ${JSON.stringify(cniBinDir)} cannot be named in a unit file: give an absolute path of letters, digits and _./+-`);
  const engine = `${cniBinDir.replace(/\/+$/, "")}/${ENGINE_NAME}`;
  const socket = `${UNIT_MARKER}
[Unit]
Description=rdma CNI plugin: the engine's socket (the shim ${cniBinDir}/rdma connects here)

[Socket]
ListenStream=${DEFAULT_ENGINE_SOCKET}
SocketUser=root
SocketMode=0600
DirectoryMode=0700
Backlog=512
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`;
  const service = `${UNIT_MARKER}
[Unit]
Description=rdma CNI plugin: the engine, started by the first call on its socket
Requires=rdma-engine.socket
After=rdma-engine.socket

[Service]
Type=simple
ExecStart=${engine} engine --idle-exit-ms ${UNIT_IDLE_EXIT_MS}
# SIGTERM drains: the calls in flight and queued are answered first.
TimeoutStopSec=150
# Root (the shim serves only a root listener; the state is root's), with the capabilities the
# engine uses and no others: setns into a pod's netns (CAP_SYS_ADMIN), RDMA netlink moves
# (CAP_NET_ADMIN). A runtime that names netns as /proc/PID/ns/net would also need CAP_SYS_PTRACE;
# podman names /run/netns/*.
CapabilityBoundingSet=CAP_SYS_ADMIN CAP_NET_ADMIN
NoNewPrivileges=yes
# The file system read-only but for the state (/run/cni, created if missing and kept when the
# engine stops), the socket's lock (/run/rdma-cni) and log files a network config may name
# (below /var/log).
ProtectSystem=strict
RuntimeDirectory=cni
RuntimeDirectoryPreserve=yes
ReadWritePaths=/run/rdma-cni -/var/log
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# No PrivateNetwork=: the engine works in the host's netns and enters pods' netns (setns).
RestrictNamespaces=net
RestrictAddressFamilies=AF_UNIX AF_NETLINK
IPAddressDeny=any
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0077
# No MemoryDenyWriteExecute=: Bun's JavaScript engine compiles to executable memory.
`;
  return [
    { name: SOCKET_UNIT, text: socket },
    { name: SERVICE_UNIT, text: service },
  ];
}

/** Writes both units into `dir` (each atomically, 0644); systemd reads them after `systemctl daemon-reload`. */
export function installSystemdUnits(dir: string, cniBinDir: string, log: Logger): void {
  for (const unit of systemdUnits(cniBinDir)) {
    const file = `${dir.replace(/\/+$/, "")}/${unit.name}`;
    try {
      writeFileAtomic(file, unit.text, 0o644);
    } catch (e) {
      throw new InstallError(`cannot write ${file}: ${describeErrno(e)}`);
    }
    log.info(`installed ${file}`);
  }
  log.info("then: systemctl daemon-reload && systemctl enable --now rdma-engine.socket");
}

/**
 * Removes from `dir` the units installSystemdUnits wrote (first line UNIT_MARKER); a unit of that
 * name without it, or not a regular file (a symlink `systemctl link` made), is someone else's and
 * stays, named in a warning. The units may still be loaded or running: the log says what to run.
 */
export function removeSystemdUnits(dir: string, log: Logger): void {
  let removed = 0;
  for (const name of UNIT_NAMES) {
    const file = `${dir.replace(/\/+$/, "")}/${name}`;
    const mine = writtenByUs(file);
    if (mine === "missing") continue;
    if (mine !== true) {
      log.warn(`left ${file}: ${mine}, not written by rdma install --systemd-units`);
      continue;
    }
    try {
      fs.unlinkSync(file);
    } catch (e) {
      throw new InstallError(`cannot remove ${file}: ${describeErrno(e)}`);
    }
    log.info(`removed ${file}`);
    removed++;
  }
  if (removed === 0) log.info(`no systemd unit of this plugin in ${dir}`);
  else log.info(`then, on the host (harmless if done before): ${AFTER_REMOVAL}`);
}

/** Enough for the first line of any unit we wrote. */
const HEAD_BYTES = 4096;

/** True when `file` is a regular file whose first line is UNIT_MARKER; else why not, or "missing". */
function writtenByUs(file: string): true | "missing" | string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "missing";
    if (code === "ELOOP") return "it is a symlink";
    throw new InstallError(`cannot read ${file}: ${describeErrno(e)}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return "it is not a regular file";
    const head = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, head, 0, HEAD_BYTES, 0);
    return head.subarray(0, n).toString("utf8").split("\n", 1)[0] === UNIT_MARKER ? true : `its first line is not ${JSON.stringify(UNIT_MARKER)}`;
  } finally {
    fs.closeSync(fd);
  }
}
