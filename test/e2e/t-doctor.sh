# rdma doctor on a node with an attached device, free ones, a record whose netns
# was deleted and a leftover lock: the tables, the JSON, the findings, the exit status
. ./lib.sh

# doctor [ARGS...] : run `rdma doctor`; sets OUT (stdout) and RC; stderr in /tmp/doctor.stderr
doctor() {
	OUT=$("$CNI_BIN/rdma" doctor "$@" 2>/tmp/doctor.stderr)
	RC=$?
}
show_doctor() {
	printf '%s\n' "$OUT" | sed 's/^/    | /'
	[ -s /tmp/doctor.stderr ] && sed 's/^/    stderr: /' /tmp/doctor.stderr | head -n 20
	return 0
}
has() { printf '%s\n' "$OUT" | grep -q -e "$1"; }
# row PATTERN : the output has a line matching the (basic) regex
row() { printf '%s\n' "$OUT" | grep -q "^  $1"; }
# the JSON squashed to one line without blanks, for matching objects
squashed() { printf '%s' "$OUT" | tr -d ' \n'; }
jhas() { squashed | grep -q -e "$1"; }
state_snapshot() { find "$STATE_DIR" -type f 2>/dev/null | sort | while read -r f; do echo "$f"; cat "$f"; done; }

section "a fresh node: nothing attached yet"
doctor
check_rc "doctor on a fresh node" 0
check "it says nothing needs attention" has "nothing needs attention (exit status 0)"
check "it prints the kernel release" has "^kernel     $(uname -r)\$"
check "RDMA is present, netns mode exclusive" has "^RDMA       present, netns mode exclusive\$"
check "simpci0 is free, with its PCI parent and netdev" row "simpci0  *[0-9][0-9]*  *free  *pci 0000:00:04.0  *eth0  *host  *-  *-\$"
check "simsf1 is free, with its auxiliary parent and netdev" row "simsf1  *[0-9][0-9]*  *free  *aux rdma_sim.sf.1  *sfnet1  *host"
[ "$RC" = 0 ] || show_doctor

id_att=0000:00:04.0 # attached to poda
id_gone=rdma_sim.sf.0 # attached to a pod whose netns is then deleted
id_lock=0000:00:05.0 # attached and detached: leaves its lock file
rd_att=$(rdma_of $id_att)
rd_gone=$(rdma_of $id_gone)

section "attach $rd_att to poda"
mkpod poda
chain_add cid-a "$(ns_path poda)" net1 "$(hd_conf_for $id_att)" $id_att
check_rc "ADD $id_att" 0
HD_A=$HD_OUT

section "attach $rd_gone to podgone, then delete its netns"
mkpod podgone
chain_add cid-gone "$(ns_path podgone)" net1 "$(hd_conf_for $id_gone)" $id_gone
check_rc "ADD $id_gone" 0
HD_GONE=$HD_OUT
ip netns del podgone
check "the kernel returns $rd_gone to the host" wait_on_host "$rd_gone" 10

section "attach and detach $id_lock: its lock file goes; a stale one (as a killed call leaves) stays"
mkpod podc
chain_add cid-c "$(ns_path podc)" net1 "$(hd_conf_for $id_lock)" $id_lock
check_rc "ADD $id_lock" 0
chain_del cid-c "$(ns_path podc)" net1 "$(hd_conf_for $id_lock)" $id_lock
check_rc "DEL $id_lock" 0
ip netns del podc
lock_c="$STATE_DIR/locks/0000%3A00%3A05%2E0.lock"
check_not "DEL removed the lock file of $id_lock" test -e "$lock_c"
check "no attachment lock file is left" test -z "$(ls "$STATE_DIR/locks" | grep '^attachment\.')"
# what a call SIGKILLed while holding the lock (or an older plugin) leaves behind
: >"$lock_c"

section "doctor: tables"
before=$(state_snapshot)
doctor
check_rc "doctor exits 1: a record's netns is gone" 1
check "RDMA is present, netns mode exclusive" has "^RDMA       present, netns mode exclusive\$"
check "state dir line counts 2 records and 3 lock files" has "^state dir  $STATE_DIR: 2 records, 0 unreadable, 3 lock files\$"
check "$rd_att attached to cid-a in poda as net1" row "$rd_att  *[0-9][0-9]*  *attached  *pci $id_att  *-  *$(ns_path poda)  *cid-a  *net1\$"
# its netdev came back from the dead netns under its pod name (net1): any name will do
check "$rd_gone returned to the host, still recorded for cid-gone" row "$rd_gone  *[0-9][0-9]*  *returned  *aux $id_gone  *[^ ][^ ]*  *host  *cid-gone  *net1\$"
check "simsf1 free" row "simsf1  *[0-9][0-9]*  *free  *aux rdma_sim.sf.1  *sfnet1  *host  *-  *-\$"
check "the record of cid-a checks in-netns" row "cid-a  *rdmanet  *net1  *$rd_att  *$id_att  *attached  *in-netns  *$(ns_path poda)\$"
check "the record of cid-gone checks netns-gone" row "cid-gone  *rdmanet  *net1  *$rd_gone  *$id_gone  *attached  *netns-gone  *$(ns_path podgone)\$"
check "the lock of $id_lock: free, no record" row "$id_lock  *free  *no  *$lock_c\$"
check "the lock of $id_att: free, with its record" row "$id_att  *free  *yes"
check "finding record-netns-gone (warning) for cid-gone" has "^  warning record-netns-gone  $REC_DIR/rdmanet.cid-gone.net1.json\$"
check "it says the kernel returned $rd_gone" has "the kernel returned $rd_gone to the host"
check "finding stale-lock (info) for $id_lock" has "^  info    stale-lock  $lock_c\$"
check_not "no finding about cid-a" has "rdmanet.cid-a.net1.json\$"
check "summary line" has "^0 errors, 1 warning, 1 info: needs attention (exit status 1)\$"
check_not "nothing on stderr" test -s /tmp/doctor.stderr
show_doctor

