/*
 * record.h - the recording side: perf_event_open events (perf.c), their
 * ring buffers (ring.c), the workload launcher (launcher.c), the recording
 * loop (session.c) and the finishing pass that symbolizes raw samples into a
 * struct cprof_data (resolve.c).
 *
 * Raw records are kept in a struct raw_store while recording; nothing is
 * symbolized until the workload is done, so the hot path only copies bytes.
 */
#ifndef CPROF_RECORD_H
#define CPROF_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <linux/perf_event.h>

#include "cprof/base.h"
#include "cprof/u64map.h"

struct cprof_data;
struct source_use;

/* ---- events (perf.c) ---- */
struct ev_spec;
/* What a sample's period of e counts, for the data file ("ns", "faults",
 * "cycles", "misses", "events"). */
const char *perf_event_unit(const struct ev_spec *e);
/* True when the kernel exposes a CPU PMU (hardware events can work). */
bool pmu_available(void);

enum call_graph { CALL_GRAPH_NONE, CALL_GRAPH_FP, CALL_GRAPH_DWARF };

struct perf_open_opts {
	const struct ev_spec *ev;  /* event.h */
	bool use_freq;
	uint64_t freq_or_period;   /* 0: not sampled (a member read by its leader) */
	enum call_graph call_graph;
	uint32_t stack_size;       /* bytes of user stack per sample in dwarf mode */
	unsigned wakeup_bytes;
	bool inherit;
	bool enable_on_exec;
	bool exclude_kernel;
	uint32_t max_stack;        /* fp: attr.sample_max_stack, 0 = the kernel's default */
	bool sample_read;          /* PERF_SAMPLE_READ with the group read format (leader sampling) */
	bool member;               /* a group member: enabled with its leader */
	bool tracking;             /* the event that reports mmaps, comms and tasks (the first) */
};
/* Fill attr for sampling as cprof does; see tech-notes on field choices. */
void perf_attr_init(struct perf_event_attr *attr, const struct perf_open_opts *o);
/* The number in /proc/sys/kernel/NAME, or dflt where it cannot be read. */
long long perf_sysctl(const char *name, long long dflt);
/* kernel.perf_event_max_stack: the deepest callchain the kernel walks. */
unsigned perf_max_stack_sysctl(void);
/* perf_event_open with FD_CLOEXEC; returns fd or -errno. */
int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd);
/* Explain a perf_event_open failure: cause and fix. */
int perf_open_error(struct cprof_err *err, int errnum, const char *what, pid_t pid);
/* kernel.perf_event_paranoid, or 2 (the upstream default) if unreadable. */
int perf_paranoid(void);
/* Bytes of ring buffers this process may map on cpus CPUs, all of its
 * user's rings included: UINT64_MAX where nothing limits it (root, or
 * kernel.perf_event_paranoid -1), else kernel.perf_event_mlock_kb a CPU
 * and then RLIMIT_MEMLOCK, as the kernel counts them. */
uint64_t perf_ring_budget(long cpus);
/* The ring size -m gives by default, in pages: 128, and with DWARF stacks
 * 512 doubled while the cpus rings hold less than 8 MiB together and
 * twice as many still fit in budget bytes (perf_ring_budget). */
unsigned perf_default_ring_pages(bool dwarf, long cpus, long page, uint64_t budget);
/* Online CPU numbers from /sys; returns count, fills cpus (caller frees). */
int online_cpus(int **cpus, struct cprof_err *err) CPROF_WUR;

