# many `podman run --rm` in a row (E2E_PODMAN_RUNS, default 20): after each one the device is
# home, and in the end nothing leaked: device, record, lock, netns, container
. ./lib.sh
. ./podman/lib.sh
runs=${E2E_PODMAN_RUNS:-20}
bad=0
t=$(uptime_s)
i=1
while [ $i -le "$runs" ]; do
	pm run --rm --network rdma-vf0 "$IMAGE" rdma dev
	got="$PM_RC $(echo "$PM_OUT" | rdma_names)"
	if [ "$got" != "0 simpci0" ]; then
		bad=$((bad + 1))
		echo "    run $i: exit and devices '$got'"
		pm_show
	elif ! wait_on_host simpci0 10 || [ -n "$(podman_netns)" ] || [ "$(record_count)" != 0 ]; then
		bad=$((bad + 1))
		echo "    run $i: left simpci0 away, a netns ($(podman_netns | tr '\n' ' ')) or $(record_count) records"
	fi
	i=$((i + 1))
done
echo "    ($runs runs in $(since "$t") s)"
check_eq "$runs runs: each listed exactly simpci0 and brought it home" 0 "$bad"
assert_all_home
pm ps -a -q
check_eq "no container left" "" "$PM_OUT"
