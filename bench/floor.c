/*
 * floor: the least a CNI call that moves an RDMA device can cost, to measure ours against. Called
 * the way a runtime calls a plugin (CNI_COMMAND, CNI_NETNS, the config on stdin), it reads stdin,
 * sends one RDMA_NLDEV_CMD_SET {DEV_INDEX, NET_NS_FD} and waits for the kernel's ACK. It trusts
 * its input (BENCH_DEV_INDEX names the device) and keeps no state: nothing a real plugin may skip
 * is here, and nothing more. ADD moves the device into CNI_NETNS and echoes stdin (a chained
 * plugin prints prevResult); DEL enters CNI_NETNS first, because the kernel lets only a thread in
 * the device's netns move it out (docs/bench.md).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RDMA_NL_NLDEV 5
#define RDMA_NLDEV_CMD_SET 2
#define RDMA_NLDEV_ATTR_DEV_INDEX 1
#define RDMA_NLDEV_ATTR_NET_NS_FD 68
/* From linux/netlink.h, spelled out so the program builds with musl-gcc, which has no kernel headers. */
#define NETLINK_RDMA 20
#define NLM_F_REQUEST 1
#define NLM_F_ACK 4
#define NLMSG_ERROR 2
struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type, nlmsg_flags;
	uint32_t nlmsg_seq, nlmsg_pid;
};
struct nlattr {
	uint16_t nla_len, nla_type;
};
struct nlmsgerr {
	int error;
	struct nlmsghdr msg;
};
#define NLMSG_HDRLEN 16
#define NLA_HDRLEN 4
#define NLA_ALIGN(n) (((n) + 3) & ~3)

static int die(const char *what) {
	printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"floor: %s\"}\n", what);
	perror(what);
	return 1;
}

static void put_u32_attr(unsigned char *p, uint16_t type, uint32_t v) {
	struct nlattr a = {.nla_len = NLA_HDRLEN + 4, .nla_type = type};
	memcpy(p, &a, sizeof a);
	memcpy(p + NLA_HDRLEN, &v, 4);
}

int main(void) {
	const char *cmd = getenv("CNI_COMMAND"), *ns = getenv("CNI_NETNS"), *idx = getenv("BENCH_DEV_INDEX");
	if (!cmd || !ns || !idx) return die("CNI_COMMAND, CNI_NETNS and BENCH_DEV_INDEX are needed");
	char in[65536];
	ssize_t n, len = 0;
	while ((n = read(0, in + len, sizeof in - (size_t)len)) > 0) len += n;
	int add = strcmp(cmd, "ADD") == 0;
	int pod = open(ns, O_RDONLY | O_CLOEXEC);
	if (pod < 0) return die("open CNI_NETNS");
	int target = pod;
	if (!add) {
		target = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (target < 0 || setns(pod, CLONE_NEWNET) < 0) return die("enter the pod netns");
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (fd < 0) return die("socket");
	unsigned char msg[NLMSG_HDRLEN + 2 * NLA_ALIGN(NLA_HDRLEN + 4)] = {0};
	struct nlmsghdr h = {.nlmsg_len = sizeof msg, .nlmsg_type = (RDMA_NL_NLDEV << 10) + RDMA_NLDEV_CMD_SET, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1};
	memcpy(msg, &h, sizeof h);
	put_u32_attr(msg + NLMSG_HDRLEN, RDMA_NLDEV_ATTR_DEV_INDEX, (uint32_t)atoi(idx));
	put_u32_attr(msg + NLMSG_HDRLEN + NLA_ALIGN(NLA_HDRLEN + 4), RDMA_NLDEV_ATTR_NET_NS_FD, (uint32_t)target);
	if (send(fd, msg, sizeof msg, 0) < 0) return die("send");
	unsigned char buf[4096];
	if (recv(fd, buf, sizeof buf, 0) < (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr))) return die("recv");
	struct nlmsgerr err;
	memcpy(&err, buf + NLMSG_HDRLEN, sizeof err);
	if (((struct nlmsghdr *)buf)->nlmsg_type != NLMSG_ERROR || err.error != 0) return die("the kernel refused the move");
	if (add && fwrite(in, 1, (size_t)len, stdout) != (size_t)len) return 1;
	return 0;
}
