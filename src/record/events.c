/*
 * events.c - the perf events of one recording (session-internal.h): their
 * attributes, opening them on every target and CPU with one ring per CPU,
 * draining the rings into the record queue, and their description in the
 * data file.
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

/* Close the events; st (may be NULL) forgets their ids. */
void events_close(struct events *ev, struct raw_store *st)
{
	if (st)
		u64map_release(&st->id_event);
	for (size_t i = 0; i < ev->rings.n; i++)
		ring_unmap(&ev->rings.v[i]);
	for (size_t i = 0; i < ev->fds.n; i++)
		close(ev->fds.v[i]);
	vec_release(&ev->fds);
	vec_release(&ev->rings);
	vec_release(&ev->ring_cpu);
	ev->ring_refused = false;
}

/*
 * Open every event for each target thread (or -1: every process) on each
 * CPU: one ring per CPU, every other event on that CPU redirected into it
 * with SET_OUTPUT. A group's members are opened with their leader on the
 * same thread and CPU. Each event's kernel id is mapped to its index, so
 * samples (IDENTIFIER) and group reads (PERF_FORMAT_ID) say whose they are.
 */
int events_open(struct events *ev, struct perf_event_attr *attrs, const struct ev_list *evl, const pid_t *tids,
		       size_t ntids, const int *cpus, int ncpus, unsigned pages, struct raw_store *st,
		       struct cprof_err *err)
{
	int *leader_fd = xmalloc((size_t)(evl->ngroups > 0 ? evl->ngroups : 1) * sizeof *leader_fd);
	int r = 0;
	for (int c = 0; c < ncpus && r == 0; c++) {
		int ring_fd = -1;
		for (size_t t = 0; t < ntids && r == 0; t++) {
			for (int g = 0; g < evl->ngroups; g++)
				leader_fd[g] = -1;
			for (size_t i = 0; i < evl->v.n; i++) {
				const struct ev_spec *e = &evl->v.v[i];
				int group_fd = e->leader ? -1 : leader_fd[e->group];
				if (!e->leader && group_fd < 0)
					continue; /* the leader's thread exited meanwhile */
				int fd = perf_open(&attrs[i], tids[t], cpus[c], group_fd);
				if (fd < 0) {
					if (fd == -ESRCH && ntids > 1)
						break; /* that thread exited meanwhile */
					r = perf_open_error(err, -fd, e->name, tids[t]);
					break;
				}
				vec_push(&ev->fds, fd);
				if (e->leader)
					leader_fd[e->group] = fd;
				uint64_t id;
				if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0) {
					r = err_set(err, errno, "cannot get the id of event '%s': %s", e->name, strerror(errno));
					break;
				}
				u64map_put(&st->id_event, id, (uint32_t)i + 1);
				if (ring_fd < 0) {
					struct ring rg;
					if ((r = ring_map(&rg, fd, pages, err)) < 0) {
						ev->ring_refused = true;
						break;
					}
					vec_push(&ev->rings, rg);
					vec_push(&ev->ring_cpu, cpus[c]);
					ring_fd = fd;
				} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring_fd) < 0) {
					r = err_set(err, errno, "cannot share the ring buffer of CPU %d: %s", cpus[c],
						    strerror(errno));
					break;
				}
			}
		}
	}
	free(leader_fd);
	return r;
}

/* A chunk that is not full goes to the worker when none went for this
 * long. Every hand-over wakes the worker, and each wake-up (a futex on
 * each side and two context switches) costs tens of microseconds here:
 * at 50 ms, a 3.4 s DWARF recording at 999 Hz handed over ~70 chunks of
 * a few dozen samples, and the recorder took 21.5 ms of CPU (median of
 * 20); at 250 ms it took 16.0. The worker then lags by up to this much,
 * which costs memory only: it reads nothing of the processes themselves
 * (the binaries it opens by path, the finishing pass opens later
 * anyway), and a full chunk goes over at once. */
#define HAND_OVER_NS 250000000ULL

size_t drain_all(struct events *ev, struct rec_queue *q)
{
	size_t got = rings_drain(ev->rings.v, ev->rings.n, q);
	rec_queue_flush(q, HAND_OVER_NS);
	return got;
}

/* After the events are disabled: take everything that is left, waiting for
 * the worker whenever the queue is at its limit. */
void drain_rest(struct events *ev, struct rec_queue *q)
{
	for (;;) {
		size_t got = drain_all(ev, q);
		bool pending = false;
		for (size_t i = 0; i < ev->rings.n; i++)
			pending |= ring_pending(&ev->rings.v[i]);
		if (!pending)
			return;
		if (!got) {
			rec_queue_flush(q, 0);
			rec_queue_wait_space(q, 10);
		}
	}
}

int events_enable(struct events *ev, struct cprof_err *err)
{
	for (size_t i = 0; i < ev->fds.n; i++)
		if (ioctl(ev->fds.v[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return err_set(err, errno, "cannot enable sampling: %s", strerror(errno));
	return 0;
}

/* Each event's attr: its own period or frequency where it names one, the
 * command's otherwise; members of a leader-sampled group are read, never
 * sampled; tracepoints sample every hit unless told otherwise (perf's
 * habit: a frequency means little for events that come in bursts). */
void attrs_init(struct perf_event_attr *attrs, const struct ev_list *evl, struct perf_open_opts *po,
		       const struct record_opts *o)
{
	for (size_t i = 0; i < evl->v.n; i++) {
		const struct ev_spec *e = &evl->v.v[i];
		const struct ev_spec *lead = e;
		for (size_t k = i; k-- > 0 && !lead->leader;)
			lead = &evl->v.v[k];
		struct perf_open_opts p = *po;
		p.ev = e;
		p.member = !e->leader;
		p.tracking = i == 0;
		if (p.member && lead->sample_read) {
			p.use_freq = false;
			p.freq_or_period = 0;
		} else if (e->period) {
			p.use_freq = false;
			p.freq_or_period = e->period;
		} else if (e->freq) {
			p.use_freq = true;
			p.freq_or_period = e->freq;
		} else if (e->cls == EVC_TRACEPOINT && !o->use_period) {
			p.use_freq = false;
			p.freq_or_period = 1;
		}
		perf_attr_init(&attrs[i], &p);
	}
}

/* The events as the data file describes them (SECTION_EVENTS). */
void add_events(struct cprof_data *d, const struct ev_list *evl, const struct perf_event_attr *attrs)
{
	for (size_t i = 0; i < evl->v.n; i++) {
		const struct ev_spec *e = &evl->v.v[i];
		const struct perf_event_attr *a = &attrs[i];
		struct cprof_event ce = { .name = cprof_intern(d, e->name), .unit = cprof_intern(d, perf_event_unit(e)),
					  .type = a->type, .config = a->config, .period = a->sample_period,
					  .flags = a->sample_period == 0 ? EVF_READ : a->freq ? EVF_FREQ : 0 };
		vec_push(&d->events, ce);
	}
	/* Groups, as -e would write them: which counts come from one interval. */
	struct sbuf groups = SBUF_INIT;
	for (size_t i = 0; i < evl->v.n; i++) {
		const struct ev_spec *e = &evl->v.v[i];
		bool alone = e->leader && (i + 1 == evl->v.n || evl->v.v[i + 1].leader);
		if (alone)
			continue;
		sbuf_addf(&groups, "%s%s%s", e->leader ? (groups.len ? ",{" : "{") : ",", e->name,
			  i + 1 == evl->v.n || evl->v.v[i + 1].leader ? "}" : "");
	}
	if (groups.len)
		cprof_meta_set(d, "event_groups", groups.buf);
	sbuf_release(&groups);
}
