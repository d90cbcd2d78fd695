# Moving over from the Go rdma-cni and back (docs/migration.md). The Go plugin cannot be built here
# (no Go module downloads): its ADD is what it does to the kernel and its state dir (the device
# moved in, /var/lib/cni/rdma/<network>-<container>-<ifname>), its DEL what its source does (inside
# the pod's netns, move the device named containerRdmaDevName to the host's).
. ./lib.sh
GO_DIR=/var/lib/cni/rdma

section "our DEL of a pod the Go plugin attached (no record of ours)"
mkpod podgo1
rd=$(rdma_of 0000:00:06.0)
rdma dev set "$rd" netns podgo1
mkdir -p "$GO_DIR"
printf '{"version":"1.0","deviceID":"0000:00:06.0","sandboxRdmaDevName":"%s","containerRdmaDevName":"%s"}' "$rd" "$rd" >"$GO_DIR/$NET-cid-go1-net1"
check "the Go-attached device $rd is in podgo1" in_ns podgo1 "$rd"
cni rdma DEL cid-go1 "$(ns_path podgo1)" net1 "$(rdma_conf 0000:00:06.0 "")"
check_rc "rdma DEL" 0
assert_on_host "$rd" podgo1
check_not "the Go plugin's record is gone" test -e "$GO_DIR/$NET-cid-go1-net1"
check_eq "no record of ours" 0 "$(record_count)"
ip netns del podgo1

section "handover: rdma install --uninstall writes the Go plugin's records for our live attachments"
mkpod podgo2
mkpod podgo3
rd2=$(rdma_of 0000:00:05.0)
rd3=$(rdma_of rdma_sim.sf.3)
cni rdma ADD cid-go2 "$(ns_path podgo2)" net1 "$(rdma_conf 0000:00:05.0 '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')"
check_rc "our ADD of 0000:00:05.0" 0
cni rdma ADD cid-go3 "$(ns_path podgo3)" net1 "$(rdma_conf rdma_sim.sf.3 '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')"
check_rc "our ADD of rdma_sim.sf.3" 0
mkdir -p /tmp/gobin
printf '#!/bin/sh\necho the Go rdma-cni\n' >/tmp/gobin/rdma
chmod 755 /tmp/gobin/rdma
"$CNI_BIN/rdma" install --uninstall --cni-bin-dir /tmp/gobin 2>/tmp/uninstall.log
check_eq "rdma install --uninstall" 0 $?
sed 's/^/    /' /tmp/uninstall.log | grep -v '"level":"debug"' | head -n 8
check_eq "the Go record of cid-go2, field for field" \
	"{\"version\":\"1.0\",\"deviceID\":\"0000:00:05.0\",\"sandboxRdmaDevName\":\"$rd2\",\"containerRdmaDevName\":\"$rd2\"}" \
	"$(cat "$GO_DIR/$NET-cid-go2-net1" 2>/dev/null)"
check_eq "the Go record of cid-go3" "rdma_sim.sf.3" "$(json_str "$(cat "$GO_DIR/$NET-cid-go3-net1" 2>/dev/null)" deviceID)"
check_eq "no record of ours left" 0 "$(record_count)"
check "the devices stayed in their pods" in_ns podgo2 "$rd2"
check "the Go plugin's rdma is left in its bin dir" test -x /tmp/gobin/rdma

section "the Go plugin's DEL, as its source does it, with the record we wrote"
ip netns attach hostns 1
name=$(json_str "$(cat "$GO_DIR/$NET-cid-go3-net1")" containerRdmaDevName)
ip netns exec podgo3 rdma dev set "$name" netns hostns
check_eq "moving $name (containerRdmaDevName) from inside podgo3 to the host" 0 $?
rm -f "$GO_DIR/$NET-cid-go3-net1"
assert_on_host "$rd3" podgo3
ip netns del hostns

section "or our DEL, if our plugin still runs the pod's DEL: it reads the Go plugin's record"
cni rdma DEL cid-go2 "$(ns_path podgo2)" net1 "$(rdma_conf 0000:00:05.0 "")"
check_rc "our DEL after the handover" 0
assert_on_host "$rd2" podgo2
check_not "the Go record is gone" test -e "$GO_DIR/$NET-cid-go2-net1"
ip netns del podgo2
ip netns del podgo3
