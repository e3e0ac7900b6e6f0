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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		/* The table was read in place from the cache file's buffer. */
		free(k->cache_buf);
		k->cache_buf = NULL;
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

static bool load_cache(struct kallsyms *k, const char *path, uint64_t key, bool modules)
{
	size_t len;
	char *buf = sym_slurp(path, &len);
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
	if (sum != sym_checksum(HASH_SEED, buf, len - 8))
		goto out;
	const char *names = buf + sizeof h + h.nsyms * sizeof(struct ksym);
	if (names[h.names_len - 1] != 0)
		goto out;
	/* Checked, then used where it lies: a copy of the 5 MB cost more
	 * than reading it. The symbols start 32 bytes into a malloc'd
	 * buffer, so they are aligned. */
	const struct ksym *syms = (const struct ksym *)(buf + sizeof h);
	for (size_t i = 0; i < h.nsyms; i++)
		if (syms[i].name >= h.names_len || (i && syms[i].addr < syms[i - 1].addr) ||
		    syms[i].group == KSYM_DYNAMIC || (!modules && syms[i].group != KSYM_CORE))
			goto out;
	reset(k);
	k->cache_buf = buf;
	k->syms.v = (struct ksym *)syms;
	k->syms.n = h.nsyms;
	k->names.buf = (char *)names;
	k->names.len = h.names_len;
	k->from_cache = true;
	return true;
out:
	free(buf);
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
		(void)sym_cache_write(path, all.buf, all.len);
		sbuf_release(&all);
	}
	vec_release(&keep);
}

static void load(struct kallsyms *k)
{
	k->loaded = true;
	bool modules;
	uint64_t key = system_key(&modules);
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
	if (!k->loaded)
		load(k);
	if (addr == 0)
		return NULL; /* never a kernel address; used to load ahead */
	size_t i = find(k, addr);
	/* A cached table vouches only for addresses between two symbols of
	 * the same group; anything else may be code loaded since. */
	if (k->from_cache && (i == 0 || i == k->syms.n || k->syms.v[i - 1].group != k->syms.v[i].group)) {
		load_live(k);
		i = find(k, addr);
	}
	return i ? k->names.buf + k->syms.v[i - 1].name : NULL;
}

void kallsyms_release(struct kallsyms *k)
{
	reset(k);
	k->loaded = k->live = false;
}
