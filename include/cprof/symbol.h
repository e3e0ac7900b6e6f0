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

/* Demangle C++ (_Z) and Rust (_R, legacy _ZN..h<hash>E) names; returns a malloc'd
 * string, or NULL if name is not mangled or cannot be demangled. */
char *demangle(const char *name);

/* Counters for the record summary and tests. */
struct symbolizer_stats {
	uint64_t lookups, cache_hits, unknown, binaries_opened, binaries_missing;
};
void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret);

#endif
