#!/bin/sh
# Run by the guest's /init in the podman boot (test/vm/run --podman), after the RDMA devices are
# up: what podman needs that a Debian system would have, one conflist per simulated device, and
# the test image. Exits non-zero (a failed boot) when podman cannot run.
set -e
mkdir -p /sys/fs/cgroup /var/lib/containers /etc/cni/net.d /var/tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=700 tmpfs /var/lib/containers
# the cgroupfs manager puts containers in child cgroups: hand the controllers down
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
done
[ -e /etc/hosts ] || printf '127.0.0.1 localhost\n' >/etc/hosts
[ -e /etc/resolv.conf ] || : >/etc/resolv.conf

# conflists: host-device moves the netdev, then rdma moves the RDMA device (libcni order)
i=0
for d in $(ls -d /sys/bus/pci/devices/*/virtio*/net/* 2>/dev/null | sort); do
	pci=$(basename "$(dirname "$(dirname "$(dirname "$d")")")")
	cat >/etc/cni/net.d/50-rdma-vf$i.conflist <<EOC
{
  "cniVersion": "1.0.0",
  "name": "rdma-vf$i",
  "plugins": [
    { "type": "host-device", "pciBusID": "$pci" },
    { "type": "rdma", "deviceID": "$pci" }
  ]
}
EOC
	i=$((i + 1))
done
for a in $(ls -d /sys/bus/auxiliary/devices/rdma_sim.sf.* 2>/dev/null | sort -V); do
	n=${a##*.}
	cat >/etc/cni/net.d/60-rdma-sf$n.conflist <<EOC
{
  "cniVersion": "1.0.0",
  "name": "rdma-sf$n",
  "plugins": [
    { "type": "host-device", "device": "$(ls "$a/net")" },
    { "type": "rdma", "deviceID": "rdma_sim.sf.$n" }
  ]
}
EOC
done
podman import --quiet /usr/share/testbed/rdma-image.tar localhost/rdma-image >/dev/null
