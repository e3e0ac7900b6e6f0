/*
 * session.c - one recording from start to file: choose the event, open it on
 * every CPU for the workload (or every thread of an attached process), drain
 * the ring buffers until the workload ends or the user stops us, then hand
 * the raw records to the finishing pass and write the data file.
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
#include "cprof/gpu-record.h"
#include "cprof/record.h"
#include "cprof/memrec.h"
#include "cprof/outfile.h"
#include "cprof/unwind.h"

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

struct events {
	VEC(int) fds;
	VEC(struct ring) rings;
	VEC(int) ring_cpu;
};

static void events_close(struct events *ev)
{
	for (size_t i = 0; i < ev->rings.n; i++)
		ring_unmap(&ev->rings.v[i]);
	for (size_t i = 0; i < ev->fds.n; i++)
		close(ev->fds.v[i]);
	vec_release(&ev->fds);
	vec_release(&ev->rings);
	vec_release(&ev->ring_cpu);
}

/* Open attr for each target thread on each CPU: one ring per CPU, every
 * other event on that CPU redirected into it with SET_OUTPUT. */
static int events_open(struct events *ev, struct perf_event_attr *attr, const pid_t *tids, size_t ntids,
		       const int *cpus, int ncpus, unsigned pages, const char *evname, struct cprof_err *err)
{
	for (int c = 0; c < ncpus; c++) {
		int ring_fd = -1;
		for (size_t t = 0; t < ntids; t++) {
			int fd = perf_open(attr, tids[t], cpus[c], -1);
			if (fd < 0) {
				if (fd == -ESRCH && ntids > 1)
					continue; /* that thread exited meanwhile */
				return perf_open_error(err, -fd, evname, tids[t]);
			}
			vec_push(&ev->fds, fd);
			if (ring_fd < 0) {
				struct ring r;
				int rc = ring_map(&r, fd, pages, err);
				if (rc < 0)
					return rc;
				vec_push(&ev->rings, r);
				vec_push(&ev->ring_cpu, cpus[c]);
				ring_fd = fd;
			} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring_fd) < 0) {
				return err_set(err, errno, "cannot share the ring buffer of CPU %d: %s", cpus[c],
					       strerror(errno));
			}
		}
	}
	return 0;
}

static size_t drain_all(struct events *ev, struct rec_queue *q)
{
	size_t got = 0;
	for (size_t i = 0; i < ev->rings.n; i++)
		got += ring_drain(&ev->rings.v[i], (uint32_t)i, q);
	rec_queue_flush(q, 50000000);
	return got;
}

/* After the events are disabled: take everything that is left, waiting for
 * the worker whenever the queue is at its limit. */
static void drain_rest(struct events *ev, struct rec_queue *q)
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

/* utime + stime of a whole process from /proc, in ns; 0 if unknown. */
static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces */
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	return (ut + st) * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

/* Threads of a running process, and its existing executable mappings (the
 * kernel reports only mappings made after the events exist). */
struct tid_list {
	pid_t *v;
	size_t n, cap;
};

static int attach_targets(pid_t pid, struct tid_list *tids, struct raw_store *st, struct cprof_err *err)
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

static void join_argv(char **argv, struct sbuf *out)
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
static int proc_command(pid_t pid, struct sbuf *out)
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

static void proc_exe(pid_t pid, struct sbuf *out)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n > 0)
		sbuf_add(out, buf, (size_t)n);
}

/* The file execvp() runs for argv0, as the kernel names its mapping. */
static void exe_lookup(const char *argv0, struct sbuf *out)
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

static bool attached_alive(const struct record_opts *o)
{
	size_t np = o->nattach ? o->nattach : 1;
	for (size_t i = 0; i < np; i++)
		if (kill(o->nattach ? o->attach_pids[i] : o->attach_pid, 0) == 0 || errno != ESRCH)
			return true;
	return false;
}

static uint64_t attached_cpu_ns(const struct record_opts *o)
{
	size_t np = o->nattach ? o->nattach : 1;
	uint64_t sum = 0;
	for (size_t i = 0; i < np; i++)
		sum += proc_cpu_ns(o->nattach ? o->attach_pids[i] : o->attach_pid);
	return sum;
}

