/*
 * perfdata.c - the perf.data reader (perfdata.h): header, attributes and
 * feature sections, then the data section record by record, decompressed
 * when perf record -z wrote it, sorted by time the way perf report sorts
 * (per flush round), and handed to a visitor parsed.
 *
 * Layouts follow perf's tools/perf/Documentation/perf.data-file-format.txt
 * and the kernel's include/uapi/linux/perf_event.h. Every length read from
 * the file is checked against what is there before it is used; a record
 * too short for its type is counted and skipped, a structure that cannot be
 * walked (a section out of bounds, a record size that cannot be right) ends
 * the read with one message naming the file and the offset.
 *
 * One file: perf.data's layout (header, sections, attrs, records) is read by
 * one walker with one set of checks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <zstd.h>

#include "cprof/perfdata.h"

/* Records perf itself writes into the file (tools/perf/lib/include/perf/event.h). */
enum {
	PD_HEADER_ATTR = 64,
	PD_HEADER_EVENT_TYPE = 65,
	PD_HEADER_TRACING_DATA = 66,
	PD_HEADER_BUILD_ID = 67,
	PD_FINISHED_ROUND = 68,
	PD_ID_INDEX = 69,
	PD_AUXTRACE_INFO = 70,
	PD_AUXTRACE = 71,
	PD_EVENT_UPDATE = 78,
	PD_HEADER_FEATURE = 80,
	PD_COMPRESSED = 81,
	PD_FINISHED_INIT = 82,
};

/* Feature bits of the file header (tools/perf/util/header.h). */
enum {
	FEAT_BUILD_ID = 2,
	FEAT_HOSTNAME = 3,
	FEAT_OSRELEASE = 4,
	FEAT_VERSION = 5,
	FEAT_ARCH = 6,
	FEAT_NRCPUS = 7,
	FEAT_CMDLINE = 11,
	FEAT_EVENT_DESC = 12,
	FEAT_COMPRESSED = 27,
	FEAT_BITS = 256,
};

#define FILE_HEADER_SIZE 104 /* magic, size, attr_size, attrs, data, event_types, features[4] */
#define PIPE_HEADER_SIZE 16
#define ATTR_VER0_SIZE 64
#define EVENT_UPDATE_NAME 2
#define MISC_BUILD_ID_SIZE (1u << 15)

/* perf's ordered events: a record can be no older than the previous round's newest. */
#define QUEUE_MAX_OWNED_BYTES (64u << 20)
#define QUEUE_MAX_ENTRIES (1u << 20)
/* Drop mapped file pages we have passed once this much lies behind. */
#define RELEASE_STEP (8u << 20)

/* A piece of a file read into memory (walk_file); records queued from it
 * keep it until they are delivered. */
struct chunk {
	uint8_t *buf;
	uint32_t refs; /* queued records in it */
};

struct qent {
	uint64_t time, seq;
	const uint8_t *rec; /* aligned copy (owned), into the mapped input, or into chunk */
	bool owned;
	struct chunk *chunk;
};

size_t perfdata_read_chunk = 4u << 20;

struct rd {
	const char *name;
	const struct perfdata_visitor *v;
	void *ctx;
	struct perfdata_info *info;
	struct cprof_err *err;
	bool begun;

	/* The queue of kernel records waiting for their turn. */
	VEC(struct qent) q;
	uint64_t seq, max_time, next_flush, owned_bytes;

	/* Mapped input: pages below 'released' were given back. */
	const uint8_t *map_base;
	size_t map_len, released;
	const uint8_t *cursor; /* where the reader is in the mapping */

	/* A regular file's records are read, not mapped (walk_file). */
	bool from_fd;
	int fd;
	VEC(struct chunk *) chunks;
	struct chunk *cur_chunk; /* holds the record being handled */

	/* perf record -z */
	ZSTD_DStream *zs;
	uint8_t *dbuf;
	size_t dlen, dcap;
	uint64_t compressed_in, decompressed_out;
};

static uint64_t le64(const uint8_t *p) { return get_le64(p); }
static uint32_t le32(const uint8_t *p) { return get_le32(p); }

void perfdata_info_release(struct perfdata_info *info)
{
	for (size_t i = 0; i < info->attrs.n; i++) {
		free(info->attrs.v[i].name);
		vec_release(&info->attrs.v[i].ids);
	}
	vec_release(&info->attrs);
	for (size_t i = 0; i < info->build_ids.n; i++)
		free(info->build_ids.v[i].path);
	vec_release(&info->build_ids);
	free(info->hostname);
	free(info->os_release);
	free(info->perf_version);
	free(info->arch);
	free(info->cmdline);
	memset(info, 0, sizeof *info);
}

bool perfdata_sniff(const void *buf, size_t len)
{
	return len >= 8 && (memcmp(buf, "PERFILE2", 8) == 0 || memcmp(buf, "2ELIFREP", 8) == 0);
}

/* ---- attributes ------------------------------------------------------- */

static const char *sw_names[] = { "cpu-clock", "task-clock", "page-faults", "context-switches",
				  "cpu-migrations", "minor-faults", "major-faults", "alignment-faults",
				  "emulation-faults", "dummy", "bpf-output", "cgroup-switches" };
static const char *hw_names[] = { "cycles", "instructions", "cache-references", "cache-misses",
				  "branches", "branch-misses", "bus-cycles", "stalled-cycles-frontend",
				  "stalled-cycles-backend", "ref-cycles" };

static char *default_name(uint32_t type, uint64_t config)
{
	struct sbuf sb = SBUF_INIT;
	if (type == PERF_TYPE_SOFTWARE && config < ARRAY_SIZE(sw_names))
		sbuf_adds(&sb, sw_names[config]);
	else if (type == PERF_TYPE_HARDWARE && config < ARRAY_SIZE(hw_names))
		sbuf_adds(&sb, hw_names[config]);
	else
		sbuf_addf(&sb, "event %u:0x%llx", type, (unsigned long long)config);
	return sbuf_detach(&sb);
}

