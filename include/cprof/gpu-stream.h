/*
 * gpu-stream.h - the file libcprof-cupti.so writes inside the workload and
 * cprof record reads when the workload is done. It is private to one
 * recording (a temporary file) but comes from another process, so the
 * reader validates everything.
 *
 * Layout, little-endian: a 16-byte header ("CPROFGPU", u32 version, u32 0)
 * written by cprof, then records appended by every CUDA process of the
 * workload, each "u32 type, u32 payload length, payload". A process writes
 * whole records per write(2) on an O_APPEND descriptor, so processes do not
 * tear each other's records.
 *
 * Kernel and API names and launch stacks are written once per process and
 * then referred to by id (per process, from 1). The collector writes a
 * definition before it hands out its id, so in the file a definition comes
 * before every record that uses it, and a pid reused later in the same
 * recording simply redefines its ids.
 *
 *   GS_NAME   u32 pid, u32 id, then the name (no NUL)
 *   GS_STACK  u32 pid, u32 id, u32 n, u32 0; u64 ips[n] (backtrace(),
 *             innermost first)
 *   GS_LAUNCH u32 corr, pid, tid, domain, stack id, 0: the API call with
 *             this correlation id was entered with that stack
 *   GS_OP     GO_SIZE bytes (GO_* layout; name is a GS_NAME id of the pid,
 *             0 for none; stack unused)
 *   GS_API    GA_SIZE bytes (GA_* layout; name is a GS_NAME id)
 *   GS_COUNTS u64 counts by enum gpu_loss (gpu-data.h) since the previous
 *             GS_COUNTS of the process; a reader sums the causes it knows
 *   GS_NOTE   a message from the collector (why it could not trace)
 *   GS_END    u32 reason (1 exit, 2 signal), u32 signal
 */
#ifndef CPROF_GPU_STREAM_H
#define CPROF_GPU_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cprof/base.h"
#include "cprof/gpu-data.h"

#define GPU_STREAM_MAGIC "CPROFGPU"
#define GPU_STREAM_VERSION 2u
#define GPU_STREAM_HDR 16

enum gpu_stream_type {
	GS_OP = 1,
	GS_API = 2,
	GS_STACK = 3,
	GS_COUNTS = 4,
	GS_NOTE = 5,
	GS_END = 6,
	GS_NAME = 7,
	GS_LAUNCH = 8,
};
#define GS_STACK_FIXED 16
#define GS_LAUNCH_SIZE 24
#define GS_NAME_FIXED 8
#define GS_MAX_NAME 4096 /* longer names are cut */
#define GS_MAX_IPS 128
#define GS_MAX_PAYLOAD 65536
enum { GS_END_EXIT = 1, GS_END_SIGNAL = 2 };

/* Write the 16-byte header into p. */
void gpu_stream_header(uint8_t *p);

/*
 * Writer, used inside the workload: records collect in a buffer and go out
 * with one write(2) per flush (a record never straddles two writes). Not
 * locked: the caller serializes. It allocates only in gpu_writer_init (or
 * not at all with gpu_writer_init_buf) and never prints.
 */
struct gpu_writer {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	bool owned;            /* buf is freed by gpu_writer_release */
	uint64_t write_errors; /* bytes that could not be written */
};
int gpu_writer_init(struct gpu_writer *w, int fd, size_t cap); /* 0 or -ENOMEM */
void gpu_writer_init_buf(struct gpu_writer *w, int fd, uint8_t *buf, size_t cap);
void gpu_writer_op(struct gpu_writer *w, const struct cprof_gpu_op *op);
void gpu_writer_api(struct gpu_writer *w, const struct cprof_gpu_api *a);
void gpu_writer_name(struct gpu_writer *w, uint32_t pid, uint32_t id, const char *name);
void gpu_writer_stack(struct gpu_writer *w, uint32_t pid, uint32_t id, const uint64_t *ips, uint32_t n);
void gpu_writer_launch(struct gpu_writer *w, uint32_t corr, uint32_t pid, uint32_t tid, uint32_t domain,
		       uint32_t stack_id);
void gpu_writer_counts(struct gpu_writer *w, const uint64_t *counts, size_t n);
void gpu_writer_note(struct gpu_writer *w, const char *msg);
void gpu_writer_end(struct gpu_writer *w, uint32_t reason, uint32_t sig);
/* Bytes a record of payload bytes takes in the stream. */
static inline size_t gpu_writer_record_size(size_t payload) { return 8 + payload; }
void gpu_writer_flush(struct gpu_writer *w);
void gpu_writer_release(struct gpu_writer *w); /* flushes; does not close fd */

/* Reader, in cprof. Names are offsets into names (offset 0 is ""). */
struct gpu_launch_stack {
	uint32_t corr, pid, tid, domain, nips;
	size_t ip_off; /* into ips; launches from one place share their ips */
};

struct gpu_trace {
	VEC(struct cprof_gpu_op) ops;
	VEC(struct cprof_gpu_api) api;
	VEC(struct gpu_launch_stack) stacks;
	VEC(uint64_t) ips;
	struct sbuf names;
	struct sbuf notes;          /* collector messages, one per line, deduplicated */
	uint64_t loss[_GL_MAX];     /* summed GS_COUNTS */
	uint64_t bad_records;       /* malformed records skipped, or uses of undefined ids */
	uint32_t ends, signal_ends; /* processes that finished cleanly / by a signal */
	uint32_t last_signal;
};

void gpu_trace_init(struct gpu_trace *t);
void gpu_trace_release(struct gpu_trace *t);
/*
 * Parse a collector stream. A bad header is an error; a malformed or
 * truncated record (a process killed mid-write) ends the parse and is
 * counted in bad_records, so what came before is kept.
 */
int gpu_trace_parse(struct gpu_trace *t, const uint8_t *buf, size_t len, const char *name,
		    struct cprof_err *err) CPROF_WUR;
static inline const char *gpu_trace_str(const struct gpu_trace *t, uint32_t off) { return t->names.buf + off; }

#endif
