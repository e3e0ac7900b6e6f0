/*
 * source.c - syscalls as a data source of `cprof record` (source.h): the
 * option --syscalls[=slowest:N], the raw_syscalls:sys_enter and sys_exit
 * tracepoints opened on the workload (every CPU, inherited by its threads
 * and children, enabled at its exec), or on the threads of -p/-t, or every
 * task of each CPU for -a (enabled at once), their rings drained while it
 * runs, and what trace.c made of them stored in the data file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cprof/data.h"
#include "cprof/record.h"
#include "cprof/source.h"
#include "cprof/syscalls.h"
#include "sys-internal.h"

#define SLOWEST_DEFAULT 5
#define SLOWEST_MAX 1000

struct sys_source {
	struct sys_trace tr;
	unsigned slowest;
	uint32_t enter_id, exit_id;
	struct tracer rings;
	int self; /* -a: cprof's pid, whose calls are left out; else -1 */
	bool closed;
};

static void *sys_configure(const char *arg, struct cprof_err *err)
{
	uint64_t n = SLOWEST_DEFAULT;
	if (arg && (strncmp(arg, "slowest:", 8) != 0 || parse_u64(arg + 8, &n) < 0 || n > SLOWEST_MAX)) {
		err_set(err, EINVAL, "--syscalls takes slowest:N (N from 0 to %d calls kept per syscall), not '%s'",
			SLOWEST_MAX, arg);
		return NULL;
	}
	struct sys_source *s = xcalloc(1, sizeof *s);
	s->slowest = (unsigned)n;
	s->rings = (struct tracer)TRACER_INIT;
	s->self = -1;
	return s;
}

/* The tracepoint's id, from tracefs (tech-notes 1.9). */
static int tracepoint_id(const char *name, uint32_t *id, struct cprof_err *err)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	int e = ENOENT;
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/events/raw_syscalls/%s/id", roots[i], name);
		FILE *fp = fopen(path, "r");
		if (!fp) {
			if (errno != ENOENT)
				e = errno;
			continue;
		}
		unsigned v;
		int ok = fscanf(fp, "%u", &v) == 1;
		fclose(fp);
		if (!ok || v > UINT16_MAX)
			return err_set(err, EIO, "'%s' does not hold a tracepoint id", path);
		*id = v;
		return 0;
	}
	if (e == EACCES || e == EPERM)
		return err_set(err, e, "cannot read the raw_syscalls tracepoints in tracefs (/sys/kernel/tracing is "
				       "readable by root only): run as root, or make tracefs readable to you");
	struct stat st;
	if (stat("/sys/kernel/tracing/events", &st) < 0 && stat("/sys/kernel/debug/tracing/events", &st) < 0)
		return err_set(err, ENOENT, "tracefs is not mounted, and --syscalls needs it: "
					    "mount -t tracefs nodev /sys/kernel/tracing (as root)");
	return err_set(err, ENOENT, "this kernel has no raw_syscalls tracepoints (CONFIG_FTRACE_SYSCALLS), "
				    "which --syscalls needs");
}

static int open_error(int e, struct cprof_err *err)
{
	if (e == EACCES || e == EPERM)
		return err_set(err, e, "no permission to trace syscalls (kernel.perf_event_paranoid is %d): run as root, "
				       "grant CAP_PERFMON, or 'sysctl kernel.perf_event_paranoid=-1'", perf_paranoid());
	if (e == EMFILE)
		return err_set(err, e, "too many open files for the syscall tracepoints; raise 'ulimit -n'");
	return err_set(err, e, "cannot open the raw_syscalls tracepoints: %s", strerror(e));
}

static int sys_attach(void *state, const struct source_target *t, int *poll_fd, struct cprof_err *err)
{
	struct sys_source *s = state;
	int r;
	*poll_fd = -1;
	if ((r = tracepoint_id("sys_enter", &s->enter_id, err)) < 0 ||
	    (r = tracepoint_id("sys_exit", &s->exit_id, err)) < 0)
		return r;
	sys_trace_init(&s->tr, s->slowest, t->callchain);
	/* Four times record's rings: two records a call, a stack with each
	 * return. The stack is walked at the return, not the entry: the user
	 * stack is the same, and the walk (microseconds) comes after the
	 * return's timestamp instead of inside the call's duration. */
	if ((r = tracer_start(&s->rings, t->mmap_pages ? t->mmap_pages * 4 : 512, t->now || t->deferred, err)) < 0)
		return r;
	s->self = t->tids[0] == -1 ? t->self : -1;
	for (int c = 0; c < t->ncpus; c++) {
		/* Every thread's two into one ring per CPU: the first entry's. */
		int lead = -1;
		for (size_t i = 0; i < t->ntids; i++) {
			int fd[2] = { -1, -1 };
			for (int k = 0; k < 2; k++) {
				struct perf_event_attr a;
				memset(&a, 0, sizeof a);
				a.size = sizeof a;
				a.type = PERF_TYPE_TRACEPOINT;
				a.config = k == 0 ? s->enter_id : s->exit_id;
				a.sample_period = 1;
				a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
						PERF_SAMPLE_RAW | (k == 1 && t->callchain ? PERF_SAMPLE_CALLCHAIN : 0);
				a.exclude_callchain_kernel = 1;
				/* The threads leaving a CPU and coming back: the part of a
				 * call spent on one (its self time), once per CPU. */
				a.context_switch = k == 0;
				if (k == 1 && t->callchain && t->max_stack)
					a.sample_max_stack = (uint16_t)t->max_stack;
				tracer_attr(&s->rings, &a);
				if ((fd[k] = perf_open(&a, t->tids[i], t->cpus[c], -1)) == -ESRCH && t->ntids > 1)
					break; /* that thread exited meanwhile */
				if (fd[k] < 0)
					return open_error(-fd[k], err);
				if ((r = tracer_add(&s->rings, fd[k], lead, err)) < 0)
					return r;
				if (lead < 0)
					lead = fd[k];
			}
			uint64_t id;
			if (fd[1] < 0)
				continue;
			if (ioctl(fd[1], PERF_EVENT_IOC_ID, &id) < 0)
				return err_set(err, errno, "cannot tell the syscall tracepoints apart: %s", strerror(errno));
			u64map_put(&s->tr.exit_ids, id, 1);
		}
	}
	/* Attached: a call under way now returns without its entry seen,
	 * counted as an unpaired return, never timed. */
	if (!t->deferred && (r = tracer_enable(&s->rings, err)) < 0)
		return r;
	*poll_fd = s->rings.epfd;
	return 0;
}