/* ---- raw records (ring.c) ---- */
struct raw_sample {
	uint64_t time, period;  /* merged: the earliest time, the periods' sum */
	uint32_t pid, tid;
	uint32_t nips;     /* ips[ip_off .. ip_off + nips) in raw_store.ips */
	uint32_t merged;   /* samples folded into this one besides itself */
	uint64_t ip_off;
	uint8_t mode;      /* PERF_RECORD_MISC_CPUMODE */
	uint16_t event;    /* index into the recording's events (perf.data with several) */
	bool callchain;    /* ips come from PERF_SAMPLE_CALLCHAIN (with context markers) */
	uint8_t cut;       /* RAW_CUT_*: why the stack is incomplete; 0 if it is not */
	uint32_t cpu;      /* PERF_SAMPLE_CPU, else 0 */
	uint32_t nvals;    /* group members' counts: vals[val_off .. val_off + nvals) in raw_store */
	uint64_t val_off;
};

/* A group member's count read with a leader's sample (PERF_SAMPLE_READ):
 * what it counted since that thread's previous sample of the group. */
struct raw_val {
	uint64_t value;
	uint16_t event;
};
/* The most members of a group cprof reads with a sample. */
#define RAW_GROUP_MAX 16

/* Why a sample's stack was cut short (any of them may apply). */
#define RAW_CUT_COPY 1   /* DWARF: the user stack was deeper than the copy */
#define RAW_CUT_FRAMES 2 /* the frame limit (--max-stack) */
#define RAW_CUT_KERNEL 4 /* the kernel's callchain limit, kernel.perf_event_max_stack */

struct raw_mmap {
	uint64_t time, start, len, pgoff;
	uint32_t pid, tid;
	char *path;        /* owned */
	uint8_t build_id_size;
	uint8_t build_id[20];
};

struct raw_task {
	uint64_t time;
	uint32_t pid, ppid, tid, ptid;
	bool exit;
};

struct raw_comm {
	uint64_t time;
	uint32_t pid, tid;
	char comm[16];
	bool exec;         /* set by an exec (PERF_RECORD_MISC_COMM_EXEC) */
};

/* Samples the kernel dropped, as it reported them: which ring (one per CPU)
 * and when, as a time-ordered list of at most RAW_LOST_MAX bursts. */
struct raw_lost {
	uint64_t first, last; /* from the sample before the first loss to the last LOST record */
	uint64_t count;
};
#define RAW_LOST_MAX 64

/* A distinct stack of raw addresses (with context markers), stored once in
 * raw_store.ips and shared by the samples that have it. */
struct raw_stack {
	uint64_t off;
	uint32_t n, pid, gen;
};

/*
 * Memory while recording is bounded: stacks are interned as they come, and
 * samples are kept one by one up to a budget; past it, samples of the same
 * thread, stack and mode in the same time slot are merged into one (counts
 * and periods summed), the slot doubling until they fit in half the budget.
 * 2^19 samples take 24 MiB and last 4.4 minutes at 2 x 999 Hz.
 */
#define RAW_SAMPLE_BUDGET (1u << 19)
struct raw_gen {
	uint32_t pid, gen;
};
#define RAW_MERGE_FIRST_NS 100000000ULL /* the first slot: 100 ms */

