# containerd restarted while pods run (their shims and netns live on), then those pods stopped
# and removed through the new containerd: it finds each sandbox's netns again and calls DEL.
# The shim and the engine as /opt/cni/bin/rdma.
. ./lib.sh
. ./containerd/lib.sh
: >"$ENGINE_LOG"
: >"$TRACE"
use_shim
start_engine

section "two pods (NIC 1, SF 2)"
run_pod pod-e rdma-vf1
check_cri "RunPodSandbox pod-e on rdma-vf1"
pod_e=$POD ns_e=$POD_NETNS
assert_pod_holds "$pod_e" "$ns_e" simpci1 0000:00:05.0 rdma-vf1
run_pod pod-f rdma-sf2
check_cri "RunPodSandbox pod-f on rdma-sf2"
pod_f=$POD ns_f=$POD_NETNS
assert_pod_holds "$pod_f" "$ns_f" simsf2 rdma_sim.sf.2 rdma-sf2

section "containerd restarted"
containerd_stop
check "pod-e's netns still holds simpci1 while containerd is down" in_ns "$(basename "$ns_e")" simpci1
check "pod-f's netns still holds simsf2" in_ns "$(basename "$ns_f")" simsf2
containerd_start
cri pods
check_cri "ListPodSandbox after the restart"
echo "$CRI_OUT" | sed 's/^/    /'
check "pod-e listed READY" sh -c "echo '$CRI_OUT' | grep -q '^$pod_e READY pod-e rdma-vf1$'"
check "pod-f listed READY" sh -c "echo '$CRI_OUT' | grep -q '^$pod_f READY pod-f rdma-sf2$'"
cri inspectp "$pod_e"
check_eq "pod-e's netns as before the restart" "$ns_e" "$(json_str "$CRI_OUT" netns)"
check_eq "no CNI call during the restart" 2 "$(grep -c . "$TRACE")"

section "the pods stopped and removed"
cri stopp "$pod_e"
check_cri "StopPodSandbox pod-e"
check "simpci1 back on the host" wait_on_host simpci1 30
check_eq "DEL called once for pod-e" 1 "$(trace_calls DEL "$pod_e")"
cri stopp "$pod_f"
check_cri "StopPodSandbox pod-f"
cri rmp "$pod_e"
check_cri "RemovePodSandbox pod-e"
cri rmp "$pod_f"
check_cri "RemovePodSandbox pod-f"
assert_all_home
check "eth1 and sfnet2 back on the host" sh -c "ip link show dev eth1 >/dev/null && ip link show dev sfnet2 >/dev/null"
check_eq "the engine served 2 ADDs" 2 "$(engine_served ADD)"
# per pod: StopPodSandbox's DEL, and RemovePodSandbox's (it stops the pod again)
check_eq "the engine served 4 DELs" 4 "$(engine_served DEL)"
stop_engine
use_one_shot
remove_all_pods
