# containers that share one netns share its device: a second container joining the first's netns
# (--network container:NAME), and a podman pod (its infra container holds the netns)
. ./lib.sh
. ./podman/lib.sh

section "two containers in one netns: --network container:s1"
run_viewer s1 rdma-sf1
check_pm "first container on rdma-sf1"
VIEW_1=$VIEW_RDMA
assert_in_container s1 simsf1 rdma-sf1 rdma_sim.sf.1
run_viewer s2 "" --network container:s1
check_pm "second container, --network container:s1"
check_eq "the first container sees exactly simsf1" simsf1 "$VIEW_1"
check_eq "the second container sees exactly simsf1" simsf1 "$VIEW_RDMA"
check_eq "still one podman netns" 1 "$(podman_netns | grep -c .)"
check_eq "still one attachment record" 1 "$(record_count)"
pm rm -f -t 0 s2
check_pm "podman rm -f the second"
check_not "simsf1 stays away from the host while the first runs" on_host simsf1
pm rm -f -t 0 s1
check_pm "podman rm -f the first"
assert_all_home

section "a podman pod on rdma-sf1"
pm pod create --name p1 --network rdma-sf1
check_pm "podman pod create --network rdma-sf1"
run_viewer p1-a "" --pod p1
if [ "$PM_RC" != 0 ] && grep -q 'crun: mknod `/dev/null`: Operation not permitted' "$PM_ERR"; then
	# podman 4.3's infra container gets a device cgroup of deny-all without the default
	# allow-list, so crun cannot create /dev/null in it: in this VM no pod starts, with or
	# without a network (docs/podman.md). What must hold: nothing of the chain is left.
	echo "    KNOWN: podman's pod infra container cannot start in this VM: $(grep -o 'crun: mknod[^"\\]*' "$PM_ERR" | head -n 1)"
	check "podman reports crun's error for the infra container" grep -q 'mknod `/dev/null`' "$PM_ERR"
	pm pod rm -f -t 0 p1
	check_pm "podman pod rm -f"
	assert_all_home
	exit 0
fi
check_pm "first container in the pod"
VIEW_A=$VIEW_RDMA
run_viewer p1-b "" --pod p1
check_pm "second container in the pod"
check_eq "the first container sees exactly simsf1" simsf1 "$VIEW_A"
check_eq "the second container sees exactly simsf1" simsf1 "$VIEW_RDMA"
check_eq "one podman netns" 1 "$(podman_netns | grep -c .)"
ns=$(podman_netns | head -n 1)
check "simsf1 in the pod's netns" in_ns "$ns" simsf1
check_not "simsf1 not on the host" on_host simsf1
check_eq "one attachment record (the pod's)" 1 "$(record_count)"
pm pod rm -f -t 0 p1
check_pm "podman pod rm -f"
assert_all_home
