/*
 * perf.c - perf_event_open: the events cprof knows by name, the attr it
 * samples with, and error messages that name the cause and the fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/event.h"
#include "cprof/record.h"
#include "cprof/unwind.h"

const char *perf_event_unit(const struct ev_spec *e)
{
	static const struct {
		const char *prefix, *unit;
	} units[] = {
		{ "cpu-clock", "ns" },	     { "task-clock", "ns" },	 { "page-faults", "faults" },
		{ "faults", "faults" },	     { "minor-faults", "faults" }, { "major-faults", "faults" },
		{ "context-switches", "switches" }, { "cs", "switches" }, { "cycles", "cycles" },
		{ "cpu-cycles", "cycles" },  { "instructions", "instructions" },
	};
	size_t n = strcspn(e->name, ":/");
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i].prefix) == n && strncmp(e->name, units[i].prefix, n) == 0)
			return units[i].unit;
	if (n > 7 && strncmp(e->name + n - 7, "-misses", 7) == 0)
		return "misses";
	return "events";
}

bool pmu_available(void)
{
	static const char *const pmus[] = { "/sys/bus/event_source/devices/cpu/type",
					    "/sys/bus/event_source/devices/cpu_core/type",
					    "/sys/bus/event_source/devices/armv8_pmuv3_0/type" };
	for (size_t i = 0; i < ARRAY_SIZE(pmus); i++)
		if (access(pmus[i], R_OK) == 0)
			return true;
	return false;
}

void perf_attr_init(struct perf_event_attr *a, const struct perf_open_opts *o)
{
	const struct ev_spec *e = o->ev;
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = e->type;
	a->config = e->config;
	a->config1 = e->config1;
	a->config2 = e->config2;
	a->precise_ip = e->precise_ip;
	a->freq = o->use_freq;
	a->sample_freq = o->freq_or_period; /* union with sample_period; 0: a member that is only read */
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
			 (o->call_graph != CALL_GRAPH_NONE ? PERF_SAMPLE_CALLCHAIN : 0);
	if (o->sample_read) {
		/* Leader sampling: each sample carries the whole group's counts. */
		a->sample_type |= PERF_SAMPLE_READ;
		a->read_format = EV_READ_FORMAT;
	}
	if (o->call_graph == CALL_GRAPH_DWARF) {
		/* The kernel part still comes from the kernel's own walk; the user
		 * part from unwinding the copied stack. */
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = UNWIND_REGS_MASK;
		a->sample_stack_user = o->stack_size;
		a->exclude_callchain_user = 1;
	}
	/* A group member follows its leader: enabled with it, never on its own. */
	a->disabled = !o->member;
	a->enable_on_exec = o->enable_on_exec && !o->member;
	a->inherit = o->inherit;
	a->exclude_user = e->exclude_user;
	a->exclude_kernel = o->exclude_kernel || e->exclude_kernel;
	/* The hypervisor only where the event asks for it (:h). */
	a->exclude_hv = e->exclude_hv || !(e->exclude_user || e->exclude_kernel);
	/* Mappings, names and tasks come once, from the first event. */
	a->mmap = o->tracking;
	a->mmap2 = o->tracking;
	a->comm = o->tracking;
	a->comm_exec = o->tracking;
	a->task = o->tracking;
	a->build_id = o->tracking;
	a->sample_id_all = 1;
	/* The same clock as clock_gettime(CLOCK_MONOTONIC), so other collectors
	 * (GPU, allocations) can share one timeline. */
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	/* Only the kernel's own walk (frame pointers) has a depth to set. */
	if (o->call_graph == CALL_GRAPH_FP && o->max_stack)
		a->sample_max_stack = (uint16_t)o->max_stack;
	a->watermark = 1;
	a->wakeup_watermark = o->wakeup_bytes ? o->wakeup_bytes : 16 * 4096;
}

long long perf_sysctl(const char *name, long long dflt)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *fp = fopen(path, "r");
	long long v = dflt;
	if (fp) {
		if (fscanf(fp, "%lld", &v) != 1)
			v = dflt;
		fclose(fp);
	}
	return v;
}

