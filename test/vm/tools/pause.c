/* The pod sandbox's process for the containerd boot's pause image (test/vm/lib.sh,
 * tb_prepare_containerd): holds the pod's namespaces, reaps the children it inherits as the
 * sandbox's PID 1, and exits 0 on SIGTERM or SIGINT (how containerd stops a sandbox). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	signal(SIGCHLD, reap);
	for (;;)
		pause();
}
