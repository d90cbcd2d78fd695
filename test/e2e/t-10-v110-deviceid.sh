# CNI 1.1.0: the device from prevResult's pciID; runtimeConfig.deviceID wins over deviceID
. ./lib.sh
VER=1.1.0
rd=$(rdma_of 0000:00:05.0)
mkpod podv
prev='{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"52:54:00:12:34:57","sandbox":"/var/run/netns/podv","pciID":"0000:00:05.0"}],"ips":[]}'
cni rdma ADD cid-v "$(ns_path podv)" net1 "$(rdma_conf "" "$prev")"
check_rc "1.1.0 ADD, device from the interface's pciID" 0
check_eq "prevResult unchanged" "$(json_squash "$prev")" "$(json_squash "$OUT")"
assert_in_pod podv "$rd"
assert_record cid-v net1 0000:00:05.0 "$rd" "$(ns_path podv)"
cni rdma DEL cid-v "$(ns_path podv)" net1 "$(rdma_conf "" "$prev")"
check_rc "1.1.0 DEL" 0
assert_on_host "$rd" podv
# runtimeConfig.deviceID beats the top-level deviceID
rs=$(rdma_of rdma_sim.sf.2)
rp=$(rdma_of 0000:00:04.0)
conf=$(rdma_conf 0000:00:04.0 '{"cniVersion":"1.1.0","interfaces":[],"ips":[]}' ',"runtimeConfig":{"deviceID":"rdma_sim.sf.2"}')
cni rdma ADD cid-rc "$(ns_path podv)" net2 "$conf"
check_rc "ADD with runtimeConfig.deviceID" 0
check "runtimeConfig.deviceID's device ($rs) moved" in_ns podv "$rs"
check "top-level deviceID's device ($rp) stayed" on_host "$rp"
cni rdma DEL cid-rc "$(ns_path podv)" net2 "$conf"
check_rc "DEL" 0
assert_on_host "$rs" podv
