/*
 * convert.h - CUPTI's records and callback data in, cprof's GPU records out.
 * The collector (inject.c) and the unit tests call exactly these functions,
 * so tests that feed synthesized CUPTI records test what runs in the
 * workload. Needs the CUPTI headers.
 */
#ifndef CPROF_GPU_CONVERT_H
#define CPROF_GPU_CONVERT_H

#include <stdbool.h>
#include <cupti.h>

#include "cprof/data-format.h"
#include "cprof/gpu-data.h"

enum gpu_conv { GPU_CONV_SKIP, GPU_CONV_OP, GPU_CONV_API };

/*
 * Convert one activity record. Fills *op (and *name: the kernel's mangled
 * name, owned by CUPTI) or *api (and *name: the API function's name, static
 * in libcupti), or returns GPU_CONV_SKIP for kinds cprof does not keep.
 */
enum gpu_conv gpu_convert_activity(const CUpti_Activity *rec, struct cprof_gpu_op *op, struct cprof_gpu_api *api,
				   const char **name);

/* True for runtime/driver API functions that make the GPU work (launches,
 * copies, memsets, graph launches): their callers' stacks are captured. */
bool gpu_is_capture_site(CUpti_CallbackDomain domain, CUpti_CallbackId cbid);

/*
 * Decide whether an API callback is a launch site to capture: the entry of
 * a capture site, and for the driver API only when not nested inside a
 * runtime call (the runtime call was captured already). Sets *corr.
 */
bool gpu_callback_is_launch(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
			    int runtime_depth, uint32_t *corr);

#endif
