/*
 * flame.c - GPU time as a flame graph: each kernel, copy and
 * memset is a leaf under the CPU stack that launched it, weighted by how
 * long it ran on the GPU (ns). Work without a recorded launch stack sits
 * under "[no launch stack]", so the total is all GPU work time.
 */
#include <stdlib.h>

#include "cprof/flamegraph.h"
#include "cprof/gpu-report.h"

void gpu_flamegraph_add(struct flamegraph *g, const struct cprof_data *d)
{
	VEC(uint32_t) names = { 0 };
	struct sbuf label = SBUF_INIT;
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		if (op->kind == GPU_OP_SYNC || op->end <= op->start)
			continue;
		names.n = 0;
		if (op->stack != GPU_NO_STACK) {
			const uint32_t *fr = cprof_stack_frames(d, op->stack);
			for (uint32_t k = cprof_stack_len(d, op->stack); k-- > 0;) { /* root first */
				sbuf_reset(&label);
				profile_frame_label(d, &d->frames.v[fr[k]], &label);
				vec_push(&names, fg_intern(g, label.buf, label.len));
			}
		} else {
			vec_push(&names, fg_intern(g, "[no launch stack]", 17));
		}
		sbuf_reset(&label);
		if (op->kind == GPU_OP_KERNEL) {
			sbuf_adds(&label, cprof_str(d, op->name));
		} else if (op->kind == GPU_OP_MEMCPY) {
			const char *k = gpu_copy_kind_name(op->copy_kind);
			sbuf_addf(&label, "[memcpy %s]", k ? k : "?");
		} else {
			sbuf_adds(&label, "[memset]");
		}
		vec_push(&names, fg_intern(g, label.buf, label.len));
		fg_add_stack(g, names.v, names.n, op->end - op->start);
	}
	sbuf_release(&label);
	vec_release(&names);
}
