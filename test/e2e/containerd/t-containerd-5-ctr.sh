# `ctr run --cni`, containerd's own client: it reads the first conflist of /etc/cni/net.d
# (rdma-vf0) and the plugins in /opt/cni/bin, gives CNI the task's /proc/PID/ns/net, and calls DEL
# when the task exits (--rm). One-shot.
. ./lib.sh
. ./containerd/lib.sh
use_one_shot
: >"$TRACE"

section "ctr run --cni --rm $IMAGE rdma dev"
t=$(uptime_s)
out=$(ctr run --cni --rm --no-pivot --snapshotter native "$IMAGE" ctr-1 rdma dev 2>/tmp/ctr.err)
rc=$?
echo "    (ctr run took $(since "$t") s)"
check_eq "ctr run exited 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/    ctr stderr: /' /tmp/ctr.err
check_eq "the task lists exactly simpci0" simpci0 "$(echo "$out" | rdma_names)"
assert_all_home
check "eth0 back on the host" netdev_host eth0
check_eq "ADD called once" 1 "$(grep -c ' ADD cid=default-ctr-1 ' "$TRACE")"
check "CNI_NETNS of the ADD is the task's /proc/PID/ns/net" sh -c "grep ' ADD cid=default-ctr-1 ' '$TRACE' | grep -q ' netns=/proc/[0-9]*/ns/net '"
check_eq "DEL called once" 1 "$(grep -c ' DEL cid=default-ctr-1 ' "$TRACE")"
check "ctr passes no CNI_ARGS (no K8S_POD_*)" sh -c "grep ' ADD cid=default-ctr-1 ' '$TRACE' | grep -q ' args= conf='"
check "DEL comes after the task exited, with an empty CNI_NETNS" sh -c "grep ' DEL cid=default-ctr-1 ' '$TRACE' | grep -q ' netns= ifname=eth0 '"
echo "    the calls (cni-trace):"
sed -E 's/ conf=.*//; s/^/      /' "$TRACE"
