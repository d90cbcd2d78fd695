# Crash safety: the plugin SIGKILLed at each kill point of ADD and DEL (the test build
# /mnt/build/rdma-test, see src/plugin/killpoints.ts). After each kill the record and the device
# must agree, and a DEL, a GC, or a repeated ADD must leave everything where it belongs.
. ./lib.sh
T=/mnt/build/rdma-test
check "the test build with kill points is shared into the guest" test -x "$T"
[ -x "$T" ] || exit 0

id=$(for d in /sys/bus/pci/devices/*/infiniband; do basename "$(dirname "$d")"; done | head -n 1)
rd=$(rdma_of "$id")
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/x"}],"ips":[]}'
DEVINFO=/var/run/k8s.cni.cncf.io/devinfo/cni/crash-net1.json
CONF=$(rdma_conf "$id" "$PREV" ",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$DEVINFO\"}")
# the kill points of the renames (rdmaDeviceName) run with a config that asks for a name
PODNAME=crash0
NCONF=$(rdma_conf "$id" "$PREV" ",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$DEVINFO\"},\"args\":{\"cni\":{\"rdmaDeviceName\":\"$PODNAME\"}}")
GC_CONF=$(printf '{"cniVersion":"1.1.0","name":"%s","type":"rdma","cni.dev/valid-attachments":[]}' "$NET")

# killed COMMAND CID NS POINT : the test build, killed at POINT
killed() {
	OUT=$(printf '%s' "$CONF" | env RDMA_CNI_KILL_AT="$4" CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="$(ns_path "$3")" CNI_IFNAME=net1 CNI_PATH="$CNI_BIN" "$T" 2>/tmp/cni.stderr)
	RC=$?
}
phase_of() { _f=$(record_file "$1" net1); [ -n "$_f" ] && json_str "$(cat "$_f")" phase; }
# where NS [NAME] : pod when NS holds the device under NAME (default: its host name), host when the
# host has it under its host name
where() { if in_ns "$1" "${2:-$rd}"; then echo pod; elif on_host "$rd"; then echo host; else echo nowhere; fi; }

# the state each kill point must leave: record phase (or none), the device's place and its name
# in the pod (the ones of rename points in the config asks for a name; add:device-info with it)
expect_after() {
	case "$1" in
	add:locked) echo "none host $rd" ;;
	add:recorded) echo "moving host $rd" ;;
	add:moved) echo "moving pod $rd" ;;
	add:renamed | add:device-info) echo "moving pod $PODNAME" ;;
	add:attached | del:locked) echo "attached pod $rd" ;;
	del:renamed) echo "attached pod $rd" ;;
	del:released) echo "attached host $rd" ;;
	del:dropped) echo "none host $rd" ;;
	esac
}
# the rename points (and the step right after one) need a config with a name
conf_for() { case "$1" in add:renamed | add:device-info | del:renamed) echo "$NCONF" ;; *) echo "$CONF" ;; esac; }

# recover HOW CID NS : DEL, GC or a repeated ADD, then the state that must follow
recover() {
	case "$1" in
	del)
		cni rdma DEL "$2" "$(ns_path "$3")" net1 "$CONF"
		check_rc "DEL after the kill" 0
		check_eq "device on the host after DEL" host "$(where "$3")"
		assert_no_record "$2" net1
		;;
	gc)
		cni rdma GC "" "" "" "$GC_CONF"
		check_rc "GC after the kill" 0
		check_eq "device on the host after GC" host "$(where "$3")"
		assert_no_record "$2" net1
		;;
	add)
		cni rdma ADD "$2" "$(ns_path "$3")" net1 "$CONF"
		check_rc "ADD retried after the kill" 0
		check_eq "device in the pod after the retried ADD (as $PNAME)" pod "$(where "$3" "$PNAME")"
		check_eq "record attached after the retried ADD" attached "$(phase_of "$2")"
		cni rdma DEL "$2" "$(ns_path "$3")" net1 "$CONF"
		check_rc "DEL after the retried ADD" 0
		check_eq "device on the host after that DEL" host "$(where "$3")"
		;;
	esac
	# and the device works for the next pod
	mkpod next
	cni rdma ADD cid-next "$(ns_path next)" net1 "$CONF"
	check_rc "a new ADD for another pod" 0
	check_eq "device in the new pod (as $PNAME)" pod "$(where next "$PNAME")"
	cni rdma DEL cid-next "$(ns_path next)" net1 "$CONF"
	ip netns del next
	wait_on_host "$rd" 10 || true
}

points=$("$T" --kill-points)
# CRASH_POINTS="add:moved ...": only those kill points (a short run, e.g. the arm64 boot's)
if [ -n "${CRASH_POINTS:-}" ]; then
	for p in $CRASH_POINTS; do
		case " $(echo $points) " in
		*" $p "*) _pass "kill point $p exists" ;;
		*) _fail "kill point $p exists (the test build has: $(echo $points))" ;;
		esac
	done
	points=$CRASH_POINTS
fi
n=0
for p in $points; do
	for how in del gc add; do
		# a DEL that was killed is retried by the runtime as DEL (or collected by GC), not ADD
		case "$p:$how" in del:*:add) continue ;; esac
		n=$((n + 1))
		section "kill at $p, then $how"
		mkpod crash
		CONF_SAVED=$CONF
		CONF=$(conf_for "$p")
		PNAME=$rd
		[ "$CONF" = "$NCONF" ] && PNAME=$PODNAME
		case "$p" in
		del:*)
			cni rdma ADD cid-crash "$(ns_path crash)" net1 "$CONF"
			check_rc "ADD before the killed DEL" 0
			killed DEL cid-crash crash "$p"
			;;
		*) killed ADD cid-crash crash "$p" ;;
		esac
		check_eq "killed by SIGKILL at $p" 137 "$RC"
		set -- $(expect_after "$p")
		check_eq "record after the kill at $p" "$1" "$(phase_of cid-crash || echo none)"
		check_eq "device after the kill at $p (in the pod as $3)" "$2" "$(where crash "$3")"
		check "no temp file left in the state dir" test -z "$(ls -A $REC_DIR 2>/dev/null | grep '^\.tmp-')"
		recover "$how" cid-crash crash
		CONF=$CONF_SAVED
		ip netns del crash
		wait_on_host "$rd" 10 || true
	done
done
echo "  kill points: $(echo $points | wc -w), scenarios: $n"
if [ -n "${CRASH_POINTS:-}" ]; then
	check "every kill point of CRASH_POINTS was exercised" test "$n" -ge "$(echo $CRASH_POINTS | wc -w)"
else
	check "every kill point was exercised" test "$n" -ge 8
fi
