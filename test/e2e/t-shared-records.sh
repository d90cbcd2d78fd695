# A node that comes back in shared mode with attachment records (as if the mode had been switched
# between ADD and DEL): DEL, GC and CHECK give the right answer, STATUS says 50, none hangs.
. ./lib.sh
id=0000:00:04.0
rd=$(rdma_of $id)
idx=$(rdma dev show | sed -n "s/^\([0-9]*\): $rd:.*/\1/p")
mkpod podr
now=2026-01-01T00:00:00.000Z
mkdir -p "$REC_DIR"
record() { # CID
	printf '{"version":1,"network":"%s","containerId":"%s","ifName":"net1","deviceId":"%s","rdmaDevice":"%s","rdmaIndex":%s,"netns":"%s","phase":"attached","createdAt":"%s","updatedAt":"%s"}' \
		"$NET" "$1" "$id" "$rd" "$idx" "$(ns_path podr)" "$now" "$now" >"$REC_DIR/$NET.$1.net1.json"
}
record cid-r1
record cid-r2
record cid-r3
CONF=$(rdma_conf $id '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')

# every call must come back within the time limit: `timeout` kills a hung one (exit 143)
t0=$(date +%s)
OUT=$(printf '%s' "$CONF" | timeout 30 env CNI_COMMAND=CHECK CNI_CONTAINERID=cid-r1 CNI_NETNS="$(ns_path podr)" CNI_IFNAME=net1 "$CNI_BIN/rdma" 2>/tmp/cni.stderr)
RC=$?
check_rc_nonzero "CHECK in shared mode fails"
check_error_json "CHECK in shared mode" 101

cni rdma DEL cid-r1 "$(ns_path podr)" net1 "$CONF"
check_rc "DEL of a record in shared mode succeeds (nothing can move)" 0
assert_no_record cid-r1 net1
check "$rd still listed on the host" on_host "$rd"

cni rdma DEL cid-r2 "" net1 "$CONF"
check_rc "DEL with an empty CNI_NETNS in shared mode" 0
assert_no_record cid-r2 net1

cni rdma GC "" "" "" "$(printf '{"cniVersion":"1.1.0","name":"%s","type":"rdma","cni.dev/valid-attachments":[]}' "$NET")"
check_rc "GC in shared mode" 0
assert_no_record cid-r3 net1
check_eq "no record left" 0 "$(record_count)"

cni rdma STATUS "" "" "" "{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"rdma\"}"
check_error_json "STATUS in shared mode" 50
check "all of it in under 60 s" test $(($(date +%s) - t0)) -lt 60
