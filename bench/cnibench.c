/*
 * cnibench: calls a CNI plugin the way a runtime does (a fresh process each time, the CNI_*
 * environment, the network config on a stdin pipe, stdout read back) and times each call from
 * just before fork to the moment wait4 returns, with CLOCK_MONOTONIC. A C driver, so the times
 * hold no shell's fork cost: what they include is exactly what a runtime pays (fork, exec, the
 * plugin's run, exit, reaping). Peak RSS of each call comes from wait4's rusage.
 *
 *   cnibench seq EXE REPS DEVICEID DEVINDEX NETNS       REPS x (ADD then DEL) on one device
 *   cnibench alt NAME_A EXE_A NAME_B EXE_B REPS DEVICEID DEVINDEX NETNS
 *                                                       the same, a cycle of A then a cycle of B,
 *                                                       REPS times: both meet the same VM weather
 *   cnibench gap GAP_MS REPS DEVICEID DEVINDEX NETNS NAME EXE [NAME EXE]...
 *                                                       a quiet node: REPS rounds of one cycle of
 *                                                       each EXE in turn, each after GAP_MS of sleep
 *   cnibench par EXE DEVICEID DEVINDEX NETNS [...]      all ADDs started at once, then all DELs
 *   cnibench version EXE REPS                           VERSION, REPS times
 *
 * Output, one line per call: "call VERB I MICROSECONDS STATUS MAXRSS_KB"; for par also
 * "wall VERB MICROSECONDS". A failed call (status != 0, or an ADD that prints no result) also
 * prints "error VERB I <its stdout>". Variables RDMA_CNI_* and PATH of the driver are passed on.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CALLS 512
#define OUT_MAX 65536

struct call {
	const char *verb, *device_id, *dev_index, *netns;
	char container_id[32];
	pid_t pid;
	int out_fd;
	int64_t start_ns, end_ns;
	int status;
	long maxrss_kb;
	char out[OUT_MAX];
	size_t out_len;
};

extern char **environ;
static int stderr_fd = -1;

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fatal(const char *what) {
	perror(what);
	exit(2);
}

static const char *config(const struct call *c) {
	static char buf[1024];
	snprintf(buf, sizeof buf,
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"bench\",\"type\":\"rdma\",\"deviceID\":\"%s\","
		 "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\",\"sandbox\":\"%s\"}],\"ips\":[]}}",
		 c->device_id, c->netns);
	return buf;
}

/* Starts one call: the config goes into a pipe before fork, so the child never waits for us. */
static void start(struct call *c, const char *exe) {
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) fatal("pipe");
	const char *conf = strcmp(c->verb, "VERSION") == 0 ? "{}" : config(c);
	if (write(in[1], conf, strlen(conf)) != (ssize_t)strlen(conf)) fatal("write config");
	close(in[1]);
	char *env[64];
	int n = 0;
	static char vars[8][1200];
	snprintf(vars[0], sizeof vars[0], "CNI_COMMAND=%s", c->verb);
	snprintf(vars[1], sizeof vars[1], "CNI_CONTAINERID=%s", c->container_id);
	snprintf(vars[2], sizeof vars[2], "CNI_NETNS=%s", c->netns ? c->netns : "");
	snprintf(vars[3], sizeof vars[3], "CNI_IFNAME=net1");
	snprintf(vars[4], sizeof vars[4], "CNI_PATH=/opt/cni/bin");
	snprintf(vars[5], sizeof vars[5], "CNI_ARGS=");
	snprintf(vars[6], sizeof vars[6], "BENCH_DEV_INDEX=%s", c->dev_index ? c->dev_index : "");
	for (int i = 0; i < 7; i++) env[n++] = vars[i];
	for (char **e = environ; *e && n < 62; e++)
		if (strncmp(*e, "RDMA_CNI_", 9) == 0 || strncmp(*e, "PATH=", 5) == 0) env[n++] = *e;
	env[n] = NULL;
	char *argv[] = {(char *)exe, NULL};
	c->start_ns = now_ns();
	c->pid = fork();
	if (c->pid < 0) fatal("fork");
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (stderr_fd >= 0) dup2(stderr_fd, 2);
		execve(exe, argv, env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->out_fd = out[0];
}

static void drain(struct call *c) {
	ssize_t r;
	while (c->out_len < OUT_MAX - 1 && (r = read(c->out_fd, c->out + c->out_len, OUT_MAX - 1 - c->out_len)) > 0) c->out_len += (size_t)r;
	c->out[c->out_len] = 0;
	close(c->out_fd);
}

