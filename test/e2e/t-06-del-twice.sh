# DEL twice; DEL of something never added
. ./lib.sh
id=rdma_sim.sf.0
rd=$(rdma_of $id)
mkpod pod2x
chain_add cid-2x "$(ns_path pod2x)" net1 "$(hd_conf_for $id)" $id
check_rc "ADD" 0
chain_del cid-2x "$(ns_path pod2x)" net1 "$(hd_conf_for $id)" $id
check_rc "first DEL" 0
assert_on_host "$rd" pod2x
cni rdma DEL cid-2x "$(ns_path pod2x)" net1 "$(rdma_conf $id "$HD_OUT")"
check_rc "second DEL" 0
assert_on_host "$rd" pod2x
assert_no_record cid-2x net1
cni rdma DEL cid-never "$(ns_path pod2x)" net9 "$(rdma_conf $id "")"
check_rc "DEL of an attachment never added" 0
assert_on_host "$rd" pod2x
