/*
 * session.c - one recording from start to file: choose the event, open it on
 * every CPU for the workload (or every thread of an attached process), drain
 * the ring buffers until the workload ends or the user stops us, then hand
 * the raw records to the finishing pass and write the data file.
 *
 * One file: the phases of record_run share the signal state, which must stay
 * in one file.
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

/* Signal state: the only globals, since handlers cannot take arguments. */
static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t forward_sig;
static volatile pid_t child_pid;
static int wake_pipe[2] = { -1, -1 };

static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	stop_requests++;
	/* A terminal's Ctrl-C reaches the workload's process group by itself;
	 * a kill(1) aimed at cprof alone must be passed on. */
	if (child_pid > 0 && si && si->si_code <= 0)
		kill(child_pid, sig);
	forward_sig = sig;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "s", 1) < 0) {
		/* the pipe is full: the loop is awake anyway */
	}
	errno = saved;
}

static void on_child(int sig)
{
	(void)sig;
	int saved = errno;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "c", 1) < 0) {
		/* full pipe: already woken */
	}
	errno = saved;
}

static int install_signals(struct cprof_err *err)
{
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_stop_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	return 0;
}

static void restore_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	for (int i = 0; i < 2; i++)
		if (wake_pipe[i] >= 0) {
			close(wake_pipe[i]);
			wake_pipe[i] = -1;
		}
}

/*
 * The draining thread does little (it copies records out) but must do it
 * soon after each wake-up: a ring in DWARF mode holds tens of
 * milliseconds of samples, and a busy machine, or a workload with more
 * runnable threads than CPUs, keeps a normal thread waiting longer than
 * that. Measured with 200 busy threads on 2 CPUs at 999 Hz: at nice -10
 * the rings still filled up; at SCHED_FIFO priority 1 the fullest ring
 * held no more than the wake-up watermark. So while recording it runs
 * SCHED_FIFO where the system allows it (root, CAP_SYS_NICE or
 * RLIMIT_RTPRIO), else at nice -10 where allowed, else as it is. It never
 * spins: it sleeps in poll() or on the queue between passes. The parsing
 * worker asks for nice -10 (it must keep up on average, not at once), and
 * the workload keeps its own priority.
 */
#define DRAIN_NICE -10
#define WORKER_NICE -10

/* How far the worker may fall behind the rings: about a second of DWARF
 * samples at 999 Hz on two CPUs (32 KiB stack copies). */
#define QUEUE_LIMIT (64u << 20)

static pid_t self_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

enum drain_prio { PRIO_NORMAL, PRIO_NICE, PRIO_FIFO };
static const char *const drain_prio_names[] = { "normal", "nice", "fifo" };

static enum drain_prio raise_priority(int *old)
{
	errno = 0;
	*old = getpriority(PRIO_PROCESS, (id_t)self_tid());
	if (*old == -1 && errno)
		*old = 0;
	struct sched_param sp = { .sched_priority = 1 };
	if (sched_setscheduler(self_tid(), SCHED_FIFO, &sp) == 0)
		return PRIO_FIFO;
	if (*old > DRAIN_NICE && setpriority(PRIO_PROCESS, (id_t)self_tid(), DRAIN_NICE) == 0)
		return PRIO_NICE;
	return PRIO_NORMAL;
}

static void restore_priority(enum drain_prio p, int old)
{
	struct sched_param sp = { .sched_priority = 0 };
	if (p == PRIO_FIFO)
		(void)sched_setscheduler(self_tid(), SCHED_OTHER, &sp);
	if (p != PRIO_NORMAL)
		(void)setpriority(PRIO_PROCESS, (id_t)self_tid(), old);
}

