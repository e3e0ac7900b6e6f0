/*
 * writer.c - serialize struct cprof_data into the cprof.data layout of
 * data-format.h, compressing large sections with zstd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "cprof/data.h"
#include "cprof/outfile.h"
#include "cprof/mem-data.h"
#include "code-data.h"

/* Sections smaller than this are stored raw: compression would not pay. */
#define COMPRESS_MIN 4096

struct section_out {
	uint32_t type, count;
	struct sbuf raw;
};

static void section_bytes(const struct cprof_data *d, uint32_t type, struct section_out *s)
{
	uint8_t rec[64];
	s->type = type;
	s->raw = (struct sbuf)SBUF_INIT;
	switch (type) {
	case SECTION_META:
		for (size_t i = 0; i < d->meta.n; i++) {
			const char *k = cprof_str(d, d->meta.v[i].key), *v = cprof_str(d, d->meta.v[i].value);
			sbuf_add(&s->raw, k, strlen(k) + 1);
			sbuf_add(&s->raw, v, strlen(v) + 1);
		}
		s->count = (uint32_t)d->meta.n;
		break;
	case SECTION_STRINGS:
		if (d->strings.len)
			sbuf_add(&s->raw, d->strings.buf, d->strings.len);
		else
			sbuf_addc(&s->raw, 0);
		s->count = 0;
		break;
	case SECTION_EVENTS:
		for (size_t i = 0; i < d->events.n; i++) {
			const struct cprof_event *e = &d->events.v[i];
			memset(rec, 0, EV_SIZE);
			put_le32(rec + EV_NAME, e->name);
			put_le32(rec + EV_TYPE, e->type);
			put_le64(rec + EV_CONFIG, e->config);
			put_le64(rec + EV_PERIOD, e->period);
			put_le32(rec + EV_FLAGS, e->flags);
			put_le32(rec + EV_UNIT, e->unit);
			sbuf_add(&s->raw, rec, EV_SIZE);
		}
		s->count = (uint32_t)d->events.n;
		break;
	case SECTION_THREADS:
		for (size_t i = 0; i < d->threads.n; i++) {
			const struct cprof_thread *t = &d->threads.v[i];
			memset(rec, 0, TH_SIZE);
			put_le32(rec + TH_PID, t->pid);
			put_le32(rec + TH_TID, t->tid);
			put_le32(rec + TH_COMM, t->comm);
			put_le32(rec + TH_PPID, t->ppid);
			put_le64(rec + TH_SAMPLES, t->samples);
			sbuf_add(&s->raw, rec, TH_SIZE);
		}
		s->count = (uint32_t)d->threads.n;
		break;
	case SECTION_FRAMES:
		for (size_t i = 0; i < d->frames.n; i++) {
			const struct cprof_frame *f = &d->frames.v[i];
			memset(rec, 0, FR_SIZE);
			put_le32(rec + FR_FUNC, f->func);
			put_le32(rec + FR_DSO, f->dso);
			put_le32(rec + FR_FILE, f->file);
			put_le32(rec + FR_LINE, f->line);
			put_le64(rec + FR_ADDR, f->addr);
			put_le32(rec + FR_FLAGS, f->flags);
			put_le32(rec + FR_FULL, f->full);
			sbuf_add(&s->raw, rec, FR_SIZE);
		}
		s->count = (uint32_t)d->frames.n;
		break;
	case SECTION_STACKS:
		for (size_t i = 0; i < d->stack_words.n; i++) {
			put_le32(rec, d->stack_words.v[i]);
			sbuf_add(&s->raw, rec, 4);
		}
		s->count = (uint32_t)d->stack_offset.n;
		break;
	case SECTION_SAMPLES:
		sbuf_grow(&s->raw, d->samples.n * SMP_SIZE);
		for (size_t i = 0; i < d->samples.n; i++) {
			const struct cprof_sample *x = &d->samples.v[i];
			memset(rec, 0, SMP_SIZE);
			put_le64(rec + SMP_TIME, x->time);
			put_le64(rec + SMP_PERIOD, x->period);
			put_le32(rec + SMP_PID, x->pid);
			put_le32(rec + SMP_TID, x->tid);
			put_le32(rec + SMP_STACK, x->stack);
			put_le16(rec + SMP_EVENT, x->event);
			rec[SMP_MODE] = x->mode;
			sbuf_add(&s->raw, rec, SMP_SIZE);
		}
		s->count = (uint32_t)d->samples.n;
		break;
	case SECTION_CODE:
		code_section_bytes(d, &s->raw, &s->count);
		break;
	case SECTION_SAMPLE_COUNTS:
		for (size_t i = 0; i < d->sample_counts.n; i++) {
			put_le32(rec, d->sample_counts.v[i]);
			sbuf_add(&s->raw, rec, 4);
		}
		s->count = (uint32_t)d->sample_counts.n;
		break;
	case SECTION_SAMPLE_CPUS:
		for (size_t i = 0; i < d->sample_cpus.n; i++) {
			put_le32(rec, d->sample_cpus.v[i]);
			sbuf_add(&s->raw, rec, 4);
		}
		s->count = (uint32_t)d->sample_cpus.n;
		break;
	case SECTION_SAMPLE_VALUES:
		for (size_t i = 0; i < d->sample_values.n; i++) {
			const struct cprof_sample_value *v = &d->sample_values.v[i];
			put_le32(rec + SV_SAMPLE, v->sample);
			put_le32(rec + SV_EVENT, v->event);
			put_le64(rec + SV_VALUE, v->value);
			sbuf_add(&s->raw, rec, SV_SIZE);
		}
		s->count = (uint32_t)d->sample_values.n;
		break;
	case SECTION_SYS_STATS:
	case SECTION_SYS_ERRORS:
	case SECTION_SYS_SLOW:
	case SECTION_SYS_IO:
		sys_section_bytes(d, type, &s->raw, &s->count);
		break;
	case SECTION_OFFCPU_WAITS:
		offcpu_section_bytes(d, type, &s->raw, &s->count);
		break;
	case SECTION_LAT_STATS:
	case SECTION_LAT_SLOW:
	case SECTION_LAT_HISTS:
	case SECTION_LAT_STACKS:
		lat_section_bytes(d, type, &s->raw, &s->count);
		break;
	case SECTION_GPU_OPS:
	case SECTION_GPU_API:
		gpu_section_bytes(d, type, &s->raw, &s->count);
		break;
	case SECTION_MAPS:
		for (size_t i = 0; i < d->maps.n; i++) {
			const struct cprof_map *m = &d->maps.v[i];
			memset(rec, 0, MA_SIZE);
			put_le64(rec + MA_START, m->start);
			put_le64(rec + MA_LEN, m->len);
			put_le64(rec + MA_PGOFF, m->pgoff);
			put_le32(rec + MA_PID, m->pid);
			put_le32(rec + MA_PATH, m->path);
			rec[MA_BUILD_ID_SIZE] = m->build_id_size > 20 ? 20 : m->build_id_size;
			memcpy(rec + MA_BUILD_ID, m->build_id, 20);
			sbuf_add(&s->raw, rec, MA_SIZE);
		}
		s->count = (uint32_t)d->maps.n;
		break;
	default:
		mem_section_bytes(d, type, &s->raw, &s->count);
		break;
	}
}

