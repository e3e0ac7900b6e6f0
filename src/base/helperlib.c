/*
 * helperlib.c - finding a library cprof puts into the workload
 * (libcprof-mem.so, libcprof-cupti.so): one search for all of them, so
 * the build tree, an installed tree and an override behave alike.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/base.h"

static char *readable(const char *path)
{
	return access(path, R_OK) == 0 ? realpath(path, NULL) : NULL;
}

char *helper_lib_find(const char *name, const char *env, const char *subdir, const char *installed_dir)
{
	const char *over = env ? getenv(env) : NULL;
	if (over && *over)
		return readable(over);
	char exe[PATH_MAX], *found = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	struct sbuf p = SBUF_INIT;
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		/* Beside the binary, where the build tree puts it, and the
		 * installed layouts relative to bin/. */
		const char *rel[] = { "", subdir, "../lib/cprof", "../lib/" CPROF_MULTIARCH "/cprof", "../lib64/cprof" };
		for (size_t i = 0; !found && i < ARRAY_SIZE(rel); i++) {
			if (!rel[i])
				continue;
			sbuf_reset(&p);
			sbuf_addf(&p, "%s/%s%s%s", exe, rel[i], *rel[i] ? "/" : "", name);
			found = readable(p.buf);
		}
	}
	if (!found && installed_dir) {
		sbuf_reset(&p);
		sbuf_addf(&p, "%s/%s", installed_dir, name);
		found = readable(p.buf);
	}
	sbuf_release(&p);
	return found;
}
