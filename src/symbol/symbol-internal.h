/* symbol-internal.h - what the symbolizer's parts share; not a module API. */
#ifndef CPROF_SYMBOL_INTERNAL_H
#define CPROF_SYMBOL_INTERNAL_H

#include <stdio.h>
#include <sys/uio.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "cprof/symbol.h"

/* Intern str in the symbolizer; the result lives until symbolizer_free(). */
const char *sym_intern(struct symbolizer *s, const char *str);

/* One kernel code symbol; also the record of the kallsyms cache file. */
struct ksym {
	uint64_t addr;
	uint32_t name;	/* offset in kallsyms.names */
	uint32_t group; /* KSYM_CORE, a module's number, or KSYM_DYNAMIC */
};
#define KSYM_CORE 0u
#define KSYM_DYNAMIC 0xffffffffu /* BPF programs, trampolines: never cached */

/* A kernel symbol's range, as the hot cache keeps it. */
struct khot {
	uint64_t start, end;
	uint32_t name; /* offset in kallsyms.fresh_names */
};

/* /proc/kallsyms, loaded on first use (from the cache when it is valid),
 * sorted by address. */
struct kallsyms {
	bool loaded, from_cache, live;
	bool vouched; /* the cache file was taken on its stamp, not checked whole */
	VEC(struct ksym) syms; /* from the cache: cap 0, pointing into cache_buf */
	struct sbuf names;     /* the same */
	char *cache_buf;       /* the cache file mapped, when the table lives in it */
	size_t cache_len;      /* its length */
	/* The hot cache: the symbols earlier runs looked up, each with its
	 * range, read before the table and often instead of it. */
	bool hot_loaded, modules;
	uint64_t key;          /* of this boot and module set; 0 if unknown */
	void *hot_map;         /* the file mapped, checked; NULL if none */
	size_t hot_len;        /* its length */
	const uint8_t *hot;    /* entries in hot_map */
	uint32_t nhot;
	const char *hot_names;
	VEC(struct khot) fresh; /* ranges looked up in the table this run */
	struct sbuf fresh_names;
	uint64_t hot_hits, hot_misses;
	uint32_t ngroups, last_group; /* while parsing: module numbering */
	char last_mod[64];
	size_t last_mod_len;
};
const char *kallsyms_lookup(struct kallsyms *k, uint64_t addr);
/* Add this run's lookups to the hot cache file (best effort). */
void kallsyms_save(struct kallsyms *k);
void kallsyms_release(struct kallsyms *k);

struct jitsym {
	uint64_t start, size;
	char *name;
};
struct jitmap {
	uint32_t pid;
	VEC(struct jitsym) syms; /* sorted by start */
};
/* /tmp/perf-PID.map files, loaded once per pid. */
struct jitmaps {
	VEC(struct jitmap) maps;
};
const char *jitmaps_lookup(struct jitmaps *j, struct symbolizer *s, uint32_t pid, uint64_t addr);
void jitmaps_release(struct jitmaps *j);
/* Parse one perf map file (used by tests with other paths), or a stream
 * (the fuzz target's entry point); malformed lines are skipped. */
int jitmap_load(struct jitmap *m, const char *path);
int jitmap_read(struct jitmap *m, FILE *fp);
/* The symbol containing addr, or NULL; borrowed from m. */
const struct jitsym *jitmap_find(const struct jitmap *m, uint64_t addr);
void jitmap_release(struct jitmap *m);

/* Per-binary tables for symbols and inline chains (funcindex.c). */
struct func_index;
struct func_index *func_index_new(Dwfl_Module *mod);
void func_index_free(struct func_index *f);
/* The functions of the symbol table, one per address, by start (module
 * addresses); a sizeless one reaches the next symbol (and is flagged), a
 * sizeless label inside a function is left out: how many, in *ret (the
 * caller frees). */
size_t func_index_functions(struct func_index *f, struct sym_func **ret);
/* Name of the symbol covering addr (module address), or NULL; the name
 * lives as long as the module. */
