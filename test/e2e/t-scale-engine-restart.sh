# Engine restarts under load, in the boot with 256 auxiliary devices: 32 pods, each doing ADD/DEL
# cycles on a device of its own through the shim, while the engine is stopped with SIGTERM and
# restarted, then killed with SIGKILL and restarted, several times each. Every call must get a
# valid CNI answer (exit 0, or an error a runtime retries: code 11, counted apart); at the end
# every device is home and no record is left. The figures printed at the end go into the
# README's Guarantees section and docs/deploy.md.
. ./lib.sh
SHIM=/mnt/build/rdma-shim
PODS=${RESTART_PODS:-32}
TERMS=${RESTART_TERMS:-3}
KILLS=${RESTART_KILLS:-3}
# An engine lives until it has served this many calls, or for LIFE_MAX seconds: each stop hits
# calls in flight and queued. After a restart the pods first finish their one-shot runs (tens of
# seconds at 32 at once under emulation), hence the time cap.
SERVED_PER_LIFE=${RESTART_SERVED:-8}
LIFE_MAX=${RESTART_LIFE_MAX:-40}
# a pod's pause between its calls: 32 pods still keep the engine's queue full
PAUSE=${RESTART_PAUSE:-0.5}
# The pods run at the lowest CPU priority (this script again, with --pod K): on the one emulated
# vCPU, 32 pods' shell work and one-shot runs (a Bun process each, p99 ~25 s in docs/bench.md)
# would otherwise starve the engine and its restarts for minutes, and every call meanwhile would
# run one-shot too. The order of events is the same; the engine is only not queued behind them.
NICE=${RESTART_NICE:-19}
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/x"}],"ips":[]}'
work=/tmp/restart

export RDMA_CNI_ENGINE_SOCKET=/run/rdma-cni-e2e/engine.sock
SOCK=$RDMA_CNI_ENGINE_SOCKET

uptime_s() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }
# served LOG : calls the engine of that log answered
served() { grep -c '"msg":"engine: served"' "$1" 2>/dev/null || true; }

lives=0
# start_engine : a new engine with a log of its own; waits until it listens
start_engine() {
	lives=$((lives + 1))
	elog=$work/engine.$lives.log
	$CNI_BIN/rdma-engine engine --socket $SOCK --log-level debug >"$elog" 2>&1 &
	epid=$!
	_i=0
	while ! grep -q '"msg":"engine listening"' "$elog" && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	check "engine $lives (pid $epid) listens on $SOCK" grep -q '"msg":"engine listening"' "$elog"
}
# until_served N SECONDS : waits until the running engine has answered N calls, at most SECONDS.
# Polls twice a second: this loop runs at normal priority, and under emulation every grep is a
# fork and exec that the niced pods would wait for.
until_served() {
	_end=$(awk -v a="$(uptime_s)" -v b="$2" 'BEGIN { print int(a + b) }')
	while [ "$(served "$elog")" -lt "$1" ] && [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ]; do
		sleep 0.5
	done
}
# stop_engine SIGNAL : stops the engine under load and waits for it to be gone
stop_engine() {
	until_served "$SERVED_PER_LIFE" "$LIFE_MAX"
	kill -"$1" "$epid"
	wait "$epid" 2>/dev/null
	echo "    engine $lives: SIG$1 after $(served "$elog") calls served, at ${T0:+$(since "$T0")}s"
}