static uint64_t rusage_ns(const struct rusage *ru)
{
	return (uint64_t)ru->ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru->ru_utime.tv_usec * 1000ULL +
	       (uint64_t)ru->ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru->ru_stime.tv_usec * 1000ULL;
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* One recording on its way from the options to the file. */
struct rec {
	const struct record_opts *o;
	struct events ev;
	struct raw_store st;
	struct workload wl;
	struct cprof_data d;
	struct tid_list tids;
	struct outfile data_out;
	struct rec_queue *q;
	struct rec_queue_stats qstats;
	uint64_t ring_peak, ring_bytes;
	int old_nice;
	enum drain_prio prio, drain_prio_got;
	struct sbuf lost_cpus, attach_command, exe_path;
	int *cpus, ncpus, status;
	bool have_status, stopped_early, default_event, enable_now;
	int *src_fds; /* per source: what its attach() gave to poll, or -1 */
	struct rusage child_ru, ru0, ru1;
	struct ev_list default_evl;
	const struct ev_list *evl;
	struct perf_event_attr *attrs;
	struct perf_open_opts po;
	unsigned sysctl_max_stack;
	uint64_t t_start, t_end, attach_cpu0, workload_cpu;
};

/* The data file now, not when the workload is over: a path that cannot be
 * written must cost nothing (cprof-data(5), WRITING). Then the events:
 * those asked for, else cycles where a PMU exists, else (as perf does: no
 * message, the summary names it) cpu-clock; and the CPUs. */
static int rec_open(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	int r = outfile_open(&R->data_out, o->output, OUTFILE_PRIVATE | OUTFILE_KEEP_OLD | OUTFILE_NO_STDERR, err);
	if (r < 0)
		return r;
	if (isatty(fileno(R->data_out.fp))) {
		outfile_abort(&R->data_out);
		return err_set(err, EINVAL, "'%s' is a terminal and a recording is binary: pipe it (| cprof report -i -) "
			       "or give -o FILE", o->output);
	}
	/* On our standard output (-o -, as perf record -o -) the recording
	 * goes alone: the workload's own output goes to standard error, as
	 * in perf's pipe mode, so it cannot mix into the data. */
	R->wl.stdout_to_stderr = R->data_out.kind == OUTFILE_STDIO;
	struct stat so, se;
	if (R->wl.stdout_to_stderr && fstat(STDOUT_FILENO, &so) == 0 && fstat(STDERR_FILENO, &se) == 0 &&
	    so.st_dev == se.st_dev && so.st_ino == se.st_ino) {
		outfile_abort(&R->data_out);
		return err_set(err, EINVAL, "'%s' is standard output, which is also standard error here (2>&1): the "
			       "command's output and cprof's messages would mix into the recording", o->output);
	}
	if (R->wl.stdout_to_stderr && o->argv && o->argv[0] && fcntl(STDERR_FILENO, F_GETFD) < 0) {
		outfile_abort(&R->data_out);
		return err_set(err, EBADF, "'%s' is standard output, where the recording goes, and standard error, "
			       "where the command's output would go, is closed", o->output);
	}
	R->evl = o->events;
	R->default_event = !R->evl || R->evl->v.n == 0;
	if (R->default_event) {
		if ((r = ev_list_parse(&R->default_evl, pmu_available() ? "cycles" : "cpu-clock", NULL, err)) < 0)
			return r;
		R->evl = &R->default_evl;
	}
	if (R->evl->v.n > UINT16_MAX)
		return err_set(err, EINVAL, "%zu events is more than one recording holds (%u)", R->evl->v.n, UINT16_MAX);

	R->ncpus = online_cpus(&R->cpus, err);
	if (R->ncpus < 0)
		return R->ncpus;
	if (o->ncpus) {
		/* -C: those of the online CPUs asked for, in the order given. */
		int *sel = xmalloc(o->ncpus * sizeof *sel), nsel = 0;
		for (size_t i = 0; i < o->ncpus; i++) {
			bool online = false;
			for (int j = 0; j < R->ncpus; j++)
				online |= R->cpus[j] == o->cpus[i];
			if (!online) {
				free(sel);
				return err_set(err, EINVAL, "CPU %d is not online (see /sys/devices/system/cpu/online)",
					       o->cpus[i]);
			}
			sel[nsel++] = o->cpus[i];
		}
		free(R->cpus);
		R->cpus = sel;
		R->ncpus = nsel;
	}
	return install_signals(err);
}

/* The targets: attached processes or threads, every CPU, or the workload,
 * forked (waiting to exec) with what the sources need it to inherit. */
static int rec_targets(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	bool attached = o->attach_pid || o->system_wide;
	int r;
	if (attached) {
		if (o->system_wide) {
			system_targets(&R->st);
			vec_push(&R->tids, -1);
		} else if ((r = attach_all(o, &R->tids, &R->st, err)) < 0) {
			return r;
		}
		/* -p PID -- CMD: CMD only says how long (perf's idiom with sleep);
		 * it runs unprofiled, and the recording ends when it does. */
		if (o->argv && o->argv[0]) {
			if ((r = workload_prepare(&R->wl, o->argv, err)) < 0)
				return r;
			child_pid = R->wl.pid;
		}
	} else {
		for (size_t i = 0; i < o->nsources; i++)
			if (o->sources[i].ops->prepare && (r = o->sources[i].ops->prepare(o->sources[i].state, err)) < 0)
				return r;
		r = workload_prepare(&R->wl, o->argv, err);
		for (size_t i = 0; i < o->nsources; i++)
			if (o->sources[i].ops->started)
				o->sources[i].ops->started(o->sources[i].state);
		if (r < 0)
			return r;
		child_pid = R->wl.pid;
		vec_push(&R->tids, R->wl.pid);
	}
	/* The sources' events: on the same threads as the samples'. */
	int proc = 0;
	if (o->attach_pid)
		proc = o->attach_threads ? thread_tgid(o->attach_pid) : o->attach_pid;
	struct source_target t = { .pid = attached ? 0 : R->wl.pid, .argv = o->argv, .tids = R->tids.v,
				   .ntids = R->tids.n, .now = attached, .deferred = attached || o->delay_ms > 0, .proc = proc,
				   .self = (int)getpid(),
				   .known = attached ? &R->st : NULL, .cpus = R->cpus, .ncpus = R->ncpus,
				   .callchain = o->call_graph != CALL_GRAPH_NONE,
				   .dwarf = o->call_graph == CALL_GRAPH_DWARF, .stack_size = o->stack_size,
				   .max_stack = o->max_stack,
				   .mmap_pages = o->mmap_pages };
	R->src_fds = xcalloc(o->nsources + 1, sizeof *R->src_fds);
	for (size_t i = 0; i < o->nsources; i++) {
		R->src_fds[i] = -1;
		if (o->sources[i].ops->attach &&
		    (r = o->sources[i].ops->attach(o->sources[i].state, &t, &R->src_fds[i], err)) < 0)
			return r;
	}
	return 0;
}

/* -D: the sources' events, opened off, go on with the samples'. */
static int rec_enable_sources(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	int r;
	for (size_t i = 0; i < o->nsources; i++)
		if (o->sources[i].ops->enable && (r = o->sources[i].ops->enable(o->sources[i].state, err)) < 0)
			return r;
	return 0;
}

/* The sources that read while recording: their turn after the rings'. */
static void rec_drain_sources(struct rec *R, bool last)
{
	const struct record_opts *o = R->o;
	for (size_t i = 0; R->src_fds && i < o->nsources; i++)
		if (o->sources[i].ops->drain)
			o->sources[i].ops->drain(o->sources[i].state, last);
}

/* What is recorded, while it is there to ask: an attached process's own
 * command line (its threads may be gone by the end) and the main
 * executable, which diff matches across renames (match.h). */
static void rec_describe_targets(struct rec *R)
{
	const struct record_opts *o = R->o;
	struct sbuf *ac = &R->attach_command;
	if (o->system_wide) {
		sbuf_adds(ac, "-a");
		if (o->ncpus)
			sbuf_adds(ac, " -C ");
		for (size_t i = 0; i < o->ncpus; i++)
			sbuf_addf(ac, "%s%d", i ? "," : "", o->cpus[i]);
		if (o->argv && o->argv[0]) {
			sbuf_adds(ac, " -- ");
			join_argv(o->argv, ac);
		}
	} else if (o->attach_pid) {
		size_t np = o->nattach ? o->nattach : 1;
		for (size_t i = 0; i < np; i++) {
			pid_t pid = o->nattach ? o->attach_pids[i] : o->attach_pid;
			if (o->attach_threads)
				pid = thread_tgid(pid);
			if (np > 1)
				sbuf_addf(ac, "%s%s %d: ", i ? "; " : "", o->attach_threads ? "tid" : "pid",
					  (int)(o->nattach ? o->attach_pids[i] : o->attach_pid));
			if (!pid || proc_command(pid, ac) < 0)
				sbuf_addf(ac, "-%c %d", o->attach_threads ? 't' : 'p',
					  (int)(o->nattach ? o->attach_pids[i] : o->attach_pid));
		}
		proc_exe(o->attach_threads ? thread_tgid(o->attach_pid) : o->attach_pid, &R->exe_path);
	} else {
		exe_lookup(o->argv[0], &R->exe_path);
	}
}

/* The events' attributes, the store's view of them, and the events opened,
 * falling back as perf does where the machine says no. */
static int rec_events(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	struct raw_store *st = &R->st;
	const struct ev_list *evl = R->evl;
	/* Leader sampling anywhere: every event reads its group with each
	 * sample, so all samples have one layout (a lone event reads itself). */
	bool any_read = false;
	for (size_t i = 0; i < evl->v.n; i++)
		any_read |= evl->v.v[i].sample_read;
	R->enable_now = o->attach_pid || o->system_wide;
	R->po = (struct perf_open_opts){ .use_freq = !o->use_period,
					 .freq_or_period = o->use_period ? o->period : o->freq,
					 .call_graph = o->call_graph, .stack_size = o->stack_size,
					 .wakeup_bytes = o->call_graph == CALL_GRAPH_DWARF ? o->mmap_pages * 4096 / 4 : 0,
					 /* per-CPU events count every task there: nothing to inherit */
					 .inherit = !o->no_inherit && !o->system_wide,
					 .enable_on_exec = !R->enable_now && !o->delay_ms, .exclude_kernel = false,
					 .max_stack = o->call_graph == CALL_GRAPH_FP ? o->max_stack : 0,
					 .sample_read = any_read };
	struct perf_open_opts *po = &R->po;
	R->attrs = xcalloc(evl->v.n, sizeof *R->attrs);
	attrs_init(R->attrs, evl, po, o);
	st->sample_type = R->attrs[0].sample_type;
	st->read_format = R->attrs[0].read_format;
	st->regs_mask = R->attrs[0].sample_regs_user;
	/* The limits a stack can meet, to say later which one cut it. */
	R->sysctl_max_stack = perf_max_stack_sysctl();
	st->chain_max = po->max_stack ? po->max_stack : R->sysctl_max_stack;
	st->chain_max_asked = po->max_stack != 0;
	st->max_stack = o->call_graph == CALL_GRAPH_DWARF && o->max_stack ? o->max_stack : RAW_MAX_STACK;
	/* How many samples are kept one by one before merging (cprof-record(1),
	 * ENVIRONMENT); lowered by the tests to reach merging quickly. */
	const char *budget = getenv("CPROF_SAMPLE_BUDGET");
	uint64_t bv;
	st->sample_budget = budget && parse_u64(budget, &bv) == 0 && bv >= 16 ? bv : RAW_SAMPLE_BUDGET;
	if (o->call_graph == CALL_GRAPH_DWARF) {
		st->unwinder = unwinder_new();
		for (size_t i = 0; i < st->mmaps.n; i++) /* attached: what is mapped already */
			unwinder_add_map(st->unwinder, st->mmaps.v[i].pid, st->mmaps.v[i].path, st->mmaps.v[i].start,
					 st->mmaps.v[i].len, st->mmaps.v[i].pgoff, 0);
	}
	struct events *ev = &R->ev;
	int r = events_open(ev, R->attrs, evl, R->tids.v, R->tids.n, R->cpus, R->ncpus, o->mmap_pages, st, err);
	if (r < 0 && R->default_event && pmu_available() &&
	    (-r == ENOENT || -r == ENODEV || -r == ENXIO || -r == EOPNOTSUPP)) {
		/* cycles named by default, and the PMU will not count it (a
		 * virtual machine's, say): cpu-clock, as perf falls back. */
		events_close(ev, st);
		ev_list_release(&R->default_evl);
		if ((r = ev_list_parse(&R->default_evl, "cpu-clock", NULL, err)) < 0)
			return r;
		attrs_init(R->attrs, evl, po, o);
		r = events_open(ev, R->attrs, evl, R->tids.v, R->tids.n, R->cpus, R->ncpus, o->mmap_pages, st, err);
	}
	if (r < 0 && (-r == EACCES || -r == EPERM)) {
		/* perf_event_paranoid >= 2 allows user-space-only sampling. */
		events_close(ev, st);
		po->exclude_kernel = true;
		attrs_init(R->attrs, evl, po, o);
		struct cprof_err e2;
		int r2 = events_open(ev, R->attrs, evl, R->tids.v, R->tids.n, R->cpus, R->ncpus, o->mmap_pages, st, &e2);
		if (r2 == 0)
			r = 0; /* the summary and the report's header say so */
		else if (ev->ring_refused && err) { /* past the permission, the ring is what stopped it */
			*err = e2;
			r = r2;
		}
	}
	if (r < 0 && -r == EINVAL && any_read && po->inherit) {
		/* Kernels before 6.12 refuse PERF_SAMPLE_READ on inherited
		 * events: say what works instead of "invalid argument". */
		r = err_set(err, EINVAL, "this kernel cannot read a group with each sample of inherited events "
					 "(':S' needs Linux 6.12 or later); add --no-inherit to record the first thread only");
	}
	return r;
}

/* The parsing worker, the draining priority, the clock, and the workload
 * let go. */
static int rec_start(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	/* The worker starts at this thread's priority, before it is raised. */
	R->q = rec_queue_new(QUEUE_LIMIT);
	rec_queue_set_worker_nice(R->q, WORKER_NICE);
	int r = rec_queue_start(R->q, &R->st, err);
	if (r < 0)
		return r;
	R->prio = raise_priority(&R->old_nice);
	R->t_start = now_ns();
	getrusage(RUSAGE_SELF, &R->ru0);
	R->attach_cpu0 = o->attach_pid ? attached_cpu_ns(o) : 0;
	/* Attached, the sources' events were opened off (some take long to
	 * open: uprobes, a tracepoint per thread), so that all of them start
	 * with the samples and cover the same stretch of the program. */
	if (R->enable_now && !o->delay_ms &&
	    ((r = events_enable(&R->ev, err)) < 0 || (r = rec_enable_sources(R, err)) < 0))
		return r;
	if (R->wl.pid > 0 && (r = workload_start(&R->wl, o->argv[0], err)) < 0)
		return r;
	return 0;
}

/* The loop: wake on ring watermarks, signals or child exit; drain every
 * ring on every wake-up, and at least every 100 ms (10 ms once a ring
 * stopped waking us: its event's task is gone, but others may still
 * write into it). Parsing happens in the queue's worker. */
static int rec_loop(struct rec *R, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	struct events *ev = &R->ev;
	struct pollfd *pfd = xcalloc(ev->rings.n + 1 + o->nsources, sizeof *pfd);
	bool *hung = xcalloc(ev->rings.n + 1, sizeof *hung);
	/* -D: events stay off until the delay has passed. */
	uint64_t enable_at = o->delay_ms ? R->t_start + (uint64_t)o->delay_ms * 1000000ULL : 0;
	uint64_t deadline = o->duration > 0 ? R->t_start + (uint64_t)(o->duration * 1e9) : 0;
	bool done = false, any_hung = false;
	int handled_stops = 0, r = 0;
	while (!done) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = wake_pipe[0], .events = POLLIN };
		for (size_t i = 0; i < ev->rings.n; i++)
			pfd[n++] = (struct pollfd){ .fd = hung[i] ? -1 : ev->rings.v[i].fd, .events = POLLIN };
		for (size_t i = 0; R->src_fds && i < o->nsources; i++)
			pfd[n++] = (struct pollfd){ .fd = R->src_fds[i], .events = POLLIN };
		int timeout = any_hung ? 10 : 100;
		for (size_t i = 0; R->src_fds && i < o->nsources; i++) {
			unsigned ms = o->sources[i].ops->drain_ms;
			if (ms && (int)ms < timeout)
				timeout = (int)ms;
		}
		if (enable_at) {
			uint64_t now = now_ns();
			if (now >= enable_at) {
				if ((r = events_enable(ev, err)) < 0 || (r = rec_enable_sources(R, err)) < 0)
					break;
				enable_at = 0;
			} else if ((enable_at - now) / 1000000 < (uint64_t)timeout) {
				timeout = (int)((enable_at - now) / 1000000) + 1;
			}
		}
		if (deadline) {
			uint64_t now = now_ns();
			if (now >= deadline)
				timeout = 0;
			else if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((deadline - now) / 1000000) + 1;
		}
		int ready = poll(pfd, n, timeout);
		if (ready < 0 && errno != EINTR) {
			r = err_set(err, errno, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < ev->rings.n; i++)
			if (pfd[i + 1].revents & (POLLHUP | POLLERR | POLLNVAL))
				hung[i] = any_hung = true;
		/* Most wake-ups are a ring's watermark: the signal pipe and the
		 * child are looked at only when a signal came (the pipe says so),
		 * or on a timeout or interruption to be sure; two system calls
		 * less on each of the hundreds of wake-ups of a DWARF recording. */
		bool signalled = ready <= 0 || (pfd[0].revents & POLLIN);
		char junk[64];
		while (signalled && read(wake_pipe[0], junk, sizeof junk) > 0)
			;
		drain_all(ev, R->q);
		rec_drain_sources(R, false);
		/* Rings left with records: the queue is at its limit. */
		for (size_t i = 0; i < ev->rings.n; i++)
			if (ring_pending(&ev->rings.v[i])) {
				rec_queue_wait_space(R->q, 10);
				break;
			}
		if (R->wl.pid > 0 && signalled) {
			pid_t w = wait4(R->wl.pid, &R->status, WNOHANG, &R->child_ru);
			if (w == R->wl.pid) {
				R->have_status = true;
				R->wl.pid = 0;
				child_pid = 0;
				done = true;
			}
		}
		if (!done && o->attach_pid && !attached_alive(o)) {
			done = true;
			R->stopped_early = R->wl.pid > 0; /* ends the -p PID -- CMD command */
		}
		if (deadline && now_ns() >= deadline && !done) {
			R->stopped_early = true;
			done = true;
		}
		if (stop_requests > handled_stops) {
			handled_stops = stop_requests;
			/* Attached: Ctrl-C ends the recording. Launched: the workload
			 * got the signal too; wait for it, unless asked twice. */
			if (o->attach_pid || (o->system_wide && R->wl.pid <= 0) || stop_requests >= 2) {
				R->stopped_early = true;
				done = true;
			}
		}
	}
	free(pfd);
	free(hung);
	return r;
}

