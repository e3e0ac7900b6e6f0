/*
 * annotate.h - `cprof annotate`: a function's instructions, each with its
 * share of the function's samples, with source lines, inline instances,
 * jumps, loops and calls marked.
 *
 * Three steps, each usable alone (tests and the benchmark use them so):
 *   ann_profile_build()  samples per function and per address, from the
 *                        recording's leaf frames (frames keep exact
 *                        addresses, so no other table is needed);
 *   annotator_code()     the function's code: the copy saved in the
 *                        recording (SECTION_CODE) or, when none was saved,
 *                        its binary on disk if that is the binary recorded;
 *   ann_view_build()     disassembly (disasm.h) joined with the counts,
 *                        line rows and inline ranges;
 * and two writers, text and JSON (schema cprof-annotate/1).
 *
 * Everything borrows the struct cprof_data it was built from, which must
 * outlive it; code read from a binary lives until annotator_free().
 */
#ifndef CPROF_ANNOTATE_H
#define CPROF_ANNOTATE_H

#include <stdio.h>
#include "cprof/data.h"
#include "cprof/disasm.h"

/* Samples whose leaf address is addr. */
struct ann_addr {
	uint64_t addr, samples, weight;
};

/* A function as annotate counts it: every sample whose leaf address lies in
 * its code, its inlined callees' code included (report counts those as the
 * callees' self). */
struct ann_func {
	uint32_t name, dso;  /* strings of the data */
	uint32_t flags;      /* FRF_KERNEL / FRF_JIT / FRF_UNKNOWN of its frames */
	uint64_t samples, weight;
	uint64_t addr;       /* its busiest address (several static functions may share a name) */
	size_t first_addr, naddrs; /* run in ann_profile.addrs, sorted by address */
};

struct ann_profile {
	const struct cprof_data *d;
	int event;
	uint64_t total_samples, total_weight;
	VEC(struct ann_func) funcs; /* most weight first */
	VEC(struct ann_addr) addrs;
};

/* event: index of the event to count (the first is 0). Fails on folded
 * stacks, which carry no addresses. */
int ann_profile_build(struct ann_profile *ap, const struct cprof_data *d, int event, struct cprof_err *err) CPROF_WUR;
void ann_profile_release(struct ann_profile *ap);
/* Functions named name (exactly, or up to a C++ parameter list), most
 * weight first; returns how many indexes were stored in ret (at most max). */
size_t ann_profile_find(const struct ann_profile *ap, const char *name, size_t *ret, size_t max);

/* What annotate found on disk for a binary of the recording. */
enum ann_bin_state {
	ANN_BIN_SAME,      /* build IDs match */
	ANN_BIN_CHANGED,   /* rebuilt since the recording */
	ANN_BIN_GONE,      /* missing or unreadable */
	ANN_BIN_UNCHECKED, /* no build ID recorded (or none on disk): cannot tell */
	ANN_BIN_NONE,      /* not a file: kernel, JIT, [vdso] */
};
extern const char *const ann_bin_state_names[]; /* "same", "changed", "gone", "unchecked", "none" */

struct ann_binary {
	const char *path;
	enum ann_bin_state state;
	uint8_t recorded_size, disk_size;
	uint8_t recorded[20], disk[20];
	char why[256]; /* ANN_BIN_GONE: why it could not be read */
};

struct ann_line {
	uint32_t off;      /* from the function's start */
	const char *file;  /* "" if unknown */
	uint32_t line;
};
struct ann_inline {
	uint32_t lo, hi;   /* offsets, lo < hi */
	const char *func, *file; /* file:line is the call site one level out */
	uint32_t line, depth;    /* depth 1: inlined into the function itself */
};
struct ann_sym {
	uint64_t addr;
	const char *name;
};

enum ann_code_from { ANN_FROM_DATA, ANN_FROM_BINARY };

/* Bytes of the code that are there, as offsets from its start. */
struct ann_range {
	uint32_t off, len;
};

