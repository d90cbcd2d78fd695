# GC with a partial valid-attachments list (CNI 1.1.0; host-device 1.1.1 has no GC)
. ./lib.sh
VER=1.1.0
prev='{"cniVersion":"1.1.0","interfaces":[],"ips":[]}'
# the RDMA devices, as sysfs shows them before they move
r1=$(rdma_of 0000:00:04.0)
r2=$(rdma_of 0000:00:05.0)
r3=$(rdma_of rdma_sim.sf.0)
ro=$(rdma_of rdma_sim.sf.1)
for spec in "cid-g1 0000:00:04.0" "cid-g2 0000:00:05.0" "cid-g3 rdma_sim.sf.0"; do
	set -- $spec
	mkpod "pod-$1"
	cni rdma ADD "$1" "$(ns_path "pod-$1")" net1 "$(rdma_conf "$2" "$prev")"
	check_rc "ADD $1 ($2)" 0
done
# an attachment of another network must survive GC of this one
mkpod pod-other
NET=othernet cni rdma ADD cid-o "$(ns_path pod-other)" net1 "$(NET=othernet rdma_conf rdma_sim.sf.1 "$prev")"
check_rc "ADD in network othernet" 0
gc='{"cniVersion":"1.1.0","name":"'$NET'","type":"rdma","cni.dev/valid-attachments":[{"containerID":"cid-g1","ifname":"net1"},{"containerID":"cid-g3","ifname":"net1"}]}'
cni rdma GC "" "" "" "$gc"
check_rc "GC keeping cid-g1 and cid-g3" 0
assert_in_pod pod-cid-g1 "$r1"
assert_in_pod pod-cid-g3 "$r3"
assert_on_host "$r2" pod-cid-g2
assert_no_record cid-g2 net1
assert_record cid-g1 net1 0000:00:04.0 "$r1" "$(ns_path pod-cid-g1)"
assert_record cid-g3 net1 rdma_sim.sf.0 "$r3" "$(ns_path pod-cid-g3)"
check "othernet's device untouched" in_ns pod-other "$ro"
check "othernet's record untouched" test -n "$(record_file cid-o net1 othernet)"
# GC with an empty list releases the rest of this network
cni rdma GC "" "" "" '{"cniVersion":"1.1.0","name":"'$NET'","type":"rdma","cni.dev/valid-attachments":[]}'
check_rc "GC with no valid attachments" 0
assert_on_host "$r1" pod-cid-g1
assert_on_host "$r3" pod-cid-g3
check_eq "only othernet's record left" 1 "$(record_count)"
check "othernet's device still untouched" in_ns pod-other "$ro"