struct raw_store {
	VEC(struct raw_sample) samples;
	VEC(uint64_t) ips;
	VEC(struct raw_stack) stacks; /* interned */
	struct hashidx stack_idx;
	struct hashidx gen_idx;       /* pid -> generation, in gens */
	VEC(struct raw_gen) gens;
	uint64_t sample_budget;       /* 0: RAW_SAMPLE_BUDGET */
	uint64_t merge_ns;            /* the merge slot reached; 0 while every sample is kept */
	uint64_t time0;               /* the first sample's time: slots count from it */
	uint64_t merges;              /* times samples were merged */
	VEC(struct raw_mmap) mmaps;
	VEC(struct raw_task) tasks;
	VEC(struct raw_comm) comms;
	uint64_t lost_records;   /* PERF_RECORD_LOST: records the kernel could not write */
	uint64_t lost_samples;   /* PERF_RECORD_LOST_SAMPLES */
	VEC(uint64_t) lost_by_ring; /* both kinds, per ring index */
	VEC(struct raw_lost) lost_times;
	uint32_t cur_ring;       /* the ring of the record being parsed */
	VEC(uint64_t) ring_seen; /* per ring: the newest sample's time */
	uint64_t throttles;
	uint64_t malformed;      /* records too short for their type: counted, skipped */
	uint64_t sample_type;
	uint64_t read_format;     /* with PERF_SAMPLE_READ: attr.read_format (group, ids) */
	/* Which event a sample is of: the kernel's event id (IDENTIFIER, and
	 * the ids in a group read) to the event's index + 1. Empty: event 0. */
	struct u64map id_event;
	VEC(struct raw_val) vals;  /* group members' counts, runs per sample */
	/* The last group read per (leader id, thread): counts are sent as
	 * running totals, the data file keeps the difference. */
	struct u64map read_prev;   /* (id << 32 | tid) -> index into read_last */
	VEC(uint64_t) read_last;   /* RAW_GROUP_MAX counts per (leader id, thread) */
	uint64_t bad_reads;        /* group reads that were malformed or of unknown ids: skipped */
	uint64_t regs_mask;       /* attr.sample_regs_user */
	struct unwinder *unwinder; /* set for --call-graph dwarf */
	uint32_t max_stack;        /* DWARF: most user frames unwound (0: RAW_MAX_STACK) */
	uint32_t chain_max;        /* the kernel's callchain limit in effect (0: not known) */
	bool chain_max_asked;      /* ... set by --max-stack, not by the sysctl */
	uint64_t *unwind_pcs;      /* max_stack entries each, for unwinding */
	bool *unwind_exact;
};
/* The default frame limit in DWARF mode: more than the largest stack copy
 * (65528 bytes, at least 8 bytes a frame) can hold, so the copy decides. */
#define RAW_MAX_STACK 8192
void raw_store_release(struct raw_store *s);
/* Parse one perf record into the store. */
void raw_store_add(struct raw_store *s, const void *rec, size_t len);
/* What raw_store_add does with what it parsed, for readers of other
 * formats (perf.data): a mapping of code (m->path becomes the store's);
 * an exec of process pid; and a sample whose addresses were just
 * appended to ips, kept only if no identical stack of the same process
 * and code (generation) is stored already, else x points at that one. */
void raw_store_add_mmap(struct raw_store *s, struct raw_mmap *m);
void raw_store_exec(struct raw_store *s, uint32_t pid, uint64_t time);
void raw_store_intern(struct raw_store *s, struct raw_sample *x);
/* Unwind a DWARF sample's stack copy (regs in perf order for
 * UNWIND_REGS_MASK) with s->unwinder and append its user frames to x's ips,
 * marked as record marks them; sets x->cut when a limit cut the stack. */
void raw_store_append_unwound(struct raw_store *s, struct raw_sample *x, const uint64_t *regs, size_t nregs,
			      const uint8_t *stack, size_t stack_len, bool whole_stack);

struct ring {
	int fd;
	void *base;          /* header page + data */
	size_t data_size;
	uint64_t max_fill;   /* the most bytes found waiting at a drain */
	uint64_t peeked;     /* mappings and forks before this were handed over (rings_drain) */
	uint64_t upto;       /* rings_drain, tracer_pass: the head when the pass began */
};
int ring_map(struct ring *r, int fd, unsigned pages, struct cprof_err *err) CPROF_WUR;
void ring_unmap(struct ring *r);
/* Where the kernel has written up to now. */
uint64_t ring_head(const struct ring *r);
/* Hand every complete record of r below head (ring_head, now or earlier)
 * to fn (in place, or copied when it wraps around the ring's end: valid
 * during the call only), then free its space in the ring. Returns the
 * bytes taken. For a source that reads its own events (source.h) rather
 * than through the record queue. */
size_t ring_each(struct ring *r, uint64_t head, void (*fn)(void *ctx, const void *rec, size_t len), void *ctx);
/* The same, leaving the records in the ring: the next ring_each hands them
 * over again, in the same order, before any newer ones. */
