#!/bin/sh
# The demo, inside the test VM (started by test/vm/demo). One pod, one RDMA
# device on a PCI function, moved in by the chain host-device -> rdma the way a
# container runtime calls it, checked, and moved back.
NS=pod1
NSPATH=/var/run/netns/$NS
CID=demo-container-1
IFNAME=net1
PCI=0000:00:04.0
NET=rdma-demo
steps_ok=0
steps_failed=0

hr() { echo; echo "== $*"; }
ok() { steps_ok=$((steps_ok + 1)); echo "   [ok] $*"; }
bad() { steps_failed=$((steps_failed + 1)); echo "   [FAILED] $*"; }
indent() { sed 's/^/     /'; }
devs() { sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p'; }
host_devs() { rdma dev show | devs | tr '\n' ' '; }
pod_devs() { ip netns exec $NS rdma dev show | devs | tr '\n' ' '; }
cni() { # PLUGIN COMMAND CONFIG
	OUT=$(printf '%s' "$3" | env CNI_COMMAND="$2" CNI_CONTAINERID=$CID CNI_NETNS=$NSPATH \
		CNI_IFNAME=$IFNAME CNI_PATH=/opt/cni/bin "/opt/cni/bin/$1" 2>/tmp/err)
	RC=$?
}
show_failure() { echo "     stdout: $OUT"; sed 's/^/     stderr: /' /tmp/err | head -n 5; }

RDEV=$(ls /sys/bus/pci/devices/$PCI/infiniband 2>/dev/null)
NDEV=$(ls /sys/bus/pci/devices/$PCI/virtio*/net 2>/dev/null)
HD_CONF='{"cniVersion":"1.0.0","name":"'$NET'","type":"host-device","pciBusID":"'$PCI'"}'

hr "1. The host before: RDMA netns mode and devices"
echo "   $(rdma system show)"
rdma link show | indent
echo "   The pod's device: PCI function $PCI, netdev $NDEV, RDMA device $RDEV"
[ -n "$RDEV" ] && [ -n "$NDEV" ] && rdma system show | grep -q 'netns exclusive' &&
	ok "exclusive mode, $RDEV on the host" || bad "expected exclusive mode and an RDMA device under $PCI"

hr "2. A pod: network namespace $NS"
ip netns add $NS && ip netns exec $NS ip link set lo up
echo "   RDMA devices the pod sees: [$(pod_devs)]"
[ -z "$(pod_devs)" ] && ok "the pod sees no RDMA device" || bad "the new pod already sees RDMA devices"

hr "3. ADD, as a runtime calls the chain: host-device, then rdma"
cni host-device ADD "$HD_CONF"
HD_OUT=$OUT
if [ $RC = 0 ]; then
	echo "   host-device moved $NDEV into the pod as $IFNAME"
else
	show_failure
fi
RDMA_CONF='{"cniVersion":"1.0.0","name":"'$NET'","type":"rdma","deviceID":"'$PCI'","prevResult":'$HD_OUT'}'
echo "   rdma's config: {\"type\":\"rdma\", \"deviceID\":\"$PCI\", \"prevResult\": <host-device's result>, ...}"
cni rdma ADD "$RDMA_CONF"
if [ $RC = 0 ]; then
	ok "rdma ADD exited 0 and printed the result it was given"
else
	bad "rdma ADD exited $RC"
	show_failure
fi

hr "4. After ADD"
echo "   host: RDMA devices [$(host_devs)]"
echo "   pod:  RDMA devices [$(pod_devs)]"
ip netns exec $NS rdma link show | indent
echo "   pod:  network interfaces: $(ip netns exec $NS ip -br link show | awk '{print $1}' | tr '\n' ' ')"
echo "   the plugin's record ($(ls /run/cni/rdma/attachments/ 2>/dev/null | head -n 1)):"
cat /run/cni/rdma/attachments/*.json 2>/dev/null | indent
if ip netns exec $NS rdma dev show | devs | grep -qx "$RDEV" && ! rdma dev show | devs | grep -qx "$RDEV"; then
	ok "$RDEV is in the pod and no longer on the host"
else
	bad "$RDEV is not (only) in the pod"
fi

hr "5. CHECK"
cni rdma CHECK "$RDMA_CONF"
[ $RC = 0 ] && ok "rdma CHECK exited 0" || { bad "rdma CHECK exited $RC"; show_failure; }

hr "6. DEL, in reverse order: rdma, then host-device"
cni rdma DEL "$RDMA_CONF"
if [ $RC = 0 ]; then ok "rdma DEL exited 0"; else bad "rdma DEL exited $RC"; show_failure; fi
cni host-device DEL "$HD_CONF"
[ $RC = 0 ] && echo "   host-device moved $IFNAME back to the host as $NDEV" || show_failure

hr "7. The host after"
echo "   host: RDMA devices [$(host_devs)]"
echo "   pod:  RDMA devices [$(pod_devs)]"
echo "   records left: $(ls /run/cni/rdma/attachments/ 2>/dev/null | grep -c .)"
if rdma dev show | devs | grep -qx "$RDEV" && [ -z "$(pod_devs)" ] &&
	[ -z "$(ls /run/cni/rdma/attachments/ 2>/dev/null)" ]; then
	ok "$RDEV is back on the host, the pod is empty, no record left"
else
	bad "$RDEV did not come back cleanly"
fi
ip netns del $NS

echo
if [ $steps_failed = 0 ]; then
	echo "Demo: all $steps_ok checks held."
	exit 0
fi
echo "Demo: $steps_failed of $((steps_ok + steps_failed)) checks FAILED."
exit 1
