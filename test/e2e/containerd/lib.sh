# Helpers of the containerd boot's tests (test/vm/run --containerd; test/vm/e2e runs them in a
# boot of their own). Sourced after ../lib.sh, from /payload. The guest runs containerd 1.6 with
# its CRI plugin (test/vm/guest/containerd/setup.sh): the sandbox image localhost/pause:testbed,
# the image localhost/rdma-image:testbed (busybox and iproute2's rdma), and one network per
# device: the default runtime handler's is NIC 0's (/etc/cni/net.d, as `ctr run --cni`'s), the
# runtime handlers rdma-vfK and rdma-sfK have NIC K's and SF K's, rdma-fail has SF 0's with a
# plugin after rdma that fails ADD. Every chain starts with cni-trace, whose log is $TRACE.
CRI=/mnt/build/cri-client
CRI_ERR=/tmp/cri.stderr
IMAGE=localhost/rdma-image:testbed
TRACE=/run/cni-trace.log
CONTAINERD_LOG=/tmp/containerd.log
# the rdma entries' logFile (debug level)
PLUGIN_LOG=/var/log/rdma-cni.log
# every RDMA device, as the test starts (run-all.sh brought them all home)
ALL_DEVS=$(rdma_devs_host | sort | tr '\n' ' ')

# cri ARGS... : run the CRI client; stdout in CRI_OUT, stderr in $CRI_ERR, exit status in CRI_RC
cri() {
	CRI_OUT=$("$CRI" "$@" 2>"$CRI_ERR")
	CRI_RC=$?
}
cri_show() {
	echo "    cri-client stdout: $CRI_OUT"
	sed 's/^/    cri-client stderr: /' "$CRI_ERR" | head -n 20
	return 0
}
# check_cri DESC : the last CRI call succeeded
check_cri() {
	if [ "$CRI_RC" = 0 ]; then _pass "$1"; else
		_fail "$1 (cri-client exited $CRI_RC)"
		cri_show
	fi
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

# the network namespaces containerd's CRI made (cni-<uuid>), one a line
cri_netns() { ls /var/run/netns 2>/dev/null | grep '^cni-' || true; }
# rdma_names : device names out of `rdma dev show` on stdin, space-separated
rdma_names() { sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }

held_locks() {
	for _f in "$STATE_DIR"/locks/*.lock; do
		[ -e "$_f" ] || continue
		grep -q ":$(stat -c %i "$_f") " /proc/locks && echo "$_f"
	done
	return 0
}

# trace_calls VERB CID : how many VERB calls of the chain's first plugin (cni-trace) were for CID
trace_calls() { grep -c " $1 cid=$2 " "$TRACE" 2>/dev/null || true; }
# trace_line VERB CID : the first such line
trace_line() { grep -m 1 " $1 cid=$2 " "$TRACE" 2>/dev/null || true; }

# run_pod NAME [HANDLER] [ANNOTATION...] : RunPodSandbox as kubelet does (namespace rdma-test, uid
# uid-NAME), timed, then PodSandboxStatus. Sets POD (its id, empty on failure), POD_STATUS
# (cri-client inspectp's JSON) and POD_NETNS (its netns path).
run_pod() {
	_n=$1 _h=${2:-}
	shift
	[ $# -gt 0 ] && shift
	set -- --name "$_n" --namespace rdma-test --uid "uid-$_n" --handler "$_h" $(for _a in "$@"; do printf -- '--annotation %s ' "$_a"; done)
	_t=$(uptime_s)
	cri runp "$@"
	echo "    (RunPodSandbox $_n${_h:+ on $_h} took $(since "$_t") s)"
	POD=""
	POD_NETNS=""
	[ "$CRI_RC" = 0 ] || return 0
	POD=$CRI_OUT
	cri inspectp "$POD"
	POD_STATUS=$CRI_OUT
	POD_NETNS=$(json_str "$CRI_OUT" netns)
}

# lister POD : a container in POD that sleeps, created and started as kubelet does. Sets CTR.
lister() {
	CTR=""
	cri create "$1" --name lister --image "$IMAGE" -- sleep 1000
	check_cri "CreateContainer in $1"
	CTR=$CRI_OUT
	cri start "$CTR"
	check_cri "StartContainer $CTR"
}

# assert_pod_holds POD NETNS DEV DEVICEID NETWORK : the sandbox is ready (POD_STATUS, from
# run_pod), its netns holds DEV (and the host does not), one record says so
assert_pod_holds() {
	check_eq "PodSandboxStatus: $1 ready" READY "$(json_str "$POD_STATUS" state)"
	case "$2" in /var/run/netns/cni-*) _pass "its netns is $2" ;; *) _fail "its netns is /var/run/netns/cni-* (got '$2')" ;; esac
	[ -n "$2" ] && assert_in_pod "$(basename "$2")" "$3"
	NET=$5 assert_record "$1" eth0 "$4" "$3" "$2"
}

# assert_all_home [SECONDS] : every RDMA device back on the host, no CRI netns, no record, no lock
# held
assert_all_home() {
	_n=$((${1:-30} * 10))
	while [ "$_n" -gt 0 ]; do
		[ "$(rdma_devs_host | sort | tr '\n' ' ')" = "$ALL_DEVS" ] && [ -z "$(cri_netns)" ] && break
		sleep 0.1
		_n=$((_n - 1))
	done
	check_eq "every RDMA device on the host" "$ALL_DEVS" "$(rdma_devs_host | sort | tr '\n' ' ')"
	check_eq "no CRI netns left" "" "$(cri_netns | tr '\n' ' ')"
	check_eq "no attachment record left" 0 "$(record_count)"
	check_eq "no lock held" "" "$(held_locks | tr '\n' ' ')"
}

# remove_all_pods : StopPodSandbox and RemovePodSandbox of every sandbox containerd knows
remove_all_pods() {
	cri pods
	for _p in $(echo "$CRI_OUT" | cut -d' ' -f1); do
		"$CRI" stopp "$_p" 2>/dev/null
		"$CRI" rmp "$_p" 2>/dev/null
	done
	return 0
}

# containerd stopped (SIGTERM, as systemd stops it; its shims and pods run on) and started again
containerd_stop() {
	_pid=$(pidof containerd)
	check_eq "one containerd running (pid file: $(cat /run/containerd.pid))" 1 "$(echo $_pid | wc -w)"
	kill "$_pid"
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	check_not "containerd ($_pid) exited" kill -0 "$_pid"
}
containerd_start() {
	check "containerd started again" sh /etc/testbed/containerd-setup.sh start
}

. ./plugin-layout.sh
