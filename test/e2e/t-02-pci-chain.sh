# ADD / CHECK / DEL through host-device then rdma, PCI device
. ./lib.sh
full_cycle pod1 cid-pci-1 net1 0000:00:04.0
# the host's sysfs view of the PCI function while the device is in a pod
mkpod pod2
rd=$(rdma_of 0000:00:05.0)
chain_add cid-pci-2 "$(ns_path pod2)" net1 "$(hd_conf_pci 0000:00:05.0)" 0000:00:05.0
check_rc "rdma ADD 0000:00:05.0" 0
left=$(ls /sys/bus/pci/devices/0000:00:05.0/infiniband 2>/dev/null)
echo "  (host view of /sys/bus/pci/devices/0000:00:05.0/infiniband while attached: '${left}')"
check "pod's view: /sys/bus/pci/devices/0000:00:05.0/infiniband/$rd" ip netns exec pod2 test -e "/sys/bus/pci/devices/0000:00:05.0/infiniband/$rd"
chain_del cid-pci-2 "$(ns_path pod2)" net1 "$(hd_conf_pci 0000:00:05.0)" 0000:00:05.0
check_rc "rdma DEL 0000:00:05.0" 0
check "host view: /sys/bus/pci/devices/0000:00:05.0/infiniband/$rd back" test -e "/sys/bus/pci/devices/0000:00:05.0/infiniband/$rd"
