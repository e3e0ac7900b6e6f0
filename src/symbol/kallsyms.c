/*
 * kallsyms.c - kernel symbols from /proc/kallsyms. Without privileges the
 * addresses read as zero (kptr_restrict); then nothing resolves and kernel
 * frames stay [unknown] rather than wrong.
 *
 * The kernel formats /proc/kallsyms anew on every read (~120,000 lines,
 * ~50 ms of CPU here), which was a third of the finishing pass of a short
 * recording. So the code symbols of the kernel and its modules are kept in
 * a per-user cache file keyed by the boot and by /proc/modules; a cached
 * table answers only for addresses that fall between two symbols of the
 * same module (or of the kernel proper), where nothing loaded later (BPF
 * programs, ftrace and kprobe trampolines) can sit. Any other address, a
 * changed module list or a damaged cache file sends the lookup to
 * /proc/kallsyms itself.
 *
 * Reading and checking that 5 MB file is still a few milliseconds of
 * every finishing pass, for the few dozen kernel functions a short
 * recording samples. So the symbols looked up are also kept in a small
 * hot cache (kallsyms.hot): each with the range it covers (to the next
 * symbol of the same module), valid for the same boot and module set, and
 * only for ranges the table vouches for. An address in one of those
 * ranges is answered without loading the table at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/tmpfile.h"
#include "symbol-internal.h"

/* The file's name carries its format's version, so cprof builds of
 * different formats in use side by side keep one file each instead of
 * rewriting one in turn. */
#define CACHE_MAGIC "CPROFKS2"

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* What the cache file is valid for: this boot and this set of loaded
 * modules at these addresses. 0 if that cannot be told. A kernel built
 * without modules has no /proc/modules; then *modules says so and only a
 * table without module symbols may be cached. */
static uint64_t system_key(bool *modules)
{
	size_t blen, mlen = 0;
	char *boot = sym_slurp("/proc/sys/kernel/random/boot_id", &blen);
	char *mods = sym_slurp("/proc/modules", &mlen);
	*modules = mods != NULL;
	if (!mods && errno == ENOENT)
		mods = xstrdup("");
	uint64_t h = 0;
	if (boot && mods && blen > 0) {
		h = hash_bytes(boot, blen, HASH_SEED);
		/* "name size refcount deps state address": refcounts change all
		 * the time, so only name, size and address count. */
		for (char *line = mods, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			char name[128], addr[32];
			unsigned long size;
			if (sscanf(line, "%127s %lu %*s %*s %*s %31s", name, &size, addr) == 3) {
				h = hash_bytes(name, strlen(name) + 1, h);
				h = hash_bytes(&size, sizeof size, h);
				h = hash_bytes(addr, strlen(addr) + 1, h);
			}
			if (!nl)
				break;
		}
		if (!h)
			h = 1;
	}
	free(boot);
	free(mods);
	return h;
}

static uint32_t add_name(struct kallsyms *k, const char *name, size_t len)
{
	uint32_t off = (uint32_t)k->names.len;
	sbuf_add(&k->names, name, len);
	sbuf_addc(&k->names, 0);
	return off;
}

/* The group of a symbol from its "[module]" suffix: the kernel proper, a
 * module (numbered in order of appearance; kallsyms lists a module's
 * symbols together), or code the kernel generates at run time. */
static uint32_t group_of(struct kallsyms *k, const char *mod, size_t len)
{
	if (!len)
		return KSYM_CORE;
	if ((len == 3 && memcmp(mod, "bpf", 3) == 0) || (len > 11 && memcmp(mod, "__builtin__", 11) == 0))
		return KSYM_DYNAMIC;
	if (k->last_mod_len == len && memcmp(k->last_mod, mod, len) == 0)
		return k->last_group;
	k->last_mod_len = len < sizeof k->last_mod ? len : 0;
	memcpy(k->last_mod, mod, k->last_mod_len);
	return k->last_group = ++k->ngroups;
}

