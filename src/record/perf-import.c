/*
 * perf-import.c - a perf.data file turned into a cprof recording.
 *
 * data/perfdata.c hands over perf's records in time order; this file keeps
 * them in the struct raw_store that `cprof record` fills from its ring
 * buffers, unwinding each copied user stack on arrival with the same
 * unwinder (so a DWARF-mode perf.data is never held in memory), and then
 * runs the same finishing pass. What differs from a live recording is only
 * where the records come from: perf's sample layout is whatever its
 * attributes say, so samples are taken apart by the reader, not by ring.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>

#include "cprof/data.h"
#include "cprof/perf-import.h"
#include "cprof/perfdata.h"
#include "cprof/record.h"
#include "cprof/unwind.h"

struct importer {
	struct raw_store st;
	const struct perfdata_info *info;
	uint64_t unwound, no_user_regs;
	/* regs_for_unwinder's table */
	uint64_t regs_mask;
	int reg_at[64];
	size_t nregs;
	bool have_layout;
};

static int imp_begin(void *ctx, const struct perfdata_info *info, struct cprof_err *err)
{
	struct importer *im = ctx;
	(void)err;
	im->info = info;
	for (size_t i = 0; i < info->attrs.n; i++) {
		const struct pd_attr *a = &info->attrs.v[i];
		if ((a->sample_type & PERF_SAMPLE_REGS_USER) && (a->sample_type & PERF_SAMPLE_STACK_USER) &&
		    !im->st.unwinder)
			im->st.unwinder = unwinder_new();
	}
	return 0;
}

/* Where each register the unwinder takes (UNWIND_REGS_MASK order) sits in
 * a sample taken with mask, -1 if the sample lacks it. Worked out once per
 * mask: samples of one event all share it. */
static void regs_layout(struct importer *im, uint64_t mask)
{
	im->regs_mask = mask;
	im->nregs = 0;
	for (int b = 0; b < 64; b++) {
		if (!(UNWIND_REGS_MASK >> b & 1))
			continue;
		im->reg_at[im->nregs++] = (mask >> b & 1) ? __builtin_popcountll(mask & ((1ULL << b) - 1)) : -1;
	}
	im->have_layout = true;
}

static size_t regs_for_unwinder(struct importer *im, const struct pd_sample *s, uint64_t *out)
{
	if (!im->have_layout || im->regs_mask != s->regs_mask)
		regs_layout(im, s->regs_mask);
	for (size_t i = 0; i < im->nregs; i++) {
		int at = im->reg_at[i];
		out[i] = at >= 0 && (uint32_t)at < s->regs_nr ? get_le64(s->regs + 8 * (size_t)at) : 0;
	}
	return im->nregs;
}

static int imp_sample(void *ctx, const struct pd_sample *s, struct cprof_err *err)
{
	struct importer *im = ctx;
	struct raw_store *st = &im->st;
	(void)err;
	struct raw_sample x = { .time = s->time, .period = s->period, .pid = s->pid, .tid = s->tid,
				.mode = s->cpumode, .event = (uint16_t)s->attr, .ip_off = st->ips.n };
	bool unwind = st->unwinder && s->stack;
	if (s->callchain) {
		uint64_t keep = s->callchain_nr;
		/* With a stack copy, user frames come from unwinding it: keep the
		 * kernel part of the chain only, as record does. */
		for (uint64_t i = 0; unwind && i < s->callchain_nr; i++)
			if (get_le64(s->callchain + 8 * i) == (uint64_t)PERF_CONTEXT_USER) {
				keep = i;
				break;
			}
		vec_reserve(&st->ips, st->ips.n + keep);
		for (uint64_t i = 0; i < keep; i++)
			st->ips.v[st->ips.n++] = get_le64(s->callchain + 8 * i);
		x.nips = (uint32_t)keep;
		x.callchain = true;
		/* A chain as long as the kernel's limit was cut there (as
		 * record judges it; the file does not say the limit, so this
		 * machine's). */
		uint64_t addrs = 0;
		for (uint64_t i = 0; i < s->callchain_nr; i++)
			addrs += get_le64(s->callchain + 8 * i) < (uint64_t)PERF_CONTEXT_MAX;
		if (st->chain_max && addrs >= st->chain_max)
			x.cut |= RAW_CUT_KERNEL;
	} else {
		vec_push(&st->ips, s->ip);
		x.nips = 1;
	}
	if (unwind && s->regs_abi && s->regs) {
		uint64_t regs[64];
		size_t nregs = regs_for_unwinder(im, s, regs);
		/* dyn < size: the kernel copied less than asked, up to the end
		 * of the stack, so nothing above the copy was lost. */
		bool whole = s->stack_dyn_size < s->stack_size;
		raw_store_append_unwound(st, &x, regs, nregs, s->stack, s->stack_dyn_size, whole);
		im->unwound++;
	} else if (unwind) {
		im->no_user_regs++;
	}
	/* An empty chain (nothing but context markers): the sampled ip is all
	 * there is, and a sample always has a frame. */
	bool any = false;
	for (uint32_t i = 0; i < x.nips && !any; i++)
		any = st->ips.v[x.ip_off + i] < (uint64_t)PERF_CONTEXT_MAX;
	if (!any) {
		vec_push(&st->ips, s->ip);
		x.nips++;
	}
	raw_store_intern(st, &x);
	vec_push(&st->samples, x);
	return 0;
}

