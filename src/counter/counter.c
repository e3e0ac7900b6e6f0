/*
 * counter.c - counting mode: open the event list as groups on each unit of
 * the target (the launched command, every thread of an attached process,
 * or every CPU), run, read every group leader once and add the readings up
 * per event, scaled for multiplexing.
 *
 * The launched command is followed into its threads and children with
 * inherit; counting events may use inherit with cpu = -1 (only sampling
 * needs one event per CPU), and the kernel sums the children into the
 * leader's group read.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof/counter.h"
#include "cprof/record.h"

/* One opened event on one unit. */
struct cfd {
	int fd;
	size_t ev;        /* index in the event list */
	uint64_t id;      /* PERF_EVENT_IOC_ID */
	bool leader;
};

struct counters {
	const struct ev_list *evl;
	VEC(struct cfd) fds;
	bool *unsupported;   /* per event */
	bool *user_only;     /* per event: retried with exclude_kernel */
	int last_errno;      /* of the last refused open */
};

static bool not_supported_errno(int e)
{
	return e == ENOENT || e == ENODEV || e == ENXIO || e == EOPNOTSUPP;
}

static void counters_close(struct counters *c)
{
	for (size_t i = 0; i < c->fds.n; i++)
		close(c->fds.v[i].fd);
	vec_release(&c->fds);
	free(c->unsupported);
	free(c->user_only);
	c->unsupported = c->user_only = NULL;
}

/* Open event i for (pid, cpu) in the group led by group_fd (-1: it leads). */
static int open_one(struct counters *c, size_t i, pid_t pid, int cpu, int group_fd, bool inherit, bool on_exec,
		    struct cprof_err *err)
{
	const struct ev_spec *e = &c->evl->v.v[i];
	struct perf_event_attr a;
	ev_attr_counting(e, &a);
	a.exclude_kernel |= c->user_only[i];
	a.inherit = inherit;
	/* Only the leader is disabled: members follow it on and off the PMU. */
	a.disabled = group_fd < 0;
	a.enable_on_exec = group_fd < 0 && on_exec;
	int fd = perf_open(&a, pid, cpu, group_fd);
	if ((fd == -EACCES || fd == -EPERM) && !a.exclude_kernel && perf_paranoid() >= 2) {
		/* perf's fallback: what the paranoid level allows is user mode. */
		a.exclude_kernel = 1;
		fd = perf_open(&a, pid, cpu, group_fd);
		if (fd >= 0)
			c->user_only[i] = true;
	}
	if (fd < 0) {
		c->last_errno = -fd;
		if (not_supported_errno(-fd))
			return fd;
		if (fd == -EINVAL)
			return err_set(err, EINVAL, "the kernel rejected counter '%s' (invalid argument): this PMU "
						    "does not take these terms or modifiers", e->name);
		return perf_open_error(err, -fd, e->name, pid);
	}
	uint64_t id;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0) {
		int x = errno;
		close(fd);
		return err_set(err, x, "cannot get the id of counter '%s': %s", e->name, strerror(x));
	}
	vec_push(&c->fds, ((struct cfd){ .fd = fd, .ev = i, .id = id, .leader = group_fd < 0 }));
	return fd;
}

/* Every group of the list on one unit. unit0 decides what is supported. */
static int open_unit(struct counters *c, pid_t pid, int cpu, bool inherit, bool on_exec, bool unit0,
		     struct cprof_err *err)
{
	const struct ev_list *l = c->evl;
	for (size_t i = 0; i < l->v.n;) {
		size_t end = i + 1;
		while (end < l->v.n && !l->v.v[end].leader)
			end++;
		int leader = -1;
		for (size_t j = i; j < end; j++) {
			if (c->unsupported[j])
				continue;
			if (j > i && leader < 0) {
				/* The leader is not supported: neither is its group. */
				if (unit0)
					c->unsupported[j] = true;
				continue;
			}
			int fd = open_one(c, j, pid, cpu, j == i ? -1 : leader, inherit, on_exec, err);
			if (fd == -ESRCH && !unit0)
				return fd; /* the thread ended meanwhile */
			if (fd < 0 && !not_supported_errno(-fd))
				return fd;
			if (fd < 0) {
				if (unit0)
					c->unsupported[j] = true;
				continue;
			}
			if (j == i)
				leader = fd;
		}
		i = end;
	}
	return 0;
}