const char *func_index_symbol(struct func_index *f, uint64_t addr);
/* The same, with the symbol's start and size (a sizeless symbol reaches up
 * to the next symbol or the end of its section). */
const char *func_index_symbol_range(struct func_index *f, uint64_t addr, uint64_t *start, uint64_t *size);
/* The compile unit holding addr (module address), even in binaries that
 * have no .debug_aranges; storage holds it when libdwfl did not. NULL if
 * no unit covers addr. */
Dwarf_Die *func_index_cu(struct func_index *f, uint64_t addr, Dwarf_Addr *bias, Dwarf_Die *storage);
/* libdwfl's table from address to compile unit: one run per stretch of
 * .debug_aranges entries of one unit, by start (DWARF addresses), and the
 * end of the last entry. Reading .debug_aranges costs ~11 ms for libc, so
 * the symbol cache keeps the table: func_index_set_cu_runs() gives one
 * back (f takes runs), func_index_cu_runs() tells what f has, found or
 * given (false: none). */
struct func_cu_run {
	uint64_t start, cu_off; /* cu_off: the unit's DIE */
};
void func_index_set_cu_runs(struct func_index *f, struct func_cu_run *runs, size_t n, uint64_t end);
bool func_index_cu_runs(const struct func_index *f, const struct func_cu_run **runs, size_t *n, uint64_t *end);
/* The line table row covering addr (module address), found through
 * func_index_cu(); NULL if none. Samples and annotate both use this. */
Dwarf_Line *func_index_line(struct func_index *f, uint64_t addr);
/* The inline chain at addr (CU-relative address space of cu): innermost
 * inlined instance first, ending with the subprogram. Returns the number
 * of DIEs stored in chain (at most max), 0 if no function covers addr. */
int func_index_chain(struct func_index *f, Dwarf_Die *cu, uint64_t addr, Dwarf_Die *chain, int max);
/* Every range of every inline instance inside the outermost function that
 * holds addr (CU-relative addresses), with its nesting depth (1: inlined
 * into the function itself). Returns how many ranges fn was given. */
typedef void (*func_index_inline_fn)(void *ctx, Dwarf_Die *die, uint64_t lo, uint64_t hi, uint32_t depth);
int func_index_inlines(struct func_index *f, Dwarf_Die *cu, uint64_t addr, func_index_inline_fn fn, void *ctx);

/* What code.c needs of the symbolizer (symbolizer.c). */
struct sym_binary {
	Dwfl_Module *mod;          /* NULL when the file could not be read */
	struct func_index *index;
	const char *path;
};
/* The binary of map, opened (and cached) on first use. */
struct sym_binary symbolizer_binary(struct symbolizer *s, const struct sym_map *map);
/* The function holding vaddr as the binary's symbol cache file kept it
 * (symbolizer_keep_code()), if it is no longer than max_len: true and *c
 * filled, or false. */
bool symbolizer_cached_code(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr, uint32_t max_len,
			    struct sym_code *c);
/* The display name (demangled) of a function DIE, interned. */
const char *sym_die_name(struct symbolizer *s, Dwarf_Die *die);
/* A symbol table name made fit for display: version stripped, demangled, interned. */
const char *sym_display_name(struct symbolizer *s, const char *raw);

/* ---- the cache folder and the symbol cache (symcache.c) ---- */

/* $CPROF_CACHE_DIR/name, else $XDG_CACHE_HOME/cprof/name, else
 * ~/.cache/cprof/name (malloc'd); NULL when CPROF_CACHE_DIR is set but
 * empty (no cache) or no folder can be named. */
char *sym_cache_path(const char *name);
/* Write a cache file whole, mode 0600, through a temporary file renamed
 * into place; the folders above it are created. -1 on any failure. */