size_t ring_peek(struct ring *r, uint64_t head, void (*fn)(void *ctx, const void *rec, size_t len), void *ctx);
/* True when the kernel has written records not yet drained. */
bool ring_pending(const struct ring *r);

/* A record's fields in order (a sample's as PERF_SAMPLE_* lays them out),
 * bounds-checked: a field past the record's end reads 0 and sets bad. */
struct rec_cur {
	const uint8_t *p, *end;
	bool bad;
};
/* After the header of rec, len bytes. */
static inline struct rec_cur rec_cur_of(const void *rec, size_t len)
{
	return (struct rec_cur){ (const uint8_t *)rec + sizeof(struct perf_event_header), (const uint8_t *)rec + len,
				 len < sizeof(struct perf_event_header) };
}
/* The next n bytes (1..8) as a number. */
static inline uint64_t rec_take(struct rec_cur *c, size_t n)
{
	uint64_t v = 0;
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, n);
	c->p += n;
	return v;
}

/*
 * A tracer's rings (tracer.c): what a source that opens perf events of its
 * own (source.h) drains beside the CPU samples. Its events on each CPU
 * share one ring, mapped for the first of them; the rings are polled
 * through one descriptor (the source's poll_fd) and read in passes.
 *
 *	struct tracer tr = TRACER_INIT;          (before anything can fail)
 *	tracer_start(&tr, pages, now, err);
 *	per CPU, per thread: tracer_attr(&tr, &attr) ... fd = perf_open(...);
 *	         tracer_add(&tr, fd, first fd of this CPU or -1, err);
 *	tracer_enable(&tr, err);                 (attached: every event on)
 *	per pass: upto = tracer_pass(&tr, last, NULL, take_record, ctx);
 *	tracer_close(&tr);                       (always; again is harmless)
 */
struct tracer {
	VEC(int) fds;           /* every event opened: disabled at the last pass, closed */
	VEC(struct ring) rings; /* one per CPU */
	int epfd;               /* polls the rings; -1 before the start and once closed */
	unsigned pages;         /* data pages of each ring */
	uint32_t cur;           /* in a pass: the index of the ring being read */
	bool now;               /* enabled by tracer_enable, not at the exec */
};
#define TRACER_INIT { { NULL, 0, 0 }, { NULL, 0, 0 }, -1, 0, 0, false }
/* Records this much older than the start of a pass are in their rings by
 * then: each CPU's ring is in time order, but a thread can enter a call
 * on one CPU and leave it on another. */
#define TRACER_ORDER_WINDOW_NS 10000000ULL

/* now: the events are for threads running already (-p, -t, -a), turned
 * on by tracer_enable once all are open; else at the workload's exec. */
int tracer_start(struct tracer *t, unsigned pages, bool now, struct cprof_err *err) CPROF_WUR;
/* The fields every tracer event shares: off until the workload's exec (or
 * tracer_enable), inherited by its threads and children, timed on
 * CLOCK_MONOTONIC (the mappings' clock), waking the poll when a quarter of
 * its ring is full. */
void tracer_attr(const struct tracer *t, struct perf_event_attr *a);
/* With now: every event on, the last added first (a source adds a call's
 * entry before its return, so a call entered while its return is still
 * off is rare, and counted by the trace as unfinished, never timed). */
int tracer_enable(struct tracer *t, struct cprof_err *err) CPROF_WUR;
/* Every event off (the recording ends); their records stay in the rings. */
void tracer_disable(struct tracer *t);
/* Keep fd, an event on one CPU (closed by tracer_close even on failure):
 * with lead -1 it gets a ring of its own, polled; else its records go to
 * the ring of lead, an event of the same CPU added before. */
