# two containers want one device; configs that cannot work: podman reports our error and
# undoes the chain
. ./lib.sh
. ./podman/lib.sh

section "two containers at once on rdma-vf1"
rm -rf /tmp/view-a /tmp/view-b
mkdir -p /tmp/view-a /tmp/view-b
podman run -d --name a --network rdma-vf1 -v /tmp/view-a:/view "$IMAGE" \
	sh -c 'rdma dev show >/view/rdma; exec sleep 1000' >/tmp/a.out 2>/tmp/a.err &
pa=$!
podman run -d --name b --network rdma-vf1 -v /tmp/view-b:/view "$IMAGE" \
	sh -c 'rdma dev show >/view/rdma; exec sleep 1000' >/tmp/b.out 2>/tmp/b.err &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
echo "    (a exited $ra, b exited $rb)"
if [ $ra = 0 ]; then win=a lose=b; else win=b lose=a; fi
check_eq "exactly one podman run succeeded" 1 "$( (echo $ra; echo $rb) | grep -cx 0)"
sed 's/^/    loser: /' /tmp/$lose.err | head -n 5
check "the loser's error is host-device's ADD (its netdev is gone)" grep -q 'Error: plugin type="host-device" failed (add)' /tmp/$lose.err
i=0
while [ ! -s /tmp/view-$win/rdma ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check_eq "the winner ($win) sees exactly simpci1" simpci1 "$(rdma_names </tmp/view-$win/rdma)"
check_eq "one podman netns" 1 "$(podman_netns | grep -c .)"
ns=$(podman_netns | head -n 1)
check "simpci1 in the winner's netns" in_ns "$ns" simpci1
check_not "simpci1 not on the host" on_host simpci1
check_eq "one attachment record" 1 "$(record_count)"
pm rm -f -t 0 a b
check_pm "podman rm -f a b"
assert_all_home

section "rdma's deviceID has no RDMA device (0000:00:00.0, the host bridge)"
nd=$(netdev_of 0000:00:05.0)
cat >/etc/cni/net.d/90-rdma-bad.conflist <<EOC
{
  "cniVersion": "1.0.0",
  "name": "rdma-bad",
  "plugins": [
    { "type": "host-device", "pciBusID": "0000:00:05.0" },
    { "type": "rdma", "deviceID": "0000:00:00.0" }
  ]
}
EOC
pm run --rm --network rdma-bad "$IMAGE" true
check_not "podman run fails" test "$PM_RC" = 0
sed 's/^/    podman: /' "$PM_ERR" | head -n 5
check "podman's message carries our error text" grep -q 'no RDMA device found for deviceID 0000:00:00.0' "$PM_ERR"
assert_all_home
check "host-device's move undone: $nd back on the host" netdev_host "$nd"
rm -f /etc/cni/net.d/90-rdma-bad.conflist

section "a malformed rdma entry: \"deviceID\": 5"
cat >/etc/cni/net.d/91-rdma-malformed.conflist <<EOC
{
  "cniVersion": "1.0.0",
  "name": "rdma-malformed",
  "plugins": [
    { "type": "host-device", "device": "sfnet1" },
    { "type": "rdma", "deviceID": 5 }
  ]
}
EOC
pm run --rm --network rdma-malformed "$IMAGE" true
check_not "podman run fails" test "$PM_RC" = 0
sed 's/^/    podman: /' "$PM_ERR" | head -n 5
check "podman's message names our field" grep -q 'invalid network config: deviceID must be a string' "$PM_ERR"
assert_all_home
# rdma's DEL refuses the same config, and libcni stops a DEL at the first plugin that fails, so
# host-device's DEL never runs: the netdev comes home only because podman deletes the netns, and
# under the name the container gave it (eth0, taken on the host: the kernel makes it devN)
check "podman reports that rdma's DEL refused it too" grep -q 'failed (delete): cni plugin rdma failed: invalid network config: deviceID' "$PM_ERR"
nd=$(netdev_of rdma_sim.sf.1)
check "the SF's netdev is back on the host (as '$nd')" netdev_host "$nd"
[ -n "$nd" ] && [ "$nd" != sfnet1 ] && ip link set dev "$nd" name sfnet1
rm -f /etc/cni/net.d/91-rdma-malformed.conflist
pm ps -a -q
check_eq "no container left" "" "$PM_OUT"
