# the engine killed while podman runs containers: the shim's calls fall back to the one-shot
# executable, and nothing is stranded
. ./lib.sh
. ./podman/lib.sh
: >"$ENGINE_LOG"
use_shim
start_engine

section "a container attached through the engine, the engine killed, then podman rm -f"
run_viewer k1 rdma-vf0
check_pm "podman run -d (through the engine)"
assert_in_container k1 simpci0 rdma-vf0 0000:00:04.0
check_eq "the engine served the ADD" 1 "$(engine_served ADD)"
kill -9 "$ENGINE_PID"
wait "$ENGINE_PID" 2>/dev/null
pm rm -f -t 0 k1
check_pm "podman rm -f (the engine dead: one-shot fallback)"
assert_all_home

section "with the engine dead, a container comes and goes (fallback both ways)"
pm run --rm --network rdma-sf0 "$IMAGE" rdma dev
check_pm "podman run --rm"
check_eq "it listed exactly simsf0" simsf0 "$(echo "$PM_OUT" | rdma_names)"
assert_all_home

section "the engine killed in the middle of podman runs"
start_engine
podman run --rm --network rdma-vf1 "$IMAGE" sh -c 'rdma dev show; sleep 2' >/tmp/m1.out 2>/tmp/m1.err &
p1=$!
podman run --rm --network rdma-sf1 "$IMAGE" sh -c 'rdma dev show; sleep 2' >/tmp/m2.out 2>/tmp/m2.err &
p2=$!
# podman takes a few seconds before it calls the chain: kill the engine while they run
sleep 4
kill -9 "$ENGINE_PID"
wait "$ENGINE_PID" 2>/dev/null
wait $p1
r1=$?
wait $p2
r2=$?
echo "    (engine served ADD $(engine_served ADD) / DEL $(engine_served DEL) in all; runs exited $r1 and $r2)"
[ $r1 = 0 ] || sed 's/^/    run 1: /' /tmp/m1.err | head -n 5
[ $r2 = 0 ] || sed 's/^/    run 2: /' /tmp/m2.err | head -n 5
check_eq "run on rdma-vf1 succeeded and listed exactly simpci1" "0 simpci1" "$r1 $(rdma_names </tmp/m1.out)"
check_eq "run on rdma-sf1 succeeded and listed exactly simsf1" "0 simsf1" "$r2 $(rdma_names </tmp/m2.out)"
assert_all_home
rm -f "$ENGINE_SOCKET"
use_one_shot