int cprof_data_serialize(const struct cprof_data *d, uint8_t **ret, size_t *ret_len, struct cprof_err *err)
{
	static const uint32_t all[] = { SECTION_META,      SECTION_STRINGS,   SECTION_EVENTS,   SECTION_THREADS,
					SECTION_FRAMES,    SECTION_STACKS,    SECTION_SAMPLES,  SECTION_MAPS,
					SECTION_SAMPLE_COUNTS, SECTION_SAMPLE_CPUS, SECTION_SAMPLE_VALUES,
					SECTION_MEM_SITES, SECTION_MEM_PROCS, SECTION_MEM_CURVE, SECTION_MEM_EST,
					SECTION_SYS_STATS, SECTION_SYS_ERRORS, SECTION_SYS_SLOW, SECTION_SYS_IO, SECTION_OFFCPU_WAITS,
					SECTION_LAT_STATS, SECTION_LAT_SLOW, SECTION_LAT_HISTS, SECTION_LAT_STACKS,
					SECTION_GPU_OPS,   SECTION_GPU_API,   SECTION_CODE };
	uint32_t order[ARRAY_SIZE(all)];
	size_t norder = 0;
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		/* Memory and GPU sections only when there is such data, so
		 * CPU-only files stay as they were. */
		if (mem_section_type(all[i]) ? mem_section_present(d, all[i])
		    : gpu_section_type(all[i]) ? (d->gpu_ops.n || d->gpu_api.n)
		    : sys_section_type(all[i]) ? sys_section_present(d, all[i])
		    : all[i] == SECTION_OFFCPU_WAITS ? d->offcpu.n > 0
		    : lat_section_type(all[i]) ? lat_section_present(d, all[i])
		    : all[i] == SECTION_CODE ? d->code.n > 0
		    : all[i] == SECTION_SAMPLE_COUNTS ? d->sample_counts.n > 0
		    : all[i] == SECTION_SAMPLE_CPUS ? d->sample_cpus.n > 0
		    : all[i] == SECTION_SAMPLE_VALUES ? d->sample_values.n > 0 : true)
			order[norder++] = all[i];
	struct sbuf out = SBUF_INIT;
	uint8_t table[ARRAY_SIZE(all) * SEC_ENTRY_SIZE];
	size_t table_len = norder * SEC_ENTRY_SIZE;
	uint8_t hdr[HDR_SIZE] = { 0 };
	int r = 0;

	sbuf_add(&out, hdr, HDR_SIZE); /* filled in at the end */
	for (size_t i = 0; i < norder; i++) {
		struct section_out s;
		section_bytes(d, order[i], &s);
		uint32_t flags = 0;
		const void *stored = s.raw.buf;
		size_t stored_len = s.raw.len;
		void *z = NULL;
		/* The code section is mostly sparse records and repeated bytes:
		 * worth compressing even when small. */
		if (s.raw.len >= COMPRESS_MIN || (order[i] == SECTION_CODE && s.raw.len >= 256)) {
			size_t bound = ZSTD_compressBound(s.raw.len);
			z = xmalloc(bound);
			size_t zn = ZSTD_compress(z, bound, s.raw.buf, s.raw.len, 3);
			if (ZSTD_isError(zn)) {
				r = err_set(err, EIO, "zstd compression failed: %s", ZSTD_getErrorName(zn));
				free(z);
				sbuf_release(&s.raw);
				goto out;
			}
			if (zn < s.raw.len) {
				stored = z;
				stored_len = zn;
				flags |= SECF_ZSTD;
			}
		}
		while (out.len % 8)
			sbuf_addc(&out, 0);
		uint8_t *e = table + i * SEC_ENTRY_SIZE;
		memset(e, 0, SEC_ENTRY_SIZE);
		put_le32(e + SEC_TYPE, order[i]);
		put_le32(e + SEC_FLAGS, flags);
		put_le64(e + SEC_OFFSET, out.len);
		put_le64(e + SEC_SIZE, stored_len);
		put_le64(e + SEC_RAW_SIZE, s.raw.len);
		put_le32(e + SEC_CRC, (uint32_t)crc32(0, stored, (uInt)stored_len));
		put_le32(e + SEC_COUNT, s.count);
		sbuf_add(&out, stored, stored_len);
		free(z);
		sbuf_release(&s.raw);
	}
	while (out.len % 8)
		sbuf_addc(&out, 0);
	uint64_t table_off = out.len;
	sbuf_add(&out, table, table_len);

	uint8_t *h = (uint8_t *)out.buf;
	memcpy(h + HDR_MAGIC, CPROF_MAGIC, 8);
	put_le32(h + HDR_VERSION, CPROF_DATA_VERSION);
	put_le32(h + HDR_HEADER_SIZE, HDR_SIZE);
	put_le32(h + HDR_SECTION_COUNT, (uint32_t)norder);
	put_le64(h + HDR_TABLE_OFFSET, table_off);
	put_le64(h + HDR_FILE_SIZE, out.len);
	put_le32(h + HDR_TABLE_CRC, (uint32_t)crc32(0, table, (uInt)table_len));
	put_le32(h + HDR_CRC, (uint32_t)crc32(0, h, HDR_SIZE));
	*ret_len = out.len;
	*ret = (uint8_t *)sbuf_detach(&out);
	return 0;
out:
	sbuf_release(&out);
	return r;
}

int cprof_data_write(const struct cprof_data *d, struct outfile *out, size_t *ret_len, struct cprof_err *err)
{
	uint8_t *buf;
	size_t len;
	int r = cprof_data_serialize(d, &buf, &len, err);
	if (r < 0) {
		outfile_abort(out);
		return r;
	}
	if (fwrite(buf, 1, len, out->fp) != len) {
		int e = errno ? errno : EIO;
		outfile_abort(out);
		r = err_set(err, e, "cannot write '%s': %s", out->name, strerror(e));
	} else {
		r = outfile_commit(out, err);
	}
	free(buf);
	if (r == 0 && ret_len)
		*ret_len = len;
	return r;
}