/* One line, "ADDR TYPE NAME[\t[MODULE]]". Code symbols only. */
static void parse_line(struct kallsyms *k, const char *p, const char *end)
{
	uint64_t addr = 0;
	int digits = 0;
	for (int v; p < end && (v = hexval(*p)) >= 0; p++, digits++)
		addr = addr << 4 | (uint64_t)v;
	if (!digits || digits > 16 || addr == 0 || end - p < 4 || p[0] != ' ' || p[2] != ' ')
		return;
	char type = p[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return;
	const char *name = p + 3, *stop = name;
	while (stop < end && *stop != '\t' && *stop != ' ')
		stop++;
	if (stop == name)
		return;
	const char *mod = memchr(stop, '[', (size_t)(end - stop));
	const char *mod_end = mod ? memchr(mod, ']', (size_t)(end - mod)) : NULL;
	uint32_t group = mod && mod_end ? group_of(k, mod + 1, (size_t)(mod_end - mod - 1)) : KSYM_CORE;
	vec_push(&k->syms, ((struct ksym){ addr, add_name(k, name, (size_t)(stop - name)), group }));
}

static void reset(struct kallsyms *k)
{
	if (k->cache_buf) {
		/* The table was used in place in the cache file's mapping. */
		munmap(k->cache_buf, k->cache_len);
		k->cache_buf = NULL;
		k->cache_len = 0;
		memset(&k->syms, 0, sizeof k->syms);
		k->names = (struct sbuf)SBUF_INIT;
	}
	vec_release(&k->syms);
	sbuf_release(&k->names);
	k->ngroups = k->last_group = 0;
	k->last_mod_len = 0;
	k->from_cache = false;
}

/* Parsed by hand: stdio plus sscanf measured at as much as the kernel's
 * own formatting of the file. */
static void load_live(struct kallsyms *k)
{
	reset(k);
	k->live = true;
	size_t len;
	char *buf = sym_slurp("/proc/kallsyms", &len);
	if (!buf)
		return;
	for (char *line = buf, *nl; (nl = memchr(line, '\n', len - (size_t)(line - buf))); line = nl + 1)
		parse_line(k, line, nl);
	free(buf);
	if (k->syms.n)
		qsort(k->syms.v, k->syms.n, sizeof *k->syms.v, cmp_ksym);
}

/* The cache file: magic, key, counts, then the symbols (address, name
 * offset, group), the names, and a checksum of all before it. */
struct cache_head {
	char magic[8];
	uint64_t key, nsyms, names_len;
};
_Static_assert(sizeof(struct cache_head) == 32 && sizeof(struct ksym) == 16, "the symbols follow the head aligned");

/* The cache file is mapped, not read (sym_map_file()): reading it into
 * memory (5 MB of fresh pages filled by a copy) was most of the cost of a
 * lookup that the hot cache could not answer, ~8 ms against ~1 ms for
 * the checksum. Checking it whole still cost 3-5 ms, in most recordings
 * (the hot cache misses a kernel address in 10 of 12), so it is checked
 * once and then vouched for by its stamp (symcache.c). Such a file is
 * not read whole: its pages are mapped as the lookups touch them (about
 * 20 for one). */
static bool load_cache(struct kallsyms *k, const char *path, uint64_t key, bool modules)
{
	size_t len;
	bool vouched = false;
	struct stat st;
	char *buf = sym_map_file(path, &len, false, &vouched, &st);
	if (!buf)
		return false;
	bool ok = false;
	struct cache_head h;
	if (len < sizeof h + 8)
		goto out;
	memcpy(&h, buf, sizeof h);
	if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.key != key || h.nsyms == 0 || h.nsyms > len / sizeof(struct ksym) ||
	    h.names_len == 0 || h.names_len > len || len != sizeof h + h.nsyms * sizeof(struct ksym) + h.names_len + 8)
		goto out;
	uint64_t sum;
	memcpy(&sum, buf + len - 8, 8);
	if (!vouched && sum != sym_checksum(HASH_SEED, buf, len - 8))
		goto out;
	const char *names = buf + sizeof h + h.nsyms * sizeof(struct ksym);
	if (names[h.names_len - 1] != 0)
		goto out;
	/* Checked, then used where it lies: a copy of the 5 MB cost more
	 * than reading it. The symbols start 32 bytes into a page-aligned
	 * mapping, so they are aligned. What a stamp vouches for passed
	 * these checks when it was stamped (in this boot, which is in the
	 * key, so with the same modules, or lack of them). */
	const struct ksym *syms = (const struct ksym *)(buf + sizeof h);
	for (size_t i = 0; !vouched && i < h.nsyms; i++)
		if (syms[i].name >= h.names_len || (i && syms[i].addr < syms[i - 1].addr) ||
		    syms[i].group == KSYM_DYNAMIC || (!modules && syms[i].group != KSYM_CORE))
			goto out;
	if (!vouched)
		sym_stamp_write(path, &st);
	reset(k);
	k->cache_buf = buf;
	k->cache_len = len;
	k->syms.v = (struct ksym *)syms;
	k->syms.n = h.nsyms;
	k->names.buf = (char *)names;
	k->names.len = h.names_len;
	k->from_cache = true;
	k->vouched = vouched;
	return true;
out:
	munmap(buf, len);
	return ok;
}