/* Events off, every ring drained, the worker done; the workload ended if
 * it is still running, and what it and we cost. */
static void rec_stop(struct rec *R)
{
	const struct record_opts *o = R->o;
	struct events *ev = &R->ev;
	for (size_t i = 0; i < ev->fds.n; i++)
		(void)ioctl(ev->fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; R->src_fds && i < o->nsources; i++)
		if (o->sources[i].ops->stop)
			o->sources[i].ops->stop(o->sources[i].state);
	drain_rest(ev, R->q);
	rec_drain_sources(R, true);
	restore_priority(R->prio, R->old_nice);
	R->drain_prio_got = R->prio;
	R->prio = PRIO_NORMAL;
	for (size_t i = 0; i < ev->rings.n; i++) {
		uint64_t fill = ev->rings.v[i].max_fill;
		if (fill > R->ring_peak)
			R->ring_peak = fill;
		R->ring_bytes = ev->rings.v[i].data_size;
	}
	rec_queue_finish(R->q, &R->qstats);
	R->q = NULL;
	/* Lost samples per CPU (one ring each), while the ring list exists. */
	for (size_t i = 0; i < R->st.lost_by_ring.n && i < ev->ring_cpu.n; i++)
		if (R->st.lost_by_ring.v[i])
			sbuf_addf(&R->lost_cpus, "%s%d:%" PRIu64, R->lost_cpus.len ? "," : "", ev->ring_cpu.v[i],
				  R->st.lost_by_ring.v[i]);
	R->t_end = now_ns();
	getrusage(RUSAGE_SELF, &R->ru1);
	if (o->attach_pid) {
		uint64_t c1 = attached_cpu_ns(o);
		R->workload_cpu = c1 > R->attach_cpu0 ? c1 - R->attach_cpu0 : 0;
	}
	if (R->wl.pid > 0 && R->stopped_early) {
		/* --duration or a second Ctrl-C: end the workload we started. */
		kill(R->wl.pid, SIGTERM);
		if (wait4(R->wl.pid, &R->status, 0, &R->child_ru) == R->wl.pid)
			R->have_status = true;
		R->wl.pid = 0;
		child_pid = 0;
	}
	if (R->have_status && !o->attach_pid)
		R->workload_cpu = rusage_ns(&R->child_ru);
	events_close(ev, NULL);
}

