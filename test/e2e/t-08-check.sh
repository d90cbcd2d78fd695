# CHECK notices a device moved away behind the plugin's back
. ./lib.sh
id=rdma_sim.sf.3
rd=$(rdma_of $id)
mkpod podc
chain_add cid-c "$(ns_path podc)" net1 "$(hd_conf_for $id)" $id
check_rc "ADD" 0
cni rdma CHECK cid-c "$(ns_path podc)" net1 "$RDMA_CONF"
check_rc "CHECK while attached" 0
# move it back to the init netns by hand (from inside the pod, as the kernel requires)
touch /var/run/netns/hostns && mount --bind /proc/1/ns/net /var/run/netns/hostns
ip netns exec podc rdma dev set "$rd" netns hostns
check "moved back by hand" on_host "$rd"
cni rdma CHECK cid-c "$(ns_path podc)" net1 "$RDMA_CONF"
check_rc_nonzero "CHECK fails when the device left the pod"
check_error_json "CHECK with the device gone"
cni rdma CHECK cid-none "$(ns_path podc)" net1 "$RDMA_CONF"
check_rc_nonzero "CHECK of an unknown attachment fails"
umount /var/run/netns/hostns && rm -f /var/run/netns/hostns
cni rdma DEL cid-c "$(ns_path podc)" net1 "$RDMA_CONF"
check_rc "DEL after the device left the pod" 0
assert_on_host "$rd" podc
assert_no_record cid-c net1
