# End-to-end helpers, sourced by the tests in this folder. Busybox sh, inside the
# test VM (test/vm/run): the plugin and host-device are in /opt/cni/bin, the
# RDMA netns mode is exclusive unless the boot says otherwise, the simulated
# devices are simpciN (PCI 0000:00:0(4+N).0, netdev ethN) and simsfN (auxiliary
# device rdma_sim.sf.N, netdev sfnetN).
#
# Assertions count into $E2E_COUNTS (one line per assertion: "pass" / "fail");
# run-all.sh turns them into the "N passed, N failed" line.

CNI_BIN=/opt/cni/bin
STATE_DIR=/run/cni/rdma
REC_DIR=$STATE_DIR/attachments
E2E_COUNTS=${E2E_COUNTS:-/tmp/e2e.counts}
T_NAME=${T_NAME:-test}

_pass() {
	echo "pass" >>"$E2E_COUNTS"
	echo "  ok   $*"
}
_fail() {
	echo "fail" >>"$E2E_COUNTS"
	echo "  FAIL $*"
}

# check DESC COMMAND... : passes when COMMAND succeeds
check() {
	_d=$1
	shift
	if "$@"; then _pass "$_d"; else _fail "$_d"; fi
}
# check_not DESC COMMAND... : passes when COMMAND fails
check_not() {
	_d=$1
	shift
	if "$@"; then _fail "$_d"; else _pass "$_d"; fi
}
# check_eq DESC WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then _pass "$1"; else _fail "$1 (want '$2', got '$3')"; fi
}
# show the last plugin call (for failures)
show_call() {
	echo "    stdout: $OUT"
	[ -s /tmp/cni.stderr ] && sed 's/^/    stderr: /' /tmp/cni.stderr | head -n 20
	return 0
}
# check_rc DESC WANT : the exit status of the last cni call
check_rc() {
	if [ "$RC" = "$2" ]; then
		_pass "$1 (exit $RC)"
	else
		_fail "$1 (want exit $2, got $RC)"
		show_call
	fi
}
check_rc_nonzero() {
	if [ "$RC" != 0 ]; then
		_pass "$1 (exit $RC)"
	else
		_fail "$1 (want a non-zero exit, got 0)"
		show_call
	fi
}

# cni PLUGIN COMMAND CONTAINERID NETNS IFNAME CONFIG : run one plugin as a runtime does.
# Sets OUT (stdout) and RC; stderr is in /tmp/cni.stderr.
cni() {
	OUT=$(printf '%s' "$6" | env CNI_COMMAND="$2" CNI_CONTAINERID="$3" CNI_NETNS="$4" \
		CNI_IFNAME="$5" CNI_PATH="$CNI_BIN" CNI_ARGS="" \
		"$CNI_BIN/$1" 2>/tmp/cni.stderr)
	RC=$?
}

