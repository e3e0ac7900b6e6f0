/*
 * test-perfdata.c - the perf.data reader on files built byte by byte here:
 * records arrive in time order across flush rounds (as perf report orders
 * them), a zstd stream split over compressed records is reassembled, pipe
 * mode takes its attributes from the stream and skips data that follows a
 * record, sample fields are found from the attribute's sample_type, and
 * damage is reported with the file's name.
 */
#include <linux/perf_event.h>
#include <zstd.h>

#include "harness.h"
#include "cprof/perfdata.h"

struct bytes {
	uint8_t *v;
	size_t n, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	vec_reserve(b, b->n + n);
	memcpy(b->v + b->n, p, n);
	b->n += n;
}
static void u64(struct bytes *b, uint64_t v) { uint8_t x[8]; put_le64(x, v); put(b, x, 8); }
static void u32(struct bytes *b, uint32_t v) { uint8_t x[4]; put_le32(x, v); put(b, x, 4); }

#define ST (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN)

/* A 128-byte perf_event_attr: cpu-clock, ST, sample_id_all. */
static void attr(struct bytes *b, uint64_t sample_type)
{
	uint8_t a[128] = { 0 };
	put_le32(a + 0, PERF_TYPE_SOFTWARE);
	put_le32(a + 4, sizeof a);
	put_le64(a + 8, PERF_COUNT_SW_CPU_CLOCK);
	put_le64(a + 16, 999);
	put_le64(a + 24, sample_type);
	put_le64(a + 40, 1ULL << 10 | 1ULL << 18); /* freq, sample_id_all */
	put(b, a, sizeof a);
}

static void hdr(struct bytes *b, uint32_t type, uint16_t misc, uint16_t size)
{
	u32(b, type);
	uint8_t x[4];
	put_le16(x, misc);
	put_le16(x + 2, size);
	put(b, x, 4);
}

/* sample: ip, pid/tid, time, period, callchain of 2 */
static void sample(struct bytes *b, uint64_t t, uint32_t tid)
{
	hdr(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, 8 + 8 * 4 + 8 * 3);
	u64(b, 0x401000 + t);
	u32(b, 100);
	u32(b, tid);
	u64(b, t);
	u64(b, 1000 + t);
	u64(b, 2);
	u64(b, 0x401000 + t);
	u64(b, 0x402000);
}

/* MMAP2 of "/bin/x" with the TID, TIME trailer. */
static void mmap2(struct bytes *b, uint64_t t)
{
	hdr(b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER, 72 + 8 + 16);
	u32(b, 100);
	u32(b, 100);
	u64(b, 0x400000);
	u64(b, 0x10000);
	u64(b, 0);
	uint8_t z[24] = { 0 };
	put(b, z, 24);
	u32(b, 5); /* PROT_READ | PROT_EXEC */
	u32(b, 2);
	put(b, "/bin/x\0\0", 8);
	u32(b, 100);
	u32(b, 100);
	u64(b, t);
}

static void round_end(struct bytes *b) { hdr(b, 68, 0, 8); }

struct seen {
	uint64_t times[32];
	char kinds[32];
	int n;
	uint64_t periods, chain;
};

static int on_sample(void *ctx, const struct pd_sample *s, struct cprof_err *err)
{
	struct seen *w = ctx;
	(void)err;
	if (w->n < 32) {
		w->times[w->n] = s->time;
		w->kinds[w->n++] = 's';
	}
	w->periods += s->period;
	if (s->callchain_nr == 2 && get_le64(s->callchain + 8) == 0x402000)
		w->chain++;
	return 0;
}

static int on_mmap(void *ctx, const struct pd_mmap *m, struct cprof_err *err)
{
	struct seen *w = ctx;
	(void)err;
	ASSERT_STREQ(m->path, "/bin/x");
	ASSERT(m->exec);
	if (w->n < 32) {
		w->times[w->n] = m->time;
		w->kinds[w->n++] = 'm';
	}
	return 0;
}

static const struct perfdata_visitor visitor = { .sample = on_sample, .mmap = on_mmap };