/* Describe the recording in the data file's metadata. */
static void rec_meta(struct rec *R)
{
	const struct record_opts *o = R->o;
	struct cprof_data *d = &R->d;
	const struct raw_store *st = &R->st;
	struct sbuf cmd = SBUF_INIT;
	if (o->attach_pid || o->system_wide)
		sbuf_addf(&cmd, "%s", R->attach_command.buf);
	else
		join_argv(o->argv, &cmd);
	cprof_meta_set(d, "command", cmd.buf);
	if (R->exe_path.len)
		cprof_meta_set(d, "exe", R->exe_path.buf);
	sbuf_release(&cmd);
	cprof_meta_set(d, "cprof_version", CPROF_VERSION);
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) == 0)
		cprof_meta_set(d, "hostname", host);
	cprof_meta_setf(d, "start_time_ns", "%" PRIu64, R->t_start);
	cprof_meta_setf(d, "duration_ns", "%" PRIu64, R->t_end - R->t_start);
	cprof_meta_setf(d, "lost_samples", "%" PRIu64, st->lost_records + st->lost_samples);
	if (st->lost_records + st->lost_samples) {
		/* Where: per CPU (one ring each), and when (bursts, in ns). */
		struct sbuf where = SBUF_INIT;
		cprof_meta_set(d, "lost_by_cpu", R->lost_cpus.buf);
		for (size_t i = 0; i < st->lost_times.n; i++)
			sbuf_addf(&where, "%s%" PRIu64 "-%" PRIu64 ":%" PRIu64, i ? "," : "", st->lost_times.v[i].first,
				  st->lost_times.v[i].last, st->lost_times.v[i].count);
		cprof_meta_set(d, "lost_times", where.buf);
		sbuf_release(&where);
	}
	/* How close the recording came to losing samples. */
	cprof_meta_setf(d, "ring_bytes", "%" PRIu64, R->ring_bytes);
	cprof_meta_setf(d, "ring_peak_bytes", "%" PRIu64, R->ring_peak);
	cprof_meta_setf(d, "queue_peak_bytes", "%" PRIu64, R->qstats.peak_chunks << 20);
	if (R->st.unwinder)
		cprof_meta_setf(d, "stack_copies_cut_at_start", "%" PRIu64, R->qstats.cut_at_start);
	cprof_meta_setf(d, "queue_limit_bytes", "%u", QUEUE_LIMIT);
	cprof_meta_setf(d, "queue_full", "%" PRIu64, R->qstats.full);
	cprof_meta_set(d, "drain_priority", drain_prio_names[R->drain_prio_got]);
	cprof_meta_setf(d, "sample_budget", "%" PRIu64, st->sample_budget);
	if (st->merge_ns)
		cprof_meta_setf(d, "sample_merge_ns", "%" PRIu64, st->merge_ns);
	cprof_meta_setf(d, "recorder_cpu_ns", "%" PRIu64, rusage_ns(&R->ru1) - rusage_ns(&R->ru0));
	cprof_meta_setf(d, "workload_cpu_ns", "%" PRIu64, R->workload_cpu);
	cprof_meta_setf(d, "cpus", "%d", R->ncpus);
	cprof_meta_setf(d, "mmap_pages", "%u", o->mmap_pages);
	if (o->call_graph == CALL_GRAPH_DWARF)
		cprof_meta_setf(d, "call_graph", "dwarf,%u", o->stack_size);
	else
		cprof_meta_set(d, "call_graph", o->call_graph == CALL_GRAPH_FP ? "fp" : "none");
	if (o->call_graph != CALL_GRAPH_NONE) {
		cprof_meta_setf(d, "max_stack", "%u", o->call_graph == CALL_GRAPH_DWARF ? st->max_stack : st->chain_max);
		cprof_meta_setf(d, "kernel_max_stack", "%u", R->sysctl_max_stack);
	}
	if (st->unwinder) {
		struct unwinder_stats us;
		unwinder_get_stats(st->unwinder, &us);
		cprof_meta_setf(d, "unwind_samples", "%" PRIu64, us.samples);
		cprof_meta_setf(d, "unwind_truncated", "%" PRIu64, us.truncated);
		cprof_meta_setf(d, "unwind_failed", "%" PRIu64, us.failed);
		cprof_meta_setf(d, "unwind_fast", "%" PRIu64, us.fast);
		cprof_meta_setf(d, "unwind_rules", "%" PRIu64, us.rules_derived);
		if (us.verified)
			cprof_meta_setf(d, "unwind_verify_mismatches", "%" PRIu64, us.verify_mismatches);
	}
	cprof_meta_set(d, "kernel_samples", R->po.exclude_kernel ? "excluded" : "included");
	if (R->have_status)
		cprof_meta_setf(d, "exit_status", "%d", status_to_exit(R->status));
	add_events(d, R->evl, R->attrs);
}

