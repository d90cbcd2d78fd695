# a podman pod on an rdma network: its containers share the netns, so they share the device
. ./lib.sh
. ./podman/lib.sh

pm pod create --name p1 --network rdma-sf1
check_pm "podman pod create --network rdma-sf1"
run_viewer p1-a "" --pod p1
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
