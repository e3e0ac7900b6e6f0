/*
 * gpu-sections.c - the GPU sections of cprof.data (SECTION_GPU_OPS and
 * SECTION_GPU_API): bytes out for the writer, validated records in for the
 * reader. Like the rest of the reader it trusts nothing: kinds, string
 * offsets, stack indexes and time order are checked before use.
 */
#include <errno.h>

#include "cprof/data.h"

void gpu_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[GO_SIZE > GA_SIZE ? GO_SIZE : GA_SIZE];
	*count = 0;
	if (type == SECTION_GPU_OPS) {
		sbuf_grow(out, d->gpu_ops.n * GO_SIZE);
		for (size_t i = 0; i < d->gpu_ops.n; i++) {
			gpu_op_encode(rec, &d->gpu_ops.v[i]);
			sbuf_add(out, rec, GO_SIZE);
		}
		*count = (uint32_t)d->gpu_ops.n;
	} else if (type == SECTION_GPU_API) {
		sbuf_grow(out, d->gpu_api.n * GA_SIZE);
		for (size_t i = 0; i < d->gpu_api.n; i++) {
			gpu_api_encode(rec, &d->gpu_api.v[i]);
			sbuf_add(out, rec, GA_SIZE);
		}
		*count = (uint32_t)d->gpu_api.n;
	}
}

/*
 * The longest a GPU operation or API call can last: the recording's length,
 * when the file states it (record writes duration_ns; CUPTI's clock is
 * CLOCK_MONOTONIC, as the recorder's), plus a second for clock granularity.
 * Otherwise 2^62 ns (146 years), which no CLOCK_MONOTONIC span reaches.
 */
static uint64_t longest_plausible(const struct cprof_data *d)
{
	const char *s = cprof_meta_get(d, "duration_ns");
	uint64_t v = 0;
	for (const char *p = s; p && *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return 1ULL << 62;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return s && *s && v < (1ULL << 62) - 1000000000ULL ? v + 1000000000ULL : 1ULL << 62;
}

int gpu_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t slen = d->strings.len;
	uint64_t longest = longest_plausible(d), busy = 0, bytes = 0;
	if (type == SECTION_GPU_OPS) {
		if (len != (size_t)count * GO_SIZE)
			return err_set(err, EBADMSG, "'%s': GPU activity table is malformed", name);
		vec_reserve(&d->gpu_ops, count);
		for (uint32_t i = 0; i < count; i++) {
			struct cprof_gpu_op op;
			gpu_op_decode(p + (size_t)i * GO_SIZE, &op);
			if (op.kind == 0 || op.kind >= _GPU_OP_MAX)
				return err_set(err, EBADMSG, "'%s': GPU activity %u has unknown kind %u", name, i, op.kind);
			if (op.name >= slen)
				return err_set(err, EBADMSG, "'%s': GPU activity %u refers to a missing string", name, i);
			if (op.stack != GPU_NO_STACK && op.stack >= d->stack_offset.n)
				return err_set(err, EBADMSG, "'%s': GPU activity %u refers to missing stack %u", name, i,
					       op.stack);
			if (op.end < op.start)
				return err_set(err, EBADMSG, "'%s': GPU activity %u ends before it starts", name, i);
			if (op.end - op.start > longest)
				return err_set(err, EBADMSG, "'%s': GPU activity %u lasts %llu ns, longer than the recording",
					       name, i, (unsigned long long)(op.end - op.start));
			/* The views sum durations and bytes: the sums must exist. */
			if (__builtin_add_overflow(busy, op.end - op.start, &busy) ||
			    __builtin_add_overflow(bytes, op.bytes, &bytes))
				return err_set(err, EBADMSG, "'%s': GPU activity %u: durations or bytes add up to more "
							     "than 2^64-1", name, i);
			d->gpu_ops.v[d->gpu_ops.n++] = op;
		}
	} else if (type == SECTION_GPU_API) {
		if (len != (size_t)count * GA_SIZE)
			return err_set(err, EBADMSG, "'%s': GPU API table is malformed", name);
		vec_reserve(&d->gpu_api, count);
		for (uint32_t i = 0; i < count; i++) {
			struct cprof_gpu_api a;
			gpu_api_decode(p + (size_t)i * GA_SIZE, &a);
			if (a.name >= slen)
				return err_set(err, EBADMSG, "'%s': GPU API call %u refers to a missing string", name, i);
			if (a.end < a.start)
				return err_set(err, EBADMSG, "'%s': GPU API call %u ends before it starts", name, i);
			if (a.end - a.start > longest)
				return err_set(err, EBADMSG, "'%s': GPU API call %u lasts %llu ns, longer than the recording",
					       name, i, (unsigned long long)(a.end - a.start));
			if (__builtin_add_overflow(busy, a.end - a.start, &busy))
				return err_set(err, EBADMSG, "'%s': GPU API call %u: durations add up to more than 2^64-1",
					       name, i);
			if (a.domain != GPU_API_RUNTIME && a.domain != GPU_API_DRIVER)
				return err_set(err, EBADMSG, "'%s': GPU API call %u has unknown domain %u", name, i,
					       a.domain);
			d->gpu_api.v[d->gpu_api.n++] = a;
		}
	}
	/* Other ids in 24..31 belong to newer writers: skipped like unknown sections. */
	return 0;
}
