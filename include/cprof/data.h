/*
 * data.h - a recording in memory (struct cprof_data), its builder API used by
 * record, and the one reader and one writer of cprof.data files.
 *
 * Every string lives once in the string table and is referred to by its byte
 * offset; cprof_str() turns an offset into a pointer that stays valid until
 * cprof_data_release(). Frames and stacks are deduplicated when added.
 */
#ifndef CPROF_DATA_H
#define CPROF_DATA_H

#include "cprof/base.h"
#include "cprof/data-format.h"
#include "cprof/gpu-data.h"
#include "cprof/offcpu-data.h"
#include "cprof/lat-data.h"
#include "cprof/sys-data.h"

struct outfile;

struct cprof_event {
	uint32_t name, unit; /* string offsets */
	uint32_t type, flags;
	uint64_t config, period;
};

struct cprof_thread {
	uint32_t pid, tid, comm, ppid;
	uint64_t samples;
};

struct cprof_frame {
	uint32_t func, dso, file, line; /* strings, except line */
	uint64_t addr;
	uint32_t flags; /* FRF_* */
	uint32_t full;  /* string: func in full (Rust hashes kept), 0 when the same */
};

struct cprof_sample {
	uint64_t time, period;
	uint32_t pid, tid, stack;
	uint16_t event;
	uint8_t mode;
};

/* SECTION_SAMPLE_VALUES: a group member's count read with a sample. */
struct cprof_sample_value {
	uint32_t sample, event;
	uint64_t value;
};

struct cprof_map {
	uint64_t start, len, pgoff;
	uint32_t pid, path;
	uint8_t build_id_size;
	uint8_t build_id[20];
};

struct cprof_mem_site {
	uint32_t pid, stack, kind; /* kind: MEMK_* */
	uint64_t allocs, bytes, temp_allocs, temp_bytes, leaked, leaked_bytes;
	uint64_t peak_count, peak_bytes, max_size, temp_max_size;
};

struct cprof_mem_proc {
	uint32_t pid, ppid;
	uint64_t events, unmatched_frees, lost;
	uint64_t peak_bytes, peak_time, end_bytes, start_time, end_time, mmap_peak;
	uint64_t hist[MP_HIST_BUCKETS];
};

/* --mem=sample: estimates for one stack (see ME_* in data-format.h). */
struct cprof_mem_est {
	uint32_t pid, stack, kind;
	uint64_t samples, max_size;
	double count, bytes, var_count, var_bytes;
	double live_count, live_bytes, live_var_count, live_var_bytes;
};

struct cprof_mem_point {
	uint32_t pid;
	uint64_t time, bytes;
};

/* Machine code of one hot function (SECTION_CODE), for `cprof annotate`.
 * Its line rows, inline ranges and call-target symbols are runs in the
 * data's code_lines, code_inlines and code_syms; its bytes are
 * code_bytes.v[bytes_off .. bytes_off + len). The reader guarantees every
 * run and offset is in range and the line rows are sorted. */
struct cprof_code {
	uint32_t func, dso; /* strings, as in the function's frames */
	uint64_t start;     /* ELF virtual address of the first byte */
	uint64_t bytes_off;
	uint32_t len;
	uint16_t machine;   /* ELF e_machine */
	uint8_t build_id_size;
	uint8_t flags;      /* CFF_PART */
	uint8_t build_id[20];
	uint32_t first_line, nlines, first_inline, ninlines, first_sym, nsyms;
	uint32_t comp_dir;  /* string: where relative source paths start, "" if unknown */
};

struct cprof_code_line {
	uint32_t off, file, line; /* off: from the function's start; file: string */
};

struct cprof_code_inline {
	uint32_t lo, hi;          /* offsets from the function's start, lo < hi */
	uint32_t func, file, line; /* the inlined function; its call site one level out */
	uint32_t depth;           /* 1: inlined into the function itself */
};

struct cprof_code_sym {
	uint64_t addr;
	uint32_t name;
};

struct cprof_kv {
	uint32_t key, value; /* string offsets */
};

struct cprof_data {
	struct sbuf strings;               /* starts with "" at offset 0 */
	VEC(struct cprof_kv) meta;
	VEC(struct cprof_event) events;
	VEC(struct cprof_thread) threads;
	VEC(struct cprof_frame) frames;
	VEC(uint32_t) stack_words;         /* n|flags, frames[n], ... */
	VEC(uint32_t) stack_offset;        /* stack i starts at stack_words.v[stack_offset.v[i]] */
	VEC(struct cprof_sample) samples;
	/* How many samples each one stands for, parallel to samples; empty
	 * when every sample is one (see profile_sample_count()). A long
	 * recording merges samples of one thread and stack taken close in time. */
	VEC(uint32_t) sample_counts;
	/* The CPU of each sample, parallel to samples; empty when the
	 * recording did not say (files from before it did, perf.data). */
	VEC(uint32_t) sample_cpus;
	/* Counts of group members read with their leader's samples (record
	 * -e '{a,b}:S'), sorted by sample; empty without such a group. */
	VEC(struct cprof_sample_value) sample_values;
	VEC(struct cprof_map) maps;
	/* Dedup indexes, built lazily by the add functions. */
	struct hashidx str_idx, frame_idx, stack_idx;

