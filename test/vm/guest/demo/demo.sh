#!/bin/sh
# The demo, inside the test VM (started by test/vm/demo with --podman). podman, with its CNI
# backend, starts a container on a network whose conflist chains host-device then rdma: the
# container gets the RDMA device of PCI function 0000:00:04.0, and `podman rm` brings it home.
PCI=0000:00:04.0
NET=rdma-vf0
IMAGE=localhost/rdma-image
steps_ok=0
steps_failed=0

hr() { echo; echo "== $*"; }
ok() { steps_ok=$((steps_ok + 1)); echo "   [ok] $*"; }
bad() { steps_failed=$((steps_failed + 1)); echo "   [FAILED] $*"; }
indent() { sed 's/^/   /'; }
devs() { sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
host_devs() { rdma dev show | devs; }
run() { echo "   \$ $*"; "$@" 2>&1 | indent; }
records() { ls /run/cni/rdma/attachments/ 2>/dev/null | grep -c .; }

RDEV=$(ls /sys/bus/pci/devices/$PCI/infiniband 2>/dev/null)
NDEV=$(ls /sys/bus/pci/devices/$PCI/virtio*/net 2>/dev/null)

hr "1. The host: RDMA netns mode exclusive, PCI function $PCI (netdev $NDEV, RDMA device $RDEV)"
run rdma system show
echo "   RDMA devices on the host: $(host_devs)"
[ -n "$RDEV" ] && rdma system show | grep -q 'netns exclusive' &&
	ok "$RDEV is on the host" || bad "expected exclusive mode and an RDMA device under $PCI"

hr "2. The network podman uses: /etc/cni/net.d/50-$NET.conflist"
indent </etc/cni/net.d/50-$NET.conflist

hr "3. podman starts a container on it"
t=$(cut -d' ' -f1 /proc/uptime)
run podman run -d --name demo --network $NET $IMAGE sleep 1000
echo "   (took $(awk -v a="$t" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s in this emulated VM)"
run podman exec demo rdma dev
run podman exec demo ls /sys/class/infiniband
IN=$(podman exec demo rdma dev show 2>/dev/null | devs)
echo "   RDMA devices on the host: $(host_devs)"
if [ "$IN" = "$RDEV" ] && ! rdma dev show | devs | grep -qw "$RDEV"; then
	ok "the container has $RDEV, the host no longer lists it ($(records) record in /run/cni/rdma)"
else
	bad "the container lists '$IN'; the host lists '$(host_devs)'"
fi

hr "4. podman rm: podman calls DEL (rdma, then host-device)"
run podman rm -f -t 0 demo
echo "   RDMA devices on the host: $(host_devs)"
if rdma dev show | devs | grep -qw "$RDEV" && [ "$(records)" = 0 ] && ip link show "$NDEV" >/dev/null 2>&1; then
	ok "$RDEV and $NDEV are back on the host, no record left"
else
	bad "$RDEV did not come back cleanly"
fi

echo
if [ $steps_failed = 0 ]; then
	echo "Demo: all $steps_ok checks held."
	exit 0
fi
echo "Demo: $steps_failed of $((steps_ok + steps_failed)) checks FAILED."
exit 1