/* Parse a perf_event_attr of size asz (>= ATTR_VER0_SIZE) into a new attr. */
static struct pd_attr *add_attr(struct perfdata_info *info, const uint8_t *a, size_t asz)
{
	struct pd_attr at = { 0 };
	at.type = le32(a + 0);
	at.config = le64(a + 8);
	at.period = le64(a + 16);
	at.sample_type = le64(a + 24);
	at.read_format = le64(a + 32);
	uint64_t flags = le64(a + 40);
	at.exclude_user = flags >> 4 & 1;
	at.exclude_kernel = flags >> 5 & 1;
	at.freq = flags >> 10 & 1;
	at.sample_id_all = flags >> 18 & 1;
	if (asz >= 80)
		at.branch_sample_type = le64(a + 72);
	if (asz >= 88)
		at.regs_user_mask = le64(a + 80);
	if (asz >= 92)
		at.stack_user = le32(a + 88);
	if (asz >= 104)
		at.regs_intr_mask = le64(a + 96);
	at.name = default_name(at.type, at.config);
	vec_push(&info->attrs, at);
	return &info->attrs.v[info->attrs.n - 1];
}

static struct pd_attr *attr_by_id(struct perfdata_info *info, uint64_t id)
{
	for (size_t i = 0; i < info->attrs.n; i++)
		for (size_t k = 0; k < info->attrs.v[i].ids.n; k++)
			if (info->attrs.v[i].ids.v[k] == id)
				return &info->attrs.v[i];
	return NULL;
}

/* ---- feature sections -------------------------------------------------- */

/* A perf_header_string: u32 len, then len bytes holding a NUL-padded string. */
static char *take_string(const uint8_t **p, const uint8_t *end)
{
	if (end - *p < 4)
		return NULL;
	uint32_t len = le32(*p);
	if (len > (size_t)(end - *p) - 4)
		return NULL;
	const char *s = (const char *)*p + 4;
	*p += 4 + (size_t)len;
	return xstrndup(s, strnlen(s, len));
}

static void set_string(char **slot, const uint8_t *p, const uint8_t *end, struct perfdata_info *info)
{
	char *s = take_string(&p, end);
	if (!s) {
		info->malformed++;
		return;
	}
	free(*slot);
	*slot = s;
}

static void feat_build_ids(struct perfdata_info *info, const uint8_t *p, const uint8_t *end)
{
	/* perf_record_header_build_id: header, pid, build_id[24] (20 + size byte), filename */
	while (end - p >= 8) {
		uint16_t misc = get_le16(p + 4), size = get_le16(p + 6);
		if (size < 8 + 4 + 24 + 1 || size > end - p) {
			info->malformed++;
			return;
		}
		struct pd_build_id b = { .pid = le32(p + 8) };
		b.size = (misc & MISC_BUILD_ID_SIZE) ? p[12 + 20] : 20;
		if (b.size > 20)
			b.size = 20;
		memcpy(b.id, p + 12, b.size);
		const char *fn = (const char *)p + 36;
		b.path = xstrndup(fn, strnlen(fn, (size_t)size - 36));
		vec_push(&info->build_ids, b);
		p += size;
	}
}

static void feat_cmdline(struct perfdata_info *info, const uint8_t *p, const uint8_t *end)
{
	if (end - p < 4) {
		info->malformed++;
		return;
	}
	uint32_t n = le32(p);
	p += 4;
	struct sbuf sb = SBUF_INIT;
	for (uint32_t i = 0; i < n && i < 4096; i++) {
		char *s = take_string(&p, end);
		if (!s) {
			info->malformed++;
			break;
		}
		if (i)
			sbuf_addc(&sb, ' ');
		sbuf_adds(&sb, s);
		free(s);
	}
	free(info->cmdline);
	info->cmdline = sbuf_detach(&sb);
}

static void feat_event_desc(struct perfdata_info *info, const uint8_t *p, const uint8_t *end)
{
	/* u32 nr, u32 attr_size, then per event: attr, u32 nr_ids, string name, u64 ids[] */
	if (end - p < 8) {
		info->malformed++;
		return;
	}
	uint32_t n = le32(p), asz = le32(p + 4);
	p += 8;
	for (uint32_t i = 0; i < n; i++) {
		if (asz > (size_t)(end - p) || end - p - asz < 4) {
			info->malformed++;
			return;
		}
		p += asz;
		uint32_t nids = le32(p);
		p += 4;
		char *name = take_string(&p, end);
		if (!name || nids > (size_t)(end - p) / 8) {
			free(name);
			info->malformed++;
			return;
		}
		p += (size_t)nids * 8;
		/* The descriptions come in the order of the attributes. */
		if (i < info->attrs.n && *name) {
			free(info->attrs.v[i].name);
			info->attrs.v[i].name = name;
		} else {
			free(name);
		}
	}
}

static void feature(struct perfdata_info *info, unsigned feat, const uint8_t *p, const uint8_t *end)
{
	switch (feat) {
	case FEAT_BUILD_ID: feat_build_ids(info, p, end); break;
	case FEAT_HOSTNAME: set_string(&info->hostname, p, end, info); break;
	case FEAT_OSRELEASE: set_string(&info->os_release, p, end, info); break;
	case FEAT_VERSION: set_string(&info->perf_version, p, end, info); break;
	case FEAT_ARCH: set_string(&info->arch, p, end, info); break;
	case FEAT_NRCPUS:
		if (end - p >= 8)
			info->nr_cpus = le32(p + 4); /* avail, then online */
		break;
	case FEAT_CMDLINE: feat_cmdline(info, p, end); break;
	case FEAT_EVENT_DESC: feat_event_desc(info, p, end); break;
	case FEAT_COMPRESSED: info->compressed = true; break;
	default: break;
	}
}

/* ---- records -------------------------------------------------------------- */

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t take(struct cur *c)
{
	if (c->end - c->p < 8) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	uint64_t v = le64(c->p);
	c->p += 8;
	return v;
}

static void skip(struct cur *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		c->p = c->end;
		return;
	}
	c->p += n;
}

