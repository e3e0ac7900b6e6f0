/*
 * perf.c - perf_event_open: the events cprof knows by name, the attr it
 * samples with, and error messages that name the cause and the fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/record.h"
#include "cprof/unwind.h"

const struct event_desc event_table[] = {
	{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "cycles", true },
	{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "instructions", true },
	{ "cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "misses", true },
	{ "branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, "misses", true },
	{ "cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, "ns", false },
	{ "task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "ns", false },
	{ "page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "faults", false },
	{ "context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "switches", false },
};
const size_t event_table_size = ARRAY_SIZE(event_table);

const struct event_desc *event_find(const char *name)
{
	for (size_t i = 0; i < event_table_size; i++)
		if (strcmp(event_table[i].name, name) == 0)
			return &event_table[i];
	return NULL;
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
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = o->ev->type;
	a->config = o->ev->config;
	a->freq = o->use_freq;
	a->sample_freq = o->freq_or_period; /* union with sample_period */
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_PERIOD | (o->call_graph != CALL_GRAPH_NONE ? PERF_SAMPLE_CALLCHAIN : 0);
	if (o->call_graph == CALL_GRAPH_DWARF) {
		/* The kernel part still comes from the kernel's own walk; the user
		 * part from unwinding the copied stack. */
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = UNWIND_REGS_MASK;
		a->sample_stack_user = o->stack_size;
		a->exclude_callchain_user = 1;
	}
	a->disabled = 1;
	a->enable_on_exec = o->enable_on_exec;
	a->inherit = o->inherit;
	a->exclude_kernel = o->exclude_kernel;
	a->exclude_hv = 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->build_id = 1;
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

unsigned perf_max_stack_sysctl(void)
{
	unsigned v = 127; /* the kernel's default */
	FILE *fp = fopen("/proc/sys/kernel/perf_event_max_stack", "r");
	if (fp) {
		if (fscanf(fp, "%u", &v) != 1)
			v = 127;
		fclose(fp);
	}
	return v;
}

int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static int read_paranoid(void)
{
	FILE *fp = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = 2;
	if (!fp)
		return v;
	if (fscanf(fp, "%d", &v) != 1)
		v = 2;
	fclose(fp);
	return v;
}

int perf_open_error(struct cprof_err *err, int e, const char *what, pid_t pid)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return err_set(err, e,
			       "no permission to open '%s' (kernel.perf_event_paranoid is %d); run as root, "
			       "'sysctl kernel.perf_event_paranoid=1', or grant CAP_PERFMON",
			       what, read_paranoid());
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
