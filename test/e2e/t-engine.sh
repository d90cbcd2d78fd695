# the thick plugin: the shim as the plugin forwards to `rdma engine`; with the engine gone it runs
# the plugin one-shot (the same records and locks either way)
. ./lib.sh
SHIM=/mnt/build/rdma-shim
check "build/rdma-shim reached the guest (make shim)" test -x "$SHIM"
[ -x "$SHIM" ] || exit 0
# the node's layout: the shim is the plugin, the Bun executable next to it its one-shot fallback
cp "$SHIM" $CNI_BIN/rdma-thick
ln -sf /mnt/build/rdma $CNI_BIN/rdma-engine
export RDMA_CNI_ENGINE_SOCKET=/run/rdma-cni-e2e/engine.sock
devices_before=$(rdma dev show | sort)
$CNI_BIN/rdma-engine engine --socket $RDMA_CNI_ENGINE_SOCKET --log-level debug 2>/tmp/engine.log >/tmp/engine.calls &
epid=$!
i=0
while [ ! -S $RDMA_CNI_ENGINE_SOCKET ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "engine socket is up" test -S $RDMA_CNI_ENGINE_SOCKET
check_eq "socket mode" "srw-------" "$(ls -l $RDMA_CNI_ENGINE_SOCKET | cut -c1-10)"
check_eq "socket dir mode" "drwx------" "$(ls -ld /run/rdma-cni-e2e | cut -c1-10)"
# the first thread rehearses ADD and DEL before it serves: a stand-in kernel, a scratch dir
i=0
while ! grep -q '"msg":"engine: rehearsed ADD and DEL"' /tmp/engine.log && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "the first thread rehearsed ADD and DEL without a failure" grep -q '"msg":"engine: rehearsed ADD and DEL"' /tmp/engine.log
check_eq "the rehearsal left nothing beside the socket" "engine.sock engine.sock.lock" "$(ls /run/rdma-cni-e2e | tr '\n' ' ' | sed 's/ $//')"
check_eq "the rehearsal moved no device" "$devices_before" "$(rdma dev show | sort)"

id=rdma_sim.sf.1
rd=$(rdma_of $id)
prev='{"cniVersion":"1.0.0","interfaces":[],"ips":[]}'
mkpod pode
section "through the engine"
cni rdma-thick ADD cid-e "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "ADD via shim and engine" 0
check_eq "ADD prints prevResult" "$prev" "$(json_squash "$OUT")"
assert_in_pod pode "$rd"
assert_record cid-e net1 $id "$rd" "$(ns_path pode)"
check "the engine served it" grep -q '"msg":"engine: served","component":"engine","command":"ADD","status":0' /tmp/engine.log
cni rdma-thick CHECK cid-e "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "CHECK via the engine" 0
cni rdma-thick DEL cid-e "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "DEL via the engine" 0
assert_on_host "$rd" pode
assert_no_record cid-e net1
# one line per call on the engine's stdout (src/cni/call-line.ts), none there but those
check_eq "the engine's stdout: one call line each for ADD, CHECK, DEL" "ADD CHECK DEL" "$(sed -n 's/.*"msg":"call".*"verb":"\([A-Z]*\)".*/\1/p' /tmp/engine.calls | tr '\n' ' ' | sed 's/ $//')"
check "the ADD's line names container, interface, deviceID, RDMA device, code 0" grep -q "\"verb\":\"ADD\",\"container\":\"cid-e\",\"interface\":\"net1\",\"network\":\"$NET\",\"deviceID\":\"$id\",\"rdmaDevice\":\"$rd\",\"code\":0,\"ms\":" /tmp/engine.calls
check_eq "the engine's stdout has nothing else" 3 "$(grep -c . /tmp/engine.calls)"
check_eq "the engine's thread is back in the host netns" "$(readlink /proc/self/ns/net)" "$(readlink /proc/$epid/task/$epid/ns/net)"

section "a one-shot call and the engine share records and locks"
cni rdma ADD cid-m "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "ADD one-shot" 0
cni rdma-thick ADD cid-m "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "the same ADD via the engine: already done" 0
cni rdma-thick DEL cid-m "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "DEL via the engine" 0
assert_on_host "$rd" pode

section "the engine crashed: the shim falls back to one-shot"
kill -9 $epid
wait $epid 2>/dev/null
check "the stale socket is still there" test -S $RDMA_CNI_ENGINE_SOCKET
cni rdma-thick ADD cid-f "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "ADD via the fallback" 0
assert_in_pod pode "$rd"
cni rdma-thick DEL cid-f "$(ns_path pode)" net1 "$(rdma_conf $id "$prev")"
check_rc "DEL via the fallback" 0
assert_on_host "$rd" pode
assert_no_record cid-f net1
rm -f $CNI_BIN/rdma-thick $CNI_BIN/rdma-engine
ip netns del pode
