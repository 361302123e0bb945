/* kvfence benchmark: run a command, report its wall time (CLOCK_MONOTONIC
 * around fork/exec/wait4) and its peak RSS (ru_maxrss from wait4).
 *
 * usage: benchtime OUTFILE CMD [ARGS...]
 * appends to OUTFILE: wall_ms=T maxrss_kb=R user_ms=U sys_ms=S rc=C
 * and exits with the command's status. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	int status, rc;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: benchtime OUTFILE CMD [ARGS...]\n");
		return 2;
	}
	t0 = mono_ms();
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return 2;
	t1 = mono_ms();
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "a");
	if (!out)
		return 2;
	fprintf(out, "wall_ms=%.3f maxrss_kb=%ld user_ms=%.1f sys_ms=%.1f rc=%d\n", t1 - t0,
		ru.ru_maxrss, ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
		ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3, rc);
	fclose(out);
	return rc;
}
