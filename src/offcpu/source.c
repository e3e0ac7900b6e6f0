/*
 * source.c - off-CPU time as a data source of `cprof record` (source.h):
 * the option --offcpu, the context-switches software event opened on the
 * workload with a period of 1 (every CPU, inherited by its threads and
 * children, enabled at its exec), its samples carrying the user stack a
 * thread leaves the CPU from (-g, frame pointers) and its switch records
 * (context_switch) telling when the thread ran again; track.c pairs them.
 * Works for ordinary users on their own programs (no tracepoints).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cprof/data.h"
#include "cprof/offcpu.h"
#include "cprof/record.h"
#include "cprof/source.h"
#include "offcpu-internal.h"

/* A record is taken in once every ring was read past it: records this much
 * older than the start of a pass are all in their rings by then. */
#define ORDER_WINDOW_NS 10000000ULL

struct oc_source {
	struct oc_trace tr;
	VEC(int) fds;
	VEC(struct ring) rings;
	int epfd;
	bool closed;
	bool no_stacks; /* the kernel refused the switch samples: intervals only */
};

static void *oc_configure(const char *arg, struct cprof_err *err)
{
	(void)arg;
	(void)err;
	struct oc_source *s = xcalloc(1, sizeof *s);
	s->epfd = -1;
	return s;
}

static void close_events(struct oc_source *s)
{
	for (size_t i = 0; i < s->rings.n; i++)
		ring_unmap(&s->rings.v[i]);
	s->rings.n = 0;
	for (size_t i = 0; i < s->fds.n; i++)
		close(s->fds.v[i]);
	s->fds.n = 0;
	if (s->epfd >= 0)
		close(s->epfd);
	s->epfd = -1;
}

static int oc_attach(void *state, const struct source_target *t, int *poll_fd, struct cprof_err *err)
{
	struct oc_source *s = state;
	int r;
	*poll_fd = -1;
	if (t->dwarf)
		return err_set(err, ENOTSUP, "--offcpu takes its stacks by frame pointers only: use -g or "
					     "--call-graph fp with it, not --call-graph dwarf");
	oc_trace_init(&s->tr, t->callchain);
	/* Three records a switch (sample, out, in): twice record's rings. */
	unsigned pages = t->mmap_pages ? t->mmap_pages * 2 : 256;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return err_set(err, errno, "epoll_create1: %s", strerror(errno));
	for (int c = 0; c < t->ncpus; c++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
		a.sample_period = 1;
		a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | (t->callchain ? PERF_SAMPLE_CALLCHAIN : 0);
		a.exclude_callchain_kernel = 1;
		/* The switch happens in the kernel: with exclude_kernel the
		 * samples are dropped, and only the switch records come. */
		a.exclude_kernel = s->no_stacks;
		if (t->callchain && t->max_stack)
			a.sample_max_stack = (uint16_t)t->max_stack;
		a.context_switch = 1;
		a.disabled = 1;
		a.enable_on_exec = 1;
		a.inherit = 1;
		a.sample_id_all = 1;
		a.use_clockid = 1; /* the samples' clock: one timeline with the mappings */
		a.clockid = CLOCK_MONOTONIC;
		a.watermark = 1;
		a.wakeup_watermark = (uint32_t)(pages * pg / 4);
		int fd = perf_open(&a, t->pid, t->cpus[c], -1);
		if ((fd == -EACCES || fd == -EPERM) && !s->no_stacks && c == 0) {
			/* kernel.perf_event_paranoid 2 without CAP_PERFMON: the
			 * intervals still, without their stacks. */
			s->no_stacks = true;
			s->tr.callchain = false;
			c--;
			continue;
		}
		if (fd < 0)
			return perf_open_error(err, -fd, "the context-switches event", t->pid);
		vec_push(&s->fds, fd);
		struct ring rg;
		if ((r = ring_map(&rg, fd, pages, err)) < 0)
			return r;
		vec_push(&s->rings, rg);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = s->rings.n - 1 };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return err_set(err, errno, "epoll_ctl: %s", strerror(errno));
	}
	*poll_fd = s->epfd;
	return 0;
}