/* The attribute a sample belongs to: by its id when there are several. */
static struct pd_attr *sample_attr(struct perfdata_info *info, const uint8_t *body, const uint8_t *end)
{
	struct pd_attr *a0 = &info->attrs.v[0];
	if (info->attrs.n == 1)
		return a0;
	uint64_t st = a0->sample_type;
	size_t off;
	if (st & PERF_SAMPLE_IDENTIFIER) {
		off = 0;
	} else if (st & PERF_SAMPLE_ID) {
		off = 8 * (size_t)(!!(st & PERF_SAMPLE_IP) + !!(st & PERF_SAMPLE_TID) + !!(st & PERF_SAMPLE_TIME) +
				   !!(st & PERF_SAMPLE_ADDR));
	} else {
		return a0;
	}
	if ((size_t)(end - body) < off + 8)
		return NULL;
	return attr_by_id(info, le64(body + off));
}

/* The attribute describing the sample_id trailer of a non-sample record. */
static struct pd_attr *trailer_attr(struct perfdata_info *info, const uint8_t *rec, size_t len)
{
	struct pd_attr *a0 = &info->attrs.v[0];
	if (info->attrs.n > 1 && (a0->sample_type & PERF_SAMPLE_IDENTIFIER) && len >= 16) {
		struct pd_attr *a = attr_by_id(info, le64(rec + len - 8));
		if (a)
			return a;
	}
	return a0;
}

static size_t trailer_size(uint64_t st)
{
	return 8 * (size_t)(!!(st & PERF_SAMPLE_TID) + !!(st & PERF_SAMPLE_TIME) + !!(st & PERF_SAMPLE_ID) +
			    !!(st & PERF_SAMPLE_STREAM_ID) + !!(st & PERF_SAMPLE_CPU) +
			    !!(st & PERF_SAMPLE_IDENTIFIER));
}

/* Time of a record, for ordering; false if it has none. */
static bool record_time(struct perfdata_info *info, const uint8_t *rec, size_t len, uint64_t *t)
{
	uint32_t type = le32(rec);
	if (type == PERF_RECORD_SAMPLE) {
		struct pd_attr *a = sample_attr(info, rec + 8, rec + len);
		if (!a || !(a->sample_type & PERF_SAMPLE_TIME))
			return false;
		uint64_t st = a->sample_type;
		size_t off = 8 + 8 * (size_t)(!!(st & PERF_SAMPLE_IDENTIFIER) + !!(st & PERF_SAMPLE_IP) +
					      !!(st & PERF_SAMPLE_TID));
		if (len < off + 8)
			return false;
		*t = le64(rec + off);
		return true;
	}
	struct pd_attr *a = trailer_attr(info, rec, len);
	uint64_t st = a->sample_type;
	if (!a->sample_id_all || !(st & PERF_SAMPLE_TIME) || len < 8 + trailer_size(st))
		return false;
	/* TIME is followed in the trailer by ID, STREAM_ID, CPU, IDENTIFIER. */
	size_t after = 8 * (size_t)(!!(st & PERF_SAMPLE_ID) + !!(st & PERF_SAMPLE_STREAM_ID) +
				    !!(st & PERF_SAMPLE_CPU) + !!(st & PERF_SAMPLE_IDENTIFIER));
	*t = le64(rec + len - after - 8);
	return true;
}

/* PERF_SAMPLE_READ: one value (with id, lost) per counter, plus the times. */
#define PD_FORMAT_LOST (1u << 4)
static size_t read_value_size(uint64_t rf)
{
	return 8 + ((rf & PERF_FORMAT_ID) ? 8 : 0) + ((rf & PD_FORMAT_LOST) ? 8 : 0);
}
static size_t read_times_size(uint64_t rf)
{
	return ((rf & PERF_FORMAT_TOTAL_TIME_ENABLED) ? 8 : 0) + ((rf & PERF_FORMAT_TOTAL_TIME_RUNNING) ? 8 : 0);
}

static int deliver_sample(struct rd *rd, const uint8_t *rec, size_t len)
{
	struct perfdata_info *info = rd->info;
	struct pd_attr *a = sample_attr(info, rec + 8, rec + len);
	if (!a) {
		info->malformed++;
		return 0;
	}
	uint64_t st = a->sample_type;
	struct pd_sample s = { .attr = (uint32_t)(a - info->attrs.v), .cpumode = get_le16(rec + 4) & PERF_RECORD_MISC_CPUMODE_MASK };
	struct cur c = { rec + 8, rec + len, false };
	s.period = a->freq ? 1 : a->period;
	if (st & PERF_SAMPLE_IDENTIFIER)
		(void)take(&c);
	if (st & PERF_SAMPLE_IP)
		s.ip = take(&c);
	if (st & PERF_SAMPLE_TID) {
		uint64_t v = take(&c);
		s.pid = (uint32_t)v;
		s.tid = (uint32_t)(v >> 32);
	}
	if (st & PERF_SAMPLE_TIME)
		s.time = take(&c);
	if (st & PERF_SAMPLE_ADDR)
		(void)take(&c);
	if (st & PERF_SAMPLE_ID)
		(void)take(&c);
	if (st & PERF_SAMPLE_STREAM_ID)
		(void)take(&c);
	if (st & PERF_SAMPLE_CPU)
		s.cpu = (uint32_t)take(&c);
	if (st & PERF_SAMPLE_PERIOD)
		s.period = take(&c);
	if (st & PERF_SAMPLE_READ) {
		uint64_t rf = a->read_format, per = read_value_size(rf);
		if (rf & PERF_FORMAT_GROUP) {
			uint64_t nr = take(&c);
			skip(&c, read_times_size(rf));
			if (nr > (uint64_t)(c.end - c.p) / per)
				c.bad = true;
			else
				skip(&c, nr * per);
		} else {
			skip(&c, per + read_times_size(rf));
		}
	}
	if (st & PERF_SAMPLE_CALLCHAIN) {
		uint64_t nr = take(&c);
		if (nr > (uint64_t)(c.end - c.p) / 8) {
			c.bad = true;
		} else {
			s.callchain = c.p;
			s.callchain_nr = nr;
			c.p += nr * 8;
		}
	}
	if (st & PERF_SAMPLE_RAW) {
		if (c.end - c.p < 4) {
			c.bad = true;
		} else {
			uint32_t sz = le32(c.p);
			skip(&c, 4 + (uint64_t)sz);
		}
	}
	if (st & PERF_SAMPLE_BRANCH_STACK) {
		uint64_t nr = take(&c);
		if (a->branch_sample_type & (1u << 17) /* PERF_SAMPLE_BRANCH_HW_INDEX */)
			(void)take(&c);
		if (nr > (uint64_t)(c.end - c.p) / 24)
			c.bad = true;
		else
			skip(&c, nr * 24);
	}
	if (st & PERF_SAMPLE_REGS_USER) {
		s.regs_abi = take(&c);
		if (s.regs_abi) {
			s.regs_mask = a->regs_user_mask;
			s.regs_nr = (uint32_t)__builtin_popcountll(a->regs_user_mask);
			s.regs = c.p;
			skip(&c, (uint64_t)s.regs_nr * 8);
		}
	}
	if (st & PERF_SAMPLE_STACK_USER) {
		uint64_t size = take(&c);
		if (size) {
			s.stack = c.p;
			s.stack_size = size;
			skip(&c, size);
			s.stack_dyn_size = take(&c);
			if (s.stack_dyn_size > size)
				s.stack_dyn_size = size;
		}
	}
	if (c.bad) {
		info->malformed++;
		return 0;
	}
	info->samples++;
	if (s.time) {
		if (!info->first_time || s.time < info->first_time)
			info->first_time = s.time;
		if (s.time > info->last_time)
			info->last_time = s.time;
	}
	return rd->v->sample ? rd->v->sample(rd->ctx, &s, rd->err) : 0;
}

