# errors: JSON on stdout, non-zero exit, nothing moved
. ./lib.sh
rd=$(rdma_of 0000:00:04.0)
mkpod pode
prev='{"cniVersion":"1.0.0","interfaces":[],"ips":[]}'
cni rdma ADD cid-e "$(ns_path pode)" net1 "$(rdma_conf 0000:00:04.0 "")"
check_rc_nonzero "ADD without prevResult fails"
check_error_json "ADD without prevResult"
cni rdma ADD cid-e "$(ns_path pode)" net1 "$(rdma_conf 0000:00:1f.0 "$prev")"
check_rc_nonzero "ADD of a PCI address with no RDMA device fails"
check_error_json "ADD of an unknown device"
cni rdma ADD cid-e "$(ns_path pode)" net1 "$(rdma_conf rdma_sim.sf.999 "$prev")"
check_rc_nonzero "ADD of an auxiliary device that does not exist fails"
cni rdma ADD cid-e "$(ns_path pode)" net1 "$(rdma_conf "" "$prev")"
check_rc_nonzero "ADD without any deviceID fails"
check_error_json "ADD without deviceID"
cni rdma ADD cid-e "$(ns_path pode)" net1 '{"cniVersion":"1.0.0","name":"x","type":"rdma"'
check_rc_nonzero "ADD with broken JSON fails"
check_error_json "broken JSON" 6
cni rdma ADD cid-e "$(ns_path pode)" net1 "{\"cniVersion\":\"9.9.9\",\"name\":\"x\",\"type\":\"rdma\",\"deviceID\":\"0000:00:04.0\",\"prevResult\":$prev}"
check_rc_nonzero "ADD with an unsupported cniVersion fails"
check_error_json "unsupported version" 1
cni rdma ADD "" "$(ns_path pode)" net1 "$(rdma_conf 0000:00:04.0 "$prev")"
check_rc_nonzero "ADD without CNI_CONTAINERID fails"
check_error_json "missing CNI_CONTAINERID" 4
assert_on_host "$rd" pode
check_eq "no records after failed ADDs" 0 "$(record_count)"