/* Thread ids of a process, from /proc/PID/task. */
static int process_threads(pid_t pid, pid_t **ret, size_t *n, struct cprof_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return err_set(err, errno == ENOENT ? ESRCH : errno, "process %d not found", (int)pid);
	VEC(pid_t) v = { 0 };
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t t;
		if (de->d_name[0] != '.' && parse_u64(de->d_name, &t) == 0)
			vec_push(&v, (pid_t)t);
	}
	closedir(d);
	*ret = v.v;
	*n = v.n;
	return 0;
}

static int counters_open(struct counters *c, const struct counter_target *t, pid_t child, struct cprof_err *err)
{
	size_t n = c->evl->v.n;
	c->unsupported = xcalloc(n ? n : 1, sizeof *c->unsupported);
	c->user_only = xcalloc(n ? n : 1, sizeof *c->user_only);
	int r = 0;
	if (t->system_wide) {
		int *all = NULL;
		const int *cpus = t->cpus;
		size_t ncpus = t->ncpus;
		if (!cpus) {
			int k = online_cpus(&all, err);
			if (k < 0)
				return k;
			cpus = all;
			ncpus = (size_t)k;
		}
		for (size_t i = 0; i < ncpus && r >= 0; i++)
			r = open_unit(c, -1, cpus[i], false, false, i == 0, err);
		free(all);
		return r < 0 ? r : 0;
	}
	if (!t->npids)
		return open_unit(c, child, -1, true, true, true, err);
	bool first = true;
	for (size_t p = 0; p < t->npids && r >= 0; p++) {
		pid_t *tids = NULL;
		size_t nt = 0;
		if (t->threads_only) {
			if (kill(t->pids[p], 0) < 0 && errno == ESRCH)
				return err_set(err, ESRCH, "thread %d not found", (int)t->pids[p]);
			r = open_unit(c, t->pids[p], -1, true, false, first, err);
			first = false;
			continue;
		}
		if ((r = process_threads(t->pids[p], &tids, &nt, err)) < 0)
			break;
		for (size_t i = 0; i < nt; i++) {
			r = open_unit(c, tids[i], -1, true, false, first, err);
			if (r == -ESRCH && !first) {
				r = 0; /* exited between the listing and the open */
				continue;
			}
			if (r < 0)
				break;
			first = false;
		}
		free(tids);
	}
	return r < 0 ? r : 0;
}

static int counters_ioctl(struct counters *c, unsigned long req, struct cprof_err *err)
{
	for (size_t i = 0; i < c->fds.n; i++)
		if (c->fds.v[i].leader && ioctl(c->fds.v[i].fd, req, PERF_IOC_FLAG_GROUP) < 0)
			return err_set(err, errno, "cannot %s counter '%s': %s",
				       req == PERF_EVENT_IOC_ENABLE ? "enable" : "disable",
				       c->evl->v.v[c->fds.v[i].ev].name, strerror(errno));
	return 0;
}

static int counters_read(struct counters *c, struct ev_count *out, struct cprof_err *err)
{
	size_t n = c->evl->v.n;
	for (size_t i = 0; i < n; i++)
		out[i] = (struct ev_count)EV_COUNT_INIT;
	for (size_t i = 0; i < n; i++)
		if (c->unsupported[i])
			out[i].status = EVS_NOT_SUPPORTED;
	size_t cap = 3 + 3 * n;
	uint64_t *buf = xmalloc(cap * 8);
	int r = 0;
	for (size_t i = 0; i < c->fds.n && r >= 0; i++) {
		if (!c->fds.v[i].leader)
			continue;
		ssize_t len;
		do
			len = read(c->fds.v[i].fd, buf, cap * 8);
		while (len < 0 && errno == EINTR);
		if (len < 0) {
			r = err_set(err, errno, "cannot read counter '%s': %s", c->evl->v.v[c->fds.v[i].ev].name,
				    strerror(errno));
			break;
		}
		struct ev_group_read *g;
		if ((r = ev_read_parse(buf, (size_t)len, EV_READ_FORMAT, n, &g, err)) < 0)
			break;
		for (size_t k = 0; k < g->nr; k++) {
			/* Ids map readings to events; a group's members are
			 * the fds opened right after its leader. */
			for (size_t j = i; j < c->fds.n; j++) {
				if (j > i && c->fds.v[j].leader)
					break;
				if (c->fds.v[j].id == g->r[k].id) {
					ev_count_add(&out[c->fds.v[j].ev], g->r[k].value, g->enabled, g->running);
					break;
				}
			}
		}
		free(g);
	}
	free(buf);
	return r;
}

