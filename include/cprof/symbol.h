/*
 * symbol.h - turning addresses into functions, inline chains, source lines.
 *
 * A struct symbolizer caches one libdwfl session per binary (keyed by path
 * and build id) and every address it has resolved, so each unique address is
 * looked up once however many samples hit it. Kernel addresses resolve
 * through /proc/kallsyms and JIT code through /tmp/perf-PID.map files.
 *
 * Strings in returned frames are owned by the symbolizer and stay valid
 * until symbolizer_free().
 */
#ifndef CPROF_SYMBOL_H
#define CPROF_SYMBOL_H

#include "cprof/base.h"

struct symbolizer;

/* One resolved frame. An address inside inlined code yields several frames:
 * the innermost inlined callee first (SYMF_INLINED), the real function last. */
struct sym_frame {
	const char *func; /* demangled; "[unknown]" when nothing knew the address */
	const char *full; /* func with Rust hashes and crate disambiguators kept; NULL when the same */
	const char *dso;  /* path of the binary, "[kernel.kallsyms]", "[vdso]", "[jit]" */
	const char *file; /* source file or "" */
	uint32_t line;    /* 0 if unknown */
	uint64_t addr;    /* address relative to the binary (ELF vaddr) or absolute for kernel */
	uint32_t flags;   /* SYMF_* */
};
#define SYMF_INLINED 1u
#define SYMF_KERNEL 2u
#define SYMF_UNKNOWN 4u
#define SYMF_JIT 8u

/* Where a user address lives: one executable mapping of a file. */
struct sym_map {
	const char *path;      /* as in the MMAP2 record */
	uint64_t start, len, pgoff;
	const uint8_t *build_id; /* may be NULL */
	uint8_t build_id_size;
};

/* A memfd holding this process's vDSO image, which is every process's (one
 * kernel maps one image), or -1. The caller closes it; /proc/self/fd/N names
 * it for APIs that take a path. */
int vdso_memfd(void);

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

/*
 * Resolve ip, which lies inside map. is_return: ip is a return address, so
 * the call instruction (ip - 1) is looked up. Writes at most max frames into
 * out, innermost first, and returns how many (always >= 1 when max >= 1: an
 * unknown address gives one SYMF_UNKNOWN frame carrying dso and offset).
 */
int symbolizer_user(struct symbolizer *s, const struct sym_map *map, uint64_t ip, bool is_return,
		    struct sym_frame *out, int max);
/* Resolve a kernel address through /proc/kallsyms (read once). Returns 1. */
int symbolizer_kernel(struct symbolizer *s, uint64_t ip, struct sym_frame *out);
/* Resolve an address in anonymous executable memory of process pid through
 * /tmp/perf-PID.map (read once per pid). Returns 1 (SYMF_UNKNOWN if absent). */
int symbolizer_jit(struct symbolizer *s, uint32_t pid, uint64_t ip, struct sym_frame *out);

/*
 * What `cprof annotate` needs of one function, read from its binary: the
 * code bytes, the line table rows and inline instances that cover it. Line
 * rows and inline ranges are sorted by offset. Strings are the
 * symbolizer's; bytes and arrays are owned (sym_code_release()).
 */
struct sym_code_line {
	uint32_t off;       /* from start */
	const char *file;   /* "" if unknown */
	uint32_t line;
};
struct sym_code_inline {
	uint32_t lo, hi;    /* offsets from start, lo < hi */
	const char *func;   /* the inlined function */
	const char *file;   /* call site, one level out */
	uint32_t line, depth;
};
/* A direct call or jump out of the function, with the name of its target
 * (symbolizer_name_at()). */
struct sym_code_target {
	uint64_t addr;
	const char *name;
};
struct sym_code {
	const char *func;   /* the symbol's display name */
	uint64_t start;     /* ELF virtual address */
	uint8_t *bytes;
	uint32_t len;
	uint16_t machine;   /* ELF e_machine */
	uint8_t build_id_size;
	uint8_t build_id[20];
	const char *comp_dir; /* compilation directory of relative source paths, "" if unknown */
	VEC(struct sym_code_line) lines;
	VEC(struct sym_code_inline) inlines;
	/* Set when the code came from the symbol cache with the targets its
	 * whole length calls (sorted by address), as symbolizer_keep_code()
	 * was given them: the caller need not disassemble it again. */
	bool has_targets;
	VEC(struct sym_code_target) targets;
	bool from_cache;   /* the symbol cache file kept it */
	bool addrs_cached; /* and answers for every address of it */
};
void sym_code_release(struct sym_code *c);

/*
 * The function that holds vaddr (an ELF virtual address, as in frames) in
 * the binary of map (path and build id are used). max_len bounds the code
 * read: a bigger function fails with EFBIG. Errors name the binary. A
 * function the binary's symbol cache file kept (symbolizer_keep_code()) is
 * answered from it, with its targets, and nothing of the binary is read.
 */
int symbolizer_code(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr, uint32_t max_len,
		    struct sym_code *ret, struct cprof_err *err) CPROF_WUR;
