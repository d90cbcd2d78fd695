# Races, in the boot with 256 auxiliary devices: the same device asked for by two pods at once
# (one wins, the other gets a clear error, nothing half-done), and 32 ADD/DEL cycles at once on
# different devices for several rounds (no error, every device back home at the end).
. ./lib.sh
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/x"}],"ips":[]}'
ROUNDS=${RACE_ROUNDS:-3}
PAR=${RACE_PARALLEL:-32}
work=/tmp/race
rm -rf "$work"
mkdir -p "$work"

# call ID COMMAND CID NS DEVICEID : one plugin call in the background's own files
call() {
	printf '%s' "$(rdma_conf "$5" "$PREV")" | env CNI_COMMAND="$2" CNI_CONTAINERID="$3" \
		CNI_NETNS="$(ns_path "$4")" CNI_IFNAME=net1 CNI_PATH="$CNI_BIN" \
		"$CNI_BIN/rdma" >"$work/$1.out" 2>"$work/$1.err"
	echo $? >"$work/$1.rc"
}

section "the same device asked for by two pods at once"
id=rdma_sim.sf.0
rd=$(rdma_of "$id")
for i in 1 2 3 4 5; do
	mkpod racea
	mkpod raceb
	call a ADD cid-a racea "$id" &
	call b ADD cid-b raceb "$id" &
	wait
	ra=$(cat "$work/a.rc")
	rb=$(cat "$work/b.rc")
	if [ "$ra" = 0 ]; then win=racea lose=raceb lid=b; else win=raceb lose=racea lid=a; fi
	check_eq "round $i: exactly one ADD succeeded" 1 "$(( (ra == 0) + (rb == 0) ))"
	check "round $i: the winner's netns holds $rd" in_ns "$win" "$rd"
	check_not "round $i: the loser's netns does not" in_ns "$lose" "$rd"
	check_not "round $i: the host does not" on_host "$rd"
	check_eq "round $i: the loser got error 103 (attached to another pod)" 103 "$(json_num "$(cat "$work/$lid.out")" code)"
	check_eq "round $i: one record" 1 "$(record_count)"
	call d DEL "cid-${win#race}" "$win" "$id"
	check_eq "round $i: DEL of the winner" 0 "$(cat "$work/d.rc")"
	call e DEL "cid-${lose#race}" "$lose" "$id"
	check_eq "round $i: DEL of the loser (nothing to do)" 0 "$(cat "$work/e.rc")"
	check "round $i: $rd back on the host" on_host "$rd"
	check_eq "round $i: no record left" 0 "$(record_count)"
	ip netns del racea
	ip netns del raceb
done

section "$PAR ADD/DEL cycles at once on different devices, $ROUNDS rounds"
# cycle K ROUND : ADD, check, DEL of rdma_sim.sf.K in its own pod; writes K.result
cycle() {
	_id=rdma_sim.sf.$1
	_rd=$(rdma_of "$_id")
	_ns=p$1
	call "add$1" ADD "c$1" "$_ns" "$_id"
	_r=ok
	[ "$(cat "$work/add$1.rc")" = 0 ] || _r="ADD failed: $(cat "$work/add$1.out")"
	[ "$_r" = ok ] && ! in_ns "$_ns" "$_rd" && _r="$_rd not in $_ns after ADD"
	call "del$1" DEL "c$1" "$_ns" "$_id"
	[ "$_r" = ok ] && [ "$(cat "$work/del$1.rc")" != 0 ] && _r="DEL failed: $(cat "$work/del$1.out")"
	echo "$_r" >"$work/$1.result"
}
r=1
while [ $r -le "$ROUNDS" ]; do
	k=0
	while [ $k -lt "$PAR" ]; do
		mkpod "p$k"
		k=$((k + 1))
	done
	start=$(date +%s)
	k=0
	while [ $k -lt "$PAR" ]; do
		cycle $k &
		k=$((k + 1))
	done
	wait
	bad=$(cat "$work"/*.result | grep -vc '^ok$' || true)
	check_eq "round $r: $PAR cycles without an error ($(( $(date +%s) - start ))s)" 0 "$bad"
	[ "$bad" = 0 ] || grep -v '^ok$' "$work"/*.result | head -n 5 | sed 's/^/    /'
	home=0
	k=0
	while [ $k -lt "$PAR" ]; do
		on_host "$(rdma_of rdma_sim.sf.$k)" && home=$((home + 1))
		ip netns del "p$k"
		k=$((k + 1))
	done
	check_eq "round $r: every device back on the host" "$PAR" "$home"
	check_eq "round $r: no record left" 0 "$(record_count)"
	rm -f "$work"/*.result
	r=$((r + 1))
done
