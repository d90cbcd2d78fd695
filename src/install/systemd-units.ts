/**
 * `rdma install --systemd-units DIR`: on a host without a DaemonSet (a podman host), systemd
 * starts the engine on demand. rdma-engine.socket holds the engine's socket; the first call
 * through the shim starts rdma-engine.service, which serves until it has been idle for a while
 * (`rdma engine --idle-exit-ms`), and the next call starts it again (docs/podman.md).
 * deployment/systemd/ holds the units as written for /opt/cni/bin (test/install keeps it so).
 */
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

/** A path systemd takes in ExecStart= as it is: no space, quote, backslash or % specifier. */
const PLAIN_PATH = /^\/[A-Za-z0-9_./+-]*$/;

export function systemdUnits(cniBinDir: string): SystemdUnit[] {
  if (!PLAIN_PATH.test(cniBinDir)) throw new InstallError(`--cni-bin-dir ${JSON.stringify(cniBinDir)} cannot be named in a unit file: give an absolute path of letters, digits and _./+-`);
  const engine = `${cniBinDir.replace(/\/+$/, "")}/${ENGINE_NAME}`;
  const socket = `[Unit]
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
  const service = `[Unit]
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
    { name: "rdma-engine.socket", text: socket },
    { name: "rdma-engine.service", text: service },
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
