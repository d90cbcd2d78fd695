# test bed: rmmod with a device inside a pod netns is clean
. ./lib.sh
rd=$(rdma_of rdma_sim.sf.0)
mkpod podm
cni rdma ADD cid-m "$(ns_path podm)" net1 "$(rdma_conf rdma_sim.sf.0 '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')"
check_rc "ADD before rmmod" 0
check "in pod" in_ns podm "$rd"
check "rmmod rdma_sim" timeout 60 rmmod rdma_sim
check_eq "no RDMA device on the host" 0 "$(rdma_devs_host | grep -c .)"
check_eq "no RDMA device in the pod" 0 "$(rdma_devs_ns podm | grep -c .)"
check "no auxiliary devices left" test -z "$(ls /sys/bus/auxiliary/devices)"
ip netns del podm
# ... and with the device gone, every verb still answers, promptly
CONF=$(rdma_conf rdma_sim.sf.0 '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')
mkpod podm
cni rdma ADD cid-m2 "$(ns_path podm)" net1 "$CONF"
echo "  (ADD of a device that is gone: exit $RC $(json_num "$OUT" code))"
check_rc_nonzero "ADD of a device whose module is gone fails"
check_error_json "ADD of a device whose module is gone" 102
cni rdma CHECK cid-m "$(ns_path podm)" net1 "$CONF"
check_rc_nonzero "CHECK after the device vanished fails"
check_error_json "CHECK after the device vanished" 107
cni rdma STATUS "" "" "" "{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"rdma\"}"
check_rc "STATUS with ib_core still loaded and exclusive" 0
cni rdma DEL cid-m "$(ns_path podm)" net1 "$CONF"
check_rc "DEL after the device vanished" 0
assert_no_record cid-m net1
check_eq "no record left" 0 "$(record_count)"
ip netns del podm
