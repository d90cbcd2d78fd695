# bench/quiet-ab.sh: two engine builds on a quiet node, in turn in one boot (issue 20), so both meet
# the same host load. Runs in the test VM; the plugin's 9p share (/mnt/build) holds the two builds
# as rdma (new) and rdma-old, the payload cnibench, floor (static, as bench/run builds them) and
# rdma-shim. Output: bench/report.ts's quiet lines, sections suffixed -old / -new. Host side:
#   mkdir -p D/p && cp OLD/build/rdma D/rdma-old && cp build/rdma D/ && cp build/rdma-shim bench/quiet-ab.sh D/p/
#   musl-gcc -static -Os -o D/p/cnibench bench/cnibench.c && musl-gcc -static -Os -o D/p/floor bench/floor.c
#   RDMA_TESTBED_PLUGIN=D/rdma RDMA_TESTBED_TIMEOUT=1800 test/vm/run --pci 0 --aux 1 D/p -- env ROUNDS=2 sh quiet-ab.sh >ab.txt
#   node_modules/.bin/bun bench/report.ts ab.txt ab.json ab.svg   (the quiet table, a row per section)
set -u
P=/payload; BIN=/opt/cni/bin; SOCK=/run/rdma-cni/engine.sock
rm -f $BIN/rdma; cp $P/rdma-shim $BIN/rdma
cp /mnt/build/rdma $BIN/rdma-new; cp /mnt/build/rdma-old $BIN/rdma-old
ip netns add bseq
idx=$(rdma dev show | sed -n "s/^\([0-9]*\): simsf0: .*/\1/p")
export BENCH_STDERR=/tmp/bench.stderr
echo "meta date $(date -u +%Y-%m-%dT%H-%M-%SZ)"
echo "meta quiet_gaps 2000 5000"
echo "meta quiet_reps ${GAPN:-8}"
echo "meta quiet_warmup 10"
echo "meta reps 10"
$P/cnibench seq $P/floor 3 rdma_sim.sf.0 $idx /var/run/netns/bseq >/dev/null
pid=""
start() {
	[ -n "$pid" ] && { kill $pid; wait $pid; }
	rm -f $BIN/rdma-engine; cp $BIN/rdma-$1 $BIN/rdma-engine
	$BIN/rdma-engine engine --socket $SOCK --log-level info 2>>/tmp/engine-$1.log &
	pid=$!
	i=0; while [ ! -S $SOCK ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
}
rss() { echo "engine_rss $1 $(grep -E '^(VmRSS|VmHWM)' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"; }
gap() { $P/cnibench gap "$1" "$2" rdma_sim.sf.0 $idx /var/run/netns/bseq floor $P/floor engine $BIN/rdma; }
for round in $(seq ${ROUNDS:-2}); do
	for v in old new; do
		start $v; sleep 2; rss start-$v; echo "quiet first-$v"; gap 2000 1
		start $v; echo "quiet gap2000-$v"; gap 2000 ${GAPN:-8}
		start $v; echo "quiet gap5000-$v"; gap 5000 ${GAPN5:-5}
		start $v; $P/cnibench seq $BIN/rdma 10 rdma_sim.sf.0 $idx /var/run/netns/bseq >/dev/null
		echo "quiet b2b-$v"; $P/cnibench alt floor $P/floor engine $BIN/rdma 10 rdma_sim.sf.0 $idx /var/run/netns/bseq
		rss b2b-$v
	done
done
kill $pid; wait $pid
echo "meta errors $(grep -c '"level":"error"' /tmp/bench.stderr 2>/dev/null)"
grep -h rehearsed /tmp/engine-new.log | sed 's/^/log /'
echo done
