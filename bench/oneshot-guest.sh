# The one-shot profile inside the test VM (bench/oneshot-profile): where a one-shot call's time
# goes, for a baseline executable (A) and the current one (B). busybox sh; every time is taken by
# cnibench around a fresh process, or inside the process (ffi-cost).
set -u
REPS=${BENCH_REPS:-20}
D=/opt/bench
O=/mnt/build/bench/oneshot
mkdir -p $D
for f in hello ffi-cost rdma-a rdma-b rdma-prof-a rdma-prof-b; do cp $O/$f $D/$f; done
cp /payload/floor /payload/cnibench $D/
export BENCH_STDERR=/tmp/bench.stderr
ip netns add bseq
idx=$(rdma dev show | sed -n 's/^\([0-9]*\): simsf0: .*/\1/p')
run() { $D/cnibench seq "$1" "$2" rdma_sim.sf.0 "$idx" /var/run/netns/bseq; }
# one call of each executable in turn, REPS times: timing in this VM drifts, interleaving puts
# every executable under the same conditions
for exe in hello rdma-a rdma-b; do $D/cnibench version $D/$exe 3 >/dev/null; done
i=0
while [ $i -lt "$REPS" ]; do
	for exe in hello rdma-a rdma-b; do
		echo "series version $exe"
		$D/cnibench version $D/$exe 1
	done
	i=$((i + 1))
done
for m in all each one; do
	i=0
	while [ $i -lt 10 ]; do $D/ffi-cost $m; i=$((i + 1)); done
done
for exe in floor rdma-a rdma-b; do run $D/$exe 3 >/dev/null; done
i=0
while [ $i -lt "$REPS" ]; do
	for exe in floor rdma-a rdma-b; do
		echo "series cycle $exe"
		run $D/$exe 1
	done
	i=$((i + 1))
done
echo "check devices_on_host $(rdma dev show | grep -c simsf) records $(ls /run/cni/rdma/attachments 2>/dev/null | grep -c .)"
conf='{"cniVersion":"1.0.0","name":"bench","type":"rdma","deviceID":"rdma_sim.sf.0","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/var/run/netns/bseq"}],"ips":[]}}'
for exe in rdma-prof-a rdma-prof-b; do
	for verb in ADD DEL; do
		rm -rf /tmp/prof && mkdir /tmp/prof
		echo "$conf" | BUN_OPTIONS="--cpu-prof-md --cpu-prof-dir=/tmp/prof" CNI_COMMAND=$verb CNI_CONTAINERID=prof CNI_NETNS=/var/run/netns/bseq CNI_IFNAME=net1 CNI_PATH=/opt/cni/bin $D/$exe >/dev/null 2>>/tmp/bench.stderr
		echo "profile $exe $verb"
		sed -n '1,/^## Function Details/p' /tmp/prof/*.md | grep -v '^## Function Details' | sed 's/^/| /'
	done
done
echo "done"
