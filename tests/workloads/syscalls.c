/*
 * syscalls - known counts of syscalls, issued directly (syscall(2), so no
 * libc wrapper changes their names or caches them): the parent makes
 * P_GETPID getpid, P_WRITE write to /dev/null, P_OPEN openat of a missing
 * file (each fails ENOENT) and P_SLEEP nanosleep of SLEEP_MS each; a
 * forked child makes C_GETPID getpid, C_WRITE write and C_OPEN failing
 * openat, and exits. With argv[1] = N the counts are multiplied by N
 * (the sleeps excepted). The parent then reads P_READS x READ_SIZE bytes
 * of /dev/zero, and keeps it open over the sleeps (so that its path can
 * be seen) before it closes it. It prints the median of the sleeps as it timed
 * them itself (CLOCK_MONOTONIC around each call): "sleep_p50_ns N".
 * With argv[1] = "signals" and argv[2] = N it sends itself N SIGUSR1
 * (kill), each caught by a handler, so that N rt_sigreturn follow.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define P_GETPID 1000
#define P_WRITE 200
#define P_OPEN 50
#define P_SLEEP 20
#define SLEEP_MS 5
#define C_GETPID 300
#define C_WRITE 100
#define C_OPEN 30
#define P_READS 10
#define READ_SIZE 4096

static void calls(int fd, long getpids, long writes, long opens)
{
	for (long i = 0; i < getpids; i++)
		syscall(SYS_getpid);
	for (long i = 0; i < writes; i++)
		if (syscall(SYS_write, fd, "x", 1) != 1)
			exit(2);
	for (long i = 0; i < opens; i++)
		if (syscall(SYS_openat, AT_FDCWD, "/nonexistent-cprof-syscalls/missing", O_RDONLY) != -1)
			exit(3);
}

static long long ns_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* The sleeps; returns their median as timed here (nearest rank). */
__attribute__((noinline)) long long sleeps(void)
{
	struct timespec ts = { 0, SLEEP_MS * 1000000L };
	long long took[P_SLEEP];
	for (int i = 0; i < P_SLEEP; i++) {
		long long t0 = ns_now();
		syscall(SYS_nanosleep, &ts, NULL);
		took[i] = ns_now() - t0;
	}
	qsort(took, P_SLEEP, sizeof *took, cmp_ll);
	return took[(P_SLEEP + 1) / 2 - 1];
}

static volatile sig_atomic_t caught;
static void on_usr1(int sig)
{
	(void)sig;
	caught++;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "signals") == 0) {
		long n = atol(argv[2]);
		struct sigaction sa = { .sa_handler = on_usr1 };
		if (sigaction(SIGUSR1, &sa, NULL) != 0)
			return 1;
		for (long i = 0; i < n; i++)
			if (syscall(SYS_kill, getpid(), SIGUSR1) != 0)
				return 1;
		return caught == n ? 0 : 1;
	}
	long mult = argc > 1 ? atol(argv[1]) : 1;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
	if (fd < 0 || mult < 1)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		calls(fd, C_GETPID * mult, C_WRITE * mult, C_OPEN * mult);
		_exit(0);
	}
	calls(fd, P_GETPID * mult, P_WRITE * mult, P_OPEN * mult);
	static char buf[READ_SIZE];
	int zfd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
	if (zfd < 0)
		return 1;
	for (int i = 0; i < P_READS; i++)
		if (syscall(SYS_read, zfd, buf, READ_SIZE) != READ_SIZE)
			return 1;
	long long p50 = sleeps();
	if (syscall(SYS_close, zfd) != 0)
		return 1;
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	printf("sleep_p50_ns %lld\n", p50);
	return 0;
}
