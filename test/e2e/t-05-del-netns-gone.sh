# DEL after the pod netns was deleted: the kernel hands the device back; DEL succeeds
. ./lib.sh
id=0000:00:05.0
rd=$(rdma_of $id)
mkpod podgone
chain_add cid-gone "$(ns_path podgone)" net1 "$(hd_conf_for $id)" $id
check_rc "ADD" 0
check "in pod before the netns is deleted" in_ns podgone "$rd"
ip netns del podgone
check "kernel returns $rd to the init netns when the netns dies" wait_on_host "$rd" 10
cni rdma DEL cid-gone "$(ns_path podgone)" net1 "$(rdma_conf $id "$HD_OUT")"
check_rc "rdma DEL with the netns gone" 0
assert_on_host "$rd"
assert_no_record cid-gone net1
cni host-device DEL cid-gone "$(ns_path podgone)" net1 "$(hd_conf_for $id)"
echo "  (host-device DEL with the netns gone: exit $RC $OUT)"
# DEL with an empty CNI_NETNS (runtime lost it) for an attachment that is gone
cni rdma DEL cid-gone "" net1 "$(rdma_conf $id "")"
check_rc "rdma DEL again, CNI_NETNS empty" 0
