# test bed: a PCI function that disappears takes its RDMA device along, nothing hangs
. ./lib.sh
addr=0000:00:06.0
rd=$(rdma_of $addr)
check "$addr has an RDMA device" test -n "$rd"
echo 1 >/sys/bus/pci/devices/$addr/remove
check "PCI function removed" test ! -e /sys/bus/pci/devices/$addr
i=0
while [ $i -lt 50 ] && on_host "$rd"; do sleep 0.1; i=$((i + 1)); done
check_not "$rd gone from rdma dev" on_host "$rd"
check_not "/sys/class/infiniband/$rd gone" sysfs_host "$rd"
check "the other devices are still there" on_host "$(rdma_of 0000:00:04.0)"