/* -D: the delay has passed. */
static int sys_enable(void *state, struct cprof_err *err)
{
	struct sys_source *s = state;
	return tracer_enable(&s->rings, err);
}

static void sys_stop(void *state)
{
	struct sys_source *s = state;
	tracer_disable(&s->rings);
}

static void take_record(void *ctx, const void *rec, size_t len)
{
	struct sys_source *s = ctx;
	/* -a: cprof's own calls are not the system's (a sample: header,
	 * identifier, then pid and tid). */
	const struct perf_event_header *h = rec;
	uint32_t pid;
	if (s->self >= 0 && h->type == PERF_RECORD_SAMPLE && len >= 20) {
		memcpy(&pid, (const char *)rec + 16, 4);
		if (pid == (uint32_t)s->self)
			return;
	}
	/* -a: per-CPU events write a switch with the other task's pid and tid
	 * first; the trailer trace.c reads ends it as in a task's switch. */
	uint64_t sw[8];
	if (h->type == PERF_RECORD_SWITCH_CPU_WIDE && len >= sizeof *h + 24 && len <= sizeof sw) {
		memcpy(&pid, (const char *)rec + len - 24, 4);
		if (pid == (uint32_t)s->self)
			return;
		struct perf_event_header hs = *h;
		hs.type = PERF_RECORD_SWITCH;
		memcpy(sw, rec, len);
		memcpy(sw, &hs, sizeof hs);
		rec = sw;
	}
	sys_trace_record(&s->tr, rec, len, s->enter_id, s->exit_id);
}

/* What an open descriptor of a traced process names, from /proc; NULL
 * when it is gone (or /proc does not say). Sockets and pipes read as
 * "socket:[INODE]" and "pipe:[INODE]". */
static char *fd_path(uint32_t pid, int32_t fd)
{
	char link[64], buf[4096];
	snprintf(link, sizeof link, "/proc/%" PRIu32 "/fd/%" PRId32, pid, fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	return xstrndup(buf, (size_t)n);
}

static void sys_drain(void *state, bool last)
{
	struct sys_source *s = state;
	if (s->closed || !s->rings.rings.n)
		return;
	sys_trace_take(&s->tr, tracer_pass(&s->rings, last, NULL, take_record, s));
	sys_trace_name_fds(&s->tr, fd_path);
	if (last) {
		tracer_close(&s->rings);
		s->closed = true;
	}
}

static void sys_stacks(void *state, struct resolver *res)
{
	struct sys_source *s = state;
	if (s->closed)
		sys_trace_stacks(&s->tr, res);
}

static int sys_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	struct sys_source *s = state;
	if (!s->closed)
		return 0;
	sys_trace_store(&s->tr, f->res, f->d);
	cprof_meta_set(f->d, "syscalls", "1");
	cprof_meta_set(f->d, "syscalls_self", "1"); /* the switch records were on */
	cprof_meta_setf(f->d, "syscalls_slowest", "%u", s->slowest);
	cprof_meta_setf(f->d, "syscalls_lost", "%" PRIu64, s->tr.lost);
	cprof_meta_setf(f->d, "syscalls_unpaired_returns", "%" PRIu64, s->tr.unpaired_returns);
	if (s->tr.malformed)
		cprof_meta_setf(f->d, "syscalls_malformed", "%" PRIu64, s->tr.malformed);
	if (s->tr.lost)
		notef(f->notes, "syscalls: the kernel dropped %" PRIu64 " tracepoint records (rings full); "
				"counts are low by as many calls, at most; a larger -m helps", s->tr.lost);
	return 0;
}

static void sys_release(void *state)
{
	struct sys_source *s = state;
	if (!s)
		return;
	tracer_close(&s->rings);
	sys_trace_release(&s->tr);
	free(s);
}

const struct source_ops syscalls_source = {
	.name = "syscalls",
	.usage = "[--syscalls[=slowest:N]]",
	.help = "      --syscalls         also trace every syscall of the workload (or of -p/-t,\n"
		"                         or of every process but cprof with -a): calls, errors\n"
		"                         by errno, latency percentiles per syscall and thread,\n"
		"                         the slowest calls with their stacks (with -g); see\n"
		"                         'cprof report --syscalls'\n"
		"      --syscalls=slowest:N  keep the N slowest calls of each syscall (default 5)\n",
	.takes_arg = true,
	.configure = sys_configure,
	.attach = sys_attach,
	.enable = sys_enable,
	.stop = sys_stop,
	.drain = sys_drain,
	/* The I/O rows' paths are read from /proc/PID/fd while the process
	 * holds them: 100 ms between drains left a short program's
	 * descriptors unnamed when cprof was slow (ASan, a loaded machine). */
	.drain_ms = 20,
	.stacks = sys_stacks,
	.finish = sys_finish,
	.release = sys_release,
	.view = &syscalls_view,
};