# call K VERB : one call of pod K through the shim; appends "VERB ok|retry|fail" to K.calls and
# checks where the device is after a successful one. Uses the pod's CONF, NS and RD. On the host
# by its sysfs entry, not `rdma dev show`: in one run `rdma dev show` on the host, taken while
# other pods' devices were moving, missed 6 devices that a DEL had just put back (the final
# checks, with nothing moving, found all of them home; sysfs had not been checked). Perhaps the
# dump of 257 devices, which comes in several batches: not verified. Both views are still compared
# after every DEL and the mismatches printed ("observed: ..."); 0 in the next run.
call() {
	_out=$(printf '%s' "$CONF" | env CNI_COMMAND="$2" CNI_CONTAINERID="c$1" CNI_NETNS="$NS" \
		CNI_IFNAME=net1 CNI_PATH="$CNI_BIN" "$CNI_BIN/rdma-thick" 2>>"$work/$1.err")
	_rc=$?
	_kind=ok
	if [ $_rc != 0 ]; then
		_code=$(json_num "$_out" code)
		if [ "$_code" = 11 ] && json_has "$_out" msg '"'; then _kind=retry; else _kind=fail; fi
	elif [ "$2" = ADD ] && [ "$(json_squash "$_out")" != "$PREV" ]; then
		_kind=fail
	elif [ "$2" = ADD ] && ! in_ns "p$1" "$RD"; then
		_kind=fail
		_out="exit 0 but $RD is not in p$1"
	elif [ "$2" = DEL ] && ! sysfs_host "$RD"; then
		_kind=fail
		_out="exit 0 but $RD is not on the host"
	elif [ "$2" = DEL ] && ! on_host "$RD"; then
		echo "$RD" >>"$work/$1.dumpmiss" # on the host by sysfs, missing from `rdma dev show`
	fi
	echo "$2 $_kind" >>"$work/$1.calls"
	if [ $_kind != ok ]; then
		echo "pod $1: $2 exit $_rc: $_out" >>"$work/$1.bad"
		tail -n 5 "$work/$1.err" | sed 's/^/    stderr: /' >>"$work/$1.bad"
	fi
	[ $_kind = ok ]
}
# pod K : ADD/DEL cycles until told to stop, then DEL until one succeeds (what a runtime does)
pod() {
	CONF=$(rdma_conf "rdma_sim.sf.$1" "$PREV")
	NS=$(ns_path "p$1")
	RD=$(cat "$work/$1.rd")
	while [ ! -e "$work/stop" ]; do
		call "$1" ADD
		sleep "$PAUSE"
		call "$1" DEL
		sleep "$PAUSE"
	done
	_n=0
	while ! grep -q . "$work/$1.calls" || [ "$(tail -n 1 "$work/$1.calls")" != "DEL ok" ]; do
		[ $_n -ge 10 ] && break
		call "$1" DEL
		_n=$((_n + 1))
	done
}

if [ "${1:-}" = --pod ]; then
	renice -n "$NICE" -p $$ >/dev/null # busybox has renice, not nice
	pod "$2"
	exit 0
fi

check "build/rdma-shim reached the guest (make build/rdma-shim)" test -x "$SHIM"
[ -x "$SHIM" ] || exit 0
# the node's layout: the shim is the plugin, the Bun executable next to it its one-shot fallback
cp "$SHIM" $CNI_BIN/rdma-thick
ln -sf /mnt/build/rdma $CNI_BIN/rdma-engine
rm -rf "$work"
mkdir -p "$work"
k=0
while [ $k -lt "$PODS" ]; do
	mkpod "p$k"
	rdma_of "rdma_sim.sf.$k" >"$work/$k.rd"
	: >"$work/$k.calls"
	k=$((k + 1))
done
check "$PODS devices found on the host" test "$(cat "$work"/*.rd | grep -c .)" = "$PODS"

section "$PODS pods cycling ADD/DEL through the shim; the engine stopped $TERMS times with SIGTERM, $KILLS with SIGKILL"
rm -f $SOCK
# the lowest MemAvailable while the test runs: 32 one-shot runs at once are 32 Bun processes
(
	low=999999999
	while [ ! -e "$work/stop" ]; do
		m=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
		[ "$m" -lt "$low" ] && low=$m && echo "$low" >"$work/memlow"
		sleep 2
	done
) &
start_engine
t0=$(uptime_s)
T0=$t0
pod_pids=""
k=0
while [ $k -lt "$PODS" ]; do
	sh "$0" --pod $k &
	pod_pids="$pod_pids $!"
	k=$((k + 1))
done
stale_ok=0
n=0
while [ $n -lt "$TERMS" ]; do
	stop_engine TERM
	start_engine # calls meanwhile find no engine (connection refused) and run one-shot
	echo "    engine $lives listening at $(since "$t0")s"
	n=$((n + 1))