/* The finishing pass: the sources take in what they gathered, every stack
 * (samples', and the sources') goes through the one resolver, then the
 * sources store their records. */
static int rec_finish(struct rec *R, const struct note_sink *notes, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	const struct source_use *src = o->sources;
	uint64_t t_fin0 = now_ns();
	int r;
	for (size_t i = 0; i < o->nsources; i++)
		if (src[i].ops->collect && (r = src[i].ops->collect(src[i].state, err)) < 0)
			return r;
	struct resolver *res = resolver_new(&R->d, &R->st, err);
	if (!res)
		return -ENOMEM;
	resolver_add_samples(res);
	for (size_t i = 0; i < o->nsources; i++)
		if (src[i].ops->stacks)
			src[i].ops->stacks(src[i].state, res);
	resolver_run(res);
	resolver_emit_samples(res);
	struct source_finish f = { .d = &R->d, .res = res, .raw = &R->st, .quiet = o->quiet, .notes = notes };
	for (size_t i = 0; i < o->nsources; i++)
		if (src[i].ops->finish && (r = src[i].ops->finish(src[i].state, &f, err)) < 0) {
			resolver_free(res);
			return r;
		}
	resolver_finish(res, NULL);
	struct rusage ru2;
	getrusage(RUSAGE_SELF, &ru2);
	cprof_meta_setf(&R->d, "finish_cpu_ns", "%" PRIu64, rusage_ns(&ru2) - rusage_ns(&R->ru1));
	cprof_meta_setf(&R->d, "finish_wall_ns", "%" PRIu64, now_ns() - t_fin0);
	if (R->st.malformed)
		cprof_meta_setf(&R->d, "malformed_records", "%" PRIu64, R->st.malformed);
	return 0;
}