static int events_enable(struct events *ev, struct cprof_err *err)
{
	for (size_t i = 0; i < ev->fds.n; i++)
		if (ioctl(ev->fds.v[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return err_set(err, errno, "cannot enable sampling: %s", strerror(errno));
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

int record_run(const struct record_opts *o, record_note_fn note, struct record_result *res,
	       struct cprof_err *err)
{
	struct events ev = { 0 };
	struct raw_store st = { 0 };
	struct workload wl = { .pid = 0, .go_fd = -1, .err_fd = -1 };
	struct cprof_data d;
	struct tid_list tids = { 0 };
	struct memrec mem = { 0 };
	struct gpu_session gs = { 0 };
	struct outfile data_out = { 0 };
	struct rec_queue *q = NULL;
	struct rec_queue_stats qstats = { 0 };
	uint64_t ring_peak = 0, ring_bytes = 0;
	int old_nice = 0;
	enum drain_prio prio = PRIO_NORMAL, drain_prio_got = PRIO_NORMAL;
	struct sbuf lost_cpus = SBUF_INIT;
	struct sbuf attach_command = SBUF_INIT, exe_path = SBUF_INIT;
	int *cpus = NULL, r = 0, status = 0;
	bool have_status = false;
	struct rusage child_ru;
	memset(&child_ru, 0, sizeof child_ru);
	memset(res, 0, sizeof *res);
	cprof_data_init(&d);

	/* The data file now, not when the workload is over: a path that cannot
	 * be written must cost nothing (cprof-data(5), WRITING). */
	r = outfile_open(&data_out, o->output, OUTFILE_PRIVATE | OUTFILE_KEEP_OLD | OUTFILE_NO_STDIO, err);
	if (r < 0)
		goto out;

	/* The event: the one asked for, else cycles where a PMU exists. */
	const struct event_desc *evd;
	bool default_event = o->event == NULL;
	if (o->event) {
		evd = event_find(o->event);
		if (!evd) {
			r = err_set(err, EINVAL, "unknown event '%s'; known: cycles, instructions, cache-misses, "
						 "branch-misses, cpu-clock, task-clock, page-faults, context-switches", o->event);
			goto out;
		}
	} else if (pmu_available()) {
		evd = event_find("cycles");
	} else {
		/* As perf does: no message, the summary names the event. */
		evd = event_find("cpu-clock");
	}

	int ncpus = online_cpus(&cpus, err);
	if (ncpus < 0) {
		r = ncpus;
		goto out;
	}
	r = install_signals(err);
	if (r < 0)
		goto out;

	if (o->attach_pid) {
		size_t np = o->nattach ? o->nattach : 1;
		for (size_t i = 0; i < np && r >= 0; i++)
			r = attach_targets(o->nattach ? o->attach_pids[i] : o->attach_pid, &tids, &st, err);
		if (r < 0)
			goto out;
		/* -p PID -- CMD: CMD only says how long (perf's idiom with sleep);
		 * it runs unprofiled, and the recording ends when it does. */
		if (o->argv && o->argv[0]) {
			r = workload_prepare(&wl, o->argv, err);
			if (r < 0)
				goto out;
			child_pid = wl.pid;
		}
	} else {
		if (o->mem) {
			r = memrec_prepare(&mem, o->mem_sample, o->mem_sample_bytes, err);
			if (r < 0)
				goto out;
		}
		if (o->gpu && (r = gpu_session_prepare(&gs, err)) < 0)
			goto out;
		r = workload_prepare(&wl, o->argv, err);
		if (o->mem)
			memrec_restore_env(&mem);
		if (r < 0)
			goto out;
		child_pid = wl.pid;
		vec_push(&tids, wl.pid);
	}

	/* What is recorded, while it is there to ask: an attached process's
	 * own command line (its threads may be gone by the end) and the main
	 * executable, which diff matches across renames (match.h). */
	if (o->attach_pid) {
		size_t np = o->nattach ? o->nattach : 1;
		for (size_t i = 0; i < np; i++) {
			pid_t pid = o->nattach ? o->attach_pids[i] : o->attach_pid;
			if (np > 1)
				sbuf_addf(&attach_command, "%spid %d: ", i ? "; " : "", (int)pid);
			if (proc_command(pid, &attach_command) < 0)
				sbuf_addf(&attach_command, "-p %d", (int)pid);
		}
		proc_exe(o->attach_pid, &exe_path);
	} else {
		exe_lookup(o->argv[0], &exe_path);
	}

	struct perf_open_opts po = { .ev = evd, .use_freq = !o->use_period,
				     .freq_or_period = o->use_period ? o->period : o->freq,
				     .call_graph = o->call_graph, .stack_size = o->stack_size,
				     .wakeup_bytes = o->call_graph == CALL_GRAPH_DWARF ? o->mmap_pages * 4096 / 4 : 0,
				     .inherit = !o->no_inherit,
				     .enable_on_exec = o->attach_pid == 0 && !o->delay_ms, .exclude_kernel = false,
				     .max_stack = o->call_graph == CALL_GRAPH_FP ? o->max_stack : 0 };
	struct perf_event_attr attr;
	perf_attr_init(&attr, &po);
	st.sample_type = attr.sample_type;
	st.regs_mask = attr.sample_regs_user;
	/* The limits a stack can meet, to say later which one cut it. */
	unsigned sysctl_max_stack = perf_max_stack_sysctl();
	st.chain_max = po.max_stack ? po.max_stack : sysctl_max_stack;
	st.chain_max_asked = po.max_stack != 0;
	st.max_stack = o->call_graph == CALL_GRAPH_DWARF && o->max_stack ? o->max_stack : RAW_MAX_STACK;
	/* How many samples are kept one by one before merging (cprof-record(1),
	 * ENVIRONMENT); lowered by the tests to reach merging quickly. */
	const char *budget = getenv("CPROF_SAMPLE_BUDGET");
	uint64_t bv;
	st.sample_budget = budget && parse_u64(budget, &bv) == 0 && bv >= 16 ? bv : RAW_SAMPLE_BUDGET;
	if (o->call_graph == CALL_GRAPH_DWARF) {
		st.unwinder = unwinder_new();
		for (size_t i = 0; i < st.mmaps.n; i++) /* attached: what is mapped already */
			unwinder_add_map(st.unwinder, st.mmaps.v[i].pid, st.mmaps.v[i].path, st.mmaps.v[i].start,
					 st.mmaps.v[i].len, st.mmaps.v[i].pgoff);
	}
	r = events_open(&ev, &attr, tids.v, tids.n, cpus, ncpus, o->mmap_pages, evd->name, err);
	if (r < 0 && default_event && evd->hardware && (-r == ENOENT || -r == ENODEV || -r == ENXIO || -r == EOPNOTSUPP)) {
		events_close(&ev);
		evd = event_find("cpu-clock");
		po.ev = evd;
		perf_attr_init(&attr, &po);
		r = events_open(&ev, &attr, tids.v, tids.n, cpus, ncpus, o->mmap_pages, evd->name, err);
	}
	if (r < 0 && (-r == EACCES || -r == EPERM)) {
		/* perf_event_paranoid >= 2 allows user-space-only sampling. */
		events_close(&ev);
		po.exclude_kernel = true;
		perf_attr_init(&attr, &po);
		struct cprof_err e2;
		int r2 = events_open(&ev, &attr, tids.v, tids.n, cpus, ncpus, o->mmap_pages, evd->name, &e2);
		if (r2 == 0)
			r = 0; /* the summary and the report's header say so */
	}
	if (r < 0)
		goto out;

	/* The worker starts at this thread's priority, before it is raised. */
	q = rec_queue_new(QUEUE_LIMIT);
	rec_queue_set_worker_nice(q, WORKER_NICE);
	r = rec_queue_start(q, &st, err);
	if (r < 0)
		goto out;
	prio = raise_priority(&old_nice);

	uint64_t t_start = now_ns();
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t attach_cpu0 = o->attach_pid ? attached_cpu_ns(o) : 0;
	/* -D: events stay off until the delay has passed. */
	uint64_t enable_at = o->delay_ms ? t_start + (uint64_t)o->delay_ms * 1000000ULL : 0;
	if (o->attach_pid && !enable_at && (r = events_enable(&ev, err)) < 0)
		goto out;
	if (wl.pid > 0) {
		r = workload_start(&wl, o->argv[0], err);
		if (r < 0)
			goto out;
	}

	/* The loop: wake on ring watermarks, signals or child exit; drain every
	 * ring on every wake-up, and at least every 100 ms (10 ms once a ring
	 * stopped waking us: its event's task is gone, but others may still
	 * write into it). Parsing happens in the queue's worker. */
	struct pollfd *pfd = xcalloc(ev.rings.n + 1, sizeof *pfd);
	bool *hung = xcalloc(ev.rings.n + 1, sizeof *hung);
	uint64_t deadline = o->duration > 0 ? t_start + (uint64_t)(o->duration * 1e9) : 0;
	bool done = false, stopped_early = false, any_hung = false;
	int handled_stops = 0;
	while (!done) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = wake_pipe[0], .events = POLLIN };
		for (size_t i = 0; i < ev.rings.n; i++)
			pfd[n++] = (struct pollfd){ .fd = hung[i] ? -1 : ev.rings.v[i].fd, .events = POLLIN };
		int timeout = any_hung ? 10 : 100;
		if (enable_at) {
			uint64_t now = now_ns();
			if (now >= enable_at) {
				if ((r = events_enable(&ev, err)) < 0)
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
		if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
			r = err_set(err, errno, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < ev.rings.n; i++)
			if (pfd[i + 1].revents & (POLLHUP | POLLERR | POLLNVAL))
				hung[i] = any_hung = true;
		char junk[64];
		while (read(wake_pipe[0], junk, sizeof junk) > 0)
			;
		drain_all(&ev, q);
		/* Rings left with records: the queue is at its limit. */
		for (size_t i = 0; i < ev.rings.n; i++)
			if (ring_pending(&ev.rings.v[i])) {
				rec_queue_wait_space(q, 10);
				break;
			}
		if (wl.pid > 0) {
			pid_t w = wait4(wl.pid, &status, WNOHANG, &child_ru);
			if (w == wl.pid) {
				have_status = true;
				wl.pid = 0;
				child_pid = 0;
				done = true;
			}
		}
		if (!done && o->attach_pid && !attached_alive(o)) {
			done = true;
			stopped_early = wl.pid > 0; /* ends the -p PID -- CMD command */
		}
		if (deadline && now_ns() >= deadline && !done) {
			stopped_early = true;
			done = true;
		}
		if (stop_requests > handled_stops) {
			handled_stops = stop_requests;
			/* Attached: Ctrl-C ends the recording. Launched: the workload
			 * got the signal too; wait for it, unless asked twice. */
			if (o->attach_pid || stop_requests >= 2) {
				stopped_early = true;
				done = true;
			}
		}
	}
	free(pfd);
	free(hung);
	for (size_t i = 0; i < ev.fds.n; i++)
		(void)ioctl(ev.fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
	drain_rest(&ev, q);
	restore_priority(prio, old_nice);
	drain_prio_got = prio;
	prio = PRIO_NORMAL;
	for (size_t i = 0; i < ev.rings.n; i++) {
		uint64_t fill = ev.rings.v[i].max_fill;
		if (fill > ring_peak)
			ring_peak = fill;
		ring_bytes = ev.rings.v[i].data_size;
	}
	rec_queue_finish(q, &qstats);
	q = NULL;
	/* Lost samples per CPU (one ring each), while the ring list exists. */
	for (size_t i = 0; i < st.lost_by_ring.n && i < ev.ring_cpu.n; i++)
		if (st.lost_by_ring.v[i])
			sbuf_addf(&lost_cpus, "%s%d:%" PRIu64, lost_cpus.len ? "," : "", ev.ring_cpu.v[i],
				  st.lost_by_ring.v[i]);
	uint64_t t_end = now_ns();
	struct rusage ru1;
	getrusage(RUSAGE_SELF, &ru1);
	uint64_t workload_cpu = 0;
	if (o->attach_pid) {
		uint64_t c1 = attached_cpu_ns(o);
		workload_cpu = c1 > attach_cpu0 ? c1 - attach_cpu0 : 0;
	}
	if (wl.pid > 0 && stopped_early) {
		/* --duration or a second Ctrl-C: end the workload we started. */
		kill(wl.pid, SIGTERM);
		if (wait4(wl.pid, &status, 0, &child_ru) == wl.pid)
			have_status = true;
		wl.pid = 0;
		child_pid = 0;
	}
	if (have_status && !o->attach_pid)
		workload_cpu = rusage_ns(&child_ru);
	events_close(&ev);
	if (r < 0)
		goto out;

	/* Describe the recording, then symbolize it. */
	struct sbuf cmd = SBUF_INIT;
	if (o->attach_pid)
		sbuf_addf(&cmd, "%s", attach_command.buf);
	else
		join_argv(o->argv, &cmd);
	cprof_meta_set(&d, "command", cmd.buf);
	if (exe_path.len)
		cprof_meta_set(&d, "exe", exe_path.buf);
	sbuf_release(&cmd);
	cprof_meta_set(&d, "cprof_version", CPROF_VERSION);
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) == 0)
		cprof_meta_set(&d, "hostname", host);
	cprof_meta_setf(&d, "start_time_ns", "%" PRIu64, t_start);
	cprof_meta_setf(&d, "duration_ns", "%" PRIu64, t_end - t_start);
	cprof_meta_setf(&d, "lost_samples", "%" PRIu64, st.lost_records + st.lost_samples);
	if (st.lost_records + st.lost_samples) {
		/* Where: per CPU (one ring each), and when (bursts, in ns). */
		struct sbuf where = SBUF_INIT;
		cprof_meta_set(&d, "lost_by_cpu", lost_cpus.buf);
		for (size_t i = 0; i < st.lost_times.n; i++)
			sbuf_addf(&where, "%s%" PRIu64 "-%" PRIu64 ":%" PRIu64, i ? "," : "", st.lost_times.v[i].first,
				  st.lost_times.v[i].last, st.lost_times.v[i].count);
		cprof_meta_set(&d, "lost_times", where.buf);
		sbuf_release(&where);
	}
	/* How close the recording came to losing samples. */
	cprof_meta_setf(&d, "ring_bytes", "%" PRIu64, ring_bytes);
	cprof_meta_setf(&d, "ring_peak_bytes", "%" PRIu64, ring_peak);
	cprof_meta_setf(&d, "queue_peak_bytes", "%" PRIu64, qstats.peak_chunks << 20);
	cprof_meta_setf(&d, "queue_limit_bytes", "%u", QUEUE_LIMIT);
	cprof_meta_setf(&d, "queue_full", "%" PRIu64, qstats.full);
	cprof_meta_set(&d, "drain_priority", drain_prio_names[drain_prio_got]);
	cprof_meta_setf(&d, "sample_budget", "%" PRIu64, st.sample_budget);
	if (st.merge_ns)
		cprof_meta_setf(&d, "sample_merge_ns", "%" PRIu64, st.merge_ns);
	cprof_meta_setf(&d, "recorder_cpu_ns", "%" PRIu64, rusage_ns(&ru1) - rusage_ns(&ru0));
	cprof_meta_setf(&d, "workload_cpu_ns", "%" PRIu64, workload_cpu);
	cprof_meta_setf(&d, "cpus", "%d", ncpus);
	cprof_meta_setf(&d, "mmap_pages", "%u", o->mmap_pages);
	if (o->call_graph == CALL_GRAPH_DWARF)
		cprof_meta_setf(&d, "call_graph", "dwarf,%u", o->stack_size);
	else
		cprof_meta_set(&d, "call_graph", o->call_graph == CALL_GRAPH_FP ? "fp" : "none");
	if (o->call_graph != CALL_GRAPH_NONE) {
		cprof_meta_setf(&d, "max_stack", "%u", o->call_graph == CALL_GRAPH_DWARF ? st.max_stack : st.chain_max);
		cprof_meta_setf(&d, "kernel_max_stack", "%u", sysctl_max_stack);
	}
	if (st.unwinder) {
		struct unwinder_stats us;
		unwinder_get_stats(st.unwinder, &us);
		cprof_meta_setf(&d, "unwind_samples", "%" PRIu64, us.samples);
		cprof_meta_setf(&d, "unwind_truncated", "%" PRIu64, us.truncated);
		cprof_meta_setf(&d, "unwind_failed", "%" PRIu64, us.failed);
		cprof_meta_setf(&d, "unwind_fast", "%" PRIu64, us.fast);
		cprof_meta_setf(&d, "unwind_rules", "%" PRIu64, us.rules_derived);
		if (us.verified)
			cprof_meta_setf(&d, "unwind_verify_mismatches", "%" PRIu64, us.verify_mismatches);
	}
	cprof_meta_set(&d, "kernel_samples", po.exclude_kernel ? "excluded" : "included");
	if (have_status)
		cprof_meta_setf(&d, "exit_status", "%d", status_to_exit(status));
	struct cprof_event e = { .name = cprof_intern(&d, evd->name), .unit = cprof_intern(&d, evd->unit),
				 .type = evd->type, .config = evd->config,
				 .period = o->use_period ? o->period : o->freq, .flags = o->use_period ? 0 : EVF_FREQ };
	vec_push(&d.events, e);

	struct resolve_stats rs;
	uint64_t t_fin0 = now_ns();
	if (o->mem) {
		r = memrec_collect(&mem, &st, err);
		if (r < 0)
			goto out;
	}
	r = resolve_samples(&d, &st, &rs, err);
	if (r < 0)
		goto out;
	if (o->mem)
		memrec_finish(&mem, &st, &d, o->quiet, note);
	struct rusage ru2;
	getrusage(RUSAGE_SELF, &ru2);
	cprof_meta_setf(&d, "finish_cpu_ns", "%" PRIu64, rusage_ns(&ru2) - rusage_ns(&ru1));
	cprof_meta_setf(&d, "finish_wall_ns", "%" PRIu64, now_ns() - t_fin0);
	if (st.malformed)
		cprof_meta_setf(&d, "malformed_records", "%" PRIu64, st.malformed);
	if (o->gpu && (r = record_gpu_finish(&gs, &d, &st, o->quiet, note, err)) < 0)
		goto out;

	size_t written = 0;
	r = cprof_data_write(&d, &data_out, &written, err);
	res->bytes = written;
	res->samples = 0;
	for (size_t i = 0; i < d.samples.n; i++)
		res->samples += i < d.sample_counts.n ? d.sample_counts.v[i] : 1;
	res->interrupted = stop_requests > 0;
	res->lost = st.lost_records + st.lost_samples;
	res->drain_fifo = drain_prio_got == PRIO_FIFO;
	res->queue_full = qstats.full;
	res->exit_status = have_status ? status_to_exit(status) : (stopped_early ? 130 : 0);
	/* Attached: the command of -p PID -- CMD if it ended by itself, else 0. */
	if (o->attach_pid && (!have_status || stopped_early))
		res->exit_status = 0;
	res->event = evd->name;
	res->kernel_excluded = po.exclude_kernel;
out:
	if (wl.pid > 0 || wl.go_fd >= 0)
		workload_abort(&wl);
	if (q) {
		rec_queue_finish(q, NULL);
		restore_priority(prio, old_nice);
	}
	child_pid = 0;
	outfile_abort(&data_out);
	events_close(&ev);
	restore_signals();
	unwinder_free(st.unwinder);
	memrec_cleanup(&mem);
	gpu_session_release(&gs);
	raw_store_release(&st);
	cprof_data_release(&d);
	vec_release(&tids);
	sbuf_release(&lost_cpus);
	free(cpus);
	sbuf_release(&attach_command);
	sbuf_release(&exe_path);
	return r;
}
