# One pod's life as kubelet drives it through containerd's CRI: RunPodSandbox, PodSandboxStatus,
# a container that lists its RDMA devices (CreateContainer, StartContainer, ExecSync),
# StopPodSandbox (twice), RemovePodSandbox; the one-shot executable on NIC 0 (the default
# handler's network), then the shim and the engine on SF 1 (runtime handler rdma-sf1). The trace
# of what containerd passed to the chain is printed for docs/containerd.md.
. ./lib.sh
. ./containerd/lib.sh

section "containerd answers CRI"
cri version
check_cri "Version"
echo "    $CRI_OUT"
check "containerd 1.6 with CRI v1" sh -c "echo '$CRI_OUT' | grep -q '^containerd 1\.6\..* (CRI v1)$'"

section "one-shot: a pod on the default network (rdma-vf0)"
use_one_shot
: >"$TRACE"
: >"$PLUGIN_LOG"
run_pod pod-a "" rdma.test/purpose=e2e
check_cri "RunPodSandbox pod-a"
check "PodSandboxStatus returns the pod's annotation" sh -c "echo '$POD_STATUS' | grep -q '\"rdma.test/purpose\":\"e2e\"'"
check_eq "PodSandboxStatus returns the pod's name" pod-a "$(json_str "$POD_STATUS" name)"
assert_pod_holds "$POD" "$POD_NETNS" simpci0 0000:00:04.0 rdma-vf0
check_not "eth0 (host-device's) not on the host" netdev_host eth0
check_eq "ADD called once for the sandbox" 1 "$(trace_calls ADD "$POD")"
add=$(trace_line ADD "$POD")
check "CNI_ARGS carry K8S_POD_NAME, _NAMESPACE, _UID, _INFRA_CONTAINER_ID and IgnoreUnknown" sh -c "
	echo '$add' | grep -q 'K8S_POD_NAME=pod-a' && echo '$add' | grep -q 'K8S_POD_NAMESPACE=rdma-test' &&
	echo '$add' | grep -q 'K8S_POD_UID=uid-pod-a' && echo '$add' | grep -q 'K8S_POD_INFRA_CONTAINER_ID=$POD' &&
	echo '$add' | grep -q 'IgnoreUnknown=1'"
check "runtimeConfig carries the pod annotations (capability io.kubernetes.cri.pod-annotations)" sh -c \
	"echo '$add' | grep -q '\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":{\"rdma.test/purpose\":\"e2e\"}}'"
check "CNI_NETNS is the sandbox's netns, CNI_IFNAME eth0" sh -c "echo '$add' | grep -q ' netns=$POD_NETNS ifname=eth0 '"

lister "$POD"
cri exec "$CTR" -- rdma dev
check_cri "ExecSync rdma dev"
check_eq "the container lists exactly simpci0 (rdma dev)" simpci0 "$(echo "$CRI_OUT" | rdma_names)"
cri exec "$CTR" -- ls /sys/class/infiniband
check_eq "the container sees exactly simpci0 (/sys/class/infiniband)" simpci0 "$(echo $CRI_OUT)"
cri exec "$CTR" -- sh -c 'exit 3'
check_eq "ExecSync passes the command's exit status" 3 "$CRI_RC"

cri stopp "$POD"
check_cri "StopPodSandbox"
assert_all_home
check "eth0 back on the host" netdev_host eth0
check_eq "DEL called once for the sandbox" 1 "$(trace_calls DEL "$POD")"
# containerd 1.6 tears the network down on every stop, with an empty CNI_NETNS once the netns is
# gone (and without prevResult: its cache entry went with the first DEL)
cri stopp "$POD"
check_cri "StopPodSandbox again"
check_eq "the second stop called DEL again" 2 "$(trace_calls DEL "$POD")"
check "... with an empty CNI_NETNS and no prevResult" sh -c "grep ' DEL cid=$POD ' '$TRACE' | sed -n 2p | grep ' netns= ifname=eth0 ' | grep -vq prevResult"
check_eq "no ADD after the stops" 1 "$(trace_calls ADD "$POD")"
assert_all_home
cri rmp "$POD"
check_cri "RemovePodSandbox after StopPodSandbox"
check_eq "RemovePodSandbox stops the pod again: a third DEL" 3 "$(trace_calls DEL "$POD")"
cri inspectp "$POD"
check_eq "PodSandboxStatus of the removed pod fails" 1 "$CRI_RC"
check "... with NotFound" grep -q 'NOT_FOUND' "$CRI_ERR"
echo "    what the chain's first plugin saw (cni-trace, $TRACE):"
sed 's/^/      /' "$TRACE"
echo "    what rdma saw and did ($PLUGIN_LOG):"
sed 's/^/      /' "$PLUGIN_LOG"
check_eq "rdma was called: ADD once, DEL three times" "ADD DEL DEL DEL" "$(grep '"msg":"CNI call"' "$PLUGIN_LOG" | grep "$POD" | sed -n 's/.*"command":"\([A-Z]*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//')"

section "shim and engine: a pod on SF 1 (runtime handler rdma-sf1)"
: >"$ENGINE_LOG"
: >"$TRACE"
use_shim
start_engine
run_pod pod-b rdma-sf1
check_cri "RunPodSandbox pod-b on rdma-sf1"
check_eq "PodSandboxStatus gives the runtime handler" rdma-sf1 "$(json_str "$POD_STATUS" handler)"
assert_pod_holds "$POD" "$POD_NETNS" simsf1 rdma_sim.sf.1 rdma-sf1
check_not "sfnet1 not on the host" netdev_host sfnet1
check "the handler's own conflist was used (network rdma-sf1)" sh -c "grep ' ADD cid=$POD ' '$TRACE' | grep -q '\"name\":\"rdma-sf1\"'"
lister "$POD"
cri exec "$CTR" -- rdma dev
check_eq "the container lists exactly simsf1" simsf1 "$(echo "$CRI_OUT" | rdma_names)"
cri stopp "$POD"
check_cri "StopPodSandbox"
cri rmp "$POD"
check_cri "RemovePodSandbox"
assert_all_home
check "sfnet1 back on the host" netdev_host sfnet1
check_eq "the engine served the ADD" 1 "$(engine_served ADD)"
check_eq "the engine served 2 DELs (StopPodSandbox's, RemovePodSandbox's)" 2 "$(engine_served DEL)"
stop_engine
use_one_shot
remove_all_pods
