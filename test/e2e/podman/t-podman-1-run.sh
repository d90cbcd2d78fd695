# podman runs containers on the rdma networks: the one-shot executable, then the shim and engine
. ./lib.sh
. ./podman/lib.sh

section "podman sees the networks"
pm network ls --format '{{.Name}} {{.Driver}}'
check_pm "podman network ls"
printf '%s\n' "$PM_OUT" | tee /tmp/pm.ls | sed 's/^/    /'
check "rdma-vf0 listed, driver host-device" grep -qx 'rdma-vf0 host-device' /tmp/pm.ls
check "rdma-sf0 listed, driver host-device" grep -qx 'rdma-sf0 host-device' /tmp/pm.ls
pm network inspect rdma-vf0
check_pm "podman network inspect rdma-vf0"
printf '%s\n' "$PM_OUT" | tr -d ' \n' >/tmp/pm.inspect
check "inspect names the network" grep -q '"name":"rdma-vf0"' /tmp/pm.inspect
check "inspect gives its driver (the chain's first plugin)" grep -q '"driver":"host-device"' /tmp/pm.inspect

section "one-shot: podman run --rm --network rdma-vf0 $IMAGE rdma dev"
use_one_shot
run_rm_lists rdma-vf0 simpci0

section "one-shot: a sub-function (rdma-sf0), the container running"
run_viewer c-sf rdma-sf0
check_pm "podman run -d --network rdma-sf0"
assert_in_container c-sf simsf0 rdma-sf0 rdma_sim.sf.0
check_not "sfnet0 not on the host" netdev_host sfnet0
pm rm -f -t 0 c-sf
check_pm "podman rm -f"
assert_all_home
check "sfnet0 back on the host" netdev_host sfnet0

section "shim and engine as /opt/cni/bin/rdma"
: >"$ENGINE_LOG"
use_shim
start_engine
run_rm_lists rdma-vf1 simpci1
run_viewer c-eng rdma-vf0
check_pm "podman run -d --network rdma-vf0"
assert_in_container c-eng simpci0 rdma-vf0 0000:00:04.0
pm rm -f -t 0 c-eng
check_pm "podman rm -f"
assert_all_home
check_eq "the engine served both ADDs" 2 "$(engine_served ADD)"
check "the engine served the DELs ($(engine_served DEL), podman may repeat one)" test "$(engine_served DEL)" -ge 2
stop_engine
use_one_shot
