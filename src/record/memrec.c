/*
 * memrec.c - glue between `record --mem`, the preloaded shim and the
 * finishing pass. See memrec.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/data.h"
#include "cprof/memrec.h"

#define SHIM_NAME "libcprof-mem.so"

/* The shim lives beside the cprof binary (build tree) or in
 * ../lib/<multiarch>/cprof or ../lib/cprof (installed); CPROF_MEM_LIB
 * overrides. */
static char *find_shim(void)
{
	const char *env = getenv("CPROF_MEM_LIB");
	if (env && *env)
		return access(env, R_OK) == 0 ? xstrdup(env) : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	static const char *const rel[] = { "/" SHIM_NAME, "/../lib/cprof/" SHIM_NAME,
					   "/../lib/x86_64-linux-gnu/cprof/" SHIM_NAME, "/../lib64/cprof/" SHIM_NAME };
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		struct sbuf p = SBUF_INIT;
		sbuf_addf(&p, "%s%s", exe, rel[i]);
		if (access(p.buf, R_OK) == 0) {
			char *r = realpath(p.buf, NULL);
			sbuf_release(&p);
			return r;
		}
		sbuf_release(&p);
	}
	return NULL;
}

int memrec_prepare(struct memrec *m, struct cprof_err *err)
{
	memset(m, 0, sizeof *m);
	m->shim = find_shim();
	if (!m->shim)
		return err_set(err, ENOENT, "--mem: cannot find " SHIM_NAME " beside the cprof binary "
				       "(set CPROF_MEM_LIB to its path)");
	const char *tmp = getenv("TMPDIR");
	struct sbuf d = SBUF_INIT;
	sbuf_addf(&d, "%s/cprof-mem.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d.buf)) {
		int e = errno;
		sbuf_release(&d);
		return err_set(err, e, "--mem: cannot make a temporary directory: %s", strerror(e));
	}
	m->dir = sbuf_detach(&d);
	const char *old = getenv("LD_PRELOAD");
	m->saved_preload = old ? xstrdup(old) : NULL;
	struct sbuf pre = SBUF_INIT;
	sbuf_addf(&pre, "%s%s%s", m->shim, old && *old ? ":" : "", old ? old : "");
	int r = setenv("LD_PRELOAD", pre.buf, 1) == 0 && setenv(MEMTRACE_ENV_DIR, m->dir, 1) == 0 ? 0 : -errno;
	sbuf_release(&pre);
	if (r < 0)
		return err_set(err, -r, "--mem: cannot set the environment: %s", strerror(-r));
	return 0;
}

void memrec_restore_env(struct memrec *m)
{
	if (m->saved_preload)
		(void)setenv("LD_PRELOAD", m->saved_preload, 1);
	else
		(void)unsetenv("LD_PRELOAD");
	(void)unsetenv(MEMTRACE_ENV_DIR);
}

int memrec_collect(struct memrec *m, struct raw_store *st, struct cprof_err *err)
{
	int r = memtrace_load_dir(m->dir, &m->traces, err);
	if (r < 0)
		return r;
	size_t total = 0;
	m->base = xcalloc(m->traces.procs.n + 1, sizeof *m->base);
	for (size_t i = 0; i < m->traces.procs.n; i++) {
		m->base[i] = total;
		total += m->traces.procs.v[i].stacks.n;
	}
	m->stack_map = xcalloc(total + 1, sizeof *m->stack_map);
	st->mem_stack_out = m->stack_map;
	for (size_t i = 0; i < m->traces.procs.n; i++) {
		const struct mem_proc_trace *t = &m->traces.procs.v[i];
		for (size_t k = 0; k < t->stacks.n; k++) {
			const struct mem_stack_ref *ref = &t->stacks.v[k];
			struct raw_sample x = { .time = ref->first_use == UINT64_MAX ? t->h.start_ns : ref->first_use,
						.pid = t->h.pid, .tid = t->h.pid, .nips = ref->n, .ip_off = st->ips.n,
						.mode = PERF_RECORD_MISC_USER, .mem_slot = (uint32_t)(m->base[i] + k + 1) };
			vec_reserve(&st->ips, st->ips.n + ref->n);
			memcpy(st->ips.v + st->ips.n, t->ips.v + ref->off, ref->n * sizeof *t->ips.v);
			st->ips.n += ref->n;
			vec_push(&st->samples, x);
		}
	}
	return 0;
}

void memrec_finish(struct memrec *m, struct cprof_data *d)
{
	uint64_t malformed = 0;
	for (size_t i = 0; i < m->traces.procs.n; i++) {
		memtrace_analyze(&m->traces.procs.v[i], m->stack_map + m->base[i], d);
		malformed += m->traces.procs.v[i].malformed;
	}
	cprof_meta_set(d, "mem", "malloc,calloc,realloc,reallocarray,free,aligned_alloc,posix_memalign,"
				 "memalign,valloc,pvalloc,mmap,munmap");
	if (malformed)
		cprof_meta_setf(d, "mem_truncated_bytes", "%llu", (unsigned long long)malformed);
}

void memrec_cleanup(struct memrec *m)
{
	if (m->dir) {
		DIR *dp = opendir(m->dir);
		struct dirent *de;
		while (dp && (de = readdir(dp))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			struct sbuf p = SBUF_INIT;
			sbuf_addf(&p, "%s/%s", m->dir, de->d_name);
			(void)unlink(p.buf);
			sbuf_release(&p);
		}
		if (dp)
			closedir(dp);
		(void)rmdir(m->dir);
	}
	memtrace_release(&m->traces);
	free(m->dir);
	free(m->shim);
	free(m->saved_preload);
	free(m->stack_map);
	free(m->base);
	memset(m, 0, sizeof *m);
}
