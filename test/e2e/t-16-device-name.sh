# rdmaDeviceName: the pod sees the RDMA device under the name it asks for (args.cni, as Multus
# passes a pod's cni-args), the host gets the device's own name back on DEL; a name in use on the
# node is refused (109) with nothing moved; the netns-gone case; a host name taken meanwhile; two
# pods asking for one name at once; PCI and auxiliary devices, one-shot and through shim+engine.
. ./lib.sh
pci=$(for d in /sys/bus/pci/devices/*/infiniband; do basename "$(dirname "$d")"; done | head -n 1)
pci2=$(for d in /sys/bus/pci/devices/*/infiniband; do basename "$(dirname "$d")"; done | sed -n 2p)
aux=rdma_sim.sf.2
aux2=rdma_sim.sf.3
rp=$(rdma_of "$pci") rp2=$(rdma_of "$pci2") ra=$(rdma_of $aux) ra2=$(rdma_of $aux2)
check "two PCI and two auxiliary RDMA devices ($rp $rp2 $ra $ra2)" test -n "$rp" -a -n "$rp2" -a -n "$ra" -a -n "$ra2"
prev='{"cniVersion":"1.0.0","interfaces":[],"ips":[]}'
T16=$(cut -d' ' -f1 /proc/uptime)
# lap: seconds since the test began (printed at each section, for its run time)
lap() { awk -v a="$T16" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }'; }
# nconf DEVICEID NAME [PREV] : rdma's config with the name in args.cni
nconf() { rdma_conf "$1" "${3:-$prev}" ",\"args\":{\"cni\":{\"rdmaDeviceName\":\"$2\"}}"; }
# show: what the transcript keeps
show_devs() { echo "    host: $(rdma_devs_host | tr '\n' ' ')| $1: $(rdma_devs_ns "$1" | tr '\n' ' ')"; }
nowhere_but() { [ "$(rdma_devs_host; for n in $(ip netns list | cut -d' ' -f1); do rdma_devs_ns "$n"; done | grep -cx "$1")" = "$2" ]; }

section "PCI, one-shot, chained after host-device: the pod gets rdma0 (at $(lap) s)"
mkpod pn1
hd=$(hd_conf_for "$pci")
cni host-device ADD cid-n1 "$(ns_path pn1)" net1 "$hd"
HD_OUT=$OUT
cni rdma ADD cid-n1 "$(ns_path pn1)" net1 "$(nconf "$pci" rdma0 "$HD_OUT")"
check_rc "ADD with args.cni.rdmaDeviceName rdma0" 0
check_eq "ADD prints prevResult" "$(json_squash "$HD_OUT")" "$(json_squash "$OUT")"
show_devs pn1
assert_in_pod pn1 rdma0
check_not "$rp is nowhere under its host name" nowhere_but "$rp" 1
assert_record cid-n1 net1 "$pci" "$rp" "$(ns_path pn1)"
check_eq "record podRdmaDevice" rdma0 "$(json_str "$(cat "$(record_file cid-n1 net1)")" podRdmaDevice)"
cni rdma CHECK cid-n1 "$(ns_path pn1)" net1 "$(nconf "$pci" rdma0 "$HD_OUT")"
check_rc "CHECK with the name" 0
cni rdma ADD cid-n1 "$(ns_path pn1)" net1 "$(nconf "$pci" rdma0 "$HD_OUT")"
check_rc "a repeated ADD is idempotent" 0
check "still rdma0 in the pod" in_ns pn1 rdma0

section "collision: another pod asks for rdma0 (one-shot, auxiliary device) (at $(lap) s)"
mkpod pn2
cni rdma ADD cid-n2 "$(ns_path pn2)" net1 "$(nconf $aux rdma0)"
check_rc "ADD of a name in use fails" 1
check_error_json "name in use" 109
echo "    $OUT"
check "the message names the pod that holds it" sh -c "printf '%s' '$OUT' | grep -q 'container cid-n1, interface net1'"
assert_on_host "$ra" pn2
check "rdma0 is still the first pod's" in_ns pn1 rdma0
assert_no_record cid-n2 net1
cni rdma ADD cid-n2 "$(ns_path pn2)" net1 "$(nconf $aux "$rp2")"
check_rc "ADD of a host device's name fails" 1
check_error_json "host device's name" 109
check "the message names the host device" sh -c "printf '%s' '$OUT' | grep -q 'RDMA device $rp2'"
assert_on_host "$ra" pn2