/* A file-mode perf.data around the records in data. */
static void file_mode(struct bytes *out, const struct bytes *data)
{
	uint8_t h[104] = { 0 };
	memcpy(h, "PERFILE2", 8);
	put_le64(h + 8, 104);
	put_le64(h + 16, 128 + 16);      /* attr_size */
	put_le64(h + 24, 104);           /* attrs */
	put_le64(h + 32, 128 + 16);
	put_le64(h + 40, 104 + 144);     /* data */
	put_le64(h + 48, data->n);
	put(out, h, sizeof h);
	attr(out, ST);
	u64(out, 0);                     /* no ids */
	u64(out, 0);
	put(out, data->v, data->n);
	/* no features */
}

TEST(time_order_across_rounds)
{
	struct bytes data = { 0 }, file = { 0 };
	/* Round 1 holds CPU 1's mapping at 100 and CPU 0's sample at 50; round
	 * 2 brings a sample at 40 that CPU 0 had not written yet, then 150. */
	mmap2(&data, 100);
	sample(&data, 50, 100);
	round_end(&data);
	sample(&data, 40, 101);
	sample(&data, 150, 101);
	round_end(&data);
	file_mode(&file, &data);
	struct seen w = { 0 };
	struct perfdata_info info;
	struct cprof_err err;
	ASSERT_OK(perfdata_read_mem(file.v, file.n, "t.data", &visitor, &w, &info, &err));
	ASSERT_EQ(w.n, 4);
	ASSERT_EQ(w.times[0], 40);
	ASSERT_EQ(w.times[1], 50);
	ASSERT_EQ(w.times[2], 100);
	ASSERT_EQ(w.kinds[2], 'm');
	ASSERT_EQ(w.times[3], 150);
	ASSERT_EQ(w.chain, 3);
	ASSERT_EQ(w.periods, 1040 + 1050 + 1150);
	ASSERT_EQ(info.samples, 3);
	ASSERT_STREQ(info.attrs.v[0].name, "cpu-clock");
	ASSERT(info.attrs.v[0].freq);
	perfdata_info_release(&info);

	/* Cut anywhere: an error naming the file (no cut of it is whole). */
	for (size_t cut = 0; cut < file.n; cut += 7) {
		ASSERT(perfdata_read_mem(file.v, cut, "cut.data", &visitor, &w, &info, &err) < 0);
		ASSERT(strstr(err.msg, "'cut.data'"));
		perfdata_info_release(&info);
	}
	free(data.v);
	free(file.v);
}

TEST(compressed_across_records)
{
	struct bytes plain = { 0 }, data = { 0 }, file = { 0 };
	for (int i = 0; i < 20; i++)
		sample(&plain, 10 + (uint64_t)i, 100);
	size_t cap = ZSTD_compressBound(plain.n);
	uint8_t *z = malloc(cap);
	size_t zn = ZSTD_compress(z, cap, plain.v, plain.n, 3);
	ASSERT(!ZSTD_isError(zn));
	/* Split the frame in the middle: a record straddles the two. */
	size_t half = zn / 2;
	hdr(&data, 81, 0, (uint16_t)(8 + half));
	put(&data, z, half);
	hdr(&data, 81, 0, (uint16_t)(8 + zn - half));
	put(&data, z + half, zn - half);
	file_mode(&file, &data);
	struct seen w = { 0 };
	struct perfdata_info info;
	struct cprof_err err;
	ASSERT_OK(perfdata_read_mem(file.v, file.n, "z.data", &visitor, &w, &info, &err));
	ASSERT_EQ(info.samples, 20);
	ASSERT(info.compressed);
	ASSERT_EQ(w.times[19], 29);
	perfdata_info_release(&info);

	/* perf's way: one stream, flushed, never ended; here it stops ten
	 * bytes short of the last record. */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer in = { plain.v, plain.n - 10, 0 };
	ZSTD_outBuffer zo = { z, cap, 0 };
	ASSERT(!ZSTD_isError(ZSTD_compressStream2(cc, &zo, &in, ZSTD_e_flush)));
	ZSTD_freeCCtx(cc);
	struct bytes part = { 0 }, pfile = { 0 };
	hdr(&part, 81, 0, (uint16_t)(8 + zo.pos));
	put(&part, z, zo.pos);
	file_mode(&pfile, &part);
	memset(&w, 0, sizeof w);
	ASSERT(perfdata_read_mem(pfile.v, pfile.n, "short.data", &visitor, &w, &info, &err) < 0);
	ASSERT(strstr(err.msg, "'short.data': truncated"));
	perfdata_info_release(&info);
	free(z);
	free(plain.v);
	free(data.v);
	free(file.v);
	free(part.v);
	free(pfile.v);
}

