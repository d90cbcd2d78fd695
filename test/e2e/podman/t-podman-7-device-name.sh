# podman's CNI backend passes a container's CNI_ARGS on to the plugins: the container asks for its
# RDMA device's name with CNI_ARGS=rdmaDeviceName=NAME, and the host gets the device's own name
# back when the container exits. (It has no way to put args.cni into the config.)
. ./lib.sh
. ./podman/lib.sh

section "CNI_ARGS=rdmaDeviceName=rdma0 podman run --rm --network rdma-vf0 $IMAGE rdma dev"
use_one_shot
t=$(uptime_s)
PM_OUT=$(CNI_ARGS="rdmaDeviceName=rdma0" podman run --rm --network rdma-vf0 "$IMAGE" rdma dev 2>"$PM_ERR")
PM_RC=$?
echo "    (podman run took $(since "$t") s)"
check_pm "podman run exited 0"
echo "    in the container: $PM_OUT"
check_eq "the container lists exactly rdma0" rdma0 "$(echo "$PM_OUT" | rdma_names)"
assert_all_home
check_not "no rdma0 on the host" on_host rdma0
