/*
 * lat-sections.c - the function latency sections of cprof.data
 * (SECTION_LAT_*, data-format.h): bytes out for the writer, checked records
 * in for the reader. Nothing is trusted: names, stacks, counts that must add
 * up, percentiles that must be in order.
 */
#include <errno.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/hist.h"

bool lat_section_present(const struct cprof_data *d, uint32_t type)
{
	return type == SECTION_LAT_STATS ? d->lat_stats.n > 0 : type == SECTION_LAT_SLOW ? d->lat_slow.n > 0
	       : type == SECTION_LAT_HISTS ? d->lat_hists.n > 0
	       : type == SECTION_LAT_STACKS ? d->lat_stacks.n > 0 : false;
}

void lat_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[LS_SIZE] = { 0 };
	*count = 0;
	if (type == SECTION_LAT_STATS) {
		for (size_t i = 0; i < d->lat_stats.n; i++) {
			const struct cprof_lat_stat *s = &d->lat_stats.v[i];
			memset(rec, 0, sizeof rec);
			put_le32(rec + LS_NAME, s->name);
			put_le32(rec + LS_PATH, s->path);
			put_le64(rec + LS_OFFSET, s->offset);
			put_le64(rec + LS_CALLS, s->calls);
			put_le64(rec + LS_RETURNED, s->returned);
			put_le64(rec + LS_UNRETURNED, s->unreturned);
			put_le64(rec + LS_SLOW, s->slow);
			put_le64(rec + LS_TOTAL, s->total_ns);
			put_le32(rec + LS_DEPTH, s->depth);
			for (int k = 0; k < PCT_N; k++)
				put_le64(rec + LS_LAT + 8 * k, s->lat[k]);
			sbuf_add(out, rec, LS_SIZE);
		}
		*count = (uint32_t)d->lat_stats.n;
	} else if (type == SECTION_LAT_SLOW) {
		for (size_t i = 0; i < d->lat_slow.n; i++) {
			const struct cprof_lat_slow *s = &d->lat_slow.v[i];
			put_le32(rec + LW_FUNC, s->func);
			put_le32(rec + LW_PID, s->pid);
			put_le32(rec + LW_TID, s->tid);
			put_le32(rec + LW_STACK, s->stack);
			put_le64(rec + LW_START, s->start);
			put_le64(rec + LW_DUR, s->dur);
			sbuf_add(out, rec, LW_SIZE);
		}
		*count = (uint32_t)d->lat_slow.n;
	} else if (type == SECTION_LAT_HISTS) {
		for (size_t i = 0; i < d->lat_hists.n; i++) {
			const struct cprof_lat_hist *h = &d->lat_hists.v[i];
			uint8_t hr[LH_SIZE] = { 0 }, b[LHB_SIZE];
			put_le32(hr + LH_SOURCE, h->source);
			put_le32(hr + LH_KEY, h->key);
			put_le32(hr + LH_PID, h->pid);
			put_le32(hr + LH_TID, h->tid);
			put_le64(hr + LH_COUNT, h->count);
			put_le64(hr + LH_MIN, h->min);
			put_le64(hr + LH_MAX, h->max);
			put_le32(hr + LH_NBUCKETS, h->nbuckets);
			sbuf_add(out, hr, LH_SIZE);
			for (uint32_t k = 0; k < h->nbuckets; k++) {
				const struct cprof_hist_bucket *hb = &d->lat_hist_buckets.v[h->first + k];
				put_le32(b + LHB_INDEX, hb->index);
				put_le64(b + LHB_COUNT, hb->count);
				sbuf_add(out, b, LHB_SIZE);
			}
		}
		*count = (uint32_t)d->lat_hists.n;
	} else if (type == SECTION_LAT_STACKS) {
		for (size_t i = 0; i < d->lat_stacks.n; i++) {
			const struct cprof_lat_stack *k = &d->lat_stacks.v[i];
			uint8_t kr[LK_SIZE];
			put_le32(kr + LK_SOURCE, k->source);
			put_le32(kr + LK_KEY, k->key);
			put_le32(kr + LK_PID, k->pid);
			put_le32(kr + LK_TID, k->tid);
			put_le32(kr + LK_STACK, k->stack);
			put_le32(kr + LK_FLAGS, k->has_oncpu ? LKF_ONCPU : 0);
			put_le64(kr + LK_CALLS, k->calls);
			put_le64(kr + LK_TOTAL, k->total_ns);
			put_le64(kr + LK_ONCPU, k->has_oncpu ? k->oncpu_ns : 0);
			sbuf_add(out, kr, LK_SIZE);
		}
		*count = (uint32_t)d->lat_stacks.n;
	}
}