section "DEL: the host gets $rp back (at $(lap) s)"
cni rdma DEL cid-n1 "$(ns_path pn1)" net1 "$(nconf "$pci" rdma0 "$HD_OUT")"
check_rc "DEL" 0
cni host-device DEL cid-n1 "$(ns_path pn1)" net1 "$hd"
show_devs pn1
assert_on_host "$rp" pn1
check_not "no device named rdma0 anywhere" nowhere_but rdma0 1
assert_no_record cid-n1 net1

section "bad names are error 7 naming the field, nothing moved (at $(lap) s)"
cni rdma ADD cid-n2 "$(ns_path pn2)" net1 "$(rdma_conf $aux "$prev" ',"runtimeConfig":{"rdmaDeviceName":"mlx5_%d"}')"
check_error_json "a % in the name" 7
check "the message names runtimeConfig.rdmaDeviceName" sh -c "printf '%s' '$OUT' | grep -q runtimeConfig.rdmaDeviceName"
cni rdma ADD cid-n2 "$(ns_path pn2)" net1 "$(nconf $aux "$(printf 'n%.0s' $(seq 1 64))")"
check_error_json "a 64-byte name" 7
assert_on_host "$ra" pn2

section "the netns is gone: the kernel returns the device under the pod's name; DEL renames it (at $(lap) s)"
cni rdma ADD cid-n2 "$(ns_path pn2)" net1 "$(nconf $aux rdma0)"
check_rc "ADD $ra as rdma0" 0
check "rdma0 in pn2" in_ns pn2 rdma0
ip netns del pn2
check "the kernel returns it to the host as rdma0" wait_on_host rdma0 10
echo "    host after ip netns del: $(rdma_devs_host | tr '\n' ' ')"
DOC=$("$CNI_BIN/rdma" doctor 2>/dev/null)
check "rdma doctor: device-pod-name for rdma0" sh -c "printf '%s' \"\$1\" | grep -q 'device-pod-name.*rdma0'" - "$DOC"
check "rdma doctor gives the command" sh -c "printf '%s' \"\$1\" | grep -q 'rdma dev set rdma0 name $ra'" - "$DOC"
printf '%s\n' "$DOC" | grep -A2 'device-pod-name' | sed 's/^/    doctor: /'
cni rdma DEL cid-n2 "$(ns_path pn2)" net1 "$(nconf $aux rdma0)"
check_rc "DEL with the netns gone" 0
echo "    host after DEL: $(rdma_devs_host | tr '\n' ' ')"
assert_on_host "$ra"
check_not "rdma0 gone from the host" on_host rdma0
assert_no_record cid-n2 net1

section "the host name was taken meanwhile: DEL brings the device back under another name (at $(lap) s)"
mkpod pn3
cni rdma ADD cid-n3 "$(ns_path pn3)" net1 "$(nconf "$pci2" rdma1)"
check_rc "ADD $rp2 as rdma1" 0
rdma dev set "$ra2" name "$rp2"
check "$ra2 took the free name $rp2" on_host "$rp2"
cni rdma DEL cid-n3 "$(ns_path pn3)" net1 "$(nconf "$pci2" rdma1)"
check_rc "DEL does not fail for that" 0
echo "    host after DEL: $(rdma_devs_host | tr '\n' ' ')"
check "the device is back as $rp2-from-rdma1" on_host "$rp2-from-rdma1"
check "the log says so" grep -q 'host name was taken meanwhile' /tmp/cni.stderr
assert_no_record cid-n3 net1
rdma dev set "$rp2" name "$ra2"
rdma dev set "$rp2-from-rdma1" name "$rp2"
check "names restored for the next tests" sh -c "rdma dev show | grep -q ' $rp2:' && rdma dev show | grep -q ' $ra2:'"

