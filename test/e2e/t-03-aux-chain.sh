# ADD / CHECK / DEL through host-device then rdma, auxiliary (SF) device
. ./lib.sh
full_cycle podsf cid-sf-1 net1 rdma_sim.sf.1