int tracer_add(struct tracer *t, int fd, int lead, struct cprof_err *err) CPROF_WUR;
/* One pass over the rings, every record to fn; the last disables every
 * event first. With peek, every ring is first shown to peek without being
 * consumed (ring_peek), so that what a record of one ring needs from
 * another's (a mapping made on another CPU) can be taken first; both
 * walks stop at the heads taken when the pass began. Returns
 * the time before which all records have been read (UINT64_MAX after the
 * last). */
uint64_t tracer_pass(struct tracer *t, bool last, void (*peek)(void *ctx, const void *rec, size_t len),
		     void (*fn)(void *ctx, const void *rec, size_t len), void *ctx);
void tracer_close(struct tracer *t);

/*
 * Time in calls summed by where they were made from (stacksum.c): what
 * the tracers (syscalls, probed functions) keep of every returned call for
 * flame graphs and folded stacks, one row per (key, process, stack), the
 * stacks as their callchains' addresses until the resolver names them.
 *
 *	struct stacksum s = STACKSUM_INIT;
 *	per call:  stacksum_add(&s, key, pid, time, ips, n, dur, oncpu);
 *	stacks():  stacksum_stacks(&s, res);
 *	finish():  stacksum_store(&s, res, d, LH_SRC_..., oncpu_measured);
 *	stacksum_release(&s);
 */
struct stacksum_row {
	uint32_t key, pid, nips, handle;
	size_t ip_off;          /* its addresses in ips */
	uint64_t hash, time;    /* time: its first call's return (the mappings then) */
	uint64_t calls, total, oncpu;
};
struct stacksum {
	VEC(struct stacksum_row) rows;
	VEC(uint64_t) ips;
	struct hashidx idx;
};
#define STACKSUM_INIT { { NULL, 0, 0 }, { NULL, 0, 0 }, HASHIDX_INIT }
/* One returned call of key in pid, made from ips[0 .. n) (a callchain,
 * n 0: no stack), dur ns long, oncpu ns of them on a CPU. */
void stacksum_add(struct stacksum *s, uint32_t key, uint32_t pid, uint64_t time, const uint64_t *ips, uint32_t n,
		  uint64_t dur, uint64_t oncpu);
struct resolver;
void stacksum_stacks(struct stacksum *s, struct resolver *res);
/* The rows into d->lat_stacks as source's (LH_SRC_*), after resolver_run. */
void stacksum_store(const struct stacksum *s, struct resolver *res, struct cprof_data *d, uint32_t source,
		    bool has_oncpu);
void stacksum_release(struct stacksum *s);

/*
 * The record queue between the thread that drains the rings and the
 * worker that parses (and unwinds) the records into a raw store. Records
 * keep their order; each is tagged with the index of its ring. The queue
 * holds at most limit_bytes; beyond that draining stops, the rings fill and
 * the kernel counts what it drops.
 */
struct rec_queue;
struct rec_queue_stats {
	uint64_t bytes;        /* copied out of the rings */
	uint64_t peak_chunks;  /* most 1 MiB chunks in use at once */
	uint64_t full;         /* times draining stopped at the limit */
	uint64_t malformed;    /* rings abandoned at a header that was not a record */
	uint64_t cut_at_start; /* DWARF copies of main threads cut at their stack's start */
};
struct rec_queue *rec_queue_new(size_t limit_bytes);
/* Run the worker at this nice value (where permitted); before starting it. */
void rec_queue_set_worker_nice(struct rec_queue *q, int nice);
/* Start the worker, which owns st until rec_queue_finish(). */
int rec_queue_start(struct rec_queue *q, struct raw_store *st, struct cprof_err *err) CPROF_WUR;
/* Copy every complete record of r into q, tagged ring, and free its space
 * in the ring; stops early when q is at its limit. Returns bytes taken. */
size_t ring_drain(struct ring *r, uint32_t ring, struct rec_queue *q);
/* Drain the n rings into q, ring i tagged i. When q's worker unwinds
 * (DWARF), a pass first hands it every ring's mappings and forks, then
 * the records that were in the rings before that: a sample is never
 * unwound before a mapping its process made on another CPU. Returns bytes
 * taken; 0 when q was at its limit before the mappings were all in. */