section "doctor --json"
doctor --json
check_rc "doctor --json exits 1 too" 1
check "netns mode exclusive" jhas '"rdma":{"present":true,"netnsMode":"exclusive","error":null}'
check "$rd_att attached in poda" jhas "\"name\":\"$rd_att\",\"index\":[0-9]*,\"state\":\"attached\",\"seenIn\":\"$(ns_path poda)\",\"parent\":{\"bus\":\"pci\",\"name\":\"$id_att\"},\"netdevs\":\[\],\"attachment\":{\"network\":\"rdmanet\",\"containerId\":\"cid-a\",\"ifName\":\"net1\",\"netns\":\"$(ns_path poda)\"}"
check "simsf1 free with netdev sfnet1" jhas '"name":"simsf1","index":[0-9]*,"state":"free","seenIn":"host","parent":{"bus":"auxiliary","name":"rdma_sim.sf.1"},"netdevs":\["sfnet1"\],"attachment":null'
check "simpci2 free with netdev eth2" jhas '"name":"simpci2","index":[0-9]*,"state":"free","seenIn":"host","parent":{"bus":"pci","name":"0000:00:06.0"},"netdevs":\["eth2"\]'
check "finding record-netns-gone" jhas '"id":"record-netns-gone","severity":"warning"'
check "finding stale-lock" jhas "\"id\":\"stale-lock\",\"severity\":\"info\",\"subject\":\"$lock_c\""
check "summary" jhas '"summary":{"errors":0,"warnings":1,"infos":1,"needsAttention":true,"exitStatus":1}'
check_eq "doctor changed nothing in the state dir" "$before" "$(state_snapshot)"
check "$rd_att still in poda" in_ns poda "$rd_att"

section "doctor with another state dir, by flag and by environment"
doctor --state-dir /run/cni/none
check_rc "no state dir: only information" 0
check "state-dir-missing" has "^  info    state-dir-missing  /run/cni/none\$"
OUT=$(RDMA_CNI_STATE_DIR=/run/cni/none "$CNI_BIN/rdma" doctor --json 2>/tmp/doctor.stderr)
RC=$?
check_rc "RDMA_CNI_STATE_DIR is read" 0
check "the JSON names that state dir" jhas '"stateDir":"/run/cni/none"'
doctor --state-dir
check_rc "--state-dir without a value is a usage error" 2

section "a record whose device is not in its netns"
# move the device out of poda behind the plugin's back (as a buggy tool could): the init
# netns gets a name so that rdma(8) can address it
ip netns attach hostns 1
ip netns exec poda rdma dev set "$rd_att" netns hostns
check "$rd_att moved back to the host by hand" on_host "$rd_att"
doctor
check_rc "doctor exits 1" 1
check "finding record-device-missing (error) for cid-a" has "^  error   record-device-missing  $REC_DIR/rdmanet.cid-a.net1.json\$"
check "it says where the device is" has "it is on the host as $rd_att: the pod runs without its RDMA device"
check "$rd_att shown misplaced" row "$rd_att  *[0-9][0-9]*  *misplaced  *pci $id_att"
rdma dev set "$rd_att" netns poda
check "$rd_att back in poda" in_ns poda "$rd_att"
ip netns del hostns

section "after the runtime's DELs: healthy again"
HD_OUT=$HD_A
chain_del cid-a "$(ns_path poda)" net1 "$(hd_conf_for $id_att)" $id_att
check_rc "DEL cid-a" 0
HD_OUT=$HD_GONE
cni rdma DEL cid-gone "$(ns_path podgone)" net1 "$(rdma_conf $id_gone "$HD_OUT")"
check_rc "DEL cid-gone (netns gone)" 0
doctor
check_rc "doctor exits 0" 0
check "no record left; the DELs removed their lock files, the stale one is left" has "^state dir  $STATE_DIR: 0 records, 0 unreadable, 1 lock file\$"
check "the lock left is a stale lock (info)" test "$(printf '%s\n' "$OUT" | grep -c '^  info    stale-lock ')" = 1
check "summary line" has "^0 errors, 0 warnings, 1 info: nothing needs attention (exit status 0)\$"
[ "$RC" = 0 ] || show_doctor
ip netns del poda
