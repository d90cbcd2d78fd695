# ADD without a deviceID (as the Go rdma-cni accepts it): the device the pod's interface sits on,
# asked of the kernel inside the pod's netns (rtnetlink IFLA_PARENT_DEV_*); virtio-net's parent is
# virtio<N>, whose parent is the PCI function; an rdma_sim SF's netdev sits on its auxiliary device
. ./lib.sh

# fallback_cycle NS CID DEVICEID : host-device moves the netdev in, rdma ADD with no deviceID, DEL
fallback_cycle() {
	_ns=$1 _cid=$2 _id=$3
	_rd=$(rdma_of "$_id")
	mkpod "$_ns"
	_hd=$(hd_conf_for "$_id")
	section "ADD without deviceID: $_id"
	chain_add "$_cid" "$(ns_path "$_ns")" net1 "$_hd" ""
	check_eq "host-device ADD" 0 "$HD_RC"
	echo "  (the kernel, in $_ns: $(ip netns exec "$_ns" ip -d link show dev net1 | grep -o 'parentbus [^ ]* parentdev [^ ]*'))"
	check_rc "rdma ADD with no deviceID in the config" 0
	assert_in_pod "$_ns" "$_rd"
	assert_record "$_cid" net1 "$_id" "$_rd" "$(ns_path "$_ns")"
	chain_del "$_cid" "$(ns_path "$_ns")" net1 "$_hd" ""
	check_rc "rdma DEL with no deviceID in the config" 0
	assert_on_host "$_rd" "$_ns"
	assert_no_record "$_cid" net1
	ip netns del "$_ns"
}

fallback_cycle podfb1 cid-fb-pci 0000:00:04.0
fallback_cycle podfb2 cid-fb-sf rdma_sim.sf.1

section "an interface on no device (the pod's lo) is refused with code 7, nothing moved"
mkpod podfb3
before=$(rdma_devs_host | sort | tr '\n' ' ')
prev='{"cniVersion":"1.0.0","interfaces":[{"name":"lo","sandbox":"/var/run/netns/podfb3"}],"ips":[]}'
cni rdma ADD cid-fb-lo "$(ns_path podfb3)" lo "$(rdma_conf "" "$prev")"
check_rc "rdma ADD" 1
check_error_json "ADD for lo" 7
case "$OUT" in *"names no device under interface lo"*) _pass "the message says why" ;; *) _fail "the message says why (got $OUT)" ;; esac
check_eq "every RDMA device still on the host" "$before" "$(rdma_devs_host | sort | tr '\n' ' ')"
check_eq "no record written" 0 "$(record_count)"
ip netns del podfb3
