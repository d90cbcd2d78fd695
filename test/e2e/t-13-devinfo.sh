# The device-info file (runtimeConfig.CNIDeviceInfoFile): ADD adds the RDMA device the pod now
# holds, keeping what another plugin wrote there before; DEL takes back just that.
. ./lib.sh
VER=1.1.0
id=0000:00:05.0
rd=$(rdma_of $id)
dir=/var/run/k8s.cni.cncf.io/devinfo/cni
f=$dir/pod-devinfo-sriov-network-net1.json
mkdir -p $dir
# what a device plugin and the SR-IOV CNI put there before the chain ran
before='{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:05.0","pf-pci-address":"0000:00:03.0","representor-device":"eth9"}}'
printf '%s' "$before" >"$f"
mkpod podi
PREV=$(printf '{"cniVersion":"1.1.0","interfaces":[{"name":"net1","sandbox":"%s"}],"ips":[]}' "$(ns_path podi)")
CONF=$(rdma_conf "$id" "$PREV" ",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$f\"}")
cni rdma ADD cid-i "$(ns_path podi)" net1 "$CONF"
check_rc "ADD with a device-info file" 0
echo "  device-info after ADD: $(cat "$f")"
after=$(cat "$f")
check_eq "rdma-device added" "$rd" "$(json_str "$after" rdma-device)"
check_eq "pci-address kept" "$id" "$(json_str "$after" pci-address)"
check_eq "pf-pci-address kept" 0000:00:03.0 "$(json_str "$after" pf-pci-address)"
check_eq "representor-device kept" eth9 "$(json_str "$after" representor-device)"
check_eq "type kept" pci "$(json_str "$after" type)"
check_eq "the 1.1.0 result carries the VF's pciID" "$id" "$(json_str "$OUT" pciID)"
assert_in_pod podi "$rd"
cni rdma DEL cid-i "$(ns_path podi)" net1 "$CONF"
check_rc "DEL" 0
check_eq "DEL leaves the file as the other plugins wrote it" "$(json_squash "$before")" "$(json_squash "$(cat "$f")")"
check_eq "no rdma-device after DEL" "" "$(json_str "$(cat "$f")" rdma-device)"
# no file before: ADD creates one, DEL removes it
rm -f "$f"
cni rdma ADD cid-i "$(ns_path podi)" net1 "$CONF"
check_rc "ADD without a device-info file" 0
check_eq "file created with the RDMA device" "$rd" "$(json_str "$(cat "$f" 2>/dev/null)" rdma-device)"
cni rdma DEL cid-i "$(ns_path podi)" net1 "$CONF"
check_not "DEL removes the file ADD created" test -e "$f"
# a path outside the spec's directory is refused, nothing moves
cni rdma ADD cid-j "$(ns_path podi)" net1 "$(rdma_conf "$id" "$PREV" ',"runtimeConfig":{"CNIDeviceInfoFile":"/etc/evil.json"}')"
check_error_json "device-info path outside its directory" 7
check_not "nothing written outside" test -e /etc/evil.json
assert_on_host "$rd" podi
ip netns del podi
