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