/* The data file, and what the command tells the user. */
static int rec_write(struct rec *R, struct record_result *res, struct cprof_err *err)
{
	const struct record_opts *o = R->o;
	const struct cprof_data *d = &R->d;
	size_t written = 0;
	int r = cprof_data_write(d, &R->data_out, &written, err);
	res->bytes = written;
	res->samples = 0;
	for (size_t i = 0; i < d->samples.n; i++)
		res->samples += i < d->sample_counts.n ? d->sample_counts.v[i] : 1;
	res->interrupted = stop_requests > 0;
	res->lost = R->st.lost_records + R->st.lost_samples;
	res->drain_fifo = R->drain_prio_got == PRIO_FIFO;
	res->queue_full = R->qstats.full;
	res->exit_status = R->have_status ? status_to_exit(R->status) : (R->stopped_early ? 130 : 0);
	/* Attached or system-wide: the command of -p PID -- CMD or -a -- CMD
	 * if it ended by itself, else 0: --duration or Ctrl-C is how such a
	 * recording ends, not a failure. */
	if ((o->attach_pid || o->system_wide) && (!R->have_status || R->stopped_early))
		res->exit_status = 0;
	for (size_t i = 0, n = 0; i < R->evl->v.n; i++)
		n += (size_t)snprintf(res->event_buf + n, n < sizeof res->event_buf ? sizeof res->event_buf - n : 0,
				      "%s%s", i ? ", " : "", R->evl->v.v[i].name);
	res->event = res->event_buf;
	res->kernel_excluded = R->po.exclude_kernel;
	return r;
}