TEST(pipe_mode)
{
	struct bytes b = { 0 };
	put(&b, "PERFILE2", 8);
	u64(&b, 16);
	/* HEADER_ATTR: the attribute and one id */
	hdr(&b, 64, 0, 8 + 128 + 8);
	attr(&b, ST);
	u64(&b, 7);
	/* tracing data record followed by 12 bytes of data (padded to 16) */
	hdr(&b, 66, 0, 16);
	u32(&b, 12);
	u32(&b, 0);
	put(&b, "0123456789abcdef", 16);
	mmap2(&b, 5);
	sample(&b, 6, 100);
	round_end(&b);
	struct seen w = { 0 };
	struct perfdata_info info;
	struct cprof_err err;
	ASSERT_OK(perfdata_read_mem(b.v, b.n, "p.data", &visitor, &w, &info, &err));
	ASSERT(info.pipe);
	ASSERT_EQ(info.samples, 1);
	ASSERT_EQ(info.attrs.n, 1);
	ASSERT_EQ(info.attrs.v[0].ids.v[0], 7);
	perfdata_info_release(&info);

	/* A sample before any attribute cannot be parsed. */
	struct bytes nb = { 0 };
	put(&nb, "PERFILE2", 8);
	u64(&nb, 16);
	sample(&nb, 6, 100);
	ASSERT(perfdata_read_mem(nb.v, nb.n, "n.data", &visitor, &w, &info, &err) < 0);
	ASSERT(strstr(err.msg, "no event attributes"));
	perfdata_info_release(&info);
	free(b.v);
	free(nb.v);
}

TEST(rejects)
{
	struct perfdata_info info;
	struct cprof_err err;
	static const uint8_t be[16] = "2ELIFREP";
	ASSERT(perfdata_read_mem(be, sizeof be, "be.data", NULL, NULL, &info, &err) < 0);
	ASSERT(strstr(err.msg, "big-endian"));
	perfdata_info_release(&info);
	/* A record claiming 4 bytes cannot be stepped over. */
	struct bytes d = { 0 }, f = { 0 };
	hdr(&d, PERF_RECORD_SAMPLE, 0, 4);
	u32(&d, 0);
	file_mode(&f, &d);
	ASSERT(perfdata_read_mem(f.v, f.n, "s.data", NULL, NULL, &info, &err) < 0);
	ASSERT(strstr(err.msg, "impossible size"));
	perfdata_info_release(&info);
	free(d.v);
	free(f.v);
}

/* A sample with a callchain of n frames, so records differ in size. */
static void sample_n(struct bytes *b, uint64_t t, uint32_t tid, unsigned n)
{
	hdr(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(8 + 8 * 4 + 8 * (1 + n)));
	u64(b, 0x401000 + t);
	u32(b, 100);
	u32(b, tid);
	u64(b, t);
	u64(b, 1000 + t);
	u64(b, n);
	for (unsigned k = 0; k < n; k++)
		u64(b, 0x402000 + k);
}

struct order {
	uint64_t *times;
	size_t n, cap;
	uint64_t periods;
};

static int on_sample_order(void *ctx, const struct pd_sample *s, struct cprof_err *err)
{
	struct order *o = ctx;
	(void)err;
	ASSERT(o->n < o->cap);
	o->times[o->n++] = s->time;
	o->periods += s->period;
	ASSERT_EQ(get_le64(s->callchain + 8 * (s->callchain_nr - 1)), 0x402000 + s->callchain_nr - 1);
	return 0;
}

