// SPDX-License-Identifier: GPL-2.0
/*
 * rdma-nlprobe: asks the kernel to move an RDMA device with RDMA netlink
 * (RDMA_NLDEV_CMD_SET + RDMA_NLDEV_NET_NS_FD), choosing separately the netns
 * the netlink socket is opened in and the netns the sending thread is in.
 * Used by the e2e tests to pin down the kernel's rules.
 *
 *   rdma-nlprobe DEV TARGET_NETNS [SOCKET_NETNS [THREAD_NETNS]]
 *
 * Netns arguments are paths (/var/run/netns/x, /proc/1/ns/net) or "-" for
 * the current one. Prints "ok" or "errno N (text)" and exits 0 or N.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <rdma/rdma_netlink.h>

static int enter(const char *path)
{
	int fd;

	if (!strcmp(path, "-"))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "setns %s: %s\n", path, strerror(errno));
		exit(100);
	}
	close(fd);
	return 0;
}

static void put_attr(struct nlmsghdr *h, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* index of the device called name, as this socket sees the devices; -1 if none */
static int find_index(int s, const char *name)
{
	char buf[32768];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int found = -1;

	memset(buf, 0, sizeof(struct nlmsghdr));
	h->nlmsg_len = NLMSG_LENGTH(0);
	h->nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_GET);
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = 1;
	if (send(s, buf, h->nlmsg_len, 0) < 0)
		return -1;
	for (;;) {
		int n = recv(s, buf, sizeof(buf), 0);

		if (n <= 0)
			return found;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct nlattr *a;
			int rest, idx = -1;
			const char *nm = NULL;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return found;
			a = (struct nlattr *)NLMSG_DATA(h);
			rest = h->nlmsg_len - NLMSG_HDRLEN;
			while (rest >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rest) {
				if ((a->nla_type & NLA_TYPE_MASK) == RDMA_NLDEV_ATTR_DEV_INDEX)
					idx = *(uint32_t *)((char *)a + NLA_HDRLEN);
				if ((a->nla_type & NLA_TYPE_MASK) == RDMA_NLDEV_ATTR_DEV_NAME)
					nm = (char *)a + NLA_HDRLEN;
				rest -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
			}
			if (nm && !strcmp(nm, name))
				found = idx;
		}
	}
}

int main(int argc, char **argv)
{
	char buf[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int self, target, s, idx, n;
	uint32_t u;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: %s DEV TARGET_NETNS [SOCKET_NETNS [THREAD_NETNS]]\n", argv[0]);
		return 100;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0) {
		perror("open netns");
		return 100;
	}
	enter(argc > 3 ? argv[3] : "-");
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (s < 0) {
		perror("socket");
		return 100;
	}
	idx = find_index(s, argv[1]);
	/* back to where we started, then into the thread netns asked for */
	if (setns(self, CLONE_NEWNET) < 0) {
		perror("setns back");
		return 100;
	}
	enter(argc > 4 ? argv[4] : "-");
	if (idx < 0) {
		printf("errno %d (%s: the socket's netns does not list %s)\n", ENODEV, strerror(ENODEV), argv[1]);
		return ENODEV;
	}

	memset(buf, 0, sizeof(buf));
	h->nlmsg_len = NLMSG_LENGTH(0);
	h->nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_SET);
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 2;
	u = idx;
	put_attr(h, RDMA_NLDEV_ATTR_DEV_INDEX, &u, 4);
	u = target;
	put_attr(h, RDMA_NLDEV_NET_NS_FD, &u, 4);
	if (send(s, buf, h->nlmsg_len, 0) < 0) {
		perror("send");
		return 100;
	}
	n = recv(s, buf, sizeof(buf), 0);
	if (n >= (int)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR) {
		int err = -((struct nlmsgerr *)NLMSG_DATA(h))->error;

		if (!err) {
			printf("ok\n");
			return 0;
		}
		printf("errno %d (%s)\n", err, strerror(err));
		return err;
	}
	printf("no ack\n");
	return 100;
}
