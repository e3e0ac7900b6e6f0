/*
 * source.c - memory as a data source of `cprof record` (source.h): the
 * option --mem[=exact|sample[:BYTES]], and the hooks that drive memrec.c
 * (the shim preloaded into the workload, its regions, their stacks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/mem-record.h"
#include "cprof/source.h"

/* What --mem asked for, and the recording's side of the tracer. */
struct mem_source {
	bool sample;
	uint64_t sample_bytes;
	struct memrec rec;
};

/* --mem's value: exact (the default) or sample[:BYTES]. */
static int parse_mem(const char *arg, struct mem_source *m)
{
	if (!arg || strcmp(arg, "exact") == 0)
		return 0;
	if (strncmp(arg, "sample", 6) != 0 || (arg[6] && arg[6] != ':'))
		return -EINVAL;
	m->sample = true;
	m->sample_bytes = 512 * 1024;
	if (!arg[6])
		return 0;
	char num[32];
	size_t n = strlen(arg + 7);
	if (n == 0 || n >= sizeof num)
		return -EINVAL;
	memcpy(num, arg + 7, n + 1);
	uint64_t mult = 1, v;
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	}
	if (mult > 1)
		num[n - 1] = 0;
	if (parse_u64(num, &v) < 0 || v == 0 || v > (1ull << 40) / mult)
		return -EINVAL;
	m->sample_bytes = v * mult;
	return 0;
}

static void *mem_configure(const char *arg, struct cprof_err *err)
{
	struct mem_source *m = xcalloc(1, sizeof *m);
	if (parse_mem(arg, m) < 0) {
		err_set(err, EINVAL, "--mem takes exact or sample[:BYTES] (BYTES from 1 to 1T, suffix K, M or G), "
				     "not '%s'", arg);
		free(m);
		return NULL;
	}
	return m;
}

static int mem_prepare(void *state, struct cprof_err *err)
{
	struct mem_source *m = state;
	return memrec_prepare(&m->rec, m->sample, m->sample_bytes, err);
}

static void mem_started(void *state)
{
	memrec_restore_env(&((struct mem_source *)state)->rec);
}

static int mem_collect(void *state, struct cprof_err *err)
{
	return memrec_collect(&((struct mem_source *)state)->rec, err);
}

static void mem_stacks(void *state, struct resolver *res)
{
	memrec_stacks(&((struct mem_source *)state)->rec, res);
}

static int mem_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	memrec_finish(&((struct mem_source *)state)->rec, f->res, f->raw, f->d, f->quiet, f->notes);
	return 0;
}

static void mem_release(void *state)
{
	struct mem_source *m = state;
	if (!m)
		return;
	memrec_cleanup(&m->rec);
	free(m);
}

const struct source_ops mem_source = {
	.name = "mem",
	.usage = "[--mem[=sample[:BYTES]]]",
	.help = "      --mem              also trace every allocation (malloc family, anonymous\n"
		"                         mmap) with its stack: leaks, peak heap, hot spots\n"
		"                         (see 'cprof report --mem'); not with -p\n"
		"      --mem=sample[:BYTES]  sample allocations instead, one per BYTES allocated\n"
		"                         on average (default 512K; suffixes K, M, G): hot\n"
		"                         spots and live heap as estimates with their error,\n"
		"                         at a few percent of the cost; leaks are not exact\n",
	.takes_arg = true,
	.launch_only = "the allocator is traced from the program's start",
	.configure = mem_configure,
	.prepare = mem_prepare,
	.started = mem_started,
	.collect = mem_collect,
	.stacks = mem_stacks,
	.finish = mem_finish,
	.release = mem_release,
	.view = &mem_view,
};
