# 8 pods on 8 SFs (runtime handlers rdma-sf0..7) started at once, as kubelet starts a node's pods
# (one client, concurrent RunPodSandbox calls), then stopped at once and removed. The shim and the
# engine.
. ./lib.sh
. ./containerd/lib.sh
: >"$ENGINE_LOG"
: >"$TRACE"
use_shim
start_engine

section "8 RunPodSandbox at once"
t=$(uptime_s)
cri runp-all many-0:rdma-sf0 many-1:rdma-sf1 many-2:rdma-sf2 many-3:rdma-sf3 many-4:rdma-sf4 many-5:rdma-sf5 many-6:rdma-sf6 many-7:rdma-sf7
echo "    (8 RunPodSandbox took $(since "$t") s)"
check_cri "all 8 RunPodSandbox succeeded"
echo "$CRI_OUT" | sed 's/^/    /'
ids=""
for i in 0 1 2 3 4 5 6 7; do
	pod=$(echo "$CRI_OUT" | sed -n "s/^many-$i \([0-9a-f]\{64\}\)$/\1/p")
	ids="$ids $pod"
	rec=$(record_file "$pod" eth0 "rdma-sf$i")
	if [ -z "$pod" ] || [ -z "$rec" ]; then
		_fail "many-$i has a sandbox and a record"
		continue
	fi
	j=$(cat "$rec")
	ns=$(json_str "$j" netns)
	check_eq "many-$i's record: simsf$i" "simsf$i" "$(json_str "$j" rdmaDevice)"
	check_eq "many-$i's netns $ns holds exactly simsf$i" "simsf$i" "$(rdma_devs_ns "$(basename "$ns")" | tr '\n' ' ' | sed 's/ $//')"
done
check_eq "no SF left on the host" "simpci0 simpci1 " "$(rdma_devs_host | sort | tr '\n' ' ')"
check_eq "8 records" 8 "$(record_count)"
check_eq "8 CRI netns" 8 "$(cri_netns | grep -c .)"
cri pods
check_eq "ListPodSandbox: 8 ready" 8 "$(echo "$CRI_OUT" | grep -c ' READY many-')"
check_eq "the engine served 8 ADDs" 8 "$(engine_served ADD)"

section "8 StopPodSandbox at once"
t=$(uptime_s)
# shellcheck disable=SC2086
cri stopp-all $ids
echo "    (8 StopPodSandbox took $(since "$t") s)"
check_cri "all 8 StopPodSandbox succeeded"
assert_all_home
check_eq "the engine served 8 DELs" 8 "$(engine_served DEL)"
# shellcheck disable=SC2086
cri rmp-all $ids
check_cri "all 8 RemovePodSandbox succeeded"
cri pods
check_eq "ListPodSandbox: none left" "" "$CRI_OUT"
stop_engine
use_one_shot