# JSON without whitespace outside strings (good enough for comparing our own documents)
json_squash() { printf '%s' "$1" | tr -d ' \n\t\r'; }
# json_str JSON KEY : the string value of the first "KEY": "..." (no nesting awareness)
json_str() { printf '%s' "$1" | tr -d '\n' | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n 1; }
json_num() { printf '%s' "$1" | tr -d '\n' | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p" | head -n 1; }
json_has() { printf '%s' "$1" | grep -q "\"$2\"[[:space:]]*:[[:space:]]*$3"; }

# --- configs ---------------------------------------------------------------
NET=${NET:-rdmanet}
VER=${VER:-1.0.0}

# host-device config moving a PCI netdev by address, or any netdev by name
hd_conf_pci() { printf '{"cniVersion":"%s","name":"%s","type":"host-device","pciBusID":"%s"}' "$VER" "$NET" "$1"; }
hd_conf_dev() { printf '{"cniVersion":"%s","name":"%s","type":"host-device","device":"%s"}' "$VER" "$NET" "$1"; }
# rdma_conf DEVICEID PREVRESULT [EXTRA] : rdma's config as libcni builds it for a chain
rdma_conf() {
	_dev=""
	[ -n "$1" ] && _dev=",\"deviceID\":\"$1\""
	_prev=""
	[ -n "$2" ] && _prev=",\"prevResult\":$2"
	printf '{"cniVersion":"%s","name":"%s","type":"rdma"%s%s%s}' "$VER" "$NET" "$_dev" "$3" "$_prev"
}

# --- the chain (libcni order) ------------------------------------------------
# chain_add CID NETNSPATH IFNAME HOSTDEV_CONF DEVICEID : host-device ADD, then rdma ADD
# with host-device's result as prevResult. Sets HD_OUT HD_RC OUT RC.
chain_add() {
	cni host-device ADD "$1" "$2" "$3" "$4"
	HD_OUT=$OUT
	HD_RC=$RC
	if [ "$HD_RC" != 0 ]; then
		echo "    host-device ADD failed ($HD_RC): $HD_OUT"
		sed 's/^/    stderr: /' /tmp/cni.stderr | head -n 5
		return 1
	fi
	RDMA_CONF=$(rdma_conf "$5" "$HD_OUT")
	_t=$(cut -d' ' -f1 /proc/uptime)
	cni rdma ADD "$1" "$2" "$3" "$RDMA_CONF"
	RDMA_SECS=$(awk -v a="$_t" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')
}
# chain_del CID NETNSPATH IFNAME HOSTDEV_CONF DEVICEID : rdma DEL, then host-device DEL
# (libcni passes the cached result as prevResult on DEL). Sets HD_RC and RC (rdma's).
chain_del() {
	RDMA_CONF=$(rdma_conf "$5" "${HD_OUT:-}")
	cni rdma DEL "$1" "$2" "$3" "$RDMA_CONF"
	_rc=$RC
	_out=$OUT
	cni host-device DEL "$1" "$2" "$3" "$4"
	HD_RC=$RC
	RC=$_rc
	OUT=$_out
}
chain_check() {
	RDMA_CONF=$(rdma_conf "$5" "${HD_OUT:-}")
	cni host-device CHECK "$1" "$2" "$3" "$4"
	HD_RC=$RC
	cni rdma CHECK "$1" "$2" "$3" "$RDMA_CONF"
}

# --- kernel state ------------------------------------------------------------
ns_path() { echo "/var/run/netns/$1"; }
mkpod() { ip netns add "$1" && ip netns exec "$1" ip link set lo up; }

# names of the RDMA devices visible from the init netns / from netns $1
rdma_devs_host() { rdma dev show 2>/dev/null | sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p'; }
rdma_devs_ns() { ip netns exec "$1" rdma dev show 2>/dev/null | sed -n 's/^[0-9]*: \([^:]*\):.*/\1/p'; }
on_host() { rdma_devs_host | grep -qx "$1"; }
in_ns() { rdma_devs_ns "$1" | grep -qx "$2"; }
sysfs_host() { [ -e "/sys/class/infiniband/$1" ]; }
sysfs_ns() { ip netns exec "$1" test -e "/sys/class/infiniband/$2"; }
netdev_host() { ip link show dev "$1" >/dev/null 2>&1; }
netdev_ns() { ip netns exec "$1" ip link show dev "$2" >/dev/null 2>&1; }

# assert_in_pod NS RDMADEV : the device is in the pod, and nowhere else
assert_in_pod() {
	check "$2 listed by rdma dev in $1" in_ns "$1" "$2"
	check_not "$2 not listed by rdma dev on the host" on_host "$2"
	check "/sys/class/infiniband/$2 in $1" sysfs_ns "$1" "$2"
	check_not "/sys/class/infiniband/$2 not on the host" sysfs_host "$2"
}
# assert_on_host RDMADEV [NS] : the device is on the host (and not in NS)
assert_on_host() {
	check "$1 listed by rdma dev on the host" on_host "$1"
	check "/sys/class/infiniband/$1 on the host" sysfs_host "$1"
	if [ -n "${2:-}" ] && [ -e "/var/run/netns/$2" ]; then
		check_not "$1 not listed by rdma dev in $2" in_ns "$2" "$1"
		check_not "/sys/class/infiniband/$1 not in $2" sysfs_ns "$2" "$1"
	fi
}

# wait_on_host DEV [SECONDS] : poll until DEV is back in the init netns (netns teardown is async)
wait_on_host() {
	_n=$((${2:-10} * 10))
	while [ "$_n" -gt 0 ]; do
		on_host "$1" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# --- state records -------------------------------------------------------------
# record_file CID IFNAME [NETWORK] : the record of that attachment (empty if none)
record_file() {
	_net=${3:-$NET}
	for _f in "$REC_DIR"/*.json; do
		[ -e "$_f" ] || continue
		_j=$(cat "$_f")
		[ "$(json_str "$_j" containerId)" = "$1" ] || continue
		[ "$(json_str "$_j" ifName)" = "$2" ] || continue
		[ "$(json_str "$_j" network)" = "$_net" ] || continue
		echo "$_f"
		return 0
	done
	return 0
}
record_count() { ls "$REC_DIR"/*.json 2>/dev/null | grep -c . || true; }

# assert_record CID IFNAME DEVICEID RDMADEV NETNSPATH : one record, attached, with these fields
assert_record() {
	_rf=$(record_file "$1" "$2")
	if [ -z "$_rf" ]; then
		_fail "record for $1/$2 in $REC_DIR"
		ls -la "$REC_DIR" 2>&1 | sed 's/^/    /'
		return 0
	fi
	_pass "record for $1/$2 in $REC_DIR"
	_j=$(cat "$_rf")
	check_eq "record version" 1 "$(json_num "$_j" version)"
	check_eq "record phase" attached "$(json_str "$_j" phase)"
	check_eq "record deviceId" "$3" "$(json_str "$_j" deviceId)"
	check_eq "record rdmaDevice" "$4" "$(json_str "$_j" rdmaDevice)"
	check_eq "record netns" "$5" "$(json_str "$_j" netns)"
}
assert_no_record() {
	_rf=$(record_file "$1" "$2")
	if [ -z "$_rf" ]; then _pass "no record for $1/$2"; else
		_fail "no record for $1/$2 (found $_rf)"
		sed 's/^/    /' "$_rf"
	fi
}

# The error document of a failed call: {"cniVersion":..,"code":N,"msg":..}
check_error_json() {
	_code=$(json_num "$OUT" code)
	if [ -n "$_code" ] && json_has "$OUT" msg '"'; then
		_pass "$1: error JSON with code $_code"
	else
		_fail "$1: error JSON on stdout (got '$OUT')"
	fi
	if [ -n "${2:-}" ]; then check_eq "$1: error code" "$2" "$_code"; fi
}

section() { echo "-- $*"; }

# --- devices, found the way the plugin must find them (sysfs), not by name ----
# rdma_of DEVICEID : the RDMA device under a PCI function or auxiliary device (host view)
rdma_of() {
	case "$1" in
	*:*) ls "/sys/bus/pci/devices/$1/infiniband" 2>/dev/null | head -n 1 ;;
	*) ls "/sys/bus/auxiliary/devices/$1/infiniband" 2>/dev/null | head -n 1 ;;
	esac
}
# netdev_of DEVICEID : its netdev (host view)
netdev_of() {
	case "$1" in
	*:*) ls "/sys/bus/pci/devices/$1"/virtio*/net 2>/dev/null | head -n 1 ;;
	*) ls "/sys/bus/auxiliary/devices/$1/net" 2>/dev/null | head -n 1 ;;
	esac
}
# hd_conf_for DEVICEID : host-device config for the netdev of that device
hd_conf_for() {
	case "$1" in
	*:*) hd_conf_pci "$1" ;;
	*) hd_conf_dev "$(netdev_of "$1")" ;;
	esac
}

# full_attach_test NS CID IFNAME DEVICEID : the whole ADD / CHECK / DEL cycle with assertions
full_cycle() {
	_ns=$1 _cid=$2 _if=$3 _id=$4
	_rd=$(rdma_of "$_id")
	_nd=$(netdev_of "$_id")
	check "$_id has an RDMA device ($_rd) and a netdev ($_nd) on the host" test -n "$_rd" -a -n "$_nd"
	mkpod "$_ns"
	_hd=$(hd_conf_for "$_id")
	section "ADD $_id into $_ns"
	chain_add "$_cid" "$(ns_path "$_ns")" "$_if" "$_hd" "$_id"
	check_eq "host-device ADD" 0 "$HD_RC"
	check_rc "rdma ADD" 0
	check_eq "rdma ADD prints prevResult unchanged" "$(json_squash "$HD_OUT")" "$(json_squash "$OUT")"
	assert_in_pod "$_ns" "$_rd"
	check "netdev $_if in $_ns" netdev_ns "$_ns" "$_if"
	check_not "netdev $_nd gone from the host" netdev_host "$_nd"
	assert_record "$_cid" "$_if" "$_id" "$_rd" "$(ns_path "$_ns")"
	section "CHECK"
	chain_check "$_cid" "$(ns_path "$_ns")" "$_if" "$_hd" "$_id"
	check_rc "rdma CHECK while attached" 0
	section "DEL"
	chain_del "$_cid" "$(ns_path "$_ns")" "$_if" "$_hd" "$_id"
	check_rc "rdma DEL" 0
	check_eq "host-device DEL" 0 "$HD_RC"
	assert_on_host "$_rd" "$_ns"
	check "netdev $_nd back on the host" netdev_host "$_nd"
	assert_no_record "$_cid" "$_if"
	cni rdma CHECK "$_cid" "$(ns_path "$_ns")" "$_if" "$(rdma_conf "$_id" "$HD_OUT")"
	check_rc_nonzero "rdma CHECK after DEL fails"
	ip netns del "$_ns"
}
