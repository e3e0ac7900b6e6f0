/*
 * targets.c - what a recording attaches to (session-internal.h): the
 * threads of running processes (-p, -t), every process (-a), their
 * existing mappings and names, and the command lines and executables the
 * data file records.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cprof/data.h"
#include "cprof/event.h"
#include "cprof/record.h"
#include "cprof/outfile.h"
#include "cprof/resolve.h"
#include "cprof/source.h"
#include "cprof/unwind.h"
#include "session-internal.h"

const char *proc_stat_fields(uint32_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%u/stat", pid);
	FILE *fp = fopen(path, "re");
	if (!fp)
		return NULL;
	size_t n = fread(buf, 1, size - 1, fp);
	fclose(fp);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces and ')' */
	return p && p[1] == ' ' ? p + 2 : NULL;
}

/* utime + stime of a whole process from /proc, in ns; 0 if unknown. */
uint64_t proc_cpu_ns(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields((uint32_t)pid, buf, sizeof buf);
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	return (ut + st) * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

/* The process a thread belongs to; 0 if it is gone. */
pid_t thread_tgid(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	FILE *fp = fopen(path, "r");
	pid_t tgid = 0;
	if (!fp)
		return 0;
	while (fgets(line, sizeof line, fp))
		if (strncmp(line, "Tgid:", 5) == 0) {
			tgid = (pid_t)atoi(line + 5);
			break;
		}
	fclose(fp);
	return tgid;
}

/* The threads of process pid (only_tid: that one thread of it) into tids
 * (may be NULL), their names and the process's executable mappings into st. */
int attach_targets(pid_t pid, pid_t only_tid, struct tid_list *tids, struct raw_store *st,
			  struct cprof_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return err_set(err, ESRCH, "process %d not found", (int)pid);
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid_t tid = (pid_t)atoi(de->d_name);
		if (only_tid && tid != only_tid)
			continue;
		if (tids)
			vec_push(tids, tid);
		char cpath[96], comm[32] = "";
		snprintf(cpath, sizeof cpath, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
		FILE *fp = fopen(cpath, "r");
		if (fp) {
			if (fgets(comm, sizeof comm, fp))
				comm[strcspn(comm, "\n")] = 0;
			fclose(fp);
		}
		struct raw_comm cm = { .time = 0, .pid = (uint32_t)pid, .tid = (uint32_t)tid };
		snprintf(cm.comm, sizeof cm.comm, "%s", comm);
		vec_push(&st->comms, cm);
	}
	closedir(dir);
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return err_set(err, errno, "cannot read '%s': %s", path, strerror(errno));
	char line[4096];
	while (fgets(line, sizeof line, fp)) {
		unsigned long long start, end, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &start, &end, perms, &off, &pos) != 4)
			continue;
		if (perms[2] != 'x')
			continue;
		char *name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		struct raw_mmap m = { .time = 0, .start = start, .len = end - start, .pgoff = off,
				      .pid = (uint32_t)pid, .tid = (uint32_t)pid };
		m.path = xstrdup(*name ? name : "//anon");
		vec_push(&st->mmaps, m);
	}
	fclose(fp);
	return 0;
}

/* -a: every process there is now, for its names and mappings (the kernel
 * reports only what happens after the events exist). Processes that end
 * while this looks are skipped. */
void system_targets(struct raw_store *st)
{
	DIR *dir = opendir("/proc");
	if (!dir)
		return;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		struct cprof_err ignored;
		(void)attach_targets((pid_t)atoi(de->d_name), 0, NULL, st, &ignored);
	}
	closedir(dir);
}

/* The targets of -p or -t: their threads into tids, the rest into st. */
int attach_all(const struct record_opts *o, struct tid_list *tids, struct raw_store *st, struct cprof_err *err)
{
	size_t np = o->nattach ? o->nattach : 1;
	for (size_t i = 0; i < np; i++) {
		pid_t id = o->nattach ? o->attach_pids[i] : o->attach_pid;
		int r;
		if (o->attach_threads) {
			pid_t tgid = thread_tgid(id);
			if (!tgid)
				return err_set(err, ESRCH, "thread %d not found", (int)id);
			r = attach_targets(tgid, id, tids, st, err);
		} else {
			r = attach_targets(id, 0, tids, st, err);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void join_argv(char **argv, struct sbuf *out)
{
	for (int i = 0; argv && argv[i]; i++) {
		if (i)
			sbuf_addc(out, ' ');
		bool quote = argv[i][0] == 0 || strpbrk(argv[i], " \t\"'\\$") != NULL;
		if (quote)
			sbuf_addc(out, '\'');
		sbuf_adds(out, argv[i]);
		if (quote)
			sbuf_addc(out, '\'');
	}
}

/* The command line of a running process, words quoted as join_argv does;
 * -errno if it cannot be read (or it is a kernel thread, which has none). */
int proc_command(pid_t pid, struct sbuf *out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -errno;
	struct sbuf raw = SBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
		sbuf_add(&raw, buf, n);
	fclose(fp);
	if (!raw.len) {
		sbuf_release(&raw);
		return -ENOENT;
	}
	VEC(char *) words = { 0 };
	for (size_t i = 0; i < raw.len; i += strlen(raw.buf + i) + 1)
		vec_push(&words, raw.buf + i);
	vec_push(&words, NULL);
	join_argv(words.v, out);
	vec_release(&words);
	sbuf_release(&raw);
	return 0;
}

void proc_exe(pid_t pid, struct sbuf *out)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n > 0)
		sbuf_add(out, buf, (size_t)n);
}

/* The file execvp() runs for argv0, as the kernel names its mapping. */
void exe_lookup(const char *argv0, struct sbuf *out)
{
	char *real = NULL;
	if (strchr(argv0, '/')) {
		real = realpath(argv0, NULL);
	} else {
		const char *path = getenv("PATH");
		struct sbuf cand = SBUF_INIT;
		for (const char *p = path ? path : "/usr/bin:/bin"; !real;) {
			size_t n = strcspn(p, ":");
			sbuf_reset(&cand);
			sbuf_add(&cand, p, n);
			sbuf_addf(&cand, "%s%s", n ? "/" : "", argv0);
			if (access(cand.buf, X_OK) == 0)
				real = realpath(cand.buf, NULL);
			if (!p[n])
				break;
			p += n + 1;
		}
		sbuf_release(&cand);
	}
	if (real)
		sbuf_adds(out, real);
	free(real);
}

bool attached_alive(const struct record_opts *o)
{
	size_t np = o->nattach ? o->nattach : 1;
	for (size_t i = 0; i < np; i++)
		if (kill(o->nattach ? o->attach_pids[i] : o->attach_pid, 0) == 0 || errno != ESRCH)
			return true;
	return false;
}

uint64_t attached_cpu_ns(const struct record_opts *o)
{
	size_t np = o->nattach ? o->nattach : 1;
	uint64_t sum = 0;
	for (size_t i = 0; i < np; i++)
		sum += proc_cpu_ns(o->nattach ? o->attach_pids[i] : o->attach_pid);
	return sum;
}
