# 256 auxiliary devices (boot with --aux 256): all present, 16 pods at once
. ./lib.sh
n=$(ls /sys/bus/auxiliary/devices | grep -c '^rdma_sim\.sf\.')
check_eq "256 auxiliary devices" 256 "$n"
check_eq "256 simsf RDMA devices on the host" 256 "$(rdma_devs_host | grep -c '^simsf')"
missing=0
i=0
while [ $i -lt 256 ]; do
	[ -n "$(rdma_of rdma_sim.sf.$i)" ] && [ -n "$(netdev_of rdma_sim.sf.$i)" ] || missing=$((missing + 1))
	i=$((i + 1))
done
check_eq "every rdma_sim.sf.N has infiniband/ and net/ in sysfs" 0 "$missing"
ids=""
i=15
while [ $i -lt 256 ]; do ids="$ids $i"; i=$((i + 16)); done
start=$(cut -d' ' -f1 /proc/uptime)
for i in $ids; do
	id=rdma_sim.sf.$i
	eval "rd_$i=$(rdma_of $id)"
	mkpod "p$i"
	t1=$(cut -d' ' -f1 /proc/uptime)
	chain_add "c$i" "$(ns_path p$i)" net1 "$(hd_conf_for $id)" $id
	check_rc "ADD $id" 0
	echo "    (host-device then rdma ADD: $(awk -v a="$t1" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')s, rdma alone: $RDMA_SECS s)"
	eval "hd_$i=\$HD_OUT"
done
echo "  (16 chained ADDs took $(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')s)"
check_eq "16 records" 16 "$(record_count)"
check_eq "240 simsf devices left on the host" 240 "$(rdma_devs_host | grep -c '^simsf')"
for i in $ids; do
	eval "rd=\$rd_$i"
	check "$rd in p$i, alone" test "$(rdma_devs_ns p$i)" = "$rd"
done
for i in $ids; do
	eval "HD_OUT=\$hd_$i"
	chain_del "c$i" "$(ns_path p$i)" net1 "$(hd_conf_dev sfnet$i)" rdma_sim.sf.$i
	check_rc "DEL rdma_sim.sf.$i" 0
done
check_eq "no records" 0 "$(record_count)"
check_eq "256 simsf devices back on the host" 256 "$(rdma_devs_host | grep -c '^simsf')"
