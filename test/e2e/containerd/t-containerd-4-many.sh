# 8 pods on 8 SFs (runtime handlers rdma-sf0..7) started at once, as kubelet starts a node's pods,
# then stopped at once and removed. The shim and the engine.
. ./lib.sh
. ./containerd/lib.sh
: >"$ENGINE_LOG"
: >"$TRACE"
use_shim
start_engine

section "8 RunPodSandbox at once"
t=$(uptime_s)
for i in 0 1 2 3 4 5 6 7; do
	"$CRI" runp --name "many-$i" --namespace rdma-test --uid "uid-many-$i" --handler "rdma-sf$i" >"/tmp/many-$i.id" 2>"/tmp/many-$i.err" &
done
wait
echo "    (8 RunPodSandbox took $(since "$t") s)"
for i in 0 1 2 3 4 5 6 7; do
	pod=$(cat "/tmp/many-$i.id")
	if [ -z "$pod" ]; then
		_fail "RunPodSandbox many-$i"
		sed 's/^/    /' "/tmp/many-$i.err"
		continue
	fi
	cri inspectp "$pod"
	ns=$(json_str "$CRI_OUT" netns)
	check_eq "many-$i ready" READY "$(json_str "$CRI_OUT" state)"
	check "many-$i's netns holds exactly simsf$i" sh -c "[ \"\$(ip netns exec $(basename "$ns") rdma dev show | sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p' | tr '\n' ' ')\" = 'simsf$i ' ]"
done
check_eq "no SF left on the host" "simpci0 simpci1 " "$(rdma_devs_host | sort | tr '\n' ' ')"
check_eq "8 records" 8 "$(record_count)"
check_eq "the engine served 8 ADDs" 8 "$(engine_served ADD)"

section "8 StopPodSandbox at once"
t=$(uptime_s)
for i in 0 1 2 3 4 5 6 7; do "$CRI" stopp "$(cat "/tmp/many-$i.id")" 2>>/tmp/many.stop.err & done
wait
echo "    (8 StopPodSandbox took $(since "$t") s)"
check_eq "no StopPodSandbox failed" "" "$(cat /tmp/many.stop.err)"
for i in 0 1 2 3 4 5 6 7; do "$CRI" rmp "$(cat "/tmp/many-$i.id")"; done
assert_all_home
check_eq "the engine served 8 DELs" 8 "$(engine_served DEL)"
stop_engine
use_one_shot
remove_all_pods
