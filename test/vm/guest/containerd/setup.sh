#!/bin/sh
# Run by the guest's /init in the containerd boot (test/vm/run --containerd), after the RDMA
# devices are up: what containerd's CRI plugin needs that a Debian node would have, its config,
# the conflists, containerd itself, and the pause and test images imported. Exits non-zero (a
# failed boot) when containerd does not answer.
#   containerd-setup.sh         the whole setup (once, at boot)
#   containerd-setup.sh start   start containerd again (the tests' restart)
#
# The pod networks, static, without Multus (docs/containerd.md):
#   /etc/cni/net.d/10-rdma-vf0.conflist   the default runtime handler's (and `ctr run --cni`'s):
#                                         host-device by PCI address, then rdma, for NIC 0
#   /etc/cni/rdma-vfK/, /etc/cni/rdma-sfK/ one conflist each, the network of the runtime handler
#                                         of that name (cni_conf_dir), for NIC K and SF K
#   /etc/cni/rdma-fail/                   SF 0's chain with a plugin after rdma that fails ADD
# Every chain starts with cni-trace (next to this file, in /opt/cni/bin), which logs what
# containerd passes to /run/cni-trace.log; rdma logs what it saw and did to /var/log/rdma-cni.log
# (debug level).
set -e
LOG=/tmp/containerd.log
SOCK=/run/containerd/containerd.sock

start_containerd() {
	rm -f "$SOCK"
	containerd --config /etc/containerd/config.toml >>"$LOG" 2>&1 &
	echo $! >/run/containerd.pid
	i=0
	while ! ctr version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 600 ] || { tail -n 30 "$LOG"; return 1; }
		sleep 0.1
	done
}
if [ "${1:-}" = start ]; then
	start_containerd
	exit
fi

mkdir -p /sys/fs/cgroup /var/lib/containerd /etc/cni/net.d /var/log/pods /etc/containerd
grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=711 tmpfs /var/lib/containerd
# the cgroupfs driver puts sandboxes and containers in child cgroups: hand the controllers down
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
done
[ -e /etc/hosts ] || printf '127.0.0.1 localhost\n' >/etc/hosts
[ -e /etc/resolv.conf ] || : >/etc/resolv.conf

# chain NAME HOSTDEVICE_FIELD ADDRESS RDMA_DEVICEID [EXTRA PLUGIN JSON] : a conflist on stdout.
# host-device gets an address from the static IPAM plugin: the CRI plugin fails RunPodSandbox
# ("failed to find network info for sandbox") when the result gives eth0 no IP.
chain() {
	cat <<EOC
{
  "cniVersion": "1.0.0",
  "name": "$1",
  "plugins": [
    { "type": "cni-trace", "capabilities": { "io.kubernetes.cri.pod-annotations": true, "portMappings": true, "bandwidth": true, "ipRanges": true, "dns": true } },
    { "type": "host-device", $2, "ipam": { "type": "static", "addresses": [{ "address": "$3" }] } },
    { "type": "rdma", "deviceID": "$4", "capabilities": { "io.kubernetes.cri.pod-annotations": true },
      "logLevel": "debug", "logFile": "/var/log/rdma-cni.log" }${5:+,
    $5}
  ]
}
EOC
}
runtime() {
	cat <<EOC
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1]
  runtime_type = "io.containerd.runc.v2"
  cni_conf_dir = "$2"
  cni_max_conf_num = 1
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1.options]
  NoPivotRoot = true
EOC
}

cat >/etc/containerd/config.toml <<EOC
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.overlayfs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:testbed"
  enable_selinux = false
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/opt/cni/bin"
  conf_dir = "/etc/cni/net.d"
  max_conf_num = 1
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  # the guest's root is the kernel's initramfs rootfs, which pivot_root(2) refuses
  NoPivotRoot = true
EOC

i=0
for d in $(ls -d /sys/bus/pci/devices/*/virtio*/net/* 2>/dev/null | sort); do
	pci=$(basename "$(dirname "$(dirname "$(dirname "$d")")")")
	mkdir -p "/etc/cni/rdma-vf$i"
	chain "rdma-vf$i" "\"pciBusID\": \"$pci\"" "10.10.$i.2/24" "$pci" >"/etc/cni/rdma-vf$i/50-rdma-vf$i.conflist"
	[ $i = 0 ] && cp "/etc/cni/rdma-vf$i/50-rdma-vf$i.conflist" /etc/cni/net.d/10-rdma-vf0.conflist
	runtime "rdma-vf$i" "/etc/cni/rdma-vf$i" >>/etc/containerd/config.toml
	i=$((i + 1))
done
for a in $(ls -d /sys/bus/auxiliary/devices/rdma_sim.sf.* 2>/dev/null | sort -V); do
	n=${a##*.}
	mkdir -p "/etc/cni/rdma-sf$n"
	chain "rdma-sf$n" "\"device\": \"$(ls "$a/net")\"" "10.11.$n.2/24" "rdma_sim.sf.$n" >"/etc/cni/rdma-sf$n/50-rdma-sf$n.conflist"
	runtime "rdma-sf$n" "/etc/cni/rdma-sf$n" >>/etc/containerd/config.toml
	if [ "$n" = 0 ]; then
		mkdir -p /etc/cni/rdma-fail
		chain rdma-fail "\"device\": \"$(ls "$a/net")\"" 10.12.0.2/24 "rdma_sim.sf.$n" '{ "type": "cni-fail" }' >/etc/cni/rdma-fail/50-rdma-fail.conflist
		runtime rdma-fail /etc/cni/rdma-fail >>/etc/containerd/config.toml
	fi
done

start_containerd
# the CRI plugin's images live in the k8s.io namespace; `ctr run` uses the default one
for ns in k8s.io default; do
	ctr -n "$ns" images import --snapshotter native /usr/share/testbed/images.oci.tar >/dev/null
done
