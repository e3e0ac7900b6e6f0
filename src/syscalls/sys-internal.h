/*
 * sys-internal.h - what the files of src/syscalls/ share: the recording's
 * state (source.c opens and drains the tracepoints, trace.c pairs entries
 * with returns and keeps the statistics, io.c the I/O per descriptor) and
 * the syscall names.
 */
#ifndef CPROF_SYS_INTERNAL_H
#define CPROF_SYS_INTERNAL_H

#include "cprof/hist.h"
#include "cprof/record.h"
#include "cprof/u64map.h"

struct cprof_data;
struct resolver;

/* One record of a ring, parsed: a syscall's entry or return, or the
 * thread leaving a CPU or coming back to one. */
enum { SW_NONE, SW_OUT, SW_IN };
/* sys_ev.nr of a return the kernel gave no number (id -1, rt_sigreturn's):
 * the thread's open call's. Above every real number (read up to 0xfffff). */
#define SYS_NR_OPEN 0x100000u

struct sys_ev {
	uint64_t time, seq;  /* seq: order of reading, to keep equal times stable */
	int64_t val;         /* exit: what it returned */
	uint32_t pid, tid, nr;
	bool exit;
	uint8_t sw;          /* SW_OUT, SW_IN: a switch record, no call */
	uint32_t nips;       /* return with -g: ips[ip_off ..] of the batch */
	size_t ip_off;
};

/* A thread: its call in progress. */
struct sys_thread {
	uint32_t pid, tid;
	bool in_call;
	uint32_t nr;
	uint64_t start;
	int64_t arg0;        /* its first argument: the descriptor of an I/O call */
	/* Its time off a CPU: the sum so far, the sum when the call began,
	 * and since when it is off one now (0: on one). */
	uint64_t off_total, off_at_entry, off_since;
};

/* What a syscall does to a file descriptor, by name (sys_io_kind). */
enum sys_io_kind { IOK_NONE, IOK_READ, IOK_WRITE, IOK_SYNC, IOK_NEW_FD, IOK_CLOSE };

/* The I/O on one open descriptor (cprof_sys_io while recording). */
struct sys_io_cell {
	uint32_t pid;
	int32_t fd;
	bool closed;         /* a later use of fd is another file */
	bool path_tried;
	char *path;          /* from /proc while it was open, or NULL */
	uint64_t calls[3], bytes[2], ns[3]; /* read, write, sync */
};

/* One syscall in one thread: the durations of its calls that returned. */
struct sys_cell {
	uint32_t pid, tid, nr;
	uint64_t calls, errors, unfinished, total;
	uint64_t oncpu;      /* of total, ns on a CPU */
	VEC(uint64_t) durs;  /* every duration while its syscall is under the cap */
	struct hist *hist;   /* past the cap: its durations from then on, and those before */
};

/* One syscall's distribution over all threads; approx: more durations
 * than the exact cap, so its percentiles come from the histograms. */
struct sys_dist {
	uint32_t nr;
	bool approx;
	uint64_t kept; /* durations in its cells' durs */
	struct hist h;
};

/* One of the slowest calls of a syscall, with its stack. */
struct sys_slow {
	uint32_t pid, tid, nr, handle;
	uint64_t start, dur;
	int64_t ret;
	VEC(uint64_t) ips;
};

/* The slowest calls of one syscall; floor: the fastest kept, once full. */
struct slowset {
	uint32_t nr;
	uint64_t floor;
	VEC(struct sys_slow) v;
};

struct sys_trace {
	unsigned slowest;                /* calls kept per syscall */
	bool callchain;                  /* the returns carry their user stacks */
	struct u64map exit_ids;          /* the sys_exit events' ids (PERF_SAMPLE_IDENTIFIER) */
	VEC(struct sys_ev) batch;        /* read, not yet taken in: waits for order */
	VEC(uint64_t) batch_ips;
	uint64_t seq;
	VEC(struct sys_thread) threads;
	struct u64map thread_idx;        /* tid -> threads */
	VEC(struct sys_cell) cells;
	struct u64map cell_idx;          /* tid << 32 | nr -> cells */
	VEC(struct cprof_sys_err) errs;
	struct u64map err_idx;           /* tid << 32 | nr << 12 | errno -> errs */
	uint8_t *io_kind;                /* per syscall number: enum sys_io_kind */
	VEC(struct sys_io_cell) io;
	struct u64map io_idx;            /* pid << 32 | fd -> io, the newest cell */
	VEC(struct sys_dist) dists;
	struct u64map dist_idx;          /* nr -> dists */
	uint64_t cap;                    /* durations kept exactly per syscall (hist_exact_cap) */
	struct slowset *sets;            /* per syscall, at most slowest calls each */
	size_t nsets;
	struct stacksum sums;            /* time per (syscall, process, stack) */
	uint64_t unpaired_returns;       /* a return whose entry was not seen (execve's, lost records) */
	uint64_t lost, malformed;
};

/* dist.c */
struct sys_dist *sys_dist_of(struct sys_trace *t, uint32_t nr);
/* One more duration of c's syscall in c's thread. */
void sys_dist_add(struct sys_trace *t, struct sys_cell *c, uint64_t dur);

/* io.c */
void sys_io_init(struct sys_trace *t);
/* What a returned call of th did to a descriptor, and the bytes it moved. */
void sys_io_count(struct sys_trace *t, const struct sys_thread *th, uint64_t dur, int64_t ret);
/* Name the descriptors met since the last call while they are open:
 * path(pid, fd) gives a new string or NULL. */
void sys_trace_name_fds(struct sys_trace *t, char *(*path)(uint32_t pid, int32_t fd));
void sys_io_store(const struct sys_trace *t, struct cprof_data *d);
void sys_io_release(struct sys_trace *t);

/* trace.c */
void sys_trace_init(struct sys_trace *t, unsigned slowest, bool callchain);
/* Parse one ring record into the batch (lost counts and malformed ones are counted). */
void sys_trace_record(struct sys_trace *t, const void *rec, size_t len, uint32_t enter_id, uint32_t exit_id);
/* Take in the batch's records older than horizon (all: UINT64_MAX), in time order. */
void sys_trace_take(struct sys_trace *t, uint64_t horizon);
void sys_trace_stacks(struct sys_trace *t, struct resolver *res);

/* The statistics into d (percentiles, per thread and all threads). */
void sys_trace_store(struct sys_trace *t, struct resolver *res, struct cprof_data *d);
void sys_trace_release(struct sys_trace *t);

/* timeline.c: the slowest calls on the Chrome trace. */
struct timeline_track;
extern const struct timeline_track syscalls_timeline;

/* names (generated from <asm/unistd_64.h>) */
extern const char *const sys_names[];
extern const size_t sys_names_n;

#endif