unsigned perf_max_stack_sysctl(void)
{
	long long v = perf_sysctl("perf_event_max_stack", 127); /* (the kernel's default) */
	return v >= 0 && v <= UINT32_MAX ? (unsigned)v : 127;
}

uint64_t perf_ring_budget(long cpus)
{
	if (geteuid() == 0 || perf_paranoid() < 0)
		return UINT64_MAX;
	long long mlock_kb = perf_sysctl("perf_event_mlock_kb", 516); /* (the kernel's default) */
	uint64_t kb = mlock_kb >= 0 ? (uint64_t)mlock_kb : 516;
	struct rlimit rl;
	uint64_t memlock = 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		memlock = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 2 : (uint64_t)rl.rlim_cur;
	return kb * 1024 * (uint64_t)(cpus > 0 ? cpus : 1) + memlock;
}

/*
 * The DWARF default: a 2 MiB ring holds 64 samples (each takes 32 KiB of
 * it), and the quarter-ring watermark wakes the draining thread, and with
 * it the unwinding one, every 16. On a machine of one or two CPUs larger
 * rings wake them half as often and leave twice the time before samples
 * are lost: on 2 CPUs, a 10-frame program at 999 Hz, the recorder's CPU
 * per sample went from 10-13 us with 512 pages to 7.7-10 us with 1024.
 * Past four CPUs the rings stay at 2 MiB, and a user the kernel limits
 * gets the larger ring only where it fits (one page more per ring for
 * its header): never less than before.
 */
unsigned perf_default_ring_pages(bool dwarf, long cpus, long page, uint64_t budget)
{
	if (!dwarf)
		return 128;
	unsigned pages = 512;
	if (cpus <= 0 || page <= 0)
		return pages;
	uint64_t n = (uint64_t)cpus, pg = (uint64_t)page;
	while ((uint64_t)pages * pg * n < (8u << 20) && ((uint64_t)pages * 2 + 1) * pg * n <= budget)
		pages *= 2;
	return pages;
}

int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

int perf_paranoid(void)
{
	long long v = perf_sysctl("perf_event_paranoid", 2);
	return v >= INT32_MIN && v <= INT32_MAX ? (int)v : 2;
}

int perf_open_error(struct cprof_err *err, int e, const char *what, pid_t pid)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return err_set(err, e,
			       "no permission to open '%s' (kernel.perf_event_paranoid is %d); run as root, "
			       "'sysctl kernel.perf_event_paranoid=1', or grant CAP_PERFMON",
			       what, perf_paranoid());
	case ENOENT:
	case ENODEV:
	case ENXIO:
	case EOPNOTSUPP:
		return err_set(err, e, "event '%s' is not supported here (no hardware PMU, as in most virtual "
				       "machines?); try -e cpu-clock", what);
	case ESRCH:
		return err_set(err, e, "process %d not found", (int)pid);
	case EMFILE:
		return err_set(err, e, "too many open files for '%s'; raise 'ulimit -n'", what);
	case EINVAL:
		return err_set(err, e, "the kernel rejected '%s' (invalid argument): is -F above "
				       "kernel.perf_event_max_sample_rate?", what);
	default:
		return err_set(err, e, "cannot open '%s': %s", what, strerror(e));
	}
}

int online_cpus(int **cpus, struct cprof_err *err)
{
	FILE *fp = fopen("/sys/devices/system/cpu/online", "r");
	VEC(int) v = { 0 };
	if (fp) {
		int a, b;
		char sep;
		while (fscanf(fp, "%d", &a) == 1) {
			b = a;
			if (fscanf(fp, "%c", &sep) == 1 && sep == '-') {
				if (fscanf(fp, "%d", &b) != 1)
					break;
				if (fscanf(fp, "%c", &sep) != 1)
					sep = 0;
			}
			for (int c = a; c <= b && c - a < 4096; c++)
				vec_push(&v, c);
			if (sep != ',')
				break;
		}
		fclose(fp);
	}
	if (v.n == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			return err_set(err, EIO, "cannot tell which CPUs are online");
		for (int c = 0; c < n; c++)
			vec_push(&v, c);
	}
	*cpus = v.v;
	return (int)v.n;
}