/* One function's code, wherever it came from. */
struct ann_code {
	enum ann_code_from from;
	const char *func, *dso, *comp_dir;
	uint64_t start;
	const uint8_t *bytes;
	uint32_t len;
	unsigned machine;
	uint8_t build_id_size, build_id[20];
	VEC(struct ann_line) lines;     /* sorted by offset */
	VEC(struct ann_inline) inlines; /* sorted by (lo, depth) */
	VEC(struct ann_sym) syms;       /* names of targets outside the function, sorted by address */
	VEC(struct ann_range) parts;    /* empty: all of [start, start + len); else only these (a big
					 * function saved in parts around its samples), sorted */
	uint8_t *owned;                 /* bytes read from a binary, or the parts put together */
};
void ann_code_release(struct ann_code *c);

struct annotator;
struct annotator *annotator_new(const struct cprof_data *d);
void annotator_free(struct annotator *a);
/* The binary f lives in, checked against the recording once per binary. */
const struct ann_binary *annotator_binary(struct annotator *a, const struct ann_func *f);
/* The code of f. Errors are one sentence saying why there is none. */
int annotator_code(struct annotator *a, const struct ann_func *f, struct ann_code *ret,
		   struct cprof_err *err) CPROF_WUR;

struct ann_row {
	struct disasm_insn insn; /* for a gap: addr and size of the bytes not saved */
	bool gap;              /* code between saved parts, not shown */
	uint64_t samples, weight;
	int32_t line;          /* index in code->lines, -1 if none covers it */
	bool target;           /* a jump inside the function lands here */
	bool back_edge;        /* a jump back to an earlier instruction (or itself): a loop */
	const char *target_name; /* a direct jump or call: "name", "func+0x1c", NULL if unknown */
	uint32_t inline_depth; /* inline ranges covering it */
};

struct ann_line_sum {
	const char *file;
	uint32_t line;
	uint64_t samples, weight;
};

struct ann_view {
	const struct ann_func *f;
	const struct ann_code *c;
	VEC(struct ann_row) rows;
	uint64_t samples, weight;       /* the function's, as counted */
	uint64_t outside_samples;       /* leaf addresses outside the code (another part of the function) */
	uint64_t misaligned_samples;    /* inside an instruction, not at its start */
	uint32_t saved_bytes;           /* bytes shown (less than the span for a function saved in parts) */
	uint32_t invalid_bytes;         /* bytes capstone could not decode */
	uint64_t first_invalid;
	size_t hottest;                 /* row with the most weight; SIZE_MAX if no sample */
	VEC(struct ann_line_sum) lines; /* per source line, most weight first */
};

int ann_view_build(struct ann_view *v, const struct ann_profile *ap, const struct ann_func *f,
		   const struct ann_code *c, enum disasm_syntax syntax, struct cprof_err *err) CPROF_WUR;
void ann_view_release(struct ann_view *v);
/* Index of the inline range of depth `depth` covering row r's offset, or -1. */
int ann_view_inline_at(const struct ann_view *v, uint32_t off, uint32_t depth);

/* Source files, read once each for --source. */
struct ann_sources;
struct ann_sources *ann_sources_new(void);
void ann_sources_free(struct ann_sources *s);
/* Line `line` of file (relative paths are taken from comp_dir), without
 * its newline; NULL when the file cannot be read or is shorter. */
const char *ann_source_line(struct ann_sources *s, const char *comp_dir, const char *file, uint32_t line);

struct ann_print_opts {
	bool color;
	bool source;        /* source text next to the line markers */
	const char *input;  /* the data file's name, for messages */
	struct ann_sources *sources;
};

void ann_print_text(FILE *out, const struct ann_profile *ap, const struct ann_view *v, const struct ann_binary *bin,
		    const struct ann_print_opts *o);
/* One element of the "functions" array of cprof-annotate/1. */
void ann_print_json(FILE *out, const struct ann_profile *ap, const struct ann_view *v, const struct ann_binary *bin,
		    const struct ann_print_opts *o);

#endif
