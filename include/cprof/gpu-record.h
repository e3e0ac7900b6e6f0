/*
 * gpu-record.h - the GPU side of `cprof record --gpu` (src/gpu/gpu-session.c):
 * find libcprof-cupti.so, point the workload at it and at a private stream
 * file through its environment, and when the workload is done turn the
 * stream into the GPU sections of the data file, with each kernel's and
 * copy's launching CPU stack symbolized like the samples.
 */
#ifndef CPROF_GPU_RECORD_H
#define CPROF_GPU_RECORD_H

#include "cprof/base.h"
#include "cprof/gpu-stream.h"

struct cprof_data;
struct raw_store;
struct resolver;
struct source_ops;

struct gpu_session {
	char *lib_path;    /* owned */
	char *stream_path; /* owned; removed by gpu_session_release */
	char *replaced;    /* owned: the CUDA_INJECTION64_PATH --gpu replaced, or NULL */
	bool driver_found; /* /dev/nvidiactl or /proc/driver/nvidia exists */
	bool collected;    /* gpu_session_collect ran: trace is set */
	struct gpu_trace trace; /* the stream, parsed */
	const uint8_t *buf;     /* the stream, mapped */
	size_t len;
	uint32_t *handles;      /* per launch stack: its handle in the resolver */
};

/*
 * Find the collector (CPROF_CUPTI_LIB, then beside the cprof binary, its
 * build-tree place, the install dir), create the stream file, and set
 * CUDA_INJECTION64_PATH and CPROF_GPU_OUT in this process's environment so
 * the workload started next inherits them (a CUDA_INJECTION64_PATH already
 * there is replaced, and gpu_session_finish says so). Fails when cprof was
 * built without CUPTI.
 */
int gpu_session_prepare(struct gpu_session *g, struct cprof_err *err) CPROF_WUR;

/* What gpu_session_finish found, for the record summary. */
struct gpu_import_stats {
	uint64_t kernels, copies, memsets, syncs, api_calls;
	uint64_t with_stack, without_stack;   /* kernels/copies/memsets tied to a CPU stack or not */
	uint64_t loss[_GL_MAX];               /* what the collectors could not record, by cause */
	uint64_t bad_records;
	uint32_t processes_ended, processes_signalled;
	uint32_t syncs_without_device;        /* synchronizations on contexts that ran no work */
	bool stream_empty;                    /* no CUDA process loaded the collector */
};

/* After the workload ended: read the stream. */
int gpu_session_collect(struct gpu_session *g, struct cprof_err *err) CPROF_WUR;
/* Hand its launch stacks to the finishing pass's resolver (resolve.h). */
void gpu_session_stacks(struct gpu_session *g, struct resolver *r);
/*
 * After resolver_run: the GPU records into d (which already holds the
 * resolved samples), each kernel, copy and memset with its launching stack,
 * and meta keys (gpu, gpu_dropped_records, ...). Notes for the user (the
 * collector's own messages, why nothing was recorded) go to notes
 * (base.h). A missing GPU is not an error: the CPU profile is
 * still written.
 */
int gpu_session_finish(struct gpu_session *g, struct cprof_data *d, struct resolver *res,
		       struct gpu_import_stats *ret, const struct note_sink *notes) CPROF_WUR;

/* The import in two steps, around resolver_run: launch stacks handed over
 * (handles: one per t->stacks), then the records stored. Synchronizations,
 * which CUPTI does not tie to a device, get the device of other work on
 * their context. r may be NULL: no stacks. */
void gpu_import_stacks(const struct gpu_trace *t, struct resolver *r, uint32_t *handles);
void gpu_import_resolved(struct cprof_data *d, const struct gpu_trace *t, struct resolver *r, const uint32_t *handles,
			 struct gpu_import_stats *ret);
/* Both, with a resolver of its own over st's mappings (st may be NULL):
 * what the unit tests drive with synthesized streams. */
void gpu_import(struct cprof_data *d, const struct gpu_trace *t, const struct raw_store *st,
		struct gpu_import_stats *ret);

/* The meta keys of what an import found: losses by cause (gpu_loss_key),
 * gpu_bad_records, gpu_without_stack, gpu_processes_ended/_signalled. */
void gpu_import_meta(struct cprof_data *d, const struct gpu_import_stats *ret);

/* gpu_session_finish, then tell notes what was recorded (unless quiet);
 * warnings go there always. */
int record_gpu_finish(struct gpu_session *g, struct cprof_data *d, struct resolver *res, bool quiet,
		      const struct note_sink *notes) CPROF_WUR;

void gpu_session_release(struct gpu_session *g);

/* Its row of cprof_sources[] (source.h), in src/gpu/source.c. */
extern const struct source_ops gpu_source;
extern const struct source_view gpu_view; /* views.c */

#endif