done
# While the engine is killed, every move sleeps in the kernel (rdma_sim's move_delay_ms), so each
# SIGKILL lands on calls in flight: the engine answers them no more, and the shim must run them
# one-shot. (With the drain on SIGTERM and 16 threads, a kill on an idle moment proves nothing.)
DELAY=/sys/module/rdma_sim/parameters/move_delay_ms
echo "${RESTART_KILL_MOVE_DELAY_MS:-1500}" >$DELAY
n=0
while [ $n -lt "$KILLS" ]; do
	stop_engine KILL
	if [ -S $SOCK ]; then stale_ok=$((stale_ok + 1)); fi
	start_engine # over the stale socket the killed engine left
	echo "    engine $lives listening at $(since "$t0")s"
	n=$((n + 1))
done
echo 0 >$DELAY
until_served "$SERVED_PER_LIFE" "$LIFE_MAX"
touch "$work/stop"
# shellcheck disable=SC2086
wait $pod_pids
t1=$(uptime_s)
kill -TERM "$epid"
wait "$epid" 2>/dev/null
check_eq "the stale socket was there at each restart after SIGKILL" "$KILLS" "$stale_ok"

calls=$(cat "$work"/*.calls | grep -c .)
ok=$(cat "$work"/*.calls | grep -c ' ok$' || true)
retry=$(cat "$work"/*.calls | grep -c ' retry$' || true)
failed=$(cat "$work"/*.calls | grep -c ' fail$' || true)
# the shim's note when an engine took a call and went away without an answer
resets=$(cat "$work"/*.err | grep -c 'rdma-shim: the engine reset the connection without an answer' || true)
lost=$(cat "$work"/*.err | grep -c 'rdma-shim: the engine .*; running the call one-shot' || true)
by_engine=0
for f in "$work"/engine.*.log; do by_engine=$((by_engine + $(served "$f"))); done
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "    figures: $calls calls in ${wall}s over $((TERMS + KILLS)) restarts ($TERMS SIGTERM, $KILLS SIGKILL) of the engine, $PODS pods"
echo "    figures: $ok ok, $retry try-again-later (code 11), $failed failed; $by_engine answered by an engine, $((calls - by_engine)) by a one-shot run"
dumpmiss=$(cat "$work"/*.dumpmiss 2>/dev/null | grep -c . || true)
echo "    observed: after $dumpmiss successful DELs the device was on the host by sysfs but missing from the host's \`rdma dev show\`"
echo "    figures: $lost calls lost by a stopped engine and run one-shot, $resets of them after a reset; lowest MemAvailable $(($(cat "$work/memlow") / 1024)) MiB"
check "calls were made ($calls)" test "$calls" -gt "$((PODS * 2))"
check "some calls fell back to one-shot while the engine was down ($((calls - by_engine)))" test "$((calls - by_engine))" -gt 0
check "calls in flight when the engine was killed were run one-shot ($lost, $resets of them after a reset)" test "$lost" -gt 0
check_eq "calls that failed (no valid CNI answer, or the device not where the answer says)" 0 "$failed"
[ "$failed" = 0 ] || cat "$work"/*.bad | head -n 30 | sed 's/^/    /'
last_bad=0
k=0
while [ $k -lt "$PODS" ]; do
	[ "$(tail -n 1 "$work/$k.calls")" = "DEL ok" ] || last_bad=$((last_bad + 1))
	k=$((k + 1))
done
check_eq "every pod's last call is a successful DEL" 0 "$last_bad"

home=0
away=0
k=0
while [ $k -lt "$PODS" ]; do
	rd=$(cat "$work/$k.rd")
	on_host "$rd" && home=$((home + 1))
	in_ns "p$k" "$rd" && away=$((away + 1))
	k=$((k + 1))
done
check_eq "every device back on the host" "$PODS" "$home"
check_eq "no device left in a pod" 0 "$away"
check_eq "no record left in $REC_DIR" 0 "$(record_count)"

k=0
while [ $k -lt "$PODS" ]; do
	ip netns del "p$k"
	k=$((k + 1))
done
rm -f $CNI_BIN/rdma-thick $CNI_BIN/rdma-engine
