/*
 * convert.h - CUPTI's records and callback data in, cprof's GPU records out.
 * The collector (inject.c) and the unit tests call exactly these functions,
 * so tests that feed synthesized CUPTI records test what runs in the
 * workload. Needs the CUPTI headers; every call into libcupti that a test
 * must replace (the record iterator, callback names, enabling) comes in as
 * a function pointer.
 */
#ifndef CPROF_GPU_CONVERT_H
#define CPROF_GPU_CONVERT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <cupti.h>

#include "cprof/data-format.h"
#include "cprof/gpu-data.h"

enum gpu_conv { GPU_CONV_SKIP, GPU_CONV_OP, GPU_CONV_API };

/*
 * Convert one activity record. Fills *op (and *name: the kernel's mangled
 * name, owned by CUPTI; NULL for other kinds) or *api (whose name the
 * caller finds from api->cbid and api->domain), or returns GPU_CONV_SKIP
 * for kinds cprof does not keep. Times are copied as they are: checking
 * them is gpu_walk_buffer's job.
 */
enum gpu_conv gpu_convert_activity(const CUpti_Activity *rec, struct cprof_gpu_op *op, struct cprof_gpu_api *api,
				   const char **name);

/* Bytes of the record struct this build reads for kind (Kernel10 for
 * kernels, ...), 0 for kinds it skips. */
size_t gpu_record_size(CUpti_ActivityKind kind);

typedef CUptiResult (*gpu_next_record_fn)(uint8_t *buf, size_t valid, CUpti_Activity **rec);

/* Whether each kind's records have the size this build reads: 0 not seen
 * yet, 1 yes, 2 no. Shared by every buffer of a process. */
struct gpu_layouts {
	_Atomic uint8_t verdict[CUPTI_ACTIVITY_KIND_COUNT];
};

/*
 * One completed activity buffer, walked and converted. Records that cannot
 * be right are counted by cause in loss (enum gpu_loss) and left out: no
 * timestamps (start = end = 0), ending before they start or missing one
 * timestamp, of a layout this build does not read, and everything after
 * an unfinished record, where CUPTI's iterator stops. During the forced
 * flush at exit (at_exit) unfinished work is counted as still running.
 */
struct gpu_walk {
	gpu_next_record_fn next;     /* cuptiActivityGetNextRecord */
	struct gpu_layouts *layouts; /* NULL when libcupti is the headers' version: sizes are known */
	bool at_exit;
	void (*emit_op)(void *ctx, struct cprof_gpu_op *op, const char *name);
	void (*emit_api)(void *ctx, struct cprof_gpu_api *api);
	/* Once per kind whose records turn out to be got bytes, not want. */
	void (*layout_mismatch)(void *ctx, CUpti_ActivityKind kind, size_t got, size_t want);
	void *ctx;
	uint64_t loss[_GL_MAX]; /* added to */
};
void gpu_walk_buffer(struct gpu_walk *w, uint8_t *buf, size_t valid);

/* True for runtime/driver API functions that make the GPU work (launches,
 * copies, memsets, graph launches), by name: their callers' stacks are
 * captured. Host-function launches run on the CPU and are not. */
bool gpu_is_capture_name(CUpti_CallbackDomain domain, const char *name);

typedef CUptiResult (*gpu_cb_name_fn)(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const char **name);
typedef CUptiResult (*gpu_enable_fn)(void *ctx, CUpti_CallbackDomain domain, CUpti_CallbackId cbid);

struct gpu_enable_result {
	unsigned enabled, failed;
	CUptiResult first_error;
	char first_failed[64]; /* name of the first function that could not be enabled */
};
/*
 * Enable the callback of every capture site of the runtime and driver API
 * that names() knows, including callback ids a newer libcupti added after
 * these headers (ids past the headers' _CBID_SIZE, up to the first one
 * without a name). A failure is counted and the rest are still enabled.
 */
void gpu_enable_capture_sites(gpu_cb_name_fn names, gpu_enable_fn enable, void *ctx, struct gpu_enable_result *res);

/*
 * Decide whether an API callback is a launch site to capture: the entry of
 * a capture site, and for the driver API only when not nested inside a
 * runtime call (the runtime call was captured already). Sets *corr.
 */
bool gpu_callback_is_launch(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
			    int runtime_depth, uint32_t *corr);

/*
 * The one-line note for a subscription that failed with r (described by
 * what, cuptiGetResultString's text): when another tool holds CUPTI's only
 * subscriber slot, it names that tool (holder, as cuptiSubscribe_v2 gave
 * it, may be empty) and says that only the CPU profile is recorded.
 */
void gpu_subscribe_note(CUptiResult r, const char *what, const char *holder, char *out, size_t n);

#endif
