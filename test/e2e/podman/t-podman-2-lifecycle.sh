# every way a podman container ends brings the device home
. ./lib.sh
. ./podman/lib.sh

section "podman rm -f"
run_viewer c1 rdma-vf0
check_pm "podman run -d"
assert_in_container c1 simpci0 rdma-vf0 0000:00:04.0
pm rm -f -t 0 c1
check_pm "podman rm -f"
assert_all_home

section "podman stop (device home before rm)"
run_viewer c2 rdma-sf1
check_pm "podman run -d"
assert_in_container c2 simsf1 rdma-sf1 rdma_sim.sf.1
pm stop -t 1 c2
check_pm "podman stop"
assert_all_home
pm rm c2
check_pm "podman rm"

section "podman kill -s KILL, then podman rm"
run_viewer c3 rdma-vf1
check_pm "podman run -d"
assert_in_container c3 simpci1 rdma-vf1 0000:00:05.0
pm kill -s KILL c3
check_pm "podman kill -s KILL"
pm rm c3
check_pm "podman rm"
assert_all_home

section "--rm, the container exits by itself"
pm run --rm --network rdma-sf0 "$IMAGE" sh -c 'rdma dev show; sleep 1'
check_pm "podman run --rm exited 0"
check_eq "it listed exactly simsf0" simsf0 "$(echo "$PM_OUT" | rdma_names)"
assert_all_home
pm ps -a -q
check_eq "no container left" "" "$PM_OUT"
