/*
 * source.c - GPU activity as a data source of `cprof record` (source.h):
 * the option --gpu, and the hooks that drive gpu-session.c (the CUPTI
 * collector injected into the workload, its stream, the launch stacks).
 */
#include <stdlib.h>

#include "cprof/gpu-record.h"
#include "cprof/source.h"

static void *gpu_configure(const char *arg, struct cprof_err *err)
{
	(void)arg; /* --gpu takes none */
	(void)err;
	return xcalloc(1, sizeof(struct gpu_session));
}

static int gpu_prepare(void *state, struct cprof_err *err)
{
	return gpu_session_prepare(state, err);
}

static int gpu_collect(void *state, struct cprof_err *err)
{
	return gpu_session_collect(state, err);
}

static void gpu_stacks(void *state, struct resolver *res)
{
	gpu_session_stacks(state, res);
}

static int gpu_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	return record_gpu_finish(state, f->d, f->res, f->quiet, f->notes);
}

static void gpu_release(void *state)
{
	if (!state)
		return;
	gpu_session_release(state);
	free(state);
}

const struct source_ops gpu_source = {
	.name = "gpu",
	.usage = "[--gpu]",
	.help = "      --gpu              also record CUDA kernels, copies and API calls\n"
		"                         (CUPTI), each with the CPU stack that launched it\n",
	.launch_only = "CUDA loads the collector when a process starts",
	.configure = gpu_configure,
	.prepare = gpu_prepare,
	.collect = gpu_collect,
	.stacks = gpu_stacks,
	.finish = gpu_finish,
	.release = gpu_release,
	.view = &gpu_view,
};
