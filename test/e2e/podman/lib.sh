# Helpers of the podman boot's tests (test/vm/run --podman; test/vm/e2e runs them in a boot of
# their own). Sourced after ../lib.sh, from /payload. The guest has podman with its CNI backend,
# the image localhost/rdma-image (busybox and iproute2's rdma), and the conflists of
# test/vm/guest/podman/setup.sh: rdma-vfK (host-device by pciBusID, then rdma with that PCI
# address) and rdma-sfK (host-device by netdev sfnetK, then rdma with rdma_sim.sf.K).
IMAGE=localhost/rdma-image
PM_ERR=/tmp/podman.stderr
# every RDMA device, as the test starts (run-all.sh brought them all home)
ALL_DEVS=$(rdma_devs_host | sort | tr '\n' ' ')

# pm ARGS... : run podman; stdout in PM_OUT, stderr in $PM_ERR, exit status in PM_RC
pm() {
	PM_OUT=$(podman "$@" 2>"$PM_ERR")
	PM_RC=$?
}
pm_show() {
	echo "    podman stdout: $PM_OUT"
	sed 's/^/    podman stderr: /' "$PM_ERR" | head -n 20
	return 0
}
# check_pm DESC : the last podman call succeeded
check_pm() {
	if [ "$PM_RC" = 0 ]; then _pass "$1"; else
		_fail "$1 (podman exited $PM_RC)"
		pm_show
	fi
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

# the network namespaces podman made (netns-<uuid> in podman 4; in this boot nobody else makes
# any), one a line
podman_netns() { ls /run/netns 2>/dev/null || true; }
# rdma_names : device names out of `rdma dev show` on stdin, space-separated
rdma_names() { sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }

# lock files some process holds a flock on
held_locks() {
	for _f in "$STATE_DIR"/locks/*.lock; do
		[ -e "$_f" ] || continue
		grep -q ":$(stat -c %i "$_f") " /proc/locks && echo "$_f"
	done
	return 0
}

# run_viewer NAME NETWORK [PODMAN ARGS...] : (NETWORK "" for none of its own) a detached container that writes what it sees
# (`rdma dev show`, /sys/class/infiniband) to /tmp/view-NAME on the host, then sleeps. Sets
# VIEW_ID (its id) and VIEW_RDMA, VIEW_SYSFS (space-separated names).
run_viewer() {
	_n=$1 _net=$2
	shift 2
	rm -rf "/tmp/view-$_n"
	mkdir -p "/tmp/view-$_n"
	[ -n "$_net" ] && set -- --network "$_net" "$@"
	pm run -d --name "$_n" -v "/tmp/view-$_n:/view" "$@" "$IMAGE" \
		sh -c 'rdma dev show >/view/rdma; ls /sys/class/infiniband >/view/sysfs; touch /view/done; exec sleep 1000'
	VIEW_ID=$PM_OUT
	[ "$PM_RC" = 0 ] || pm_show
	_i=0
	while [ "$PM_RC" = 0 ] && [ ! -e "/tmp/view-$_n/done" ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	VIEW_RDMA=$(rdma_names 2>/dev/null <"/tmp/view-$_n/rdma")
	VIEW_SYSFS=$(tr '\n' ' ' 2>/dev/null <"/tmp/view-$_n/sysfs" | sed 's/ $//')
}

# assert_in_container NAME DEV NETWORK DEVICEID : the running container (just started by
# run_viewer) sees exactly DEV, its netns holds it, the host does not, and one record says so
assert_in_container() {
	check_eq "$1 sees exactly $2 (rdma dev)" "$2" "$VIEW_RDMA"
	check_eq "$1 sees exactly $2 (/sys/class/infiniband)" "$2" "$VIEW_SYSFS"
	_ns=$(podman_netns)
	check_eq "one podman netns" 1 "$(echo "$_ns" | grep -c .)"
	_ns=$(echo "$_ns" | head -n 1)
	[ -n "$_ns" ] && assert_in_pod "$_ns" "$2"
	NET=$3 assert_record "$VIEW_ID" eth0 "$4" "$2" "/run/netns/$_ns"
}

# assert_all_home [SECONDS] : every RDMA device back on the host, no podman netns, no record,
# no lock held (waits for podman's cleanup, which may run after the command returned)
assert_all_home() {
	_n=$((${1:-30} * 10))
	while [ "$_n" -gt 0 ]; do
		[ "$(rdma_devs_host | sort | tr '\n' ' ')" = "$ALL_DEVS" ] && [ -z "$(podman_netns)" ] && break
		sleep 0.1
		_n=$((_n - 1))
	done
	check_eq "every RDMA device on the host" "$ALL_DEVS" "$(rdma_devs_host | sort | tr '\n' ' ')"
	check_eq "no podman netns left" "" "$(podman_netns | tr '\n' ' ')"
	check_eq "no attachment record left" 0 "$(record_count)"
	check_eq "no lock held" "" "$(held_locks | tr '\n' ' ')"
}

# the Bun executable one-shot as /opt/cni/bin/rdma (the boot's layout)
# run_rm_lists NET DEVICE: `podman run --rm --network NET $IMAGE rdma dev`, timed; the run exits 0,
# its container lists exactly DEVICE, and every device is home after it.
run_rm_lists() {
	local t
	t=$(uptime_s)
	pm run --rm --network "$1" "$IMAGE" rdma dev
	echo "    (podman run took $(since "$t") s)"
	check_pm "podman run exited 0"
	check_eq "the container lists exactly $2" "$2" "$(echo "$PM_OUT" | rdma_names)"
	assert_all_home
}

. ./plugin-layout.sh
