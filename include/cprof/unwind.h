/*
 * unwind.h - DWARF unwinding of sampled user stacks with libdwfl, without
 * ptrace: the registers and the copy of the stack that the kernel put in
 * the sample, plus the mapped ELF files for everything else.
 *
 * One Dwfl per process, attached once and reused for all its samples;
 * modules are reported as the process maps them. The unwinder returns
 * program counters only: symbolizing them is the finishing pass's job.
 */
#ifndef CPROF_UNWIND_H
#define CPROF_UNWIND_H

#include "cprof/base.h"

struct unwinder;

/* perf's x86-64 user register mask for DWARF unwinding (AX..SS, R8..R15). */
#define UNWIND_REGS_MASK 0xff0fffULL

struct unwinder *unwinder_new(void);
void unwinder_free(struct unwinder *u);

/* An executable mapping of path appeared in pid at time (from MMAP2; 0 for
 * what /proc showed before recording). */
void unwinder_add_map(struct unwinder *u, uint32_t pid, const char *path, uint64_t start, uint64_t len,
		      uint64_t pgoff, uint64_t time);
/* pid was forked from ppid and shares its mappings until it execs. */
void unwinder_fork(struct unwinder *u, uint32_t pid, uint32_t ppid);
/* pid called exec at time: its mappings from before are gone. Those from
 * after stay: the rings are drained one after the other, so a mapping made
 * on another CPU after the exec can arrive before the exec's record. */
void unwinder_exec(struct unwinder *u, uint32_t pid, uint64_t time);
/* How many executable mappings of pid the unwinder knows (for tests). */
size_t unwinder_map_count(const struct unwinder *u, uint32_t pid);
/* pid exited: forget it (its libdw session and cached rows). */
void unwinder_exit(struct unwinder *u, uint32_t pid);

/* Why an unwound stack ended before its outermost frame. */
enum unwind_cut {
	UNWIND_WHOLE,      /* it did not: the walk reached the outermost frame */
	UNWIND_CUT_COPY,   /* the walk needed stack above the copy the kernel took */
	UNWIND_CUT_FRAMES, /* max frames were written */
};

/*
 * Unwind one sample. regs are the sampled user registers in perf order for
 * UNWIND_REGS_MASK; stack is the copy taken from the user SP upwards.
 * Writes up to max program counters into pcs, innermost first; activation
 * frames (the first, and frames interrupted by a signal) are flagged in
 * exact[]. whole_stack says the copy reached the end of the stack mapping
 * (the kernel copied less than asked), so no walk can be cut by it.
 * *cut says whether and why the stack was cut short.
 */
int unwinder_unwind(struct unwinder *u, uint32_t pid, uint32_t tid, const uint64_t *regs, size_t nregs,
		    const uint8_t *stack, size_t stack_len, bool whole_stack, uint64_t *pcs, bool *exact, int max,
		    enum unwind_cut *cut);

struct unwinder_stats {
	uint64_t samples, frames, truncated, failed, dwfl_created;
	uint64_t cut_frames;	    /* of truncated: cut at the frame limit (the rest: by the copy) */
	uint64_t fast;		    /* samples walked over cached CFI rows alone */
	uint64_t rules_derived;	    /* distinct pcs whose CFI row was derived */
	uint64_t verify_mismatches; /* CPROF_UNWIND_VERIFY: walks that disagreed */
	bool verified;		    /* CPROF_UNWIND_VERIFY was on */
};
void unwinder_get_stats(const struct unwinder *u, struct unwinder_stats *ret);

#endif
