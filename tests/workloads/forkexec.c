/*
 * forkexec - the parent does work in parent_work(), a forked child does
 * child_work(), and a second child execs the program named in argv[1]
 * (the hot workload) with argv[2] units. Parent:child:exec work = 1:1:(exec).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "work.h"

#define UNIT 100000000ULL

__attribute__((noinline)) uint64_t parent_work(uint64_t n) { return spin(n, 7); }
__attribute__((noinline)) uint64_t child_work(uint64_t n) { return spin(n, 9); }

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: forkexec HOT_PATH UNITS\n");
		return 2;
	}
	uint64_t units = strtoull(argv[2], NULL, 10);
	pid_t a = fork();
	if (a < 0)
		return 1;
	if (a == 0)
		_exit((int)(child_work(units * UNIT) & 1));
	pid_t b = fork();
	if (b < 0)
		return 1;
	if (b == 0) {
		execl(argv[1], argv[1], argv[2], (char *)NULL);
		_exit(127);
	}
	uint64_t x = parent_work(units * UNIT);
	int st1, st2;
	waitpid(a, &st1, 0);
	waitpid(b, &st2, 0);
	if (!WIFEXITED(st2) || WEXITSTATUS(st2) != 0)
		return 1;
	printf("%llu\n", (unsigned long long)(x & 1));
	return 0;
}