static void rec_release(struct rec *R)
{
	if (R->wl.pid > 0 || R->wl.go_fd >= 0)
		workload_abort(&R->wl);
	if (R->q) {
		rec_queue_finish(R->q, NULL);
		restore_priority(R->prio, R->old_nice);
	}
	child_pid = 0;
	outfile_abort(&R->data_out);
	events_close(&R->ev, NULL);
	restore_signals();
	unwinder_free(R->st.unwinder);
	raw_store_release(&R->st);
	cprof_data_release(&R->d);
	ev_list_release(&R->default_evl);
	free(R->attrs);
	vec_release(&R->tids);
	free(R->src_fds);
	sbuf_release(&R->lost_cpus);
	free(R->cpus);
	sbuf_release(&R->attach_command);
	sbuf_release(&R->exe_path);
}

int record_run(const struct record_opts *o, const struct note_sink *notes, struct record_result *res,
	       struct cprof_err *err)
{
	struct rec R = { .o = o, .wl = { .pid = 0, .go_fd = -1, .err_fd = -1 }, .lost_cpus = SBUF_INIT,
			 .attach_command = SBUF_INIT, .exe_path = SBUF_INIT };
	memset(res, 0, sizeof *res);
	cprof_data_init(&R.d);
	int r;
	if ((r = rec_open(&R, err)) < 0 || (r = rec_targets(&R, err)) < 0)
		goto out;
	rec_describe_targets(&R);
	if ((r = rec_events(&R, err)) < 0 || (r = rec_start(&R, err)) < 0)
		goto out;
	r = rec_loop(&R, err);
	rec_stop(&R);
	if (r < 0)
		goto out;
	rec_meta(&R);
	if ((r = rec_finish(&R, notes, err)) < 0)
		goto out;
	r = rec_write(&R, res, err);
out:
	rec_release(&R);
	return r;
}