	/* Memory profile (record --mem); empty otherwise. */
	VEC(struct cprof_mem_site) mem_sites;
	VEC(struct cprof_mem_proc) mem_procs;
	VEC(struct cprof_mem_point) mem_curve;
	VEC(struct cprof_mem_est) mem_est;     /* --mem=sample: instead of mem_sites */
	/* GPU activity (cprof record --gpu, gpu-data.h); empty otherwise. */
	VEC(struct cprof_gpu_op) gpu_ops;
	VEC(struct cprof_gpu_api) gpu_api;
	/* Syscalls (cprof record --syscalls, sys-data.h); empty otherwise. */
	VEC(struct cprof_sys_stat) sys_stats;
	VEC(struct cprof_sys_err) sys_errs;
	VEC(struct cprof_sys_slow) sys_slow;
	VEC(struct cprof_sys_io) sys_io;
	/* Off-CPU intervals (cprof record --offcpu, offcpu-data.h); empty otherwise. */
	VEC(struct cprof_offcpu_wait) offcpu;
	/* Function latency (cprof record --latency, lat-data.h); empty otherwise. */
	VEC(struct cprof_lat_stat) lat_stats;
	VEC(struct cprof_lat_slow) lat_slow;
	/* Latency distributions (syscalls, latency), their buckets sparse. */
	VEC(struct cprof_lat_hist) lat_hists;
	VEC(struct cprof_hist_bucket) lat_hist_buckets;
	/* Time in syscalls and probed functions by stack (lat-data.h). */
	VEC(struct cprof_lat_stack) lat_stacks;
	/* Code of the hottest functions (SECTION_CODE); empty when none was saved. */
	VEC(struct cprof_code) code;
	VEC(struct cprof_code_line) code_lines;
	VEC(struct cprof_code_inline) code_inlines;
	VEC(struct cprof_code_sym) code_syms;
	VEC(uint8_t) code_bytes;
};

void cprof_data_init(struct cprof_data *d);
void cprof_data_release(struct cprof_data *d);

static inline const char *cprof_str(const struct cprof_data *d, uint32_t off) { return d->strings.buf + off; }

/* Builders. Return indexes (or string offsets); duplicates return the existing one. */
uint32_t cprof_intern(struct cprof_data *d, const char *s);
void cprof_meta_set(struct cprof_data *d, const char *key, const char *value);
void cprof_meta_setf(struct cprof_data *d, const char *key, const char *fmt, ...) CPROF_PRINTF(3, 4);
uint32_t cprof_add_frame(struct cprof_data *d, const struct cprof_frame *f);
/* frames[0] is the leaf. */
uint32_t cprof_add_stack(struct cprof_data *d, const uint32_t *frames, uint32_t n, uint32_t flags);

/* How many samples s stands for: 1, or more where a long recording merged
 * samples (sample_counts). s must point into d->samples. */
static inline uint32_t cprof_sample_count(const struct cprof_data *d, const struct cprof_sample *s)
{
	size_t i = (size_t)(s - d->samples.v);
	return i < d->sample_counts.n ? d->sample_counts.v[i] : 1;
}

/* Samples for the events that were read, not sampled (EVF_READ): each
 * count of sample_values becomes a sample of its own event at the leader
 * sample's stack, thread, time and CPU, weighed by the count, so every view
 * reads a group member as it reads a sampled event. Appended after the
 * recorded samples; sample_values is emptied. */
void cprof_data_expand_reads(struct cprof_data *d);

/* Lookups. */
const char *cprof_meta_get(const struct cprof_data *d, const char *key); /* NULL if absent */
/* The same, dflt if absent. */
static inline const char *cprof_meta_or(const struct cprof_data *d, const char *key, const char *dflt)
{
	const char *v = cprof_meta_get(d, key);
	return v ? v : dflt;
}
/* A counter kept in the metadata, dflt if absent or not a number: a file
 * can say anything, and views print these into JSON unquoted. */
uint64_t cprof_meta_u64(const struct cprof_data *d, const char *key, uint64_t dflt);
static inline uint32_t cprof_stack_len(const struct cprof_data *d, uint32_t stack)
{
	return d->stack_words.v[d->stack_offset.v[stack]] & STACK_COUNT_MASK;
}
static inline uint32_t cprof_stack_flags(const struct cprof_data *d, uint32_t stack)
{
	return d->stack_words.v[d->stack_offset.v[stack]] & ~STACK_COUNT_MASK;
}
/* Frame indexes of a stack, leaf first; borrowed. */
static inline const uint32_t *cprof_stack_frames(const struct cprof_data *d, uint32_t stack)
{
	return d->stack_words.v + d->stack_offset.v[stack] + 1;
}

/* Serialize d into out (outfile.h: opened by the caller, with OUTFILE_PRIVATE
 * for a data file) and commit it; on failure out is aborted. *ret_len (may
 * be NULL) gets the size written. */
int cprof_data_write(const struct cprof_data *d, struct outfile *out, size_t *ret_len,
		     struct cprof_err *err) CPROF_WUR;
/* Read and validate a whole file ("-" is stdin). On error *d is left empty. */
int cprof_data_read(struct cprof_data *d, const char *path, struct cprof_err *err) CPROF_WUR;
/* Parse an in-memory image; name is used in messages. The fuzz target's entry point. */
int cprof_data_parse(struct cprof_data *d, const uint8_t *buf, size_t len, const char *name,
		     struct cprof_err *err) CPROF_WUR;
/* Serialize to memory (used by the writer and by tests); caller frees *ret. */
int cprof_data_serialize(const struct cprof_data *d, uint8_t **ret, size_t *ret_len, struct cprof_err *err) CPROF_WUR;

#endif
