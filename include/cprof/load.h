/*
 * load.h - a profile source loaded into a struct cprof_data: a cprof data
 * file, a perf.data or folded stacks, from a file, a pipe or memory, the
 * format detected from the first bytes.
 *
 * Folded stacks are Brendan Gregg's format: a line is
 * "root;caller;...;leaf COUNT". Kernel frames carry the suffix "_[k]" and
 * inlined frames "_[i]", as stackcollapse-perf.pl writes them. Reading
 * builds a struct cprof_data with one event, "samples", whose sample
 * periods are the counts, so every cprof view accepts folded input.
 */
#ifndef CPROF_LOAD_H
#define CPROF_LOAD_H

#include <stdio.h>
#include "cprof/data.h"

/* Parse folded stacks from buf[0..len) into d (initialised by the call).
 * Lines end in '\n', "\r\n" or '\r'. With strict, the first malformed line
 * is an error; otherwise warn (base.h's channel) is told, one line
 * "'NAME': line N: WHY, skipping", and parsing goes on. Input without a
 * single well-formed line is an error, as is a total count beyond 2^64-1.
 * Returns the number of malformed lines, or -errno. */
int folded_parse(struct cprof_data *d, const char *buf, size_t len, const char *name, bool strict,
		 const struct note_sink *warn, struct cprof_err *err) CPROF_WUR;
/* The same, reading fp to its end first. */
int folded_read(struct cprof_data *d, FILE *fp, const char *name, bool strict, const struct note_sink *warn,
		struct cprof_err *err) CPROF_WUR;

/* The same from memory: the format is detected from the first bytes (a
 * perf.data goes to the perf reader through a memory stream). The fuzz
 * target's entry point. */
int profile_source_parse(struct cprof_data *d, const char *buf, size_t len, const char *name, bool strict,
			 const struct note_sink *warn, struct cprof_err *err) CPROF_WUR;
/* Load a profile source: a cprof data file, a perf.data, or folded stacks
 * (file or "-"). The format is detected from the first bytes. Group members
 * read with their leader's samples come back as samples of their own
 * (cprof_data_expand_reads), so every command that loads through here
 * (report, flamegraph, diff, export, annotate) reads them as it reads a
 * sampled event. */
int profile_source_load(struct cprof_data *d, const char *path, bool strict, const struct note_sink *warn,
			struct cprof_err *err) CPROF_WUR;

/* A frame of a folded line: a slice of the input, never copied, and its
 * hash_words (base.h), found as the scanner reads it. */
struct folded_tok {
	const char *s;
	size_t len;
	uint32_t hash;
};

/* Receives each well-formed line: its frames root first, its count (which
 * may be 0) and its number. */
typedef void (*folded_line_fn)(void *sink, const struct folded_tok *frames, size_t n, uint64_t count,
			       size_t lineno);

/*
 * The same for a consumer of folded lines (the flame graph): folded stacks
 * go to line(sink, ...) as they are read, without a struct cprof_data in
 * between, and *ret_streamed is set; d is then left empty. A file or pipe
 * is read a piece at a time, never held whole, with the same lines,
 * warnings and errors as a whole-input parse. Other formats load into d as
 * above, and *ret_streamed is false.
 */
int profile_source_load_lines(struct cprof_data *d, const char *path, bool strict, const struct note_sink *warn,
			      folded_line_fn line, void *sink, bool *ret_streamed, struct cprof_err *err) CPROF_WUR;
/* The same from memory (the fuzz target's), read as a file is: folded
 * stacks in pieces of piece bytes (0: the usual size), so that a test
 * reaches lines cut across pieces. */
int profile_source_parse_lines(struct cprof_data *d, const char *buf, size_t len, size_t piece, const char *name,
			       bool strict, const struct note_sink *warn, folded_line_fn line, void *sink,
			       bool *ret_streamed, struct cprof_err *err) CPROF_WUR;

/* perf.data is unwound and symbolized like a recording, which is the record
 * layer's work (perf-import.h) and out of this layer's reach: the command
 * layer hands that reader over once, at start-up. perf.data is streamed to
 * it, never held whole. */
typedef int (*profile_perf_reader_fn)(struct cprof_data *d, FILE *fp, const uint8_t *magic, size_t magic_len,
				      const char *name, struct cprof_err *err);
void profile_source_set_perf_reader(profile_perf_reader_fn fn);

#endif
