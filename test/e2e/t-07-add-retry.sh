# ADD retried: after a failed ADD, and the same ADD twice
. ./lib.sh
id=0000:00:06.0
rd=$(rdma_of $id)
mkpod podr
# 1. ADD with a netns path that does not exist yet fails and leaves nothing behind
cni rdma ADD cid-r "/var/run/netns/nosuch" net1 "$(rdma_conf $id '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')"
check_rc_nonzero "ADD into a missing netns fails"
check_error_json "ADD into a missing netns"
assert_on_host "$rd"
assert_no_record cid-r net1
# 2. the retry with everything right works
chain_add cid-r "$(ns_path podr)" net1 "$(hd_conf_for $id)" $id
check_rc "retried ADD" 0
assert_in_pod podr "$rd"
assert_record cid-r net1 $id "$rd" "$(ns_path podr)"
# 3. the same ADD again (runtime retry after a lost reply): no second move, same state
cni rdma ADD cid-r "$(ns_path podr)" net1 "$RDMA_CONF"
check_rc "identical ADD again" 0
check_eq "identical ADD again prints prevResult" "$(json_squash "$HD_OUT")" "$(json_squash "$OUT")"
assert_in_pod podr "$rd"
check_eq "still one record" 1 "$(record_count)"
assert_record cid-r net1 $id "$rd" "$(ns_path podr)"
# 4. another attachment asking for the same device fails; the first keeps it
mkpod podr2
cni rdma ADD cid-other "$(ns_path podr2)" net1 "$(rdma_conf $id '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')"
check_rc_nonzero "ADD of a device another pod holds fails"
check_error_json "ADD of a held device"
check "device stays in the first pod" in_ns podr "$rd"
check_not "device not in the second pod" in_ns podr2 "$rd"
assert_no_record cid-other net1
chain_del cid-r "$(ns_path podr)" net1 "$(hd_conf_for $id)" $id
check_rc "DEL" 0
assert_on_host "$rd" podr
