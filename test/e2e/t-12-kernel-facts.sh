# the kernel's rules that the plugin relies on (rdma-nlprobe: raw RDMA netlink)
. ./lib.sh
id=rdma_sim.sf.3
rd=$(rdma_of $id)
mkpod podk
touch /var/run/netns/hostns && mount --bind /proc/1/ns/net /var/run/netns/hostns
check "move into the pod: socket and thread in the host netns" sh -c "rdma-nlprobe $rd $(ns_path podk) >/dev/null"
check "moved" in_ns podk "$rd"
check_eq "host's /sys/bus/auxiliary/devices/$id/infiniband is empty while the device is in the pod" "" \
	"$(ls /sys/bus/auxiliary/devices/$id/infiniband 2>/dev/null)"
check "pod's sysfs shows /sys/bus/auxiliary/devices/$id/infiniband/$rd" \
	ip netns exec podk test -e "/sys/bus/auxiliary/devices/$id/infiniband/$rd"
out=$(rdma-nlprobe "$rd" /proc/1/ns/net "$(ns_path podk)" -)
rc=$?
echo "  (move back, socket in the pod, thread in the host: $out)"
check_not "move back with only the socket in the pod is refused" test "$rc" = 0
check "still in the pod after the refusal" in_ns podk "$rd"
out=$(rdma-nlprobe "$rd" /proc/1/ns/net - -)
echo "  (move back, socket and thread in the host: $out)"
check "still in the pod" in_ns podk "$rd"
out=$(rdma-nlprobe "$rd" /proc/1/ns/net "$(ns_path podk)" "$(ns_path podk)")
rc=$?
echo "  (move back, socket and thread in the pod: $out)"
check_eq "move back with socket and thread in the pod works" 0 "$rc"
check "back on the host" on_host "$rd"
out=$(rdma system set netns shared 2>&1)
rc=$?
echo "  (rdma system set netns shared while a netns exists: exit $rc $out)"
check_not "mode change refused while another netns exists" test "$rc" = 0
check_eq "mode still exclusive" exclusive "$(rdma system show | sed -n 's/.*netns \([a-z]*\).*/\1/p')"
umount /var/run/netns/hostns && rm -f /var/run/netns/hostns