/* Best effort: a cache that cannot be written only costs the next run. */
static void save_cache(const struct kallsyms *k, const char *path, uint64_t key)
{
	VEC(struct ksym) keep = { 0 };
	for (size_t i = 0; i < k->syms.n; i++)
		if (k->syms.v[i].group != KSYM_DYNAMIC)
			vec_push(&keep, k->syms.v[i]);
	if (keep.n) {
		struct cache_head h = { .key = key, .nsyms = keep.n, .names_len = k->names.len };
		memcpy(h.magic, CACHE_MAGIC, 8);
		/* One buffer, so the checksum runs over the same bytes as the reader's. */
		struct sbuf all = SBUF_INIT;
		sbuf_add(&all, &h, sizeof h);
		sbuf_add(&all, keep.v, keep.n * sizeof *keep.v);
		sbuf_add(&all, k->names.buf, k->names.len);
		uint64_t sum = sym_checksum(HASH_SEED, all.buf, all.len);
		sbuf_add(&all, &sum, sizeof sum);
		/* fsynced: its stamp will vouch for it (sym_map_file()). */
		(void)sym_cache_write_synced(path, all.buf, all.len);
		sbuf_release(&all);
	}
	vec_release(&keep);
}

static void load(struct kallsyms *k)
{
	k->loaded = true;
	bool modules = k->modules;
	uint64_t key = k->key;
	char *path = key ? sym_cache_path("kallsyms.v2") : NULL;
	if (path && load_cache(k, path, key, modules)) {
		free(path);
		return;
	}
	load_live(k);
	if (path && k->syms.n && (modules || k->ngroups == 0))
		save_cache(k, path, key);
	free(path);
}

/* ---- the hot cache ---- */

/* File: magic, key, count, names' length (u32), entries (start, end:
 * u64; name: u32; 4 zero bytes), names, checksum of all before it. */
#define HOT_MAGIC "CPROFKH1"
#define HOT_HEAD 24
#define HOT_ENTRY 24

static bool hot_parse(const uint8_t *buf, size_t len, uint64_t key, uint32_t *n, const uint8_t **entries,
		      const char **names)
{
	if (len < HOT_HEAD + 8 || memcmp(buf, HOT_MAGIC, 8) != 0 || get_le64(buf + 8) != key)
		return false;
	uint64_t count = get_le32(buf + 16), names_len = get_le32(buf + 20);
	if (names_len == 0 || HOT_HEAD + count * HOT_ENTRY + names_len + 8 != len ||
	    get_le64(buf + len - 8) != sym_checksum(HASH_SEED, buf, len - 8))
		return false;
	const uint8_t *e = buf + HOT_HEAD;
	const char *nm = (const char *)e + count * HOT_ENTRY;
	if (nm[names_len - 1] != 0)
		return false;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *x = e + i * HOT_ENTRY;
		if (get_le64(x) >= get_le64(x + 8) || get_le32(x + 16) >= names_len || get_le32(x + 20) != 0 ||
		    (i && get_le64(x) < get_le64(x - HOT_ENTRY + 8)))
			return false;
	}
	*n = (uint32_t)count;
	*entries = e;
	*names = nm;
	return true;
}

static void hot_load(struct kallsyms *k)
{
	k->hot_loaded = true;
	k->key = system_key(&k->modules);
	char *path = k->key ? sym_cache_path("kallsyms.hot") : NULL;
	/* Mapped, not read: read into fresh memory, its ~100 KB were 24 of
	 * the ~300 page faults of a short recording (`record -e
	 * page-faults`), about 10 us each here; mapped, they come in at once
	 * (MAP_POPULATE) from the page cache. The file is only ever replaced
	 * by a rename (kallsyms_save()), so the mapping cannot be cut short. */
	size_t len = 0;
	void *m = path ? sym_map_file(path, &len, false, NULL, NULL) : NULL;
	if (m && hot_parse(m, len, k->key, &k->nhot, &k->hot, &k->hot_names)) {
		k->hot_map = m;
		k->hot_len = len;
	} else if (m) {
		munmap(m, len);
	}
	free(path);
}

static const char *hot_find(const struct kallsyms *k, uint64_t addr)
{
	uint32_t lo = sym_records_upto(k->hot, k->nhot, HOT_ENTRY, addr);
	if (!lo)
		return NULL;
	const uint8_t *e = k->hot + (size_t)(lo - 1) * HOT_ENTRY;
	return addr < get_le64(e + 8) ? k->hot_names + get_le32(e + 16) : NULL;
}

/* Symbol i - 1 answered for an address: keep its range when the table
 * vouches for it (both ends in one module, or in the kernel proper). */