static void take_record(void *ctx, const void *rec, size_t len)
{
	struct oc_source *s = ctx;
	oc_trace_record(&s->tr, rec, len);
}

static void oc_drain(void *state, bool last)
{
	struct oc_source *s = state;
	if (s->closed || !s->rings.n)
		return;
	if (last)
		for (size_t i = 0; i < s->fds.n; i++)
			(void)ioctl(s->fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
	/* A ring whose task is gone reports a hang-up for good: stop polling
	 * it (it is still read every pass). */
	struct epoll_event evs[64];
	int n = epoll_wait(s->epfd, evs, 64, 0);
	for (int i = 0; i < n; i++)
		if (evs[i].events & (EPOLLHUP | EPOLLERR))
			(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->rings.v[evs[i].data.u64].fd, NULL);
	uint64_t now = now_ns();
	for (size_t i = 0; i < s->rings.n; i++)
		ring_each(&s->rings.v[i], take_record, s);
	if (last) {
		oc_trace_end(&s->tr);
		close_events(s);
		s->closed = true;
	} else {
		oc_trace_take(&s->tr, now - ORDER_WINDOW_NS);
	}
}

static void oc_stacks(void *state, struct resolver *res)
{
	struct oc_source *s = state;
	if (s->closed)
		oc_trace_stacks(&s->tr, res);
}

static int oc_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	struct oc_source *s = state;
	if (!s->closed)
		return 0;
	oc_trace_store(&s->tr, f->res, f->d);
	cprof_meta_set(f->d, "offcpu", "1");
	cprof_meta_set(f->d, "offcpu_stacks", s->tr.callchain ? "fp" : s->no_stacks ? "refused" : "none");
	cprof_meta_setf(f->d, "offcpu_lost", "%" PRIu64, s->tr.lost + s->tr.lost_samples);
	cprof_meta_setf(f->d, "offcpu_unpaired", "%" PRIu64, s->tr.double_out);
	cprof_meta_setf(f->d, "offcpu_unfinished", "%" PRIu64, s->tr.unfinished);
	if (s->no_stacks)
		notef(f->notes, "offcpu: intervals recorded without their stacks: the context-switch samples "
				"need kernel.perf_event_paranoid <= 1 or CAP_PERFMON (the switch happens in the "
				"kernel; paranoid is %d)", perf_paranoid());
	if (s->tr.malformed)
		cprof_meta_setf(f->d, "offcpu_malformed", "%" PRIu64, s->tr.malformed);
	if (s->tr.lost + s->tr.lost_samples)
		notef(f->notes, "offcpu: the kernel dropped %" PRIu64 " context-switch records (rings full); "
				"some intervals are missing or have no stack; a larger -m helps",
		      s->tr.lost + s->tr.lost_samples);
	return 0;
}

static void oc_release(void *state)
{
	struct oc_source *s = state;
	if (!s)
		return;
	close_events(s);
	vec_release(&s->fds);
	vec_release(&s->rings);
	oc_trace_release(&s->tr);
	free(s);
}

const struct source_ops offcpu_source = {
	.name = "offcpu",
	.usage = "[--offcpu]",
	.help = "      --offcpu           also record where the workload's threads wait off a\n"
		"                         CPU and for how long (every context switch), with the\n"
		"                         stacks they blocked in (-g; frame pointers only, not\n"
		"                         --call-graph dwarf); see 'cprof report --offcpu'; not\n"
		"                         with -p or -a\n",
	.launch_only = "context switches are followed from the program's exec",
	.configure = oc_configure,
	.attach = oc_attach,
	.drain = oc_drain,
	.stacks = oc_stacks,
	.finish = oc_finish,
	.release = oc_release,
	.view = &offcpu_view,
};
