# The benchmark inside the test VM (busybox sh, run by test/vm/run from /payload). The shell only
# sets things up; every time is taken by cnibench (C) around a fresh plugin process, so no shell
# fork is in any figure. Output: lines for bench/report.ts (see its parser), nothing else on stdout.
#
# Modes, each called exactly as a runtime calls a plugin:
#   floor     /payload/floor: one RDMA netlink SET per call, nothing else (the lowest possible)
#   engine    /opt/cni/bin/rdma = the shim, forwarding to `rdma engine` (the fast path)
#   oneshot   the Bun executable run per call (what ships today)
#   fallback  the shim with no engine running: it execs the Bun executable one-shot
set -u
REPS=${BENCH_REPS:-50}
LOAD=${BENCH_LOAD:-32}
# Untimed cycles before the engine's timed run, at every scale: JavaScriptCore compiles hot code
# in tiers, and an engine serves its first ~50 calls at about 1.5x its steady-state latency (in
# this VM). The timed "engine" run is the long-running engine a node has after its first pods;
# "engine-cold" times the first calls of a freshly started engine, once.
ENGINE_WARMUP=${BENCH_ENGINE_WARMUP:-150}
SCALES=${BENCH_SCALES:-1 16 256}
# The burst: BURST pods at once, each on its own device, with every move sleeping MOVE_DELAY_MS in
# the kernel (rdma_sim's move_delay_ms, as a real NIC waits on firmware), ROUNDS rounds of every
# mode in turn. 0 pods skips it.
BURST=${BENCH_BURST:-16}
MOVE_DELAY_MS=${BENCH_MOVE_DELAY_MS:-1000}
BURST_ROUNDS=${BENCH_BURST_ROUNDS:-2}
# The quiet node (issue 20), first, on freshly started engines: QUIET_REPS cycles of the floor, the
# engine and the one-shot executable in turn, each after QUIET_GAPS ms of idle (one gap per new
# engine); the first cycle of QUIET_FIRST new engines (2 s after each binds its socket, the floor's
# cycle 2 s before it); and back to back on a new engine after QUIET_WARMUP untimed cycles. 0
# QUIET_REPS skips it.
QUIET_REPS=${BENCH_QUIET_REPS:-10}
QUIET_GAPS=${BENCH_QUIET_GAPS:-2000 5000}
QUIET_FIRST=${BENCH_QUIET_FIRST:-3}
QUIET_WARMUP=${BENCH_QUIET_WARMUP:-10}
DELAY_PARAM=/sys/module/rdma_sim/parameters/move_delay_ms
P=/payload
BIN=/opt/cni/bin
SOCK=/run/rdma-cni/engine.sock
export BENCH_STDERR=/tmp/bench.stderr
MOD=/lib/modules/$(uname -r)/rdma_sim.ko

echo "meta kernel $(uname -r)"
echo "meta cpus $(grep -c ^processor /proc/cpuinfo)"
echo "meta mem_kb $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
echo "meta reps $REPS"
echo "meta load $LOAD"
echo "meta engine_warmup $ENGINE_WARMUP"
echo "meta burst $BURST"
echo "meta move_delay_ms $MOVE_DELAY_MS"
echo "meta burst_rounds $BURST_ROUNDS"
echo "meta quiet_reps $QUIET_REPS"
echo "meta quiet_gaps $QUIET_GAPS"
echo "meta quiet_first $QUIET_FIRST"
echo "meta quiet_warmup $QUIET_WARMUP"

# The layout a node with the DaemonSet has: the shim as /opt/cni/bin/rdma, the Bun executable next
# to it as rdma-engine (its one-shot fallback), both copied onto the guest's own root file system as
# the installer copies them onto a node's disk: exec'ing from the 9p share would add its costs.
rm -f $BIN/rdma
cp $P/rdma-shim $BIN/rdma
cp /mnt/build/rdma $BIN/rdma-engine

engine_pid=""
start_engine() {
	$BIN/rdma-engine engine --socket $SOCK 2>>/tmp/engine.log &
	engine_pid=$!
	i=0
	while [ ! -S $SOCK ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S $SOCK ] || { echo "fatal engine did not start"; cat /tmp/engine.log; exit 1; }
}
stop_engine() {
	kill "$engine_pid"
	wait "$engine_pid" 2>/dev/null
	engine_pid=""
}
new_engine() {
	stop_engine
	start_engine
}
# "engine_rss LABEL VmRSS: N kB VmHWM: N kB" of the running engine
engine_rss() { echo "engine_rss $1 $(grep -E '^(VmRSS|VmHWM)' /proc/$engine_pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"; }