static int deliver_mmap(struct rd *rd, const uint8_t *rec, size_t len, uint32_t type)
{
	struct perfdata_info *info = rd->info;
	uint16_t misc = get_le16(rec + 4);
	size_t tr = 0;
	struct pd_attr *a = trailer_attr(info, rec, len);
	if (a->sample_id_all)
		tr = trailer_size(a->sample_type);
	/* MMAP: pid tid addr len pgoff filename; MMAP2 adds the 24-byte
	 * dev/inode or build-id union and prot, flags before the name. */
	size_t name_at = type == PERF_RECORD_MMAP ? 40 : 72;
	if (len < name_at + 1 + tr) {
		info->malformed++;
		return 0;
	}
	struct pd_mmap m = { .pid = le32(rec + 8), .tid = le32(rec + 12), .start = le64(rec + 16),
			     .len = le64(rec + 24), .pgoff = le64(rec + 32) };
	uint8_t cpumode = misc & PERF_RECORD_MISC_CPUMODE_MASK;
	m.kernel = cpumode == PERF_RECORD_MISC_KERNEL || cpumode == PERF_RECORD_MISC_GUEST_KERNEL;
	if (type == PERF_RECORD_MMAP2) {
		m.prot = le32(rec + 64);
		m.exec = m.prot & 4; /* PROT_EXEC */
		if (misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			m.build_id_size = rec[40] > 20 ? 20 : rec[40];
			memcpy(m.build_id, rec + 44, m.build_id_size);
		}
	} else {
		m.exec = !(misc & PERF_RECORD_MISC_MMAP_DATA);
		m.prot = m.exec ? 5 : 1;
	}
	const char *name = (const char *)rec + name_at;
	size_t maxname = len - name_at - tr;
	size_t n = strnlen(name, maxname);
	char stackbuf[256];
	char *path = n < sizeof stackbuf ? stackbuf : xmalloc(n + 1);
	memcpy(path, name, n);
	path[n] = 0;
	m.path = path;
	(void)record_time(info, rec, len, &m.time);
	int r = rd->v->mmap ? rd->v->mmap(rd->ctx, &m, rd->err) : 0;
	if (path != stackbuf)
		free(path);
	return r;
}

static int deliver(struct rd *rd, const uint8_t *rec, size_t len)
{
	struct perfdata_info *info = rd->info;
	uint32_t type = le32(rec);
	uint16_t misc = get_le16(rec + 4);
	switch (type) {
	case PERF_RECORD_SAMPLE:
		return deliver_sample(rd, rec, len);
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		return deliver_mmap(rd, rec, len, type);
	case PERF_RECORD_COMM: {
		if (len < 8 + 8 + 1) {
			info->malformed++;
			return 0;
		}
		struct pd_comm cm = { .pid = le32(rec + 8), .tid = le32(rec + 12),
				      .exec = (misc & PERF_RECORD_MISC_COMM_EXEC) != 0 };
		char name[17];
		size_t n = strnlen((const char *)rec + 16, len - 16);
		if (n > 16)
			n = 16;
		memcpy(name, rec + 16, n);
		name[n] = 0;
		cm.comm = name;
		(void)record_time(info, rec, len, &cm.time);
		return rd->v->comm ? rd->v->comm(rd->ctx, &cm, rd->err) : 0;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		if (len < 8 + 24) {
			info->malformed++;
			return 0;
		}
		struct pd_task t = { .pid = le32(rec + 8), .ppid = le32(rec + 12), .tid = le32(rec + 16),
				     .ptid = le32(rec + 20), .time = le64(rec + 24), .exit = type == PERF_RECORD_EXIT };
		return rd->v->task ? rd->v->task(rd->ctx, &t, rd->err) : 0;
	}
	case PERF_RECORD_LOST:
		if (len >= 8 + 16)
			info->lost_records += le64(rec + 16);
		else
			info->malformed++;
		return 0;
	case PERF_RECORD_LOST_SAMPLES:
		if (len >= 8 + 8)
			info->lost_samples += le64(rec + 8);
		else
			info->malformed++;
		return 0;
	case PERF_RECORD_THROTTLE:
		info->throttles++;
		return 0;
	default:
		info->skipped++;
		return 0;
	}
}

/* ---- ordering ------------------------------------------------------------ */

