# two pods at once, one PCI device and one SF; each sees only its own
. ./lib.sh
mkpod podA
mkpod podB
rA=$(rdma_of 0000:00:04.0)
rB=$(rdma_of rdma_sim.sf.2)
chain_add cid-A "$(ns_path podA)" net1 "$(hd_conf_for 0000:00:04.0)" 0000:00:04.0
check_rc "ADD A" 0
HD_A=$HD_OUT
chain_add cid-B "$(ns_path podB)" net1 "$(hd_conf_for rdma_sim.sf.2)" rdma_sim.sf.2
check_rc "ADD B" 0
HD_B=$HD_OUT
assert_in_pod podA "$rA"
assert_in_pod podB "$rB"
check_not "$rB not in podA" in_ns podA "$rB"
check_not "$rA not in podB" in_ns podB "$rA"
check_eq "podA sees exactly one RDMA device" 1 "$(rdma_devs_ns podA | grep -c .)"
check_eq "podB sees exactly one RDMA device" 1 "$(rdma_devs_ns podB | grep -c .)"
check_eq "two records" 2 "$(record_count)"
assert_record cid-A net1 0000:00:04.0 "$rA" "$(ns_path podA)"
assert_record cid-B net1 rdma_sim.sf.2 "$rB" "$(ns_path podB)"
HD_OUT=$HD_A
chain_del cid-A "$(ns_path podA)" net1 "$(hd_conf_for 0000:00:04.0)" 0000:00:04.0
check_rc "DEL A" 0
assert_on_host "$rA" podA
check "B untouched by DEL A" in_ns podB "$rB"
HD_OUT=$HD_B
chain_del cid-B "$(ns_path podB)" net1 "$(hd_conf_dev sfnet2)" rdma_sim.sf.2
check_rc "DEL B" 0
assert_on_host "$rB" podB
check_eq "no records left" 0 "$(record_count)"
