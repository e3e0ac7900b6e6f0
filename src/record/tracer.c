/*
 * tracer.c - the rings of a source that opens perf events of its own
 * beside the CPU samples (syscalls, off-CPU, latency; see record.h): open,
 * join, poll and read in passes, close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cprof/record.h"

int tracer_start(struct tracer *t, unsigned pages, bool now, struct cprof_err *err)
{
	t->pages = pages;
	t->now = now;
	if ((t->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return err_set(err, errno, "epoll_create1: %s", strerror(errno));
	return 0;
}

void tracer_attr(const struct tracer *t, struct perf_event_attr *a)
{
	a->disabled = 1;
	a->enable_on_exec = !t->now;
	a->inherit = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1; /* the samples' clock: one timeline with the mappings */
	a->clockid = CLOCK_MONOTONIC;
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(t->pages * (size_t)sysconf(_SC_PAGESIZE) / 4);
}

int tracer_enable(struct tracer *t, struct cprof_err *err)
{
	if (!t->now)
		return 0;
	for (size_t i = t->fds.n; i-- > 0;)
		if (ioctl(t->fds.v[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return err_set(err, errno, "cannot enable a traced event: %s", strerror(errno));
	return 0;
}

int tracer_add(struct tracer *t, int fd, int lead, struct cprof_err *err)
{
	int r;
	vec_push(&t->fds, fd);
	if (lead >= 0) {
		if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, lead) < 0)
			return err_set(err, errno, "cannot join an event's records to its CPU's ring: %s", strerror(errno));
		return 0;
	}
	struct ring rg;
	if ((r = ring_map(&rg, fd, t->pages, err)) < 0)
		return r;
	vec_push(&t->rings, rg);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = t->rings.n - 1 };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set(err, errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

void tracer_disable(struct tracer *t)
{
	for (size_t i = 0; i < t->fds.n; i++)
		(void)ioctl(t->fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
}

uint64_t tracer_pass(struct tracer *t, bool last, void (*peek)(void *ctx, const void *rec, size_t len),
		     void (*fn)(void *ctx, const void *rec, size_t len), void *ctx)
{
	if (last)
		tracer_disable(t);
	/* A ring whose task is gone reports a hang-up for good: stop polling
	 * it (it is still read every pass). */
	struct epoll_event evs[64];
	int n = t->epfd >= 0 ? epoll_wait(t->epfd, evs, 64, 0) : 0;
	for (int i = 0; i < n; i++)
		if (evs[i].events & (EPOLLHUP | EPOLLERR))
			(void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->rings.v[evs[i].data.u64].fd, NULL);
	uint64_t now = now_ns();
	/* Every ring's head first: a record read from one ring after the
	 * peek at another could need a mapping written there after that
	 * peek. Both walks cover the same records; newer ones wait for the
	 * next pass. */
	for (size_t i = 0; i < t->rings.n; i++)
		t->rings.v[i].upto = ring_head(&t->rings.v[i]);
	for (t->cur = 0; peek && t->cur < t->rings.n; t->cur++)
		ring_peek(&t->rings.v[t->cur], t->rings.v[t->cur].upto, peek, ctx);
	for (t->cur = 0; t->cur < t->rings.n; t->cur++)
		ring_each(&t->rings.v[t->cur], t->rings.v[t->cur].upto, fn, ctx);
	return last ? UINT64_MAX : now - TRACER_ORDER_WINDOW_NS;
}

void tracer_close(struct tracer *t)
{
	for (size_t i = 0; i < t->rings.n; i++)
		ring_unmap(&t->rings.v[i]);
	vec_release(&t->rings);
	for (size_t i = 0; i < t->fds.n; i++)
		close(t->fds.v[i]);
	vec_release(&t->fds);
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
}
