/*
 * session-internal.h - what session.c shares with events.c (the perf
 * events of a recording) and targets.c (what it attaches to).
 */
#ifndef CPROF_SESSION_INTERNAL_H
#define CPROF_SESSION_INTERNAL_H

#include <sys/resource.h>
#include <sys/types.h>
#include "cprof/event.h"
#include "cprof/record.h"

struct cprof_data;

/* ---- events.c ---- */
struct events {
	VEC(int) fds;
	VEC(struct ring) rings;
	VEC(int) ring_cpu;
	bool ring_refused; /* events_open failed at mapping a ring (its events opened) */
};
void events_close(struct events *ev, struct raw_store *st);
int events_open(struct events *ev, struct perf_event_attr *attrs, const struct ev_list *evl, const pid_t *tids,
		size_t ntids, const int *cpus, int ncpus, unsigned pages, struct raw_store *st,
		struct cprof_err *err);
size_t drain_all(struct events *ev, struct rec_queue *q);
void drain_rest(struct events *ev, struct rec_queue *q);
int events_enable(struct events *ev, struct cprof_err *err);
void attrs_init(struct perf_event_attr *attrs, const struct ev_list *evl, struct perf_open_opts *po,
		const struct record_opts *o);
void add_events(struct cprof_data *d, const struct ev_list *evl, const struct perf_event_attr *attrs);

/* ---- targets.c ---- */
/* Threads of a running process, and its existing executable mappings (the
 * kernel reports only mappings made after the events exist). */
struct tid_list {
	pid_t *v;
	size_t n, cap;
};
uint64_t proc_cpu_ns(pid_t pid);
pid_t thread_tgid(pid_t tid);
int attach_targets(pid_t pid, pid_t only_tid, struct tid_list *tids, struct raw_store *st,
		   struct cprof_err *err);
void system_targets(struct raw_store *st);
int attach_all(const struct record_opts *o, struct tid_list *tids, struct raw_store *st, struct cprof_err *err);
void join_argv(char **argv, struct sbuf *out);
int proc_command(pid_t pid, struct sbuf *out);
void proc_exe(pid_t pid, struct sbuf *out);
void exe_lookup(const char *argv0, struct sbuf *out);
bool attached_alive(const struct record_opts *o);
uint64_t attached_cpu_ns(const struct record_opts *o);

#endif
