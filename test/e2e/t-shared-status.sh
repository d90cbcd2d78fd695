# shared RDMA netns mode (boot with --shared): STATUS says 50, ADD refuses, nothing moves
. ./lib.sh
check_eq "RDMA netns mode is shared" shared "$(rdma system show | sed -n 's/.*netns \([a-z]*\).*/\1/p')"
cni rdma STATUS "" "" "" "{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"rdma\"}"
check_rc_nonzero "STATUS in shared mode fails"
check_error_json "STATUS in shared mode" 50
id=0000:00:04.0
rd=$(rdma_of $id)
mkpod pods
chain_add cid-s "$(ns_path pods)" net1 "$(hd_conf_for $id)" $id
check_rc_nonzero "ADD in shared mode fails"
check_error_json "ADD in shared mode"
check "$rd stays listed on the host" on_host "$rd"
assert_no_record cid-s net1
# the kernel's side of it: a move is refused in shared mode
check_not "kernel refuses rdma dev set netns in shared mode" rdma dev set "$rd" netns pods
cni rdma DEL cid-s "$(ns_path pods)" net1 "$(rdma_conf $id "$HD_OUT")"
check_rc "DEL after the failed ADD" 0
cni host-device DEL cid-s "$(ns_path pods)" net1 "$(hd_conf_for $id)"
