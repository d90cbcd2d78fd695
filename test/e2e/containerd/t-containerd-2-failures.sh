# What kubelet may do that is not the happy path: RemovePodSandbox without StopPodSandbox, and a
# sandbox whose network setup fails after rdma moved the device (runtime handler rdma-fail: SF 0's
# chain with cni-fail after rdma). One-shot.
. ./lib.sh
. ./containerd/lib.sh
use_one_shot

section "RemovePodSandbox without StopPodSandbox (NIC 1, handler rdma-vf1)"
: >"$TRACE"
run_pod pod-c rdma-vf1
check_cri "RunPodSandbox pod-c"
assert_pod_holds "$POD" "$POD_NETNS" simpci1 0000:00:05.0 rdma-vf1
lister "$POD"
cri rmp "$POD"
check_cri "RemovePodSandbox of a running pod"
assert_all_home
check "eth1 back on the host" netdev_host eth1
check_eq "DEL called once" 1 "$(trace_calls DEL "$POD")"
cri inspectp "$POD"
check_eq "the pod is gone (PodSandboxStatus fails)" 1 "$CRI_RC"

section "network setup fails after rdma (handler rdma-fail)"
: >"$TRACE"
: >"$PLUGIN_LOG"
run_pod pod-d rdma-fail
check_eq "RunPodSandbox fails" 1 "$CRI_RC"
check "... naming the failed plugin's message" grep -q 'cni-fail: ADD fails by design' "$CRI_ERR"
sed 's/^/    /' "$CRI_ERR" | head -n 3
assert_all_home
check "sfnet0 on the host" netdev_host sfnet0
check_eq "cni-fail's ADD ran once" 1 "$(grep -c ' fail ADD ' "$TRACE")"
check "rdma had moved simsf0 into the pod before cni-fail failed" grep -q '"msg":"RDMA device moved into the pod","device":"simsf0"' "$PLUGIN_LOG"
check "rdma's DEL moved it back" grep -q '"msg":"RDMA device moved back to the host","device":"simsf0"' "$PLUGIN_LOG"
sid=$(sed -n 's/.* ADD cid=\([0-9a-f]*\) .*/\1/p' "$TRACE" | head -n 1)
check "containerd called DEL for the failed sandbox ($(trace_calls DEL "$sid") time(s))" test "$(trace_calls DEL "$sid")" -ge 1
echo "    the calls, in order:"
sed -E 's/ conf=.*//; s/ args=[^ ]*//; s/^/      /' "$TRACE"
cri pods
echo "    pods containerd lists afterwards: ${CRI_OUT:-none}"
check_not "no ready pod left" sh -c "echo '$CRI_OUT' | grep -q READY"
remove_all_pods