size_t rings_drain(struct ring *rings, size_t n, struct rec_queue *q);
/* Copy one record (from ring_each, say) into q, tagged ring: for a source
 * that reads its own rings and hands the worker only some records. False
 * when q is at its limit (nothing copied). */
bool rec_queue_push(struct rec_queue *q, uint32_t ring, const void *rec, size_t len);
/* Hand what was drained so far to the worker (chunks go over when full):
 * at once, or if min_age_ns is not 0, only when none went for that long. */
void rec_queue_flush(struct rec_queue *q, uint64_t min_age_ns);
/* When q is at its limit, wait up to ms for the worker to free a chunk. */
void rec_queue_wait_space(struct rec_queue *q, unsigned ms);
/* Hand over the rest, wait until the worker parsed everything, free q. */
void rec_queue_finish(struct rec_queue *q, struct rec_queue_stats *stats);

/* The fields of /proc/PID/stat after "(comm) ", the third on, read into
 * buf of size bytes; NULL if the process is gone (targets.c). */
const char *proc_stat_fields(uint32_t pid, char *buf, size_t size);

/* ---- DWARF samples' unused stack room (stacktrim.c) ---- */
/* Where process pid's stack began: the stack pointer its first
 * instruction saw, above which lie only its arguments, environment and
 * auxiliary vector; 0 if unknown. */
typedef uint64_t stack_start_fn(uint32_t pid);
/* /proc/PID/stat's startstack (proc(5)). */
uint64_t stack_start_of_proc(uint32_t pid);
struct stack_start {
	uint64_t start;           /* 0: to look up (again); 1: unknown */
	uint32_t looks;           /* lookups since the process began or exec'd */
};
/* Where the user stack sits in the samples of one layout. */
struct stack_trim {
	bool on;                  /* the layout ends with the stack */
	bool read, callchain;
	size_t fixed;             /* bytes of fixed fields after the header */
	size_t read_head, read_per; /* words of a group reading: before the counters, per counter */
	size_t nregs;             /* user registers in a sample that has them */
	size_t tid_at;            /* offset of the pid/tid field in a sample; 0: none */
	size_t sp_reg;            /* index of the stack pointer among the registers; SIZE_MAX: none */
	stack_start_fn *start_of; /* NULL: a main thread's copy is not cut at its stack's start */
	struct u64map start_idx;  /* pid -> index in starts */
	VEC(struct stack_start) starts;
	VEC(uint32_t) free_starts; /* indexes in starts of processes that ended */
	uint64_t cut_at_start;    /* samples whose copy was cut there */
};
void stack_trim_init(struct stack_trim *t, uint64_t sample_type, uint64_t read_format, uint64_t regs_mask);
void stack_trim_release(struct stack_trim *t);
/* pid's stack is not the one looked up before (it exec'd, or pid is a
 * new process): look again at its next sample. */
void stack_trim_forget(struct stack_trim *t, uint32_t pid);
/* A FORK, COMM or EXIT record, in two parts when it wraps (as for
 * stack_trim_find()). A new process (its pid may be an old one's) or one
 * that exec'd has a new stack: it is looked up again at its next sample.
 * A process whose main thread ended leaves the table, so that a long
 * system-wide recording holds the processes that live, not every one it
 * ever saw. (A sample of it read from another CPU's ring after its exit
 * asks again and stays: rare, and bounded by the samples.) */
void stack_trim_task(struct stack_trim *t, const void *a, size_t alen, const void *b, size_t len);
/* A record of len bytes, in two parts when it wraps around the end of a
 * ring (the first alen bytes at a, the rest at b): true when it is a
 * sample whose copied stack is shorter than its room; then the stack's
 * data begins at *stack_at, *keep bytes of it are worth keeping, and
 * *dyn is the dyn_size the copy is to carry. */