static bool same_path_build_id(const struct pd_build_id *b, const struct pd_mmap *m)
{
	return strcmp(b->path, m->path) == 0 && (b->pid == m->pid || b->pid == (uint32_t)-1);
}

static int imp_mmap(void *ctx, const struct pd_mmap *m, struct cprof_err *err)
{
	struct importer *im = ctx;
	(void)err;
	/* Kernel mappings (perf's [kernel.kallsyms], modules) are not needed:
	 * kernel addresses resolve through /proc/kallsyms. */
	if (m->kernel || m->pid == (uint32_t)-1)
		return 0;
	if (!m->exec && strcmp(m->path, "[vdso]") != 0)
		return 0;
	struct raw_mmap rm = { .time = m->time, .start = m->start, .len = m->len, .pgoff = m->pgoff, .pid = m->pid,
			       .tid = m->tid, .build_id_size = m->build_id_size };
	memcpy(rm.build_id, m->build_id, sizeof rm.build_id);
	/* perf keeps build ids in the header, not in the records. */
	for (size_t i = 0; !rm.build_id_size && im->info && i < im->info->build_ids.n; i++) {
		const struct pd_build_id *b = &im->info->build_ids.v[i];
		if (same_path_build_id(b, m)) {
			rm.build_id_size = b->size;
			memcpy(rm.build_id, b->id, b->size);
		}
	}
	rm.path = xstrdup(m->path);
	raw_store_add_mmap(&im->st, &rm);
	return 0;
}

static int imp_comm(void *ctx, const struct pd_comm *c, struct cprof_err *err)
{
	struct importer *im = ctx;
	(void)err;
	struct raw_comm rc = { .time = c->time, .pid = c->pid, .tid = c->tid };
	snprintf(rc.comm, sizeof rc.comm, "%s", c->comm);
	if (c->exec && c->pid == c->tid)
		raw_store_exec(&im->st, c->pid, c->time);
	vec_push(&im->st.comms, rc);
	return 0;
}

static int imp_task(void *ctx, const struct pd_task *t, struct cprof_err *err)
{
	struct importer *im = ctx;
	(void)err;
	struct raw_task rt = { .time = t->time, .pid = t->pid, .ppid = t->ppid, .tid = t->tid, .ptid = t->ptid,
			       .exit = t->exit };
	if (im->st.unwinder && !t->exit && t->pid != t->ppid && t->pid == t->tid)
		unwinder_fork(im->st.unwinder, t->pid, t->ppid);
	vec_push(&im->st.tasks, rt);
	return 0;
}

static const struct perfdata_visitor import_visitor = {
	.begin = imp_begin,
	.sample = imp_sample,
	.mmap = imp_mmap,
	.comm = imp_comm,
	.task = imp_task,
};