# untimed EXE CYCLES: warm-up cycles on the timed device and netns, output dropped
untimed() { $P/cnibench seq "$1" "$2" rdma_sim.sf.0 "$idx" /var/run/netns/bseq >/dev/null; }

exe_of() {
	case $1 in
	floor) echo $P/floor ;;
	engine | engine-cold | fallback) echo $BIN/rdma ;;
	oneshot) echo $BIN/rdma-engine ;;
	esac
}

# the RDMA device index of simsfN, as RDMA netlink numbers it (it changes when the module reloads)
index_of() { rdma dev show | sed -n "s/^\([0-9]*\): $1: .*/\1/p"; }
host_simsf() { rdma dev show | grep -c ': simsf'; }
records() { ls /run/cni/rdma/attachments 2>/dev/null | grep -c . || true; }

load_module() {
	# unregistering a device goes through the delayed path too: no delay while the module goes
	[ -w $DELAY_PARAM ] && echo 0 >$DELAY_PARAM
	rmmod rdma_sim 2>/dev/null
	insmod "$MOD" num_sf="$1" || { echo "fatal insmod num_sf=$1"; exit 1; }
	n=0
	while [ "$(host_simsf)" != "$1" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
}

ip netns add bseq
i=0
while [ $i -lt "$LOAD" ]; do ip netns add "bp$i"; i=$((i + 1)); done
start_engine
echo "meta engine_start_ok 1"

if [ "$QUIET_REPS" -gt 0 ]; then
	idx=$(index_of simsf0)
	# the executables' pages in the page cache, as on a node that ran them before; not the engine
	untimed $P/floor 3
	untimed $BIN/rdma-engine 2
	k=0
	while [ $k -lt "$QUIET_FIRST" ]; do
		new_engine
		sleep 2
		engine_rss start
		echo "quiet first"
		$P/cnibench gap 2000 1 rdma_sim.sf.0 "$idx" /var/run/netns/bseq floor $P/floor engine $BIN/rdma
		k=$((k + 1))
	done
	for gap in $QUIET_GAPS; do
		new_engine
		echo "quiet gap$gap"
		$P/cnibench gap "$gap" "$QUIET_REPS" rdma_sim.sf.0 "$idx" /var/run/netns/bseq floor $P/floor engine $BIN/rdma oneshot $BIN/rdma-engine
		echo "check quiet engine devices_on_host $(host_simsf) records $(records)"
	done
	new_engine
	untimed $BIN/rdma "$QUIET_WARMUP"
	echo "quiet b2b"
	$P/cnibench alt floor $P/floor engine $BIN/rdma "$REPS" rdma_sim.sf.0 "$idx" /var/run/netns/bseq
	echo "check quiet engine devices_on_host $(host_simsf) records $(records)"
	engine_rss quiet
	new_engine
fi

for scale in $SCALES; do
	load_module "$scale"
	echo "scale $scale $(host_simsf)"
	idx=$(index_of simsf0)
	modes="floor+engine floor+oneshot"
	[ "$scale" = "$(echo $SCALES | cut -d' ' -f1)" ] && modes="engine-cold floor+engine floor+oneshot fallback"
	for mode in $modes; do
		if [ "$mode" = floor+engine ]; then
			# the floor and the warm engine, a cycle of each in turn (cnibench alt)
			untimed "$(exe_of floor)" 3
			untimed "$(exe_of engine)" "$ENGINE_WARMUP"
			$P/cnibench alt floor "$(exe_of floor)" engine "$(exe_of engine)" "$REPS" rdma_sim.sf.0 "$idx" /var/run/netns/bseq
			echo "check seq floor devices_on_host $(host_simsf) records $(records)"
			echo "check seq engine devices_on_host $(host_simsf) records $(records)"
			continue
		fi
		if [ "$mode" = floor+oneshot ]; then
			# the one-shot executable interleaved with the floor too; the floor's cycles of this
			# pairing are filed as "floor-oneshot", the one-shot's ratio is to them
			untimed "$(exe_of floor)" 3
			untimed "$(exe_of oneshot)" 3
			$P/cnibench alt floor-oneshot "$(exe_of floor)" oneshot "$(exe_of oneshot)" "$REPS" rdma_sim.sf.0 "$idx" /var/run/netns/bseq
			echo "check seq floor-oneshot devices_on_host $(host_simsf) records $(records)"
			echo "check seq oneshot devices_on_host $(host_simsf) records $(records)"
			continue
		fi
		[ "$mode" = fallback ] && stop_engine
		exe=$(exe_of $mode)
		# warm-up, not counted: the first calls fault the executable's pages in (none for
		# engine-cold: its point is the first calls of a new engine)
		warm=3
		[ "$mode" = engine-cold ] && warm=0
		untimed "$exe" "$warm"
		echo "mode $mode"
		$P/cnibench seq "$exe" "$REPS" rdma_sim.sf.0 "$idx" /var/run/netns/bseq
		echo "check seq $mode devices_on_host $(host_simsf) records $(records)"
		[ "$mode" = fallback ] && start_engine
	done
	if [ "$scale" -ge "$((LOAD * 4))" ]; then
		# LOAD pods at once, each its own device (spread over the bus) and netns
		args=""
		i=0
		while [ $i -lt "$LOAD" ]; do
			k=$((i * scale / LOAD))
			args="$args rdma_sim.sf.$k $(index_of simsf$k) /var/run/netns/bp$i"
			i=$((i + 1))
		done
		for mode in floor engine oneshot; do
			[ "$mode" = engine ] && untimed "$(exe_of engine)" "$ENGINE_WARMUP"
			echo "load $mode $LOAD"
			# shellcheck disable=SC2086
			$P/cnibench par "$(exe_of $mode)" $args
			echo "check load $mode devices_on_host $(host_simsf) records $(records)"
			[ "$mode" = engine ] && engine_rss load
		done
	fi
done

if [ "$BURST" -gt 0 ]; then
	# BURST devices and netns of their own; the delay is set only for the timed bursts (the
	# engine's warm-up on the new module's indexes runs without it)
	load_module "$BURST"
	echo "scale burst $(host_simsf)"
	idx=$(index_of simsf0)
	untimed "$(exe_of engine)" 20
	args=""
	i=0
	while [ $i -lt "$BURST" ]; do
		ip netns add "bb$i"
		args="$args rdma_sim.sf.$i $(index_of simsf$i) /var/run/netns/bb$i"
		i=$((i + 1))
	done
	echo "$MOVE_DELAY_MS" >$DELAY_PARAM
	# engine-cold: the first burst of a new engine, whose pool holds only its spare threads (and
	# starts the rest during the burst); the rounds after it meet the pool that burst grew, as a
	# node's engine meets the next wave of pods (its threads retire one a minute)
	stop_engine
	start_engine
	echo 0 >$DELAY_PARAM
	untimed "$(exe_of engine)" 20
	echo "$MOVE_DELAY_MS" >$DELAY_PARAM
	echo "burst engine-cold $BURST $MOVE_DELAY_MS 0"
	# shellcheck disable=SC2086
	$P/cnibench par "$(exe_of engine)" $args
	echo "check burst engine-cold devices_on_host $(host_simsf) records $(records)"
	round=0
	while [ $round -lt "$BURST_ROUNDS" ]; do
		# the modes in turn, so every mode meets the same VM weather
		for mode in floor engine oneshot; do
			echo "burst $mode $BURST $MOVE_DELAY_MS $round"
			# shellcheck disable=SC2086
			$P/cnibench par "$(exe_of $mode)" $args
			echo "check burst $mode devices_on_host $(host_simsf) records $(records)"
		done
		round=$((round + 1))
	done
	echo 0 >$DELAY_PARAM
fi

echo "engine_status $(grep -E '^(VmRSS|VmHWM)' /proc/$engine_pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
echo "meta engine_log_warnings $(grep -c '"level":"\(warn\|error\)"' /tmp/engine.log || true)"
stop_engine
echo "meta plugin_stderr_errors $(grep -c '"level":"error"' /tmp/bench.stderr 2>/dev/null || true)"
grep '"level":"error"' /tmp/bench.stderr 2>/dev/null | head -5 | sed 's/^/stderr /'
echo "done"
