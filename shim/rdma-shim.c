/*
 * rdma-shim: the executable the runtime finds in /opt/cni/bin/rdma. It forwards one CNI call
 * (the CNI_* and RDMA_CNI_* environment and stdin) to the long-running engine over a root-only
 * unix socket and prints the engine's answer with its exit status, so the pod does not wait for
 * a runtime to start. When no engine answers, it execs the engine executable one-shot with the
 * same environment and stdin: a node without the daemon, or with a crashed one, still works.
 *
 * Framing (all integers little-endian u32), see docs/engine.md:
 *   request  "RCQ1" env_len stdin_len  env (NUL-terminated KEY=VALUE strings)  stdin
 *   reply    "RCR1" status stdout_len stderr_len  stdout  stderr
 *
 * Build-time settings: ENGINE_SOCKET (default socket path), ENGINE_NAME (the one-shot engine,
 * looked up next to this executable unless absolute), REPLY_TIMEOUT_MS.
 * Environment (trusted: it is the runtime's): RDMA_CNI_ENGINE_SOCKET, RDMA_CNI_SHIM_TIMEOUT_MS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef ENGINE_SOCKET
#define ENGINE_SOCKET "/run/rdma-cni/engine.sock"
#endif
#ifndef ENGINE_NAME
#define ENGINE_NAME "rdma-engine"
#endif
#ifndef REPLY_TIMEOUT_MS
#define REPLY_TIMEOUT_MS 120000
#endif

#define MAX_STDIN (4u * 1024 * 1024) /* the plugin's own limit; one byte more says "too large" */
#define MAX_ENV (256u * 1024)
#define MAX_STDOUT (8u * 1024 * 1024)
#define MAX_STDERR (1u * 1024 * 1024)
#define HEADER 12
#define REPLY_HEADER 16

extern char **environ;

/* An error of the shim itself, as the CNI error document the runtime expects. */
static int fail(int code, const char *fmt, ...) {
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* keep the document valid JSON whatever a path or strerror() holds */
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '?';
	printf("{\"cniVersion\":\"1.1.0\",\"code\":%d,\"msg\":\"rdma-shim: %s\"}\n", code, msg);
	fprintf(stderr, "rdma-shim: %s\n", msg);
	fflush(stdout);
	return 1;
}

static int64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put32(unsigned char *p, uint32_t v) {
	p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}
static uint32_t get32(const unsigned char *p) {
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Waits for fd to be ready until the deadline; 0 ready, -1 timed out (errno ETIMEDOUT) or failed. */
static int wait_fd(int fd, short events, int64_t deadline) {
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) return errno = ETIMEDOUT, -1;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0) return 0;
		if (n < 0 && errno != EINTR) return -1;
	}
}

static int send_all(int fd, const unsigned char *p, size_t n, int64_t deadline) {
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w, n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
		} else if (w < 0 && errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/*
 * Reads exactly n bytes and returns how many arrived: n, or fewer when the stream ended (*err 0)
 * or failed (*err the errno: ETIMEDOUT at the deadline, ECONNRESET when the peer reset it).
 */
static size_t recv_all(int fd, unsigned char *p, size_t n, int64_t deadline, int *err) {
	size_t got = 0;
	*err = 0;
	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
		} else if (r == 0) {
			break;
		} else if (errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline) < 0) return *err = errno, got;
		} else if (errno != EINTR) {
			return *err = errno, got;
		}
	}
	return got;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* stdin, at most MAX_STDIN + 1 bytes: the engine turns "more than the limit" into the CNI error. */
static unsigned char *read_stdin(size_t *len) {
	size_t cap = 64 * 1024, n = 0;
	unsigned char *buf = malloc(cap);
	if (!buf) return NULL;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap * 2 > MAX_STDIN + 1 ? MAX_STDIN + 1 : cap * 2;
			unsigned char *nb = realloc(buf, ncap);
			if (!nb) return free(buf), NULL;
			buf = nb, cap = ncap;
		}
		ssize_t r = read(0, buf + n, cap - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) return free(buf), NULL;
		if (r == 0) break;
		n += (size_t)r;
		if (n > MAX_STDIN) break;
	}
	*len = n;
	return buf;
}

static int forwarded(const char *kv) {
	return strncmp(kv, "CNI_", 4) == 0 || strncmp(kv, "RDMA_CNI_", 9) == 0;
}

/* The one-shot engine: absolute ENGINE_NAME, or ENGINE_NAME in this executable's directory. */
static int engine_path(char *out, size_t size) {
	if (ENGINE_NAME[0] == '/') return snprintf(out, size, "%s", ENGINE_NAME) < (int)size ? 0 : -1;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash) return -1;
	*slash = 0;
	return snprintf(out, size, "%s/%s", self, ENGINE_NAME) < (int)size ? 0 : -1;
}

/*
 * Runs the engine executable in this process, with the runtime's environment and stdin. The shim
 * has read stdin whole before it tries the engine, so the call's stdin is replayed from a memfd.
 */
static int exec_one_shot(const unsigned char *in, size_t in_len, const char *why) {
	char path[PATH_MAX];
	if (engine_path(path, sizeof path) < 0) return fail(5, "no engine answered (%s) and the one-shot engine path cannot be found", why);
	int fd = memfd_create("rdma-shim-stdin", 0);
	if (fd < 0 || write_all(fd, in, in_len) < 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0)
		return fail(5, "no engine answered (%s) and stdin cannot be replayed: %s", why, strerror(errno));
	if (fd != 0) close(fd);
	char *argv[] = {path, NULL};
	execve(path, argv, environ);
	return fail(5, "no engine answered (%s) and the one-shot engine %s cannot run: %s", why, path, strerror(errno));
}