section "two pods ask for the same name at once: one gets it, the other 109, nothing stranded (at $(lap) s)"
mkpod pr1
mkpod pr2
race() { printf '%s' "$(nconf "$2" race0)" | env CNI_COMMAND=ADD CNI_CONTAINERID="$1" CNI_NETNS="$(ns_path "$3")" \
	CNI_IFNAME=net1 CNI_PATH=$CNI_BIN $CNI_BIN/rdma >"/tmp/race.$1" 2>/dev/null; echo $? >>"/tmp/race.$1"; }
rm -f /tmp/race.*
race cid-r1 "$pci" pr1 &
race cid-r2 $aux pr2 &
wait
codes=$(for c in cid-r1 cid-r2; do tail -n 1 /tmp/race.$c; done | sort | tr '\n' ' ')
check_eq "one ADD succeeds, one fails" "0 1 " "$codes"
check_eq "exactly one race0 on the node" 1 "$( (rdma_devs_host; rdma_devs_ns pr1; rdma_devs_ns pr2) | grep -cx race0)"
check_eq "one record" 1 "$(record_count)"
for c in cid-r1 cid-r2; do
	if [ "$(tail -n 1 /tmp/race.$c)" = 1 ]; then
		OUT=$(head -n 1 /tmp/race.$c)
		check_error_json "the loser" 109
		echo "    $OUT"
	fi
done
check "the loser's device is on the host under its own name" sh -c "rdma dev show | grep -Eq ' ($rp|$ra):'"
cni rdma DEL cid-r1 "$(ns_path pr1)" net1 "$(nconf "$pci" race0)"
cni rdma DEL cid-r2 "$(ns_path pr2)" net1 "$(nconf $aux race0)"
assert_on_host "$rp" pr1
assert_on_host "$ra" pr2
ip netns del pr1
ip netns del pr2

section "through the shim and the engine (auxiliary device, then PCI) (at $(lap) s)"
SHIM=/mnt/build/rdma-shim
if [ -x "$SHIM" ]; then
	cp "$SHIM" $CNI_BIN/rdma-thick
	ln -sf /mnt/build/rdma $CNI_BIN/rdma-engine
	# a socket folder of its own, removed afterwards: t-engine.sh checks what an engine leaves in its folder
	export RDMA_CNI_ENGINE_SOCKET=/run/rdma-cni-e2e16/engine.sock
	$CNI_BIN/rdma-engine engine --socket $RDMA_CNI_ENGINE_SOCKET --log-level debug 2>/tmp/engine16.log &
	epid=$!
	i=0
	while [ ! -S $RDMA_CNI_ENGINE_SOCKET ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	for id in $aux "$pci"; do
		rd=$(rdma_of "$id")
		cni rdma-thick ADD cid-e16 "$(ns_path pn3)" net1 "$(nconf "$id" rdma2)"
		check_rc "ADD $id as rdma2 via the engine" 0
		show_devs pn3
		assert_in_pod pn3 rdma2
		cni rdma-thick ADD cid-e17 "$(ns_path pn1)" net1 "$(nconf "$pci2" rdma2)"
		check_rc "another pod asking for rdma2 via the engine fails" 1
		check_error_json "rdma2 in use, via the engine" 109
		assert_on_host "$rp2" pn1
		cni rdma-thick CHECK cid-e16 "$(ns_path pn3)" net1 "$(nconf "$id" rdma2)"
		check_rc "CHECK via the engine" 0
		cni rdma-thick DEL cid-e16 "$(ns_path pn3)" net1 "$(nconf "$id" rdma2)"
		check_rc "DEL via the engine" 0
		assert_on_host "$rd" pn3
	done
	check "the engine served them" grep -q '"command":"DEL","status":0' /tmp/engine16.log
	kill $epid
	wait $epid 2>/dev/null
	rm -rf /run/rdma-cni-e2e16
	rm -f $CNI_BIN/rdma-thick $CNI_BIN/rdma-engine
else
	_fail "build/rdma-shim reached the guest (make build/rdma-shim)"
fi
ip netns del pn1
ip netns del pn3
check_eq "no records left" 0 "$(record_count)"
echo "  t-16 took $(lap) s"
