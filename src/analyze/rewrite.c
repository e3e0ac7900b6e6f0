/*
 * rewrite.c - full function names and folded Go runtime plumbing, applied
 * to a loaded recording before it is aggregated (see rewrite.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/rewrite.h"

size_t rewrite_full_names(struct cprof_data *d)
{
	size_t changed = 0;
	for (size_t i = 0; i < d->frames.n; i++) {
		struct cprof_frame *f = &d->frames.v[i];
		if (f->full && f->full != f->func) {
			f->func = f->full;
			changed++;
		}
	}
	if (changed) {
		/* The frame index hashes names: it no longer matches. */
		free(d->frame_idx.slot);
		d->frame_idx = (struct hashidx){ 0 };
	}
	return changed;
}

/*
 * Go's runtime frames that carry no work of their own, only control: the
 * root of every goroutine (goexit) and of the main one (runtime.main), the
 * switches to the system and scheduler stacks (systemstack, mcall,
 * morestack, asmcgocall), the thread entry (rt0_go, mstart), asynchronous
 * preemption, and the functions mcall runs to leave a goroutine (park_m,
 * gosched_m, ...), which all end in runtime.schedule.
 * Names from Go 1.19 to 1.22's runtime; ABI wrappers (".abi0") match too.
 */
static const char *const go_drop[] = {
	"runtime.asmcgocall",
	"runtime.asyncPreempt",
	"runtime.asyncPreempt2",
	"runtime.exitsyscall0",
	"runtime.goexit",
	"runtime.goexit0",
	"runtime.goexit1",
	"runtime.gopreempt_m",
	"runtime.gosched_m",
	"runtime.goschedImpl",
	"runtime.goschedguarded_m",
	"runtime.main",
	"runtime.mcall",
	"runtime.morestack",
	"runtime.morestack_noctxt",
	"runtime.mstart",
	"runtime.mstart0",
	"runtime.mstart1",
	"runtime.park_m",
	"runtime.preemptPark",
	"runtime.rt0_go",
	"runtime.systemstack",
	"runtime.systemstack_switch",
};

enum go_runtime_class go_runtime_class(const char *func)
{
	if (strncmp(func, "runtime.", 8) != 0)
		return GO_KEEP;
	char name[64];
	size_t n = strlen(func);
	if (n >= sizeof name)
		return GO_KEEP;
	memcpy(name, func, n + 1);
	if (n > 5 && strcmp(name + n - 5, ".abi0") == 0)
		name[n - 5] = 0;
	/* The scheduler's loop: what it calls (finding work, stealing it,
	 * sleeping on a futex) is one cost, the cost of scheduling. */
	if (strcmp(name, "runtime.schedule") == 0)
		return GO_FOLD;
	for (size_t i = 0; i < ARRAY_SIZE(go_drop); i++)
		if (strcmp(name, go_drop[i]) == 0)
			return GO_DROP;
	return GO_KEEP;
}

size_t rewrite_fold_go_runtime(struct cprof_data *d)
{
	uint8_t *cls = xcalloc(d->frames.n ? d->frames.n : 1, 1);
	bool any = false;
	for (size_t i = 0; i < d->frames.n; i++) {
		const struct cprof_frame *f = &d->frames.v[i];
		cls[i] = (f->flags & FRF_KERNEL) ? GO_KEEP : (uint8_t)go_runtime_class(cprof_str(d, f->func));
		any |= cls[i] != GO_KEEP;
	}
	size_t nstacks = d->stack_offset.n, changed = 0;
	if (!any || !nstacks) {
		free(cls);
		return 0;
	}
	uint32_t *map = xcalloc(nstacks, sizeof *map);
	VEC(uint32_t) keep = { 0 };
	for (uint32_t s = 0; s < nstacks; s++) {
		uint32_t n = cprof_stack_len(d, s), flags = cprof_stack_flags(d, s);
		/* Copied: adding stacks may move the table under the pointer. */
		keep.n = 0;
		vec_reserve(&keep, n + 1);
		memcpy(keep.v, cprof_stack_frames(d, s), (size_t)n * sizeof *keep.v);
		/* Leaf first: the outermost runtime.schedule becomes the leaf. */
		uint32_t first = 0;
		for (uint32_t i = n; i-- > 0;)
			if (cls[keep.v[i]] == GO_FOLD) {
				first = i;
				break;
			}
		uint32_t m = 0;
		for (uint32_t i = first; i < n; i++)
			if (cls[keep.v[i]] != GO_DROP)
				keep.v[m++] = keep.v[i];
		if (m == 0) /* only plumbing: keep where the sample landed */
			keep.v[m++] = keep.v[first];
		if (m == n) {
			map[s] = s;
			continue;
		}
		map[s] = cprof_add_stack(d, keep.v, m, flags);
	}
	/* The reader checked every reference; stacks added here come last. */
	for (size_t i = 0; i < d->samples.n; i++)
		if (d->samples.v[i].stack < nstacks && map[d->samples.v[i].stack] != d->samples.v[i].stack) {
			d->samples.v[i].stack = map[d->samples.v[i].stack];
			changed++;
		}
	for (size_t i = 0; i < d->mem_sites.n; i++)
		if (d->mem_sites.v[i].stack < nstacks)
			d->mem_sites.v[i].stack = map[d->mem_sites.v[i].stack];
	for (size_t i = 0; i < d->gpu_ops.n; i++)
		if (d->gpu_ops.v[i].stack < nstacks)
			d->gpu_ops.v[i].stack = map[d->gpu_ops.v[i].stack];
	vec_release(&keep);
	free(map);
	free(cls);
	return changed;
}
