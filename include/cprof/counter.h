/*
 * counter.h - counting mode: open an event list as groups on a target (a
 * launched command and its children, running processes or threads, or
 * whole CPUs), run, and read back scaled counts (event.h).
 *
 * An event the kernel does not support here (no hardware PMU, as in most
 * virtual machines) is not an error: it is marked EVS_NOT_SUPPORTED and the
 * others are counted. A group whose leader is not supported is not
 * supported as a whole. Where kernel.perf_event_paranoid forbids kernel
 * counting, events are retried user-only and a note says so.
 */
#ifndef CPROF_COUNTER_H
#define CPROF_COUNTER_H

#include <signal.h>
#include <sys/types.h>

#include "cprof/event.h"

struct counter_target {
	const pid_t *pids;        /* -p (processes: all their threads) or -t (threads) */
	size_t npids;
	bool threads_only;        /* pids are thread ids (-t) */
	bool system_wide;         /* -a: every CPU in cpus */
	const int *cpus;          /* with system_wide; NULL = all online */
	size_t ncpus;
};

struct counter_run_opts {
	char **argv;              /* command to run; with pids it only sets how long to count */
	const struct ev_list *evl;
	struct counter_target target;
	const volatile sig_atomic_t *stop; /* set from a SIGINT handler: stop waiting */
	const struct note_sink *notes; /* a line per fallback taken (base.h); may be NULL */
	/* -I: every interval_ns while counting (and once more for the part
	 * left at the end), what each event counted in that interval, scaled
	 * by its own enabled and running times as perf stat -I does. */
	uint64_t interval_ns;
	void (*interval)(void *ctx, uint64_t end_ns, uint64_t len_ns, const struct ev_count *delta);
	void *interval_ctx;      /* end_ns: since the start of counting */
};

struct counter_run_result {
	int exit_status;          /* the command's, as a shell reports it; 0 without one */
	uint64_t wall_ns;         /* from the command's start (or the attach) to its end */
	uint64_t user_ns, sys_ns; /* the command's CPU time from wait4; 0 when attached */
	bool has_rusage;
	bool interrupted;         /* *stop was set */
	struct ev_count *counts;  /* one per event of evl, in order; caller frees */
};

/* One counted run. Fails (with err) only when nothing sensible can be
 * counted: the command cannot start, a target does not exist, a
 * permission is missing for an event that is supported. */
int counter_run(const struct counter_run_opts *o, struct counter_run_result *res, struct cprof_err *err) CPROF_WUR;
void counter_run_result_release(struct counter_run_result *res);

/* Whether the event can be opened on this machine for the calling process
 * (for `cprof list`): 0, or -errno of perf_event_open. */
int counter_probe(const struct ev_spec *e);

#endif