static const struct perfdata_visitor order_visitor = { .sample = on_sample_order };

/* perfdata_read on a real file: data in the file as read_mem reads it. */
static int read_file(const struct bytes *file, const char *name, struct order *o, struct perfdata_info *info,
		     struct cprof_err *err)
{
	FILE *fp = tmpfile();
	ASSERT(fp);
	ASSERT_EQ(fwrite(file->v, 1, file->n, fp), file->n);
	ASSERT(fflush(fp) == 0);
	rewind(fp);
	int r = perfdata_read(fp, file->v, file->n < 8 ? file->n : 8, name, &order_visitor, o, info, err);
	fclose(fp);
	return r;
}

/* A regular file is read in chunks, not mapped: records cut by the end of
 * a chunk, chunks held by queued records across rounds, and data after a
 * record that reaches past the chunk, with chunks as small as they go. */
TEST(file_read_in_chunks)
{
	enum { ROUNDS = 60, PER_ROUND = 97 };
	struct bytes data = { 0 }, file = { 0 };
	uint64_t t0 = 1000;
	for (int r = 0; r < ROUNDS; r++) {
		/* Each round's samples in falling time order, all after the round before. */
		for (int k = PER_ROUND - 1; k >= 0; k--)
			sample_n(&data, t0 + (uint64_t)k, 100 + (uint32_t)(k % 3), 1 + (unsigned)((r * 7 + k) % 60));
		t0 += PER_ROUND;
		round_end(&data);
		if (r == ROUNDS / 2) {
			/* Tracing data of 150,000 bytes after its record, skipped. */
			hdr(&data, 66, 0, 16);
			u32(&data, 150000);
			u32(&data, 0);
			struct bytes junk = { 0 };
			vec_reserve(&junk, 150000);
			memset(junk.v, 0xee, 150000);
			put(&data, junk.v, 150000);
			free(junk.v);
		}
	}
	file_mode(&file, &data);
	ASSERT(file.n > 5 * (65536 + 8));

	size_t want = ROUNDS * PER_ROUND;
	struct order mem = { .times = calloc(want, 8), .cap = want }, fil = { .times = calloc(want, 8), .cap = want };
	struct perfdata_info info;
	struct cprof_err err;
	ASSERT_OK(perfdata_read_mem(file.v, file.n, "m.data", &order_visitor, &mem, &info, &err));
	perfdata_info_release(&info);
	ASSERT_EQ(mem.n, want);
	for (size_t i = 1; i < mem.n; i++)
		ASSERT(mem.times[i] == mem.times[i - 1] + 1);

	size_t saved = perfdata_read_chunk;
	size_t chunks[] = { 1, 65536 + 8, 100000, 1u << 20 };
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		perfdata_read_chunk = chunks[c];
		fil.n = 0;
		fil.periods = 0;
		ASSERT_OK(read_file(&file, "f.data", &fil, &info, &err));
		ASSERT_EQ(info.samples, want);
		perfdata_info_release(&info);
		ASSERT_EQ(fil.n, mem.n);
		ASSERT(memcmp(fil.times, mem.times, mem.n * 8) == 0);
		ASSERT_EQ(fil.periods, mem.periods);
	}

	/* Cut short: the same kind of error as from memory, naming the file. */
	perfdata_read_chunk = 65536 + 8;
	struct bytes cut = { 0 };
	for (size_t at = file.n - 1; at > 104; at -= file.n / 13) {
		cut.n = 0;
		put(&cut, file.v, at);
		put_le64(cut.v + 48, data.n); /* the header still promises all the data */
		fil.n = 0;
		ASSERT(read_file(&cut, "cut.data", &fil, &info, &err) < 0);
		ASSERT(strstr(err.msg, "'cut.data'"));
		perfdata_info_release(&info);
	}
	perfdata_read_chunk = saved;
	free(cut.v);
	free(mem.times);
	free(fil.times);
	free(data.v);
	free(file.v);
}

RUN_TESTS(T(time_order_across_rounds), T(file_read_in_chunks), T(compressed_across_records), T(pipe_mode), T(rejects))