/*
 * Keep c (a whole function, as symbolizer_code() returned it) in the
 * binary's symbol cache file, with the targets of every direct call and
 * jump that leaves it (n of them; targets NULL: not listed, and
 * symbolizer_code() will say so), so that symbolizer_code() on a later run
 * answers from the file without reading the binary's debug information.
 * What its addresses resolve to is kept too: a later recording that
 * samples any of them, or returns into it, finds the answer there.
 * Everything is copied. Nothing is kept when the binary has no cache
 * file, or when that file would grow past 4 MiB with it.
 */
void symbolizer_keep_code(struct symbolizer *s, const struct sym_map *map, const struct sym_code *c,
			  const struct sym_code_target *targets, size_t n);
/* The functions of the binary of map (its symbol table's; a sizeless one
 * up to the next symbol, and flagged), by start: how many, in *ret (the
 * caller frees); 0 when it cannot be read. */
struct sym_func {
	uint64_t start, size;
	bool sizeless;
};
size_t symbolizer_functions(struct symbolizer *s, const struct sym_map *map, struct sym_func **ret);
/* True when vaddr (an ELF virtual address in the binary of map), looked up
 * by this symbolizer as a sampled instruction pointer or as a return
 * address, was not in the symbol cache file and went through libdw for it. */
bool symbolizer_resolved_anew(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr);
/* The name of what lies at vaddr in the binary of map: "func", "func+0x1c",
 * or "name@plt" for a PLT entry; NULL if nothing is known. Interned. */
const char *symbolizer_name_at(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr);
/* True when the symbol cache file answers for ip in map (a sampled
 * instruction pointer, or a return address), so that resolving it would
 * not open the binary's debug information. Reads the file if need be. */
bool symbolizer_cache_answers(struct symbolizer *s, const struct sym_map *map, uint64_t ip, bool is_return);
/* True when the symbolizer has already opened the binary of map. */
bool symbolizer_has_binary(const struct symbolizer *s, const struct sym_map *map);

/* The GNU build ID of an ELF file; its size, 0 if it has none. */
int sym_file_build_id(const char *path, uint8_t id[20], struct cprof_err *err) CPROF_WUR;

/* Demangle C++ (_Z), Rust (v0 _R, legacy _ZN..17h<hash>E) and D (_D) names
 * with libiberty; returns a malloc'd string, or NULL if name is not mangled
 * or cannot be demangled. Rust hashes and crate disambiguators are dropped. */
char *demangle(const char *name);
/* The same for Rust names with their hashes and disambiguators kept
 * ("core[8c5a6b2c]::fmt::write::h0123456789abcdef"); NULL for anything
 * that is not a Rust symbol. */
char *demangle_full(const char *name);

/* Counters for the record summary and tests. binaries_opened: binaries
 * looked at; binaries_read: those whose symbols and debug information
 * libdw had to read (the rest answered from the symbol cache). */
struct symbolizer_stats {
	uint64_t lookups, cache_hits, unknown, binaries_opened, binaries_missing, binaries_read;
	/* The symbol cache: addresses answered from it and resolved anew;
	 * files read, rejected (damaged, or of another identity), written;
	 * files read that were checked whole (their stamp did not vouch for
	 * them); with CPROF_SYMCACHE_VERIFY, answers that libdw contradicted. */
	uint64_t symcache_hits, symcache_misses, symcache_read, symcache_rejected, symcache_written,
		symcache_checked, symcache_mismatches;
	/* Functions' code answered from the cache file, and kept for it;
	 * addresses resolved ahead for it (symbolizer_keep_code()). */
	uint64_t symcache_code_hits, symcache_code_kept, symcache_prefilled;
	/* Decompressed copies of debug files used, made, and checked whole
	 * (not vouched for by a stamp), by the whole process (every
	 * symbolizer's). */
	uint64_t debug_copies_used, debug_copies_written, debug_copies_checked;
};
void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret);

/*
 * Add what this symbolizer resolved through libdw to the symbol cache
 * files of its binaries (symbolizer_free() does it too). Best effort: a
 * cache that cannot be written costs only the next run its time. The
 * cache lives in $CPROF_CACHE_DIR/symbols (else $XDG_CACHE_HOME/cprof or
 * ~/.cache/cprof); CPROF_CACHE_DIR set but empty turns it off.
 */
void symbolizer_save_cache(struct symbolizer *s);
/* True when the cache is turned on (CPROF_CACHE_DIR not set to ""). */
bool symbolizer_cache_enabled(void);

/* ---- the other way: a symbol's place in its file (elfsym.c) ---- */

/* The file offset of function symbol name's first instruction in the ELF
 * file at path (its .symtab, else .dynsym; a "@VERSION" suffix is not part
 * of the name): where a uprobe goes. -errno and a one-line err naming the
 * file and the symbol: not an x86-64 ELF file, no such function, an IFUNC
 * (its resolver is not the function). */
int elf_symbol_offset(const char *path, const char *name, uint64_t *ret_off, struct cprof_err *err) CPROF_WUR;

#endif