/* Reaps whichever calls end, stamping each at the moment wait4 returns it. */
static void reap(struct call *calls, int n) {
	for (int left = n; left > 0; left--) {
		int st;
		struct rusage ru;
		pid_t pid = wait4(-1, &st, 0, &ru);
		int64_t t = now_ns();
		if (pid < 0) fatal("wait4");
		for (int i = 0; i < n; i++) {
			if (calls[i].pid != pid) continue;
			calls[i].end_ns = t;
			calls[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			calls[i].maxrss_kb = ru.ru_maxrss;
		}
	}
	for (int i = 0; i < n; i++) drain(&calls[i]);
}

static void report(struct call *c, int i) {
	int failed = c->status != 0 || (strcmp(c->verb, "ADD") == 0 && c->out_len == 0);
	printf("call %s %d %.1f %d %ld\n", c->verb, i, (double)(c->end_ns - c->start_ns) / 1000.0, failed ? (c->status ? c->status : 99) : 0, c->maxrss_kb);
	if (failed) {
		for (char *p = c->out; *p; p++)
			if (*p == '\n') *p = ' ';
		printf("error %s %d %s\n", c->verb, i, c->out);
	}
}

static void one(struct call *c, const char *exe, int i) {
	c->out_len = 0;
	start(c, exe);
	/* the output pipe is drained after wait4: results are far below the pipe's 64 KiB */
	reap(c, 1);
	report(c, i);
}

int main(int argc, char **argv) {
	static struct call calls[MAX_CALLS];
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *log = getenv("BENCH_STDERR");
	if (log) stderr_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (argc >= 7 && strcmp(argv[1], "seq") == 0) {
		const char *exe = argv[2];
		int reps = atoi(argv[3]);
		struct call *c = &calls[0];
		*c = (struct call){.device_id = argv[4], .dev_index = argv[5], .netns = argv[6]};
		strcpy(c->container_id, "bench-seq");
		for (int i = 0; i < reps; i++) {
			c->verb = "ADD";
			one(c, exe, i);
			c->verb = "DEL";
			one(c, exe, i);
		}
		return 0;
	}
	if (argc >= 10 && strcmp(argv[1], "alt") == 0) {
		/* Timing in the test VM drifts by up to 2x over a minute: interleaving two executables
		 * cycle by cycle gives their ratio under the same conditions. Each cycle is announced
		 * with "mode NAME" so the report files it under its executable. */
		const char *name[2] = {argv[2], argv[4]}, *exe[2] = {argv[3], argv[5]};
		int reps = atoi(argv[6]);
		struct call *c = &calls[0];
		*c = (struct call){.device_id = argv[7], .dev_index = argv[8], .netns = argv[9]};
		strcpy(c->container_id, "bench-seq");
		for (int i = 0; i < reps; i++) {
			for (int k = 0; k < 2; k++) {
				printf("mode %s\n", name[k]);
				c->verb = "ADD";
				one(c, exe[k], i);
				c->verb = "DEL";
				one(c, exe[k], i);
			}
		}
		return 0;
	}
	if (argc >= 9 && strcmp(argv[1], "gap") == 0 && (argc - 7) % 2 == 0) {
		/* A node that schedules an RDMA pod now and then: every cycle meets GAP_MS of idle
		 * (nothing of ours runs meanwhile), the executables in turn so that they share the VM's
		 * weather as in alt. */
		long gap_ms = atol(argv[2]);
		int reps = atoi(argv[3]), n = (argc - 7) / 2;
		struct call *c = &calls[0];
		*c = (struct call){.device_id = argv[4], .dev_index = argv[5], .netns = argv[6]};
		strcpy(c->container_id, "bench-seq");
		struct timespec gap = {.tv_sec = gap_ms / 1000, .tv_nsec = (gap_ms % 1000) * 1000000};
		for (int i = 0; i < reps; i++) {
			for (int k = 0; k < n; k++) {
				printf("mode %s\n", argv[7 + 2 * k]);
				while (nanosleep(&gap, &gap) != 0) {
				}
				gap = (struct timespec){.tv_sec = gap_ms / 1000, .tv_nsec = (gap_ms % 1000) * 1000000};
				c->verb = "ADD";
				one(c, argv[8 + 2 * k], i);
				c->verb = "DEL";
				one(c, argv[8 + 2 * k], i);
			}
		}
		return 0;
	}
	if (argc >= 6 && strcmp(argv[1], "par") == 0 && (argc - 3) % 3 == 0) {
		const char *exe = argv[2];
		int n = (argc - 3) / 3;
		if (n > MAX_CALLS) fatal("too many calls");
		for (int i = 0; i < n; i++) {
			calls[i] = (struct call){.device_id = argv[3 + 3 * i], .dev_index = argv[4 + 3 * i], .netns = argv[5 + 3 * i]};
			snprintf(calls[i].container_id, sizeof calls[i].container_id, "bench-par-%d", i);
		}
		const char *verbs[] = {"ADD", "DEL"};
		for (int v = 0; v < 2; v++) {
			int64_t t0 = now_ns();
			for (int i = 0; i < n; i++) {
				calls[i].verb = verbs[v];
				calls[i].out_len = 0;
				start(&calls[i], exe);
			}
			reap(calls, n);
			printf("wall %s %.1f\n", verbs[v], (double)(now_ns() - t0) / 1000.0);
			for (int i = 0; i < n; i++) report(&calls[i], i);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "version") == 0) {
		struct call *c = &calls[0];
		*c = (struct call){.verb = "VERSION"};
		strcpy(c->container_id, "bench-version");
		for (int i = 0; i < atoi(argv[3]); i++) one(c, argv[2], i);
		return 0;
	}
	fprintf(stderr, "usage: cnibench seq EXE REPS DEVICEID DEVINDEX NETNS\n"
			"       cnibench alt NAME_A EXE_A NAME_B EXE_B REPS DEVICEID DEVINDEX NETNS\n"
			"       cnibench gap GAP_MS REPS DEVICEID DEVINDEX NETNS NAME EXE [NAME EXE]...\n"
			"       cnibench par EXE (DEVICEID DEVINDEX NETNS)...\n"
			"       cnibench version EXE REPS\n");
	return 2;
}