void lat_hist_put(struct cprof_data *d, uint32_t source, uint32_t key, uint32_t pid, uint32_t tid,
		  const struct hist *h)
{
	struct cprof_lat_hist r = { .source = source, .key = key, .pid = pid, .tid = tid, .count = h->total,
				    .min = h->total ? h->min : 0, .max = h->total ? h->max : 0,
				    .first = (uint32_t)d->lat_hist_buckets.n };
	uint32_t i = 0;
	uint64_t c;
	while ((c = hist_next_bucket(h, &i))) {
		vec_push(&d->lat_hist_buckets, ((struct cprof_hist_bucket){ i, c }));
		r.nbuckets++;
		i++;
	}
	vec_push(&d->lat_hists, r);
}

bool lat_hist_get(const struct cprof_data *d, uint32_t source, uint32_t key, struct hist *out)
{
	hist_release(out);
	for (size_t i = 0; i < d->lat_hists.n; i++) {
		const struct cprof_lat_hist *h = &d->lat_hists.v[i];
		if (h->source != source || h->key != key || h->pid || h->tid)
			continue;
		for (uint32_t k = 0; k < h->nbuckets; k++) {
			const struct cprof_hist_bucket *b = &d->lat_hist_buckets.v[h->first + k];
			hist_add(out, hist_bucket_high(b->index), b->count);
		}
		/* the bucket edges stand for the values: put back the exact ends */
		if (h->count) {
			out->min = h->min;
			out->max = h->max;
		}
		return true;
	}
	return false;
}

void lat_mark_approximated(struct cprof_data *d, const char *source, uint32_t key)
{
	const char *list = cprof_meta_get(d, "lat_approx");
	if (list && *list)
		cprof_meta_setf(d, "lat_approx", "%s,%s:%u", list, source, key);
	else
		cprof_meta_setf(d, "lat_approx", "%s:%u", source, key);
}

