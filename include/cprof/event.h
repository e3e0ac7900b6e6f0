/*
 * event.h - perf events as the user names them, and the counts the kernel
 * reads back for them.
 *
 * An event list ("cycles,instructions:u,{branches,branch-misses},r01c2,
 * cpu/event=0x3c,umask=0x00/k,sched:sched_switch") is parsed once into
 * struct ev_spec entries that say exactly which perf_event_attr to open:
 * perf's generic hardware and software names, hardware cache events
 * (L1-dcache-load-misses ...), raw codes, PMU terms placed by the bit
 * layouts in sysfs (/sys/bus/event_source/devices/PMU/format) and event
 * aliases (PMU/events/NAME), and tracepoints by their tracefs id. Braces
 * make a group: its members are counted only together, so ratios between
 * them come from the same interval.
 *
 * The read side (ev_read_parse, ev_scale) turns the bytes of a read() on a
 * group leader opened with PERF_FORMAT_GROUP | ID | TOTAL_TIME_ENABLED |
 * TOTAL_TIME_RUNNING into values, and scales counts the kernel multiplexed.
 * Both sides are pure (the sysfs and tracefs roots are parameters), so they
 * are unit-tested with synthetic trees and readings on machines without a
 * hardware PMU.
 */
#ifndef CPROF_EVENT_H
#define CPROF_EVENT_H

#include <stdint.h>
#include <stdio.h>
#include <linux/perf_event.h>

#include "cprof/base.h"

/* Where to look things up; NULL members mean the live system. */
struct ev_env {
	const char *pmu_root;    /* default /sys/bus/event_source/devices */
	const char *tracefs;     /* default /sys/kernel/tracing, else /sys/kernel/debug/tracing */
};

enum ev_class { EVC_HARDWARE, EVC_SOFTWARE, EVC_CACHE, EVC_RAW, EVC_PMU, EVC_TRACEPOINT };
extern const char *const ev_class_names[]; /* "hardware", "software", ... */

struct ev_spec {
	char *name;             /* owned: as the user wrote it, modifiers included */
	enum ev_class cls;
	uint32_t type;
	uint64_t config, config1, config2;
	bool exclude_user, exclude_kernel, exclude_hv;
	uint8_t precise_ip;     /* :p, :pp, :ppp */
	int group;              /* index of its group; every event is in one (a lone event is a group of one) */
	bool leader;            /* first of its group */
	bool sample_read;       /* :S on the group: sample the leader, read the others (record) */
	uint64_t period, freq;  /* PMU terms period=/freq=; 0 = the command's default */
	const char *unit;       /* static: "ns" for the clocks, "" for plain counts */
};

struct ev_list {
	VEC(struct ev_spec) v;
	int ngroups;
};

/* Parse a comma list and append it to l (repeated -e options append to the
 * same list). On error nothing is appended and err names the event and what
 * is wrong with it; -ENOENT means a name is not known (ev_known_names()
 * lists the ones that are). */
int ev_list_parse(struct ev_list *l, const char *spec, const struct ev_env *env, struct cprof_err *err) CPROF_WUR;
void ev_list_release(struct ev_list *l);

/* --group (record): every event of l in one group, the first its leader. */
void ev_list_one_group(struct ev_list *l);

/* The names cprof knows, wrapped for a terminal, after "known events:"
 * (the message of an unknown event). */
void ev_print_known(FILE *fp);

/* "1,2,7", or with ranges "0-3,6" (CPU lists), into a list of ints;
 * -EINVAL on anything else or an empty list. */
struct ev_ints {
	int *v;
	size_t n, cap;
};
int ev_ints_parse(const char *s, bool ranges, struct ev_ints *out) CPROF_WUR;

/* Counting attr for one event: disabled, read_format with group, ids and
 * times. Members of a group should be opened with attr.disabled = 0. */
void ev_attr_counting(const struct ev_spec *e, struct perf_event_attr *attr);

/* True for events that need a hardware PMU (generic hardware, cache, raw). */
bool ev_needs_pmu(const struct ev_spec *e);

/* Every name cprof knows, one per call to fn, with its class; tracepoints
 * and PMU aliases are listed from env when list_dynamic is set. */
void ev_known_names(const struct ev_env *env, bool list_dynamic,
		    void (*fn)(void *ctx, const char *name, enum ev_class cls), void *ctx);

/* The generic hardware and software events perf names: for lookups
 * elsewhere ("is this a clock?") without parsing. NULL if unknown. */
const char *ev_generic_unit(const char *name);

/* ---- reading counts back ---- */

/* The read_format cprof opens every counter with. */
#define EV_READ_FORMAT (PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED | \
			PERF_FORMAT_TOTAL_TIME_RUNNING)

struct ev_reading {
	uint64_t id, value;     /* value as counted, not scaled */
};

/* One group read: nr values that share enabled/running. */
struct ev_group_read {
	uint64_t enabled, running;
	size_t nr;
	struct ev_reading r[];  /* nr entries */
};

/* Parse the bytes of one read() of a group leader opened with
 * read_format fmt (which must include PERF_FORMAT_GROUP). Fails with
 * -EINVAL if len does not match what fmt and the count in the buffer say,
 * or if the group has more than max members. Caller frees *ret. */
int ev_read_parse(const void *buf, size_t len, uint64_t fmt, size_t max, struct ev_group_read **ret,
		  struct cprof_err *err) CPROF_WUR;

/* The same, for a reading inside a larger record (a sample's READ field):
 * the read's length follows from its count, and is returned in *ret_len.
 * g must have room for max readings. Fails with -EINVAL if avail is too
 * short for what the count says or the count exceeds max. No allocation:
 * the recorder calls it for every sample. */
int ev_read_decode(const void *buf, size_t avail, uint64_t fmt, size_t max, struct ev_group_read *g,
		   size_t *ret_len, struct cprof_err *err) CPROF_WUR;

/* A count scaled for multiplexing. */
enum ev_status {
	EVS_COUNTED,        /* ran the whole time it was enabled */
	EVS_SCALED,         /* multiplexed: value estimated from running < enabled */
	EVS_NOT_COUNTED,    /* enabled but never scheduled (running == 0) */
	EVS_NOT_SUPPORTED,  /* the kernel refused to open it */
};
extern const char *const ev_status_names[]; /* "counted", "scaled", "not counted", "not supported" */

struct ev_count {
	double value;           /* scaled; 0 unless COUNTED or SCALED */
	uint64_t raw, enabled, running;
	enum ev_status status;  /* start from EV_COUNT_INIT */
	bool multiplexed;
};
#define EV_COUNT_INIT { .status = EVS_NOT_COUNTED }
/* value * enabled / running, computed without overflow; running == 0 gives
 * EVS_NOT_COUNTED. Adds into *c so per-CPU or per-thread readings sum. */
void ev_count_add(struct ev_count *c, uint64_t raw, uint64_t enabled, uint64_t running);
/* running / enabled in percent (100 when nothing was enabled). */
double ev_count_running_pct(const struct ev_count *c);

#endif