/* What a period of this event counts, as cprof names units. */
static const char *event_unit(const struct pd_attr *a)
{
	if (a->type == PERF_TYPE_SOFTWARE && (a->config == PERF_COUNT_SW_CPU_CLOCK || a->config == PERF_COUNT_SW_TASK_CLOCK))
		return "ns";
	return "events";
}

static void describe(struct cprof_data *d, const struct perfdata_info *info, const struct importer *im,
		     const char *name)
{
	cprof_meta_set(d, "source", "perf.data");
	cprof_meta_set(d, "input", name);
	if (info->cmdline)
		cprof_meta_set(d, "command", info->cmdline);
	if (info->hostname)
		cprof_meta_set(d, "hostname", info->hostname);
	if (info->perf_version)
		cprof_meta_set(d, "perf_version", info->perf_version);
	if (info->os_release)
		cprof_meta_set(d, "os_release", info->os_release);
	if (info->nr_cpus)
		cprof_meta_setf(d, "cpus", "%u", info->nr_cpus);
	cprof_meta_set(d, "perf_mode", info->pipe ? "pipe" : "file");
	if (info->compressed)
		cprof_meta_set(d, "perf_compressed", "zstd");
	if (info->first_time) {
		cprof_meta_setf(d, "start_time_ns", "%" PRIu64, info->first_time);
		cprof_meta_setf(d, "duration_ns", "%" PRIu64, info->last_time - info->first_time);
	}
	cprof_meta_setf(d, "lost_samples", "%" PRIu64, info->lost_records + info->lost_samples);
	if (info->malformed)
		cprof_meta_setf(d, "malformed_records", "%" PRIu64, info->malformed);
	const struct pd_attr *a0 = info->attrs.n ? &info->attrs.v[0] : NULL;
	if (a0 && (a0->sample_type & PERF_SAMPLE_STACK_USER))
		cprof_meta_setf(d, "call_graph", "dwarf,%u", a0->stack_user);
	else
		cprof_meta_set(d, "call_graph", a0 && (a0->sample_type & PERF_SAMPLE_CALLCHAIN) ? "fp" : "none");
	if (a0)
		cprof_meta_set(d, "kernel_samples", a0->exclude_kernel ? "excluded" : "included");
	if (im->st.unwinder) {
		struct unwinder_stats us;
		unwinder_get_stats(im->st.unwinder, &us);
		cprof_meta_setf(d, "unwind_samples", "%" PRIu64, us.samples);
		cprof_meta_setf(d, "unwind_truncated", "%" PRIu64, us.truncated);
		cprof_meta_setf(d, "unwind_failed", "%" PRIu64, us.failed);
		cprof_meta_setf(d, "unwind_fast", "%" PRIu64, us.fast);
		if (us.verified)
			cprof_meta_setf(d, "unwind_verify_mismatches", "%" PRIu64, us.verify_mismatches);
	}
	for (size_t i = 0; i < info->attrs.n; i++) {
		const struct pd_attr *a = &info->attrs.v[i];
		struct cprof_event e = { .name = cprof_intern(d, a->name), .unit = cprof_intern(d, event_unit(a)),
					 .type = a->type, .config = a->config, .period = a->period,
					 .flags = a->freq ? EVF_FREQ : 0 };
		vec_push(&d->events, e);
	}
}

int perf_import(struct cprof_data *d, FILE *fp, const uint8_t *magic, size_t magic_len, const char *name,
		struct cprof_err *err)
{
	struct importer im;
	struct perfdata_info info;
	memset(&im, 0, sizeof im);
	im.st.chain_max = perf_max_stack_sysctl();
	cprof_data_init(d);
	int r = perfdata_read(fp, magic, magic_len, name, &import_visitor, &im, &info, err);
	if (r >= 0 && info.attrs.n > UINT16_MAX)
		r = err_set(err, EBADMSG, "'%s': more events than cprof can keep apart", name);
	if (r >= 0) {
		describe(d, &info, &im, name);
		struct resolve_stats rs;
		r = resolve_samples(d, &im.st, &rs, err);
	}
	unwinder_free(im.st.unwinder);
	im.st.unwinder = NULL;
	raw_store_release(&im.st);
	perfdata_info_release(&info);
	if (r < 0)
		cprof_data_release(d);
	return r < 0 ? r : 0;
}
