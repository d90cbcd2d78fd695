# prevResult as libcni hands it on: the previous plugin's result in the version it printed, which
# may differ from the config's within one result format (a 1.0.0-only plugin before rdma in a
# 1.1.0 chain). Accepted, and printed in the config's version; another format is refused (1).
. ./lib.sh
VER=1.1.0
id=0000:00:04.0
rd=$(rdma_of $id)
mkpod podp
prev10='{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/var/run/netns/podp"}],"ips":[]}'
cni rdma ADD cid-p "$(ns_path podp)" net1 "$(rdma_conf $id "$prev10")"
check_rc "1.1.0 config, 1.0.0 prevResult: ADD" 0
check_eq "printed as 1.1.0, with the VF's pciID" \
	'{"cniVersion":"1.1.0","interfaces":[{"name":"net1","sandbox":"/var/run/netns/podp","pciID":"0000:00:04.0"}],"ips":[]}' \
	"$(json_squash "$OUT")"
assert_in_pod podp "$rd"
cni rdma DEL cid-p "$(ns_path podp)" net1 "$(rdma_conf $id "$prev10")"
check_rc "DEL with the same prevResult" 0
check "$rd back on the host" on_host "$rd"

prev04='{"cniVersion":"0.4.0","interfaces":[{"name":"net1","sandbox":"/var/run/netns/podp"}],"ips":[]}'
cni rdma ADD cid-p "$(ns_path podp)" net1 "$(rdma_conf $id "$prev04")"
check_rc_nonzero "1.1.0 config, 0.4.0 prevResult: refused"
check_error_json "0.4.0 prevResult under 1.1.0" 1
check "$rd stayed on the host" on_host "$rd"
check_eq "no record" 0 "$(record_count)"

VER=0.3.1
cni rdma ADD cid-p "$(ns_path podp)" net1 "$(rdma_conf $id "$prev04")"
check_rc "0.3.1 config, 0.4.0 prevResult: ADD" 0
check_eq "printed as 0.3.1" '0.3.1' "$(json_str "$OUT" cniVersion)"
cni rdma DEL cid-p "$(ns_path podp)" net1 "$(rdma_conf $id "$prev04")"
check_rc "DEL" 0
check "$rd back on the host" on_host "$rd"
ip netns del podp