int sym_cache_write(const char *path, const void *data, size_t len);
/* The same, fsynced before the rename: for a file a stamp may vouch for. */
int sym_cache_write_synced(const char *path, const void *data, size_t len);
/* The same, synced, from pieces written one after another. */
int sym_cache_write_pieces(const char *path, const struct iovec *iov, int n);
/* Stamps (symcache.c): does path's stamp (path.ok) say that the file st
 * describes was checked whole? And write one saying so, best effort (not
 * for a file changed in the last 50 ms: its times could stay the same). */
struct stat;
bool sym_stamp_holds(const char *path, const struct stat *st);
void sym_stamp_write(const char *path, const struct stat *st);
/* A whole file read into a malloc'd buffer (NUL-terminated beyond *len);
 * NULL with errno set if it cannot be read. */
char *sym_slurp(const char *path, size_t *len);
/* A cache file mapped whole, read-only (munmap it with *len); NULL with
 * errno set if it cannot be (EINVAL: not a regular file, empty, or over
 * 64 MiB, so no cache file). Cache files are only ever replaced by a
 * rename, never rewritten in place, so the mapping's contents cannot
 * change under the reader; mapping spares the copy that reading makes.
 * touch: bring its mtime up to now if it is a day old (the folder is
 * pruned by last use). vouched, if not NULL, says whether the file's
 * stamp vouches for it as it is (then its pages are read as they are
 * used; else all at once, for a check of the whole). st, if not NULL,
 * gets its stat, for sym_stamp_write(). */
void *sym_map_file(const char *path, size_t *len, bool touch, bool *vouched, struct stat *st);
/* In n records of size bytes sorted by the little-endian u64 each starts
 * with: how many start at or before key (the last of them, if any, is the
 * one that may hold key). */
uint32_t sym_records_upto(const uint8_t *recs, uint32_t n, size_t size, uint64_t key);
/* Checksum of cache files, a word at a time. */
uint64_t sym_checksum(uint64_t h, const void *data, size_t n);
/* The same over n bytes of fd from off, read in pieces: 0 and *ret, or -errno. */
int sym_checksum_fd(int fd, uint64_t off, uint64_t n, uint64_t h, uint64_t *ret);

/* A symbol cache file, checked whole by symcache_parse() and then read in
 * place: pointers into the buffer it was parsed from. */
struct symcache_view {
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *entries;
	uint32_t nentries;
	const uint8_t *frames;
	uint32_t nframes;
	const char *strings;
	uint32_t strings_len;
	/* Functions kept whole for annotate (symbolizer_keep_code()), sorted
	 * by start, with their line rows, inline ranges, call targets and
	 * code bytes. */
	const uint8_t *code, *lines, *inlines, *targets, *bytes;
	uint32_t ncode, nlines, ninlines, ntargets, bytes_len;
	/* libdwfl's address-to-unit table (func_index_cu_runs()), if kept. */
	const uint8_t *runs;
	uint32_t nruns;
	uint64_t runs_end;
};
#define SYMCACHE_NONE 0xffffffffu
/* One cached frame; strings point into the view (or the caller's). */
struct symcache_rec {
	const char *func, *full, *file; /* full may be NULL */
	uint32_t line, flags;           /* flags: SYMF_INLINED, SYMF_UNKNOWN */
};
/* 0 if buf[0..len) is a well-formed cache file (magic, sizes, checksum,
 * every index in bounds, entries sorted); -EINVAL otherwise, and nothing
 * of it may be used. The key is the caller's to compare. vouched: the
 * file's stamp says it passed all of that as it is (sym_map_file()), so
 * only its sizes are checked again, to lay out the view. */
int symcache_parse(struct symcache_view *v, const uint8_t *buf, size_t len, bool vouched) CPROF_WUR;
/* The frames cached for an address key: true and the first frame's index
 * and their count, or false. */