static int cmp_qent(const void *x, const void *y)
{
	const struct qent *a = x, *b = y;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Give back mapped pages that no queued record points into any more. */
static void release_mapped(struct rd *rd)
{
	if (!rd->map_base)
		return;
	const uint8_t *low = rd->cursor;
	for (size_t i = 0; i < rd->q.n; i++)
		if (!rd->q.v[i].owned && rd->q.v[i].rec < low)
			low = rd->q.v[i].rec;
	size_t upto = (size_t)(low - rd->map_base);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	upto -= upto % pg;
	if (upto >= rd->released + RELEASE_STEP) {
		(void)madvise((void *)(rd->map_base + rd->released), upto - rd->released, MADV_DONTNEED);
		rd->released = upto;
	}
}

static int begin(struct rd *rd)
{
	if (rd->begun)
		return 0;
	rd->begun = true;
	if (!rd->info->attrs.n)
		return err_set(rd->err, EBADMSG, "'%s': no event attributes before the first record", rd->name);
	return rd->v->begin ? rd->v->begin(rd->ctx, rd->info, rd->err) : 0;
}

/* Deliver queued records up to time limit (all of them with UINT64_MAX). */
static int flush(struct rd *rd, uint64_t limit)
{
	if (!rd->q.n)
		return 0;
	qsort(rd->q.v, rd->q.n, sizeof *rd->q.v, cmp_qent);
	size_t i = 0;
	int r = 0;
	for (; i < rd->q.n && rd->q.v[i].time <= limit && r >= 0; i++) {
		const struct qent *e = &rd->q.v[i];
		r = deliver(rd, e->rec, get_le16(e->rec + 6));
		if (e->owned) {
			rd->owned_bytes -= get_le16(e->rec + 6);
			free((void *)e->rec);
		} else if (e->chunk) {
			rd->owned_bytes -= get_le16(e->rec + 6);
			e->chunk->refs--;
		}
	}
	if (r < 0) { /* free what is left; the read ends */
		for (; i < rd->q.n; i++)
			if (rd->q.v[i].owned)
				free((void *)rd->q.v[i].rec);
		rd->q.n = 0;
		return r;
	}
	memmove(rd->q.v, rd->q.v + i, (rd->q.n - i) * sizeof *rd->q.v);
	rd->q.n -= i;
	release_mapped(rd);
	return 0;
}

/* A kernel record: queue it by time, or pass it on now if it has none.
 * stable: rec stays valid for the whole read (mapped input) or until it is
 * delivered (in rd->cur_chunk); else it is copied. */
static int enqueue(struct rd *rd, const uint8_t *rec, size_t len, bool stable)
{
	int r = begin(rd);
	if (r < 0)
		return r;
	uint64_t t;
	if (!record_time(rd->info, rec, len, &t)) {
		/* No time: nothing to order it by. Deliver in file order. */
		return deliver(rd, rec, len);
	}
	struct qent e = { .time = t, .seq = rd->seq++, .rec = rec };
	if (!stable) {
		uint8_t *copy = xmalloc(len);
		memcpy(copy, rec, len);
		e.rec = copy;
		e.owned = true;
		rd->owned_bytes += len;
	} else if (rd->cur_chunk) {
		e.chunk = rd->cur_chunk;
		e.chunk->refs++;
		rd->owned_bytes += len; /* held, if not copied: the same bound */
	}
	vec_push(&rd->q, e);
	if (t > rd->max_time)
		rd->max_time = t;
	/* A file without flush rounds (or a huge round): deliver the oldest
	 * half rather than hold the whole file. */
	if (rd->owned_bytes > QUEUE_MAX_OWNED_BYTES || rd->q.n > QUEUE_MAX_ENTRIES) {
		qsort(rd->q.v, rd->q.n, sizeof *rd->q.v, cmp_qent);
		return flush(rd, rd->q.v[rd->q.n / 2].time);
	}
	return 0;
}

/* ---- perf's own records ----------------------------------------------------- */

static int handle_record(struct rd *rd, const uint8_t *rec, size_t len, bool stable, uint64_t *extra);

static int bad(struct rd *rd, const char *fmt, ...) CPROF_PRINTF(2, 3);
static int bad(struct rd *rd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(rd->err, EBADMSG, "'%s': %s", rd->name, msg);
}

/* perf record -z: a zstd stream split over records; a record inside it may
 * continue into the next compressed record. */
static int handle_compressed(struct rd *rd, const uint8_t *data, size_t n)
{
	if (!rd->zs) {
		rd->zs = ZSTD_createDStream();
		if (!rd->zs || ZSTD_isError(ZSTD_initDStream(rd->zs)))
			return err_set(rd->err, ENOMEM, "cannot start the zstd decompressor");
	}
	rd->info->compressed = true;
	rd->compressed_in += n;
	ZSTD_inBuffer in = { data, n, 0 };
	while (in.pos < in.size) {
		if (rd->dcap - rd->dlen < 65536) {
			rd->dcap = rd->dcap ? rd->dcap * 2 : 1u << 20;
			rd->dbuf = xrealloc(rd->dbuf, rd->dcap);
		}
		ZSTD_outBuffer out = { rd->dbuf + rd->dlen, rd->dcap - rd->dlen, 0 };
		size_t before = in.pos;
		size_t zr = ZSTD_decompressStream(rd->zs, &out, &in);
		if (ZSTD_isError(zr))
			return bad(rd, "compressed records are damaged (%s)", ZSTD_getErrorName(zr));
		if (!out.pos && in.pos == before)
			return bad(rd, "compressed records are damaged (no progress)");
		rd->dlen += out.pos;
		rd->decompressed_out += out.pos;
		if (rd->decompressed_out > 16u * rd->compressed_in + (64u << 20) && rd->decompressed_out > (256u << 20))
			return bad(rd, "compressed records expand implausibly (%llu bytes from %llu)",
				   (unsigned long long)rd->decompressed_out, (unsigned long long)rd->compressed_in);
		/* Every complete record in the buffer. */
		size_t off = 0;
		while (rd->dlen - off >= 8) {
			const uint8_t *rec = rd->dbuf + off;
			uint16_t size = get_le16(rec + 6);
			if (size < 8)
				return bad(rd, "compressed record of %u bytes", size);
			if (size > rd->dlen - off)
				break;
			if (le32(rec) == PD_COMPRESSED)
				return bad(rd, "compressed record inside a compressed record");
			uint64_t extra = 0;
			int r = handle_record(rd, rec, size, false, &extra);
			if (r < 0)
				return r;
			if (extra)
				return bad(rd, "record with trailing data inside a compressed record");
			off += size;
		}
		memmove(rd->dbuf, rd->dbuf + off, rd->dlen - off);
		rd->dlen -= off;
	}
	return 0;
}

static int handle_header_attr(struct rd *rd, const uint8_t *rec, size_t len)
{
	/* header, perf_event_attr (its own size at +4), then u64 ids */
	if (len < 8 + ATTR_VER0_SIZE)
		return bad(rd, "event attribute record too short");
	uint32_t asz = le32(rec + 8 + 4);
	if (asz == 0)
		asz = ATTR_VER0_SIZE;
	if (asz < ATTR_VER0_SIZE || asz > len - 8)
		return bad(rd, "event attribute of %u bytes", asz);
	if (rd->begun)
		return bad(rd, "event attribute after the first record");
	if (rd->info->attrs.n >= 1024)
		return bad(rd, "more than 1024 event attributes");
	struct pd_attr *a = add_attr(rd->info, rec + 8, asz);
	for (size_t off = 8 + asz; off + 8 <= len; off += 8)
		vec_push(&a->ids, le64(rec + off));
	return 0;
}

static int handle_record(struct rd *rd, const uint8_t *rec, size_t len, bool stable, uint64_t *extra)
{
	uint32_t type = le32(rec);
	rd->info->records++;
	if (type < 64)
		return enqueue(rd, rec, len, stable);
	switch (type) {
	case PD_HEADER_ATTR:
		return handle_header_attr(rd, rec, len);
	case PD_FINISHED_ROUND: {
		int r = flush(rd, rd->next_flush);
		rd->next_flush = rd->max_time;
		return r;
	}
	case PD_COMPRESSED:
		return handle_compressed(rd, rec + 8, len - 8);
	case PD_HEADER_FEATURE:
		if (len >= 16) {
			uint64_t feat = le64(rec + 8);
			if (feat < FEAT_BITS)
				feature(rd->info, (unsigned)feat, rec + 16, rec + len);
		} else {
			rd->info->malformed++;
		}
		return 0;
	case PD_EVENT_UPDATE:
		if (len >= 24 && le64(rec + 8) == EVENT_UPDATE_NAME) {
			struct pd_attr *a = attr_by_id(rd->info, le64(rec + 16));
			const char *s = (const char *)rec + 24;
			if (a) {
				free(a->name);
				a->name = xstrndup(s, strnlen(s, len - 24));
			}
		}
		return 0;
	case PD_HEADER_TRACING_DATA:
		/* The tracing data follows the record, padded to 8 bytes. */
		if (len < 12)
			return bad(rd, "tracing data record too short");
		*extra = ((uint64_t)le32(rec + 8) + 7) & ~7ULL;
		return 0;
	case PD_AUXTRACE:
		/* AUX area data (Intel PT and the like) follows the record. */
		if (len < 16)
			return bad(rd, "AUX trace record too short");
		*extra = le64(rec + 8);
		return 0;
	default:
		rd->info->skipped++;
		return 0;
	}
}

/* ---- the two ways in ---------------------------------------------------------- */

static int finish(struct rd *rd)
{
	int r = begin(rd);
	if (r < 0)
		return r;
	/* perf flushes its zstd stream but never ends the frame, so only a
	 * record cut in two shows that compressed data is missing. */
	if (rd->dlen)
		return bad(rd, "truncated: compressed data ends inside a record");
	return flush(rd, UINT64_MAX);
}

/* Walk records in [p, end) of a buffer that stays mapped for the read. */
static int walk_records(struct rd *rd, const uint8_t *p, const uint8_t *end, uint64_t file_off)
{
	const uint8_t *start = p;
	while (p < end) {
		uint64_t off = file_off + (uint64_t)(p - start);
		if (end - p < 8)
			return bad(rd, "truncated: %zu bytes at offset %llu are not a whole record", (size_t)(end - p),
				   (unsigned long long)off);
		uint16_t size = get_le16(p + 6);
		if (size < 8)
			return bad(rd, "record at offset %llu has an impossible size of %u bytes",
				   (unsigned long long)off, size);
		if (size > end - p)
			return bad(rd, "truncated: the record at offset %llu needs %u bytes, %zu are left",
				   (unsigned long long)off, size, (size_t)(end - p));
		rd->cursor = p;
		uint64_t extra = 0;
		int r = handle_record(rd, p, size, true, &extra);
		if (r < 0)
			return r;
		p += size;
		if (extra > (uint64_t)(end - p))
			return bad(rd, "truncated: the record at offset %llu is followed by %llu bytes of data, %zu are left",
				   (unsigned long long)off, (unsigned long long)extra, (size_t)(end - p));
		p += extra;
	}
	rd->cursor = end;
	return finish(rd);
}

/* pread exactly n bytes at off: 0, or -errno (a short file is truncated). */
static int read_at(struct rd *rd, uint8_t *buf, size_t n, uint64_t off)
{
	int r = pread_full(rd->fd, buf, n, off);
	if (r == -ENODATA)
		return bad(rd, "truncated: the file ends before byte %llu, inside its data", (unsigned long long)(off + n));
	if (r < 0)
		return err_set(rd->err, -r, "cannot read '%s': %s", rd->name, strerror(-r));
	return 0;
}

/* A chunk no queued record is in, other than keep. */
static struct chunk *spare_chunk(struct rd *rd, const struct chunk *keep)
{
	for (size_t i = 0; i < rd->chunks.n; i++)
		if (!rd->chunks.v[i]->refs && rd->chunks.v[i] != keep)
			return rd->chunks.v[i];
	struct chunk *c = xcalloc(1, sizeof *c);
	c->buf = xmalloc(perfdata_read_chunk);
	vec_push(&rd->chunks, c);
	return c;
}

/*
 * The records in [off, off + size) of a regular file, read in chunks
 * rather than mapped: on our VMs a page fault costs several microseconds,
 * and touching a 1.7 GB DWARF recording through a mapping took 544 ms of
 * CPU where reading it through a 4 MiB buffer took 91. A record cut by the
 * end of a chunk is carried to the start of the next; queued records pin
 * their chunk until they are delivered, so chunks are reused, not grown.
 */
static int walk_file(struct rd *rd, uint64_t off, uint64_t size)
{
	if (perfdata_read_chunk < 65536 + 8)
		perfdata_read_chunk = 65536 + 8; /* the largest record fits */
	const uint64_t end = off + size;
	uint64_t pos = off;            /* next byte of the file to read */
	struct chunk *c = spare_chunk(rd, NULL);
	size_t have = 0, at = 0;       /* bytes in c; where the next record starts */
	int r = 0;
	for (;;) {
		size_t left = have - at;
		uint64_t roff = pos - left; /* the file offset of c->buf + at */
		if (left < 8 || left < get_le16(c->buf + at + 6)) {
			if (pos == end) {
				if (!left)
					break;
				if (left < 8)
					return bad(rd, "truncated: %zu bytes at offset %llu are not a whole record", left,
						   (unsigned long long)roff);
				break; /* the size check below reports it */
			}
			/* Carry the partial record to a chunk that can be refilled. */
			struct chunk *n = c->refs ? spare_chunk(rd, c) : c;
			memmove(n->buf, c->buf + at, left);
			c = n;
			at = 0;
			have = left;
			size_t want = perfdata_read_chunk - have;
			if (want > end - pos)
				want = (size_t)(end - pos);
			if ((r = read_at(rd, c->buf + have, want, pos)) < 0)
				return r;
			have += want;
			pos += want;
			continue;
		}
		const uint8_t *p = c->buf + at;
		uint16_t rsize = get_le16(p + 6);
		if (rsize < 8)
			return bad(rd, "record at offset %llu has an impossible size of %u bytes", (unsigned long long)roff,
				   rsize);
		uint64_t extra = 0;
		rd->cur_chunk = c;
		r = handle_record(rd, p, rsize, true, &extra);
		rd->cur_chunk = NULL;
		if (r < 0)
			return r;
		at += rsize;
		if (extra > (have - at) + (end - pos))
			return bad(rd, "truncated: the record at offset %llu is followed by %llu bytes of data, %zu are left",
				   (unsigned long long)roff, (unsigned long long)extra, (size_t)((have - at) + (end - pos)));
		size_t in_buf = extra < have - at ? (size_t)extra : have - at;
		at += in_buf;
		pos += extra - in_buf; /* data past the chunk is skipped, not read */
	}
	size_t left = have - at;
	if (left)
		return bad(rd, "truncated: the record at offset %llu needs %u bytes, %zu are left",
			   (unsigned long long)(end - left), get_le16(c->buf + at + 6), left);
	return finish(rd);
}

static bool section_ok(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int read_file_mode(struct rd *rd, const uint8_t *buf, size_t len)
{
	struct perfdata_info *info = rd->info;
	if (len < FILE_HEADER_SIZE)
		return bad(rd, "truncated perf.data header (%zu bytes, needs %d)", len, FILE_HEADER_SIZE);
	uint64_t hsize = le64(buf + 8), attr_size = le64(buf + 16);
	if (hsize != FILE_HEADER_SIZE)
		return bad(rd, "perf.data header of %llu bytes; this reader knows %d", (unsigned long long)hsize,
			   FILE_HEADER_SIZE);
	uint64_t attrs_off = le64(buf + 24), attrs_size = le64(buf + 32);
	uint64_t data_off = le64(buf + 40), data_size = le64(buf + 48);
	if (attr_size < ATTR_VER0_SIZE + 16 || attr_size > 4096)
		return bad(rd, "event attributes of %llu bytes", (unsigned long long)attr_size);
	if (!section_ok(attrs_off, attrs_size, len))
		return bad(rd, "truncated: the event attributes lie outside the file");
	if (attrs_size % attr_size || attrs_size / attr_size > 1024)
		return bad(rd, "attribute section of %llu bytes does not hold whole attributes",
			   (unsigned long long)attrs_size);
	if (attrs_size == 0)
		return bad(rd, "no events in this recording");
	if (!section_ok(data_off, data_size, len))
		return bad(rd, "truncated: the data section ends at byte %llu, the file has %zu",
			   (unsigned long long)(data_off + data_size), len);
	for (uint64_t o = attrs_off; o < attrs_off + attrs_size; o += attr_size) {
		const uint8_t *a = buf + o;
		uint32_t asz = le32(a + 4);
		if (asz == 0)
			asz = ATTR_VER0_SIZE;
		if (asz < ATTR_VER0_SIZE || asz > attr_size - 16)
			return bad(rd, "event attribute of %u bytes in a slot of %llu", asz,
				   (unsigned long long)attr_size - 16);
		struct pd_attr *at = add_attr(info, a, asz);
		uint64_t ids_off = le64(a + attr_size - 16), ids_size = le64(a + attr_size - 8);
		if (!section_ok(ids_off, ids_size, len) || ids_size % 8)
			return bad(rd, "the sample ids of event %zu lie outside the file", info->attrs.n);
		for (uint64_t k = 0; k < ids_size; k += 8)
			vec_push(&at->ids, le64(buf + ids_off + k));
	}
	/* Features: one {offset, size} per bit set, right after the data. */
	uint64_t feat_at = data_off + data_size;
	const uint8_t *bits = buf + 72;
	for (unsigned f = 0, k = 0; f < FEAT_BITS; f++) {
		if (!(bits[f / 8] >> (f % 8) & 1))
			continue;
		uint64_t e = feat_at + 16ULL * k++;
		if (!section_ok(e, 16, len))
			return bad(rd, "truncated: the header's feature table ends after the file (%zu bytes)", len);
		uint64_t off = le64(buf + e), size = le64(buf + e + 8);
		if (!section_ok(off, size, len))
			return bad(rd, "truncated: header feature %u lies outside the file (%zu bytes)", f, len);
		feature(info, f, buf + off, buf + off + size);
	}
	if (rd->from_fd)
		return walk_file(rd, data_off, data_size);
	return walk_records(rd, buf + data_off, buf + data_off + data_size, data_off);
}

static int read_pipe_mem(struct rd *rd, const uint8_t *buf, size_t len)
{
	rd->info->pipe = true;
	if (rd->from_fd)
		return walk_file(rd, PIPE_HEADER_SIZE, len - PIPE_HEADER_SIZE);
	return walk_records(rd, buf + PIPE_HEADER_SIZE, buf + len, PIPE_HEADER_SIZE);
}

static int check_magic(struct rd *rd, const uint8_t *magic)
{
	if (memcmp(magic, "2ELIFREP", 8) == 0)
		return bad(rd, "perf.data written on a big-endian machine; only little-endian files are read");
	if (memcmp(magic, PERFDATA_MAGIC, 8) != 0)
		return bad(rd, "not a perf.data file (bad magic)");
	return 0;
}

static int read_mem(struct rd *rd, const uint8_t *buf, size_t len)
{
	if (len < 16)
		return bad(rd, "truncated perf.data header (%zu bytes)", len);
	int r = check_magic(rd, buf);
	if (r < 0)
		return r;
	if (le64(buf + 8) == PIPE_HEADER_SIZE)
		return read_pipe_mem(rd, buf, len);
	return read_file_mode(rd, buf, len);
}

/* fread exactly n bytes: 1 done, 0 clean end of input before any byte, -errno otherwise. */
static int read_exact(struct rd *rd, FILE *fp, void *buf, size_t n, uint64_t off)
{
	size_t got = fread(buf, 1, n, fp);
	if (got == n)
		return 1;
	if (ferror(fp)) {
		int e = errno ? errno : EIO;
		return err_set(rd->err, e, "cannot read '%s': %s", rd->name, strerror(e));
	}
	if (got == 0)
		return 0;
	return bad(rd, "truncated: the input ends inside the record at offset %llu", (unsigned long long)off);
}

/* Pipe mode from a stream: records as they arrive. */
static int read_pipe_stream(struct rd *rd, FILE *fp)
{
	rd->info->pipe = true;
	uint8_t *rec = xmalloc(65536 + 8);
	uint64_t off = PIPE_HEADER_SIZE;
	int r;
	for (;;) {
		r = read_exact(rd, fp, rec, 8, off);
		if (r <= 0)
			break;
		uint16_t size = get_le16(rec + 6);
		if (size < 8) {
			r = bad(rd, "record at offset %llu has an impossible size of %u bytes", (unsigned long long)off,
				size);
			break;
		}
		if (size > 8 && (r = read_exact(rd, fp, rec + 8, size - 8, off)) <= 0) {
			if (r == 0)
				r = bad(rd, "truncated: the input ends inside the record at offset %llu",
					(unsigned long long)off);
			break;
		}
		uint64_t extra = 0;
		r = handle_record(rd, rec, size, false, &extra);
		if (r < 0)
			break;
		off += size;
		/* Data that follows a record (tracing data, AUX): skip it. */
		while (extra) {
			uint8_t junk[4096];
			size_t n = extra < sizeof junk ? (size_t)extra : sizeof junk;
			if ((r = read_exact(rd, fp, junk, n, off)) <= 0) {
				if (r == 0)
					r = bad(rd, "truncated: the input ends inside the data after offset %llu",
						(unsigned long long)off);
				goto out;
			}
			extra -= n;
			off += n;
		}
	}
out:
	free(rec);
	if (r < 0)
		return r;
	return finish(rd);
}

static void rd_init(struct rd *rd, const char *name, const struct perfdata_visitor *v, void *ctx,
		    struct perfdata_info *info, struct cprof_err *err)
{
	static const struct perfdata_visitor none;
	memset(rd, 0, sizeof *rd);
	memset(info, 0, sizeof *info);
	rd->name = name;
	rd->v = v ? v : &none;
	rd->ctx = ctx;
	rd->info = info;
	rd->err = err;
}

static void rd_release(struct rd *rd)
{
	for (size_t i = 0; i < rd->q.n; i++)
		if (rd->q.v[i].owned)
			free((void *)rd->q.v[i].rec);
	vec_release(&rd->q);
	for (size_t i = 0; i < rd->chunks.n; i++) {
		free(rd->chunks.v[i]->buf);
		free(rd->chunks.v[i]);
	}
	vec_release(&rd->chunks);
	if (rd->zs)
		ZSTD_freeDStream(rd->zs);
	free(rd->dbuf);
}

int perfdata_read_mem(const uint8_t *buf, size_t len, const char *name, const struct perfdata_visitor *v,
		      void *ctx, struct perfdata_info *info, struct cprof_err *err)
{
	struct rd rd;
	rd_init(&rd, name, v, ctx, info, err);
	int r = read_mem(&rd, buf, len);
	rd_release(&rd);
	return r;
}

int perfdata_read(FILE *fp, const uint8_t *magic, size_t magic_len, const char *name,
		  const struct perfdata_visitor *v, void *ctx, struct perfdata_info *info, struct cprof_err *err)
{
	struct rd rd;
	rd_init(&rd, name, v, ctx, info, err);
	uint8_t head[16];
	int r = 0;
	struct stat sb;
	if (magic_len > 8)
		magic_len = 8;
	memcpy(head, magic, magic_len);

	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		/* A file: its header and features are looked up in a mapping
		 * (a few pages touched), its records read in chunks (walk_file). */
		size_t len = (size_t)sb.st_size;
		void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fileno(fp), 0);
		if (map != MAP_FAILED) {
			rd.from_fd = true;
			rd.fd = fileno(fp);
			r = read_mem(&rd, map, len);
			munmap(map, len);
			rd_release(&rd);
			return r;
		}
	}
	/* A stream: the magic was read by the caller, then comes the header size. */
	size_t need = 16 - magic_len;
	size_t got = fread(head + magic_len, 1, need, fp);
	if (got != need) {
		if (ferror(fp)) {
			int e = errno ? errno : EIO;
			r = err_set(err, e, "cannot read '%s': %s", name, strerror(e));
		} else {
			r = bad(&rd, "truncated perf.data header (%zu bytes)", magic_len + got);
		}
		goto out;
	}
	if ((r = check_magic(&rd, head)) < 0)
		goto out;
	if (le64(head + 8) == PIPE_HEADER_SIZE) {
		r = read_pipe_stream(&rd, fp);
	} else {
		/* A file-mode perf.data through a pipe: its header points
		 * backwards and forwards, so hold all of it. */
		struct sbuf all = SBUF_INIT;
		sbuf_add(&all, head, 16);
		r = stream_read(fp, name, &all, 0, err);
		if (r == 0)
			r = read_mem(&rd, (const uint8_t *)all.buf, all.len);
		sbuf_release(&all);
	}
out:
	rd_release(&rd);
	return r;
}
