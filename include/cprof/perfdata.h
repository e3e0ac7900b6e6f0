/*
 * perfdata.h - reading the perf.data files that Linux perf writes (perf
 * record, perf 4.x to 6.x): file mode and pipe mode, the attributes and the
 * feature sections of the header, and the records of the data section,
 * zstd-compressed (perf record -z) or not.
 *
 * The reader knows bytes only. It hands each record, parsed and
 * bounds-checked, to a visitor in timestamp order as perf report orders
 * them (records are sorted within a window of two flush rounds), so the
 * mappings and exec/fork events a sample depends on reach the visitor
 * before it. Turning samples into symbolized stacks (unwinding copied user
 * stacks, symbolizing) is the record layer's job: perf-import.c.
 *
 * The input is read once, front to back: a regular file is mapped and
 * dropped from memory as the reader passes, so memory stays small however
 * large the file; a pipe (perf record -o -) is read as it arrives.
 */
#ifndef CPROF_PERFDATA_H
#define CPROF_PERFDATA_H

#include <stdio.h>
#include "cprof/base.h"

#define PERFDATA_MAGIC "PERFILE2" /* 8 bytes at offset 0, little-endian files */

/* One event of the recording (a perf_event_attr), with what the reader
 * needs to parse its samples. */
struct pd_attr {
	uint32_t type;
	uint64_t config;
	uint64_t period;         /* sample_period, or sample_freq when freq */
	bool freq;
	bool exclude_kernel, exclude_user;
	uint64_t sample_type, read_format, branch_sample_type;
	uint64_t regs_user_mask, regs_intr_mask;
	uint32_t stack_user;     /* bytes of user stack per sample asked for */
	bool sample_id_all;
	char *name;              /* owned; from the event description, else made up from type/config */
	VEC(uint64_t) ids;       /* sample ids that belong to this event */
};

/* A sample. Pointers borrow the record and are valid during the callback only. */
struct pd_sample {
	uint32_t attr;           /* index into perfdata_info.attrs */
	uint8_t cpumode;         /* PERF_RECORD_MISC_CPUMODE_MASK bits */
	uint32_t pid, tid, cpu;
	uint64_t ip, time, period;
	const uint8_t *callchain; /* nr little-endian u64 (unaligned) or NULL */
	uint64_t callchain_nr;
	uint64_t regs_abi;        /* 0: no user registers (kernel thread) */
	const uint8_t *regs;      /* regs_nr u64 in ascending bit order of regs_mask */
	uint32_t regs_nr;
	uint64_t regs_mask;
	const uint8_t *stack;     /* copied user stack from SP up, stack_size bytes, or NULL */
	uint64_t stack_size, stack_dyn_size;
};

struct pd_mmap {
	uint32_t pid, tid;
	uint64_t time, start, len, pgoff;
	uint32_t prot;           /* PROT_* (MMAP records: exec unless a data mapping) */
	bool exec, kernel;
	const char *path;        /* borrowed for the callback */
	uint8_t build_id_size;   /* from the record (MMAP2 with build id), else 0 */
	uint8_t build_id[20];
};

struct pd_comm {
	uint32_t pid, tid;
	uint64_t time;
	bool exec;
	const char *comm;        /* borrowed for the callback */
};

struct pd_task {
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
	bool exit;
};

struct perfdata_info;

/* Each callback may be NULL; a negative return stops the reader, which then
 * returns that value (the callback fills err). */
struct perfdata_visitor {
	/* Attributes and header are known; called once, before any record. */
	int (*begin)(void *ctx, const struct perfdata_info *info, struct cprof_err *err);
	int (*sample)(void *ctx, const struct pd_sample *s, struct cprof_err *err);
	int (*mmap)(void *ctx, const struct pd_mmap *m, struct cprof_err *err);
	int (*comm)(void *ctx, const struct pd_comm *c, struct cprof_err *err);
	int (*task)(void *ctx, const struct pd_task *t, struct cprof_err *err);
};

/* A build id of the HEADER_BUILD_ID feature: which file the recording saw. */
struct pd_build_id {
	uint32_t pid;
	char *path;              /* owned */
	uint8_t size;
	uint8_t id[20];
};

/* What the header says and what the reader counted. */
struct perfdata_info {
	bool pipe;               /* pipe mode (perf record -o -) */
	bool compressed;         /* records were zstd-compressed */
	VEC(struct pd_attr) attrs;
	VEC(struct pd_build_id) build_ids;
	char *hostname, *os_release, *perf_version, *arch, *cmdline; /* owned, NULL if absent */
	uint32_t nr_cpus;        /* online CPUs, 0 if unknown */
	uint64_t first_time, last_time; /* of the samples seen */
	uint64_t samples, records;
	uint64_t lost_records;   /* PERF_RECORD_LOST: records the kernel dropped */
	uint64_t lost_samples;   /* PERF_RECORD_LOST_SAMPLES */
	uint64_t throttles;
	uint64_t malformed;      /* records too short for their type: counted, skipped */
	uint64_t skipped;        /* record types the reader does not use */
};

void perfdata_info_release(struct perfdata_info *info);

/* True when buf starts like a perf.data file (either byte order). */
bool perfdata_sniff(const void *buf, size_t len);

/*
 * Read a perf.data from fp, whose first magic_len bytes (already read by
 * the caller to sniff the format, at most 8) are in magic. A regular file
 * is read through fileno(fp), its records perfdata_read_chunk bytes at a
 * time; anything else is read from fp as a stream.
 * name is used in messages. info is initialised by the call and filled
 * even on failure (release it either way). A damaged file fails with one
 * message naming the file and what is wrong.
 */
int perfdata_read(FILE *fp, const uint8_t *magic, size_t magic_len, const char *name,
		  const struct perfdata_visitor *v, void *ctx, struct perfdata_info *info,
		  struct cprof_err *err) CPROF_WUR;
/* Bytes of a regular file read at a time (4 MiB; at least 64 KiB + 8, the
 * largest record): tests make it small so that records straddle reads. */
extern size_t perfdata_read_chunk;
/* The same, from memory (tests and the fuzz target). */
int perfdata_read_mem(const uint8_t *buf, size_t len, const char *name, const struct perfdata_visitor *v,
		      void *ctx, struct perfdata_info *info, struct cprof_err *err) CPROF_WUR;

#endif