int counter_probe(const struct ev_spec *e)
{
	struct perf_event_attr a;
	ev_attr_counting(e, &a);
	int fd = perf_open(&a, 0, -1, -1);
	if (fd == -EACCES || fd == -EPERM) {
		a.exclude_kernel = 1;
		fd = perf_open(&a, 0, -1, -1);
	}
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void add_notes(const struct counters *c, const struct note_sink *notes)
{
	const struct ev_list *l = c->evl;
	struct sbuf names = SBUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < l->v.n; i++)
		if (c->user_only[i])
			sbuf_addf(&names, "%s%s", n++ ? ", " : "", l->v.v[i].name);
	if (n)
		notef(notes, "kernel.perf_event_paranoid is %d: %s counted in user mode only (run as root "
			     "or 'sysctl kernel.perf_event_paranoid=1' to include the kernel)",
		      perf_paranoid(), names.buf);
	sbuf_release(&names);
}

/* -I: the counts since the previous tick, handed to o->interval. */
struct ticker {
	const struct counter_run_opts *o;
	struct counters *c;
	uint64_t t0, last, next; /* ns, now_ns()'s clock */
	struct ev_count *prev, *cur, *delta;
};

static void ticker_init(struct ticker *tk, const struct counter_run_opts *o, struct counters *c, uint64_t t0)
{
	size_t n = o->evl->v.n ? o->evl->v.n : 1;
	*tk = (struct ticker){ .o = o, .c = c, .t0 = t0, .last = t0, .next = t0 + o->interval_ns };
	tk->prev = xcalloc(n, sizeof *tk->prev);
	tk->cur = xcalloc(n, sizeof *tk->cur);
	tk->delta = xcalloc(n, sizeof *tk->delta);
	for (size_t i = 0; i < o->evl->v.n; i++)
		tk->prev[i] = (struct ev_count)EV_COUNT_INIT;
}

static void ticker_release(struct ticker *tk)
{
	free(tk->prev);
	free(tk->cur);
	free(tk->delta);
}

/* Read every counter and pass on what changed since the previous tick.
 * The sums of raw counts and of enabled and running times are each
 * differenced, then scaled: the interval's own multiplexing share. */
static int ticker_tick(struct ticker *tk, uint64_t now, struct cprof_err *err)
{
	int r = counters_read(tk->c, tk->cur, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < tk->o->evl->v.n; i++) {
		const struct ev_count *a = &tk->prev[i], *b = &tk->cur[i];
		struct ev_count *d = &tk->delta[i];
		*d = (struct ev_count)EV_COUNT_INIT;
		if (b->status == EVS_NOT_SUPPORTED) {
			d->status = EVS_NOT_SUPPORTED;
			continue;
		}
		if (b->running >= a->running && b->enabled >= a->enabled && b->raw >= a->raw)
			ev_count_add(d, b->raw - a->raw, b->enabled - a->enabled, b->running - a->running);
		tk->prev[i] = *b;
	}
	tk->o->interval(tk->o->interval_ctx, now - tk->t0, now - tk->last, tk->delta);
	tk->last = now;
	while (tk->next <= now)
		tk->next += tk->o->interval_ns;
	return 0;
}

/* Milliseconds to sleep: until the next tick, at most cap_ms. */
static int ticker_wait_ms(const struct ticker *tk, int cap_ms)
{
	if (!tk->o->interval_ns)
		return cap_ms;
	uint64_t now = now_ns();
	uint64_t left = tk->next > now ? (tk->next - now + 999999) / 1000000 : 0;
	return left < (uint64_t)cap_ms ? (int)left : cap_ms;
}

static bool targets_alive(const struct counter_target *t)
{
	for (size_t i = 0; i < t->npids; i++)
		if (kill(t->pids[i], 0) == 0 || errno != ESRCH)
			return true;
	return false;
}