static void hot_note(struct kallsyms *k, size_t i)
{
	const struct ksym *a = &k->syms.v[i - 1], *b = &k->syms.v[i];
	if (!k->key || a->group != b->group || a->group == KSYM_DYNAMIC || (!k->modules && a->group != KSYM_CORE) ||
	    a->addr >= b->addr)
		return;
	const char *name = k->names.buf + a->name;
	uint32_t off = (uint32_t)k->fresh_names.len;
	sbuf_add(&k->fresh_names, name, strlen(name) + 1);
	vec_push(&k->fresh, ((struct khot){ a->addr, b->addr, off }));
}

static int cmp_khot(const void *x, const void *y)
{
	const struct khot *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

void kallsyms_save(struct kallsyms *k)
{
	if (!k->fresh.n)
		return;
	char *path = sym_cache_path("kallsyms.hot");
	if (!path)
		return;
	/* What is on disk now and this run's, by start; one entry a start. */
	VEC(struct khot) all = { 0 };
	struct sbuf names = SBUF_INIT;
	size_t len;
	char *disk = sym_slurp(path, &len);
	uint32_t n;
	const uint8_t *e;
	const char *nm;
	if (disk && hot_parse((const uint8_t *)disk, len, k->key, &n, &e, &nm))
		for (uint32_t i = 0; i < n; i++) {
			const char *s = nm + get_le32(e + (size_t)i * HOT_ENTRY + 16);
			vec_push(&all, ((struct khot){ get_le64(e + (size_t)i * HOT_ENTRY),
						       get_le64(e + (size_t)i * HOT_ENTRY + 8), (uint32_t)names.len }));
			sbuf_add(&names, s, strlen(s) + 1);
		}
	for (size_t i = 0; i < k->fresh.n; i++) {
		const char *s = k->fresh_names.buf + k->fresh.v[i].name;
		vec_push(&all, ((struct khot){ k->fresh.v[i].start, k->fresh.v[i].end, (uint32_t)names.len }));
		sbuf_add(&names, s, strlen(s) + 1);
	}
	qsort(all.v, all.n, sizeof *all.v, cmp_khot);
	struct sbuf out = SBUF_INIT;
	uint8_t head[HOT_HEAD] = { 0 };
	memcpy(head, HOT_MAGIC, 8);
	put_le64(head + 8, k->key);
	sbuf_add(&out, head, sizeof head);
	uint32_t kept = 0;
	for (size_t i = 0; i < all.n; i++) {
		/* Ranges of one table never overlap, nor do a boot's; should
		 * they, the one that starts first is kept. */
		if (kept && all.v[i].start < get_le64((const uint8_t *)out.buf + out.len - HOT_ENTRY + 8))
			continue;
		uint8_t x[HOT_ENTRY] = { 0 };
		put_le64(x, all.v[i].start);
		put_le64(x + 8, all.v[i].end);
		put_le32(x + 16, all.v[i].name);
		sbuf_add(&out, x, sizeof x);
		kept++;
	}
	put_le32((uint8_t *)out.buf + 16, kept);
	put_le32((uint8_t *)out.buf + 20, (uint32_t)names.len);
	sbuf_add(&out, names.buf, names.len);
	uint8_t sum[8];
	put_le64(sum, sym_checksum(HASH_SEED, out.buf, out.len));
	sbuf_add(&out, sum, sizeof sum);
	(void)sym_cache_write(path, out.buf, out.len);
	sbuf_release(&out);
	sbuf_release(&names);
	vec_release(&all);
	free(disk);
	free(path);
	vec_release(&k->fresh);
	sbuf_release(&k->fresh_names);
}

static size_t find(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->syms.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k->syms.v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo; /* the symbol is lo - 1 */
}

const char *kallsyms_lookup(struct kallsyms *k, uint64_t addr)
{
	if (!k->hot_loaded)
		hot_load(k);
	if (addr == 0)
		return NULL; /* never a kernel address; used to load ahead */
	const char *hot = k->hot_map ? hot_find(k, addr) : NULL;
	if (hot) {
		k->hot_hits++;
		return hot;
	}
	k->hot_misses++;
	if (!k->loaded)
		load(k);
	size_t i = find(k, addr);
	/* A cached table vouches only for addresses between two symbols of
	 * the same group; anything else may be code loaded since. */
	if (k->from_cache && (i == 0 || i == k->syms.n || k->syms.v[i - 1].group != k->syms.v[i].group)) {
		load_live(k);
		i = find(k, addr);
	}
	if (i && i < k->syms.n)
		hot_note(k, i);
	return i ? k->names.buf + k->syms.v[i - 1].name : NULL;
}

void kallsyms_release(struct kallsyms *k)
{
	reset(k);
	k->loaded = k->live = false;
	if (k->hot_map)
		munmap(k->hot_map, k->hot_len);
	k->hot_map = NULL;
	k->hot = NULL;
	k->nhot = 0;
	k->hot_loaded = false;
	vec_release(&k->fresh);
	sbuf_release(&k->fresh_names);
}