bool stack_trim_find(struct stack_trim *t, const void *a, size_t alen, const void *b, size_t len, size_t *stack_at,
		     size_t *keep, uint64_t *dyn);
/* Copy that record to dst without the unused room, its sizes mended and
 * dyn_size set to dyn; returns the new length, stack_at + keep + 8. */
size_t stack_trim_copy(uint8_t *dst, const void *a, size_t alen, const void *b, size_t stack_at, size_t keep,
		       uint64_t dyn);

/* ---- workload (launcher.c) ---- */
struct workload {
	pid_t pid;
	int go_fd;   /* closing it lets the child exec */
	int err_fd;  /* the child writes errno here if exec fails */
	bool stdout_to_stderr; /* set before workload_prepare: the recording is on our stdout */
};
/* Fork a child that waits, then execs argv. */
int workload_prepare(struct workload *w, char **argv, struct cprof_err *err) CPROF_WUR;
/* Let it exec; returns 0, or -errno (with err filled) if exec failed. */
int workload_start(struct workload *w, const char *cmd, struct cprof_err *err) CPROF_WUR;
void workload_abort(struct workload *w);

/* ---- the whole recording (session.c) ---- */
struct record_opts {
	const char *output;
	/* -e: the events (event.h), each with its own period or frequency
	 * where it names one; NULL or empty = cycles where a PMU exists, else
	 * cpu-clock. */
	const struct ev_list *events;
	bool use_period;       /* -c given */
	uint64_t freq, period;
	enum call_graph call_graph;
	uint32_t stack_size;
	uint32_t max_stack;    /* --max-stack, 0 = default (see cprof-record(1)) */
	pid_t attach_pid;      /* -p, 0 = launch argv */
	double duration;       /* seconds, 0 = until the workload ends */
	unsigned mmap_pages;
	bool quiet;
	char **argv;
	/* The data sources turned on besides the samples (--mem, --gpu: the
	 * rows of source.h), driven through their hooks in this order. */
	const struct source_use *sources;
	size_t nsources;
	/* -p 1,2,...: every process to attach to (attach_pid is the first);
	 * with argv as well, argv runs unprofiled and the recording ends with
	 * it (perf's 'record -p PID -- sleep N'). */
	const pid_t *attach_pids;
	size_t nattach;
	bool no_inherit;       /* --no-inherit: not the threads and processes created later */
	unsigned delay_ms;     /* -D: start sampling this long after the workload starts */
	bool attach_threads;   /* -t: attach_pids are threads, recorded alone (not their process) */
	bool system_wide;      /* -a (or -C): every process on the CPUs; argv, if any, says how long */
	const int *cpus;       /* -C: the CPUs to record on; NULL = every online CPU */
	size_t ncpus;
};

struct record_result {
	int exit_status;       /* the workload's, as a shell reports it */
	uint64_t samples, lost;
	uint64_t bytes;        /* size of the data file written */
	bool interrupted;      /* a signal (Ctrl-C) ended it, not the workload or --duration */
	bool drain_fifo;       /* the draining thread ran SCHED_FIFO */
	uint64_t queue_full;   /* times draining paused for the unwinding thread */
	const char *event;     /* the events sampled (a fallback is not a message, it is said here) */
	char event_buf[256];
	bool kernel_excluded;  /* perf_event_paranoid allowed user space only */
};

/* Record; lines for the user go to notes (base.h; may be NULL). */
int record_run(const struct record_opts *o, const struct note_sink *notes, struct record_result *res,
	       struct cprof_err *err) CPROF_WUR;

/* ---- finishing pass (resolve.c) ---- */
struct resolve_stats {
	uint64_t frames_resolved, unknown;
};
/* Symbolize the store's samples into d (already holding meta and events):
 * the resolver's phases in one call (resolve.h). */
int resolve_samples(struct cprof_data *d, const struct raw_store *s, struct resolve_stats *st,
		    struct cprof_err *err) CPROF_WUR;

#endif