bool symcache_find(const struct symcache_view *v, uint64_t key, uint32_t *first, uint32_t *n);
/* Entry i (< nentries): its key, first frame and count. */
uint64_t symcache_entry(const struct symcache_view *v, uint32_t i, uint32_t *first, uint32_t *n);
/* Frame i (< nframes). */
void symcache_frame(const struct symcache_view *v, uint32_t i, struct symcache_rec *r);
/* The kept function whose code holds vaddr: true and its index. */
bool symcache_find_code(const struct symcache_view *v, uint64_t vaddr, uint32_t *i);
/*
 * The frames of an address no entry names (a return address, an
 * instruction no one sampled), when it lies in a kept function with
 * addrs_cached: those of the last entry of a sampled address (even key)
 * at or before it in the function. Such a function has an entry at each
 * place its answer may change (symbolizer_keep_code()), and the writer
 * leaves out an entry whose frames are those of the entry before it.
 * true and the first frame's index and count.
 */
bool symcache_find_within(const struct symcache_view *v, uint64_t addr, uint32_t *first, uint32_t *n);
/* Kept function i (< ncode) into c, from_cache set (has_targets unless
 * kept without them): its bytes and arrays are c's own
 * (sym_code_release()), its strings point into the view's buffer. */
void symcache_code(const struct symcache_view *v, uint32_t i, struct sym_code *c);
/* The view's address-to-unit runs, decoded into an array the caller owns. */
struct func_cu_run *symcache_runs(const struct symcache_view *v);

/* Builds a cache file: entries added in increasing key order. */
struct symcache_writer {
	struct sbuf entries, frames, strings;
	struct hashidx str_idx; /* offsets in strings */
	uint32_t nentries, nframes;
	uint64_t last_key;
	struct sbuf code, lines, inlines, targets, bytes;
	uint32_t ncode, nlines, ninlines, ntargets;
	uint64_t last_code;
	struct sbuf runs;
	uint32_t nruns;
	uint64_t runs_end;
};
int symcache_writer_add(struct symcache_writer *w, uint64_t key, const struct symcache_rec *frames, uint32_t n)
	CPROF_WUR;
/* A kept function (c->targets are its call targets), in increasing order
 * of start; -EINVAL for one the reader would reject. */
int symcache_writer_add_code(struct symcache_writer *w, const struct sym_code *c) CPROF_WUR;
/* The address-to-unit runs; left out unless by start (the reader's check). */
void symcache_writer_set_runs(struct symcache_writer *w, const struct func_cu_run *runs, size_t n, uint64_t end);
/* Room in w for what like holds plus more bytes a section: a file's
 * sections grown by doubling were copied and touched fresh pages twice. */
void symcache_writer_reserve(struct symcache_writer *w, const struct symcache_view *like, size_t more);
/* The whole file, with key, as the pieces to write one after another:
 * they point into w and key (and into *out for the header, the runs' end
 * and the checksum), so a file of a few MB is not copied whole first. */
struct symcache_pieces {
	struct iovec iov[16];
	int n;
	size_t len;
	uint8_t head[48], end[8], sum[8];
};
int symcache_writer_pieces(struct symcache_writer *w, const void *key, size_t key_len, struct symcache_pieces *out)
	CPROF_WUR;
/* The whole file, with key, into out (replacing its contents). */
int symcache_writer_finish(struct symcache_writer *w, const void *key, size_t key_len, struct sbuf *out) CPROF_WUR;
void symcache_writer_release(struct symcache_writer *w);
/* Remove the least recently used cache files of dir beyond keep. */
#define SYMCACHE_MAX_FILES 2000
#define SYMCACHE_MAX_BYTES ((uint64_t)1 << 30)
void symcache_prune(const char *dir, size_t keep, uint64_t max_bytes);
/* fd is open on a debug file found at *path for the binary whose cache
 * file is cache_path. If it has compressed sections, returns an fd on a
 * decompressed copy kept in the same folder (made now if there is no
 * valid one) and replaces *path with the copy's; else -1 and fd stays the
 * one to use. */
int symcache_debug_copy(int fd, const char *cache_path, char **path);
/* Copies used and written by this process. */
void symcache_copy_stats(uint64_t *used, uint64_t *written, uint64_t *checked);

#endif
