# One attachment, one device: two ADDs at once for the same container and interface, naming
# different devices. Exactly one device leaves the host, exactly one record names it, the other
# call fails cleanly (103: the attachment already holds the first's device; 11 if it waited
# longer than the lock wait) having moved nothing; DEL brings the device home and leaves no lock
# file. Some rounds with rdma_sim's move delay, so the second ADD surely arrives mid-move.
. ./lib.sh
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/x"}],"ips":[]}'
ROUNDS=${RACE_ROUNDS:-6}
DELAY=/sys/module/rdma_sim/parameters/move_delay_ms
work=/tmp/attrace
rm -rf "$work"
mkdir -p "$work"

# call ID COMMAND DEVICEID : one plugin call for cid-x/net1 in pod "attrace", in its own files
call() {
	printf '%s' "$(rdma_conf "$3" "$PREV")" | env CNI_COMMAND="$2" CNI_CONTAINERID=cid-x \
		CNI_NETNS="$(ns_path attrace)" CNI_IFNAME=net1 CNI_PATH="$CNI_BIN" \
		"$CNI_BIN/rdma" >"$work/$1.out" 2>"$work/$1.err"
	echo $? >"$work/$1.rc"
}
locks_left() { ls "$STATE_DIR/locks" 2>/dev/null | grep -c . || true; }

ida=rdma_sim.sf.0
idb=rdma_sim.sf.1
rda=$(rdma_of $ida)
rdb=$(rdma_of $idb)
check "$ida and $idb have RDMA devices ($rda, $rdb)" test -n "$rda" -a -n "$rdb"
check "rdma_sim has move_delay_ms" test -w "$DELAY"

i=1
while [ $i -le "$ROUNDS" ]; do
	# odd rounds: no delay; even rounds: each move sleeps 500 ms in the kernel
	if [ $((i % 2)) = 0 ]; then delay=500; else delay=0; fi
	echo "$delay" >"$DELAY"
	section "round $i: ADD $ida and ADD $idb at once for cid-x/net1 (move delay ${delay} ms)"
	mkpod attrace
	call a ADD $ida &
	call b ADD $idb &
	wait
	ra=$(cat "$work/a.rc")
	rb=$(cat "$work/b.rc")
	check_eq "round $i: exactly one ADD succeeded" 1 "$(((ra == 0) + (rb == 0)))"
	if [ "$ra" = 0 ]; then win=$ida wrd=$rda lrd=$rdb lid=b; else win=$idb wrd=$rdb lrd=$rda lid=a; fi
	lcode=$(json_num "$(cat "$work/$lid.out")" code)
	case "$lcode" in
	103 | 11) _pass "round $i: the other ADD failed cleanly with $lcode: $(json_str "$(cat "$work/$lid.out")" msg | cut -c1-110)" ;;
	*) _fail "round $i: the other ADD failed with 103 or 11 (got '$(cat "$work/$lid.out")')" ;;
	esac
	check "round $i: the winner's device $wrd is in the pod" in_ns attrace "$wrd"
	check_not "round $i: ... and not on the host" on_host "$wrd"
	check "round $i: the loser's device $lrd stayed on the host" on_host "$lrd"
	check_not "round $i: ... and is not in the pod" in_ns attrace "$lrd"
	check_eq "round $i: exactly one record" 1 "$(record_count)"
	check_eq "round $i: the record names the winner's device" "$win" "$(json_str "$(cat "$REC_DIR"/*.json 2>/dev/null)" deviceId)"
	call d DEL $ida
	check_eq "round $i: DEL" 0 "$(cat "$work/d.rc")"
	check "round $i: $wrd back on the host" on_host "$wrd"
	check_eq "round $i: no record left" 0 "$(record_count)"
	check_eq "round $i: no lock file left" 0 "$(locks_left)"
	[ "$(locks_left)" = 0 ] || ls -la "$STATE_DIR/locks" | sed 's/^/    /'
	ip netns del attrace
	i=$((i + 1))
done
echo 0 >"$DELAY"
