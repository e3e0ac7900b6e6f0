/*
 * fuzz-main.c - the main() of the fuzz targets in a normal build (gcc, no
 * libFuzzer): it feeds every file of the corpus folders given as arguments
 * to LLVMFuzzerTestOneInput(), so each crash ever found stays a regression
 * test, under ASan+UBSan in scripts/test. A target may define
 * fuzz_mutate() to run its own deterministic mutations afterwards, of its
 * own seeds or of the corpus it is given (the number of rounds follows the
 * folders, after "--rounds").
 *
 * With -Dfuzzing=true the targets link libFuzzer instead, whose main()
 * explores from the same corpus (scripts/test runs each for a minute).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static VEC(struct fuzz_input) inputs;

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, len = 0, n;
	uint8_t *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len, fp)) > 0)
		if ((len += n) == cap)
			buf = realloc(buf, cap *= 2);
	int bad = !buf || ferror(fp);
	fclose(fp);
	if (bad) {
		fprintf(stderr, "cannot read '%s'\n", path);
		free(buf);
		return -1;
	}
	/* An exact-size copy, so ASan sees a read past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	vec_push(&inputs, ((struct fuzz_input){ exact, len }));
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of dir, in name order (so a failure replays the same way). */
static int replay_dir(const char *dir, int *files)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		fprintf(stderr, "cannot open corpus '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de; (de = readdir(dp));) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof *names, cmp_names);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (replay_file(path) < 0)
			r = -1;
		else
			++*files;
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	int files = 0, rounds = 0, r = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (replay_dir(argv[i], &files) < 0)
			r = 1;
	}
	if (files == 0) {
		fprintf(stderr, "no corpus files replayed\n");
		r = 1;
	}
	if (rounds && fuzz_mutate)
		fuzz_mutate(rounds, inputs.v, inputs.n);
	printf("replayed %d corpus files, then %d mutations\n", files, fuzz_mutate ? rounds : 0);
	for (size_t i = 0; i < inputs.n; i++)
		free(inputs.v[i].data);
	vec_release(&inputs);
	return r;
}