bool lat_approximated(const struct cprof_data *d, const char *source, uint32_t key)
{
	const char *list = cprof_meta_get(d, "lat_approx");
	char want[64];
	int n = snprintf(want, sizeof want, "%s:%u", source, key);
	if (!list || n <= 0 || (size_t)n >= sizeof want)
		return false;
	for (const char *p = list; (p = strstr(p, want)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

#define BAD(...) return err_set(err, EBADMSG, __VA_ARGS__)

static int parse_stats(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		       struct cprof_err *err)
{
	vec_reserve(&d->lat_stats, count);
	for (uint32_t i = 0; i < count; i++, p += LS_SIZE) {
		struct cprof_lat_stat s = { .name = get_le32(p + LS_NAME), .path = get_le32(p + LS_PATH),
					    .offset = get_le64(p + LS_OFFSET), .calls = get_le64(p + LS_CALLS),
					    .returned = get_le64(p + LS_RETURNED), .unreturned = get_le64(p + LS_UNRETURNED),
					    .slow = get_le64(p + LS_SLOW), .total_ns = get_le64(p + LS_TOTAL),
					    .depth = get_le32(p + LS_DEPTH) };
		for (int k = 0; k < PCT_N; k++)
			s.lat[k] = get_le64(p + LS_LAT + 8 * k);
		if (s.name >= d->strings.len || s.path >= d->strings.len)
			BAD("'%s': latency row %u refers to a missing string", name, i);
		if (s.returned > s.calls || s.unreturned > s.calls - s.returned || s.slow > s.returned)
			BAD("'%s': latency row %u has more returned, unreturned or slow calls than calls", name, i);
		for (int k = 1; k < PCT_N; k++)
			if (s.lat[k] < s.lat[k - 1])
				BAD("'%s': latency row %u has percentiles out of order", name, i);
		if (s.returned && s.total_ns / s.returned > s.lat[PCT_MAX])
			BAD("'%s': latency row %u: its mean latency exceeds its maximum", name, i);
		d->lat_stats.v[d->lat_stats.n++] = s;
	}
	return 0;
}

static int parse_slow(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		      struct cprof_err *err)
{
	vec_reserve(&d->lat_slow, count);
	for (uint32_t i = 0; i < count; i++, p += LW_SIZE) {
		struct cprof_lat_slow s = { .func = get_le32(p + LW_FUNC), .pid = get_le32(p + LW_PID),
					    .tid = get_le32(p + LW_TID), .stack = get_le32(p + LW_STACK),
					    .start = get_le64(p + LW_START), .dur = get_le64(p + LW_DUR) };
		if (s.func >= d->lat_stats.n)
			BAD("'%s': slow call %u refers to missing function %u", name, i, s.func);
		if (s.stack != LAT_NO_STACK && s.stack >= d->stack_offset.n)
			BAD("'%s': slow call %u refers to missing stack %u", name, i, s.stack);
		if (s.start + s.dur < s.start)
			BAD("'%s': slow call %u ends after the end of time", name, i);
		d->lat_slow.v[d->lat_slow.n++] = s;
	}
	return 0;
}

static int parse_hists(struct cprof_data *d, const uint8_t *p, size_t len, uint32_t count, const char *name,
		       struct cprof_err *err)
{
	const uint8_t *end = p + len;
	for (uint32_t i = 0; i < count; i++) {
		if ((size_t)(end - p) < LH_SIZE)
			BAD("'%s': latency distribution %u is cut short", name, i);
		struct cprof_lat_hist h = { .source = get_le32(p + LH_SOURCE), .key = get_le32(p + LH_KEY),
					    .pid = get_le32(p + LH_PID), .tid = get_le32(p + LH_TID),
					    .count = get_le64(p + LH_COUNT), .min = get_le64(p + LH_MIN),
					    .max = get_le64(p + LH_MAX), .nbuckets = get_le32(p + LH_NBUCKETS),
					    .first = (uint32_t)d->lat_hist_buckets.n };
		p += LH_SIZE;
		if (h.source != LH_SRC_SYSCALLS && h.source != LH_SRC_LATENCY)
			BAD("'%s': latency distribution %u is of unknown source %u", name, i, h.source);
		if (h.source == LH_SRC_LATENCY && h.key >= d->lat_stats.n)
			BAD("'%s': latency distribution %u refers to missing function %u", name, i, h.key);
		if (h.nbuckets > HIST_BUCKETS || (size_t)(end - p) / LHB_SIZE < h.nbuckets)
			BAD("'%s': latency distribution %u has more buckets than it holds", name, i);
		if (!h.count != !h.nbuckets || h.min > h.max)
			BAD("'%s': latency distribution %u: its count, minimum and maximum disagree with its buckets", name, i);
		uint64_t sum = 0;
		for (uint32_t k = 0; k < h.nbuckets; k++, p += LHB_SIZE) {
			struct cprof_hist_bucket b = { get_le32(p + LHB_INDEX), get_le64(p + LHB_COUNT) };
			if (b.index >= HIST_BUCKETS || !b.count ||
			    (k && b.index <= d->lat_hist_buckets.v[d->lat_hist_buckets.n - 1].index))
				BAD("'%s': latency distribution %u has a bad bucket %u", name, i, k);
			if (__builtin_add_overflow(sum, b.count, &sum))
				BAD("'%s': latency distribution %u counts more values than fit", name, i);
			if ((k == 0 && hist_bucket(h.min) != b.index) || (k == h.nbuckets - 1 && hist_bucket(h.max) != b.index))
				BAD("'%s': latency distribution %u: its minimum or maximum is outside its buckets", name, i);
			vec_push(&d->lat_hist_buckets, b);
		}
		if (sum != h.count)
			BAD("'%s': latency distribution %u: its buckets do not add up to its count", name, i);
		vec_push(&d->lat_hists, h);
	}
	if (p != end)
		BAD("'%s': latency distributions (section %u) have bytes left over", name, SECTION_LAT_HISTS);
	return 0;
}

static int parse_stacks(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
			struct cprof_err *err)
{
	vec_reserve(&d->lat_stacks, count);
	for (uint32_t i = 0; i < count; i++, p += LK_SIZE) {
		uint32_t flags = get_le32(p + LK_FLAGS);
		struct cprof_lat_stack k = { .source = get_le32(p + LK_SOURCE), .key = get_le32(p + LK_KEY),
					     .pid = get_le32(p + LK_PID), .tid = get_le32(p + LK_TID),
					     .stack = get_le32(p + LK_STACK), .has_oncpu = flags & LKF_ONCPU,
					     .calls = get_le64(p + LK_CALLS), .total_ns = get_le64(p + LK_TOTAL),
					     .oncpu_ns = get_le64(p + LK_ONCPU) };
		if (k.source != LH_SRC_SYSCALLS && k.source != LH_SRC_LATENCY)
			BAD("'%s': time by stack, row %u is of unknown source %u", name, i, k.source);
		if (k.source == LH_SRC_LATENCY && k.key >= d->lat_stats.n)
			BAD("'%s': time by stack, row %u refers to missing function %u", name, i, k.key);
		if (k.stack != LAT_NO_STACK && (k.stack >= d->stack_offset.n || k.tid))
			BAD("'%s': time by stack, row %u refers to missing stack %u", name, i, k.stack);
		if (!k.calls || (flags & ~LKF_ONCPU) || k.oncpu_ns > k.total_ns || (!k.has_oncpu && k.oncpu_ns))
			BAD("'%s': time by stack, row %u has no calls, unknown flags or more time on a CPU than in "
			    "its calls", name, i);
		d->lat_stacks.v[d->lat_stacks.n++] = k;
	}
	return 0;
}

int lat_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	if (type == SECTION_LAT_HISTS)
		return parse_hists(d, p, len, count, name, err);
	size_t size = type == SECTION_LAT_STATS ? LS_SIZE : type == SECTION_LAT_SLOW ? LW_SIZE
		      : type == SECTION_LAT_STACKS ? LK_SIZE : 0;
	if (!size)
		return 0; /* 38, 39: a newer writer's, skipped like unknown sections */
	if (len != (size_t)count * size)
		BAD("'%s': latency table (section %u) is malformed", name, type);
	return type == SECTION_LAT_STATS ? parse_stats(d, p, count, name, err)
	       : type == SECTION_LAT_SLOW ? parse_slow(d, p, count, name, err) : parse_stacks(d, p, count, name, err);
}