/*
 * The engine took the connection and went away without an answer: say so on stderr (a log line
 * for the runtime, rare: an engine that died or restarted mid-call), then run the call one-shot.
 */
static int engine_lost(const unsigned char *in, size_t in_len, const char *why) {
	fprintf(stderr, "rdma-shim: %s; running the call one-shot\n", why);
	fflush(stderr);
	return exec_one_shot(in, in_len, why);
}

/* Connects to the engine; -1 with errno when nobody listens there. */
static int connect_engine(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path) return errno = ENAMETOOLONG, -1;
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) return -1;
	/* A non-blocking unix connect never waits: a full backlog is EAGAIN, a dead engine ECONNREFUSED. */
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int e = errno;
		close(fd);
		return errno = e, -1;
	}
	/* Only root can own the engine: a listener of any other uid is not ours. */
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
		close(fd);
		return errno = EPERM, -1;
	}
	return fd;
}

int main(void) {
	const char *sock_path = getenv("RDMA_CNI_ENGINE_SOCKET");
	if (!sock_path || !*sock_path) sock_path = ENGINE_SOCKET;
	int64_t timeout = REPLY_TIMEOUT_MS;
	const char *t = getenv("RDMA_CNI_SHIM_TIMEOUT_MS");
	if (t && *t) timeout = strtoll(t, NULL, 10) > 0 ? strtoll(t, NULL, 10) : REPLY_TIMEOUT_MS;

	/* The whole request is ready before the engine hears of it: one send, and an engine woken by
	 * the connection finds all of it there instead of waiting on this process to read stdin. */
	size_t env_len = 0;
	for (char **e = environ; *e; e++)
		if (forwarded(*e)) env_len += strlen(*e) + 1;
	if (env_len > MAX_ENV) return fail(4, "the CNI_* and RDMA_CNI_* environment is larger than %u bytes", MAX_ENV);
	size_t in_len;
	unsigned char *in = read_stdin(&in_len);
	if (!in) return fail(5, "cannot read stdin: %s", strerror(errno));
	unsigned char *req = malloc(HEADER + env_len + in_len);
	if (!req) return fail(5, "out of memory");
	memcpy(req, "RCQ1", 4);
	put32(req + 4, (uint32_t)env_len);
	put32(req + 8, (uint32_t)in_len);
	size_t off = HEADER;
	for (char **e = environ; *e; e++) {
		if (!forwarded(*e)) continue;
		size_t n = strlen(*e) + 1;
		memcpy(req + off, *e, n);
		off += n;
	}
	memcpy(req + off, in, in_len);
	off += in_len;

	int fd = connect_engine(sock_path);
	if (fd < 0) {
		char why[160];
		snprintf(why, sizeof why, "%s: %s", sock_path, strerror(errno));
		return exec_one_shot(in, in_len, why);
	}
	int64_t deadline = now_ms() + timeout;
	if (send_all(fd, req, off, deadline) < 0) {
		if (errno == ETIMEDOUT) return fail(11, "the engine at %s did not take the request within %lld ms; try again later", sock_path, (long long)timeout);
		/* The engine went away before it had the whole request (EPIPE, or ECONNRESET when it was
		 * killed with the connection in its backlog): it cannot have acted on it. */
		char why[160];
		snprintf(why, sizeof why, "the engine went away before it had the request (%s)", strerror(errno));
		close(fd);
		return engine_lost(in, in_len, why);
	}
	shutdown(fd, SHUT_WR);

	unsigned char hdr[REPLY_HEADER];
	int err;
	size_t got = recv_all(fd, hdr, sizeof hdr, deadline, &err);
	if (got == 0 && (err == 0 || err == ECONNRESET)) {
		/* Nothing of an answer, then EOF or a reset: the engine crashed, was killed (the connections
		 * still queued in a dead listener's backlog are reset, not closed) or refused us. It may have
		 * acted on the request, but locks and idempotent verbs make a redo safe. */
		close(fd);
		return engine_lost(in, in_len, err ? "the engine reset the connection without an answer" : "the engine closed the connection without an answer");
	}
	if (err == ETIMEDOUT)
		return fail(11, "the engine at %s did not answer within %lld ms; try again later", sock_path, (long long)timeout);
	/* Part of an answer came: the engine acted on the call, and what it answered is lost. */
	if (err) return fail(5, "reading the engine's answer after %zu bytes: %s", got, strerror(err));
	if (got < sizeof hdr || memcmp(hdr, "RCR1", 4) != 0) return fail(5, "malformed answer from the engine (bad header)");
	uint32_t status = get32(hdr + 4), out_len = get32(hdr + 8), err_len = get32(hdr + 12);
	if (status > 255 || out_len > MAX_STDOUT || err_len > MAX_STDERR)
		return fail(5, "malformed answer from the engine (status %u, %u bytes of stdout, %u of stderr)", status, out_len, err_len);
	unsigned char *body = malloc((size_t)out_len + err_len + 1);
	if (!body) return fail(5, "out of memory");
	got = recv_all(fd, body, (size_t)out_len + err_len + 1, deadline, &err);
	if (err == ETIMEDOUT) return fail(11, "the engine's answer stalled for %lld ms; try again later", (long long)timeout);
	/* A reset once the whole announced answer is here (instead of EOF) loses nothing of it. */
	if (err == ECONNRESET && got == (size_t)out_len + err_len) err = 0;
	if (err) return fail(5, "reading the engine's answer after %zu bytes: %s", sizeof hdr + got, strerror(err));
	if (got != (size_t)out_len + err_len) return fail(5, "malformed answer from the engine (%zu bytes of body, want %u)", got, out_len + err_len);
	if (write_all(2, body + out_len, err_len) < 0) { /* stderr is advisory */ }
	if (write_all(1, body, out_len) < 0) return 1;
	return (int)status;
}
