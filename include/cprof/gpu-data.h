/*
 * gpu-data.h - GPU activity as cprof keeps it: one struct cprof_gpu_op per
 * kernel, copy, memset or synchronization, one struct cprof_gpu_api per CUDA
 * API call. The same fixed records (GO_*, GA_* in data-format.h) are used in
 * the data file and in the stream the CUPTI collector writes, so one codec
 * serves both; only the meaning of the name field differs (see below).
 *
 * Times are CLOCK_MONOTONIC ns, the clock of the CPU samples.
 */
#ifndef CPROF_GPU_DATA_H
#define CPROF_GPU_DATA_H

#include <stddef.h>
#include <stdint.h>

enum gpu_op_kind {
	GPU_OP_KERNEL = 1,
	GPU_OP_MEMCPY = 2,
	GPU_OP_MEMSET = 3,
	GPU_OP_SYNC = 4,
	_GPU_OP_MAX
};

enum gpu_api_domain { GPU_API_RUNTIME = 1, GPU_API_DRIVER = 2 };

/* CUPTI's memcpy and memory kinds that cprof names (others print as numbers). */
enum { GPU_COPY_HTOD = 1, GPU_COPY_DTOH = 2, GPU_COPY_DTOD = 8, GPU_COPY_HTOH = 9, GPU_COPY_PTOP = 10 };
enum { GPU_MEM_PAGEABLE = 1, GPU_MEM_PINNED = 2, GPU_MEM_DEVICE = 3 };

/* A synchronization's device when its context ran no work cprof saw
 * (CUPTI's synchronization records name the context, not the device). */
#define GPU_DEVICE_UNKNOWN 0xffffffffu

struct cprof_gpu_op {
	uint64_t start, end, bytes;
	uint32_t kind, corr, device, context, stream, pid, tid;
	uint32_t name;  /* data file: string offset; collector stream: unused (the name follows the record) */
	uint32_t stack; /* launching CPU stack, GPU_NO_STACK if none */
	uint32_t grid[3], block[3];
	uint32_t regs, smem_static, smem_dynamic;
	uint32_t value; /* memset: the value; memcpy: copies it stands for (a batch), 0 read as 1 */
	uint8_t copy_kind, src_kind, dst_kind, flags;
};

/* How many copies (or kernels, memsets) one record stands for. */
static inline uint64_t gpu_op_count(const struct cprof_gpu_op *op)
{
	return op->kind == GPU_OP_MEMCPY && op->value > 1 ? op->value : 1;
}

struct cprof_gpu_api {
	uint64_t start, end;
	uint32_t corr, cbid, pid, tid;
	uint32_t name; /* as in cprof_gpu_op */
	uint32_t result;
	uint8_t domain;
};

/*
 * What the collector could not record, by cause. Each process of the
 * workload counts them (the GS_COUNTS records of the collector stream, in
 * this order), cprof record sums them into meta keys of the data file and
 * prints a warning for each cause that is not zero.
 */
enum gpu_loss {
	GL_DROPPED,            /* records CUPTI dropped: no buffer to put them in */
	GL_CUT_BUFFERS,        /* buffers cut short by an unfinished record mid-run: the records after it are lost */
	GL_UNTIMED,            /* records CUPTI could not time (start = end = 0), left out */
	GL_UNFINISHED,         /* records ending before they start or missing one timestamp, left out */
	GL_CUT_AT_EXIT,        /* buffers cut short at exit: work still running when the process ended */
	GL_UNFINISHED_AT_EXIT, /* records of work still running when the process ended, left out */
	GL_STACKS_LOST,        /* launches whose CPU stack could not be taken or kept */
	GL_WRITE_ERRORS,       /* bytes that could not be written to the stream */
	GL_UNKNOWN_LAYOUT,     /* records of a layout this build does not know (a newer CUPTI), left out */
	_GL_MAX
};
/* The meta key of a cause ("gpu_dropped_records") and what it means, to
 * follow a count in a warning ("GPU activity records were dropped ..."). */
const char *gpu_loss_key(enum gpu_loss what);
const char *gpu_loss_text(enum gpu_loss what);

/* Fixed-size little-endian codec: p holds GO_SIZE / GA_SIZE bytes. */
void gpu_op_encode(uint8_t *p, const struct cprof_gpu_op *op);
void gpu_op_decode(const uint8_t *p, struct cprof_gpu_op *op);
void gpu_api_encode(uint8_t *p, const struct cprof_gpu_api *a);
void gpu_api_decode(const uint8_t *p, struct cprof_gpu_api *a);

/* "HtoD", "DtoH", ... or NULL for a kind cprof has no name for. */
const char *gpu_copy_kind_name(unsigned kind);
/* "pageable", "pinned", "device", ... or NULL. */
const char *gpu_memory_kind_name(unsigned kind);
/* "kernel", "memcpy", "memset", "sync". */
const char *gpu_op_kind_name(unsigned kind);

/* Data file sections 24..31 (gpu-sections.c, called by reader.c/writer.c). */
struct cprof_data;
struct cprof_err;
struct sbuf;
/* True for a section type this file format assigns to GPU data. */
static inline int gpu_section_type(uint32_t type) { return type >= 24 && type <= 31; }
/* Bytes of section type for d; count is the record count. Empty when d has none. */
void gpu_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count);
/* Validate and load one GPU section (after strings and stacks are loaded). */
int gpu_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err);

#endif
