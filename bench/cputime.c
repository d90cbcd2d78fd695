/*
 * cputime N STDIN_FILE|- CMD [ARG...] [-- CMD [ARG...]]...: whole-process CPU time of each
 * command, run in turn (A B C A B C ...) N times after two unmeasured rounds, stdout and stderr
 * to /dev/null; prints per command the median, quartiles and minimum of user+sys (wait4's
 * rusage) and the largest peak RSS. Interleaving keeps the comparison fair on a host whose speed
 * drifts. docs/bench.md, "The one-shot path". Build: cc -O2 -o cputime bench/cputime.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: cputime N STDIN_FILE|- CMD [ARG...] [-- CMD [ARG...]]...\n");
		return 2;
	}
	int n = atoi(argv[1]);
	const char *in = strcmp(argv[2], "-") ? argv[2] : "/dev/null";
	char **cmds[64];
	int nc = 0;
	cmds[nc++] = &argv[3];
	for (int i = 3; i < argc && nc < 64; i++)
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			cmds[nc++] = &argv[i + 1];
		}
	double *t = calloc((size_t)nc * n, sizeof(double));
	long rss[64] = {0};
	for (int r = -2; r < n; r++)
		for (int c = 0; c < nc; c++) {
			pid_t p = fork();
			if (p == 0) {
				int fd = open(in, O_RDONLY), out = open("/dev/null", O_WRONLY);
				dup2(fd, 0), dup2(out, 1), dup2(out, 2);
				execv(cmds[c][0], cmds[c]);
				_exit(127);
			}
			int st;
			struct rusage ru;
			wait4(p, &st, 0, &ru);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 127) fprintf(stderr, "cannot run %s\n", cmds[c][0]);
			if (r < 0) continue;
			t[c * n + r] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
			if (ru.ru_maxrss > rss[c]) rss[c] = ru.ru_maxrss;
		}
	for (int c = 0; c < nc; c++) {
		double *v = &t[c * n];
		qsort(v, n, sizeof(double), cmp);
		printf("%-32s cpu ms median %6.2f  p25 %6.2f  p75 %6.2f  min %6.2f  peak RSS %5.1f MiB\n", cmds[c][0], v[n / 2], v[n / 4], v[3 * n / 4], v[0], rss[c] / 1024.0);
	}
	return 0;
}
