# Sourced by the runtime boots' libraries (podman/lib.sh, containerd/lib.sh): how the plugin is laid
# out in /opt/cni/bin, as the DaemonSet lays it out or as a one-shot install does. Needs lib.sh
# (CNI_BIN, check).

# The plugin as /opt/cni/bin/rdma: the Bun executable one-shot, or the shim with the engine
use_one_shot() {
	rm -f "$CNI_BIN/rdma" "$CNI_BIN/rdma-engine"
	ln -s /mnt/build/rdma "$CNI_BIN/rdma"
}
# the node's layout of the thick plugin: the shim as /opt/cni/bin/rdma, the Bun executable next
# to it as rdma-engine (its one-shot fallback), the engine serving the default socket
ENGINE_SOCKET=/run/rdma-cni/engine.sock
ENGINE_LOG=/tmp/engine.log
use_shim() {
	rm -f "$CNI_BIN/rdma"
	cp /mnt/build/rdma-shim "$CNI_BIN/rdma"
	ln -sf /mnt/build/rdma "$CNI_BIN/rdma-engine"
}
start_engine() {
	"$CNI_BIN/rdma-engine" engine --socket "$ENGINE_SOCKET" --log-level debug >>"$ENGINE_LOG" 2>&1 &
	ENGINE_PID=$!
	_i=0
	while [ ! -S "$ENGINE_SOCKET" ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	check "the engine listens on $ENGINE_SOCKET" test -S "$ENGINE_SOCKET"
}
stop_engine() {
	kill "$ENGINE_PID" 2>/dev/null
	wait "$ENGINE_PID" 2>/dev/null
	rm -f "$ENGINE_SOCKET"
}
# engine_served VERB : how many calls of VERB the engine answered
engine_served() { grep -c "\"msg\":\"engine: served\",\"component\":\"engine\",\"command\":\"$1\"" "$ENGINE_LOG" || true; }
