/*
 * fuzz-folded.c - fuzzing profile input as report, flamegraph and diff
 * read it (profile_source_parse: the format sniffing, the folded-stack
 * parser, and the data file reader behind the magic), and every view of
 * what it accepts (fuzz-views.h). Each input is read leniently (malformed
 * lines skipped) and strictly, and the flame graph's direct path over the
 * same scanner, streamed in small pieces, must draw what the profile path
 * draws, byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-views.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_warning(void *ctx, const char *line)
{
	(void)line;
	++*(size_t *)ctx;
}

/* The graph as SVG in memory; NULL when fg_write refuses (no samples). */
static char *svg_of(const struct flamegraph *g, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);
	struct fg_opts fo = FG_OPTS_INIT;
	struct cprof_err err;
	if (!fp)
		abort();
	int r = fg_write(fp, g, &fo, &err);
	if (fclose(fp) != 0)
		abort();
	if (r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The flame graph's direct path (folded stacks into the graph, streamed in
 * pieces of `piece` bytes) must draw what the profile path draws, byte for
 * byte, and report the same malformed lines and errors.
 */
static void compare_direct(const uint8_t *data, size_t size, bool strict, bool reverse, bool chart, size_t piece)
{
	struct cprof_data d, dd;
	struct cprof_err err, derr;
	size_t warnings = 0, dwarnings = 0;
	struct flamegraph direct, built;
	bool drawn;
	chart ? fg_init_chart(&direct) : fg_init(&direct);
	chart ? fg_init_chart(&built) : fg_init(&built);
	int r = profile_source_parse(&d, (const char *)data, size, "fuzz", strict, &(struct note_sink){ count_warning, &warnings }, &err);
	int dr = profile_source_parse_fg(&dd, &direct, reverse, (const char *)data, size, piece, "fuzz", strict,
					 &(struct note_sink){ count_warning, &dwarnings }, &drawn, &derr);
	if (drawn) {
		if ((r < 0) != (dr < 0) || (r < 0 && strcmp(err.msg, derr.msg) != 0) ||
		    (r >= 0 && (r != dr || warnings != dwarnings))) {
			fprintf(stderr, "fuzz: direct path: %d (%s), %zu warnings; profile path: %d (%s), %zu warnings\n",
				dr, dr < 0 ? derr.msg : "", dwarnings, r, r < 0 ? err.msg : "", warnings);
			abort();
		}
		if (r >= 0) {
			struct profile p;
			struct profile_filter f = PROFILE_FILTER_INIT;
			if (profile_build(&p, &d, &f, &err) < 0)
				abort();
			if (chart)
				fg_add_samples(&built, &p, reverse, false);
			else
				fg_add_profile(&built, &p, NULL, reverse, false);
			size_t n1 = 0, n2 = 0;
			char *a = svg_of(&built, &n1), *b = svg_of(&direct, &n2);
			if (!a != !b || (a && (n1 != n2 || memcmp(a, b, n1) != 0))) {
				fprintf(stderr, "fuzz: the direct path draws another graph (%zu bytes, profile path %zu)\n",
					n2, n1);
				abort();
			}
			free(a);
			free(b);
			profile_release(&p);
		}
	}
	fg_release(&direct);
	fg_release(&built);
	cprof_data_release(&d);
	cprof_data_release(&dd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	compare_direct(data, size, false, false, false, 0);
	compare_direct(data, size, false, true, false, 1 + size % 13);
	compare_direct(data, size, true, false, true, 1 + size % 5);
	compare_direct(data, size, false, size % 2, true, 2);

	for (int strict = 0; strict < 2; strict++) {
		struct cprof_data d;
		struct cprof_err err;
		size_t warnings = 0;
		int r = profile_source_parse(&d, (const char *)data, size, "fuzz", strict, &(struct note_sink){ count_warning, &warnings }, &err);
		if (r >= 0) {
			if ((size_t)r != warnings) {
				fprintf(stderr, "fuzz: %d malformed lines, %zu warnings\n", r, warnings);
				abort();
			}
			fuzz_views(&d);
		} else if (!strstr(err.msg, "'fuzz'")) {
			fprintf(stderr, "fuzz: error without the input's name: %s\n", err.msg);
			abort();
		}
		cprof_data_release(&d);
	}
	return 0;
}