int counter_run(const struct counter_run_opts *o, struct counter_run_result *res, struct cprof_err *err)
{
	struct counters c = { .evl = o->evl };
	struct workload wl = { .pid = 0, .go_fd = -1, .err_fd = -1 };
	struct ticker tk = { .o = o };
	int pidfd = -1;
	bool attach = o->target.npids || o->target.system_wide;
	int r;
	memset(res, 0, sizeof *res);
	res->counts = xcalloc(o->evl->v.n ? o->evl->v.n : 1, sizeof *res->counts);

	if (o->argv && o->argv[0] && (r = workload_prepare(&wl, o->argv, err)) < 0)
		goto out;
	if ((r = counters_open(&c, &o->target, wl.pid, err)) < 0)
		goto out;
	uint64_t t0 = now_ns();
	bool ticking = o->interval_ns && o->interval;
	if (ticking)
		ticker_init(&tk, o, &c, t0);
	if (attach && (r = counters_ioctl(&c, PERF_EVENT_IOC_ENABLE, err)) < 0)
		goto out;
	if (wl.pid > 0) {
		if ((r = workload_start(&wl, o->argv[0], err)) < 0)
			goto out;
		int status = 0;
		struct rusage ru;
		bool forwarded = false;
		/* -I: wait for the command with a timeout, to tick meanwhile; a
		 * pidfd says at once when it ends (without one, every 10 ms). */
		if (ticking)
			pidfd = (int)syscall(SYS_pidfd_open, wl.pid, 0);
		for (;;) {
			pid_t w = wait4(wl.pid, &status, ticking ? WNOHANG : 0, &ru);
			if (w == wl.pid)
				break;
			if (w < 0 && errno != EINTR) {
				r = err_set(err, errno, "wait4: %s", strerror(errno));
				goto out;
			}
			/* Ctrl-C at a terminal reaches the command too; a kill
			 * aimed at cprof alone is passed on once. */
			if (o->stop && *o->stop && !forwarded) {
				kill(wl.pid, SIGINT);
				forwarded = true;
				res->interrupted = true;
			}
			if (ticking) {
				uint64_t now = now_ns();
				if (now >= tk.next && (r = ticker_tick(&tk, now, err)) < 0)
					goto out;
				int ms = ticker_wait_ms(&tk, pidfd >= 0 ? 1000 : 10);
				if (pidfd >= 0) {
					struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
					(void)poll(&pfd, 1, ms);
				} else {
					struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
					nanosleep(&ts, NULL);
				}
			}
		}
		wl.pid = 0;
		res->wall_ns = now_ns() - t0;
		res->exit_status = status_to_exit(status);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
			res->interrupted = true;
		if (!attach) {
			res->user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_utime.tv_usec * 1000;
			res->sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_stime.tv_usec * 1000;
			res->has_rusage = true;
		}
	} else {
		/* Attached without a command: until Ctrl-C, or until every
		 * target is gone. */
		while (!(o->stop && *o->stop) && (o->target.system_wide || targets_alive(&o->target))) {
			int ms = ticker_wait_ms(&tk, 50);
			struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
			nanosleep(&ts, NULL);
			uint64_t now = now_ns();
			if (ticking && now >= tk.next && (r = ticker_tick(&tk, now, err)) < 0)
				goto out;
		}
		res->interrupted = o->stop && *o->stop;
		res->wall_ns = now_ns() - t0;
	}
	/* The part of an interval left at the end, as perf stat -I prints it. */
	if (ticking) {
		uint64_t now = now_ns();
		if (now > tk.last && (r = ticker_tick(&tk, now, err)) < 0)
			goto out;
	}
	if (attach && (r = counters_ioctl(&c, PERF_EVENT_IOC_DISABLE, err)) < 0)
		goto out;
	if ((r = counters_read(&c, res->counts, err)) < 0)
		goto out;
	add_notes(&c, o->notes);
	r = 0;
out:
	/* A command that already runs is not waited for by workload_abort. */
	if (wl.pid > 0 && wl.go_fd < 0)
		kill(wl.pid, SIGKILL);
	if (wl.pid > 0 || wl.go_fd >= 0)
		workload_abort(&wl);
	counters_close(&c);
	ticker_release(&tk);
	if (pidfd >= 0)
		close(pidfd);
	if (r < 0)
		counter_run_result_release(res);
	return r;
}

void counter_run_result_release(struct counter_run_result *res)
{
	free(res->counts);
	res->counts = NULL;
}
