# VERSION and STATUS in exclusive mode
. ./lib.sh
cni rdma VERSION "" "" "" '{"cniVersion":"1.1.0"}'
check_rc "VERSION" 0
for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	check "VERSION lists $v" json_has "$OUT" supportedVersions "\\[[^]]*\"$v\""
done
cni rdma STATUS "" "" "" "{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"rdma\"}"
check_rc "STATUS in exclusive mode" 0
check_eq "RDMA netns mode is exclusive" exclusive "$(rdma system show | sed -n 's/.*netns \([a-z]*\).*/\1/p')"
