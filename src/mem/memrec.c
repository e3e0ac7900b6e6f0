/*
 * memrec.c - glue between `record --mem`, the preloaded shim and the
 * finishing pass. See mem-record.h and memtrace.h.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "cprof/data.h"
#include "cprof/mem-record.h"
#include "cprof/resolve.h"

#define SHIM_NAME "libcprof-mem.so"
#define MAX_NOTES 8 /* kinds of untraced process named one by one */

int memrec_prepare(struct memrec *m, bool sample, uint64_t sample_bytes, struct cprof_err *err)
{
	memset(m, 0, sizeof *m);
	m->prepared = true;
	m->sock = m->child_sock = -1;
	m->sample = sample;
	m->sample_bytes = sample_bytes;
	pthread_mutex_init(&m->lock, NULL);
	/* Beside the cprof binary (build tree) or installed; CPROF_MEM_LIB overrides. */
	m->shim = helper_lib_find(SHIM_NAME, "CPROF_MEM_LIB", NULL, CPROF_LIB_DIR);
	if (!m->shim)
		return err_set(err, ENOENT, "--mem: cannot find " SHIM_NAME " beside the cprof binary "
				       "(set CPROF_MEM_LIB to its path)");
	/* A socket, not a directory: its end is inherited by the whole process
	 * tree, keeps working after a process drops its privileges, and hangs
	 * up when cprof is gone. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(err, errno, "--mem: socketpair: %s", strerror(errno));
	m->sock = sv[0];
	m->child_sock = sv[1];
	struct stat sb;
	if (fcntl(m->child_sock, F_SETFD, 0) < 0 || fstat(m->child_sock, &sb) < 0)
		return err_set(err, errno, "--mem: socket: %s", strerror(errno));
	uint64_t seed = 0;
	const char *s = getenv("CPROF_MEM_SEED");
	if (s && *s && parse_u64(s, &seed) < 0)
		return err_set(err, EINVAL, "CPROF_MEM_SEED: '%s' is not a number", s);
	const char *old = getenv("LD_PRELOAD");
	m->saved_preload = old ? xstrdup(old) : NULL;
	struct sbuf pre = SBUF_INIT, env = SBUF_INIT;
	sbuf_addf(&pre, "%s%s%s", m->shim, old && *old ? ":" : "", old ? old : "");
	sbuf_addf(&env, "%d %llu %d %" PRIu64 " %" PRIu64, m->child_sock, (unsigned long long)sb.st_ino,
		  sample ? MT_MODE_SAMPLE : MT_MODE_EXACT, sample ? sample_bytes : 0, seed);
	int r = setenv("LD_PRELOAD", pre.buf, 1) == 0 && setenv(MEMTRACE_ENV, env.buf, 1) == 0 ? 0 : -errno;
	sbuf_release(&pre);
	sbuf_release(&env);
	if (r < 0)
		return err_set(err, -r, "--mem: cannot set the environment: %s", strerror(-r));
	return 0;
}

/* Take one region message; false when the socket is done. */
static bool receive_one(struct memrec *m)
{
	struct memtrace_hello hello;
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { &hello, sizeof hello };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n = recvmsg(m->sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	int fd = -1;
	bool bad = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
			if (fd < 0)
				fd = f;
			else
				close(f), bad = true;
		}
	}
	struct stat sb;
	const uint8_t *map = NULL;
	if (!bad && fd >= 0 && n == (ssize_t)sizeof hello && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0 &&
	    memcmp(hello.magic, MEMTRACE_MAGIC, 8) == 0 && hello.size >= sizeof(struct memtrace_header) &&
	    fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size >= hello.size && hello.size <= SIZE_MAX &&
	    /* it cannot shrink under our reads (a SIGBUS here) */
	    fcntl(fd, F_GET_SEALS) >= 0 && (fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK)) {
		map = mmap(NULL, (size_t)hello.size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			map = NULL;
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&m->lock);
	if (map && memtrace_check(map, (size_t)hello.size, "region", NULL) == 0)
		vec_push(&m->regions, ((struct mem_region){ .map = map, .len = (size_t)hello.size, .pid = hello.pid,
							    .ppid = hello.ppid, .start_ns = hello.start_ns }));
	else if (map)
		munmap((void *)map, (size_t)hello.size), m->bad_messages++;
	else
		m->bad_messages++;
	pthread_mutex_unlock(&m->lock);
	return true;
}

/* Regions arrive while the workload runs: a process tree could otherwise
 * fill the socket's queue and block in its start-up until cprof reads. */
static void *receiver(void *arg)
{
	struct memrec *m = arg;
	while (receive_one(m))
		;
	return NULL;
}

void memrec_restore_env(struct memrec *m)
{
	if (m->saved_preload)
		(void)setenv("LD_PRELOAD", m->saved_preload, 1);
	else
		(void)unsetenv("LD_PRELOAD");
	(void)unsetenv(MEMTRACE_ENV);
	if (m->child_sock >= 0)
		close(m->child_sock);
	m->child_sock = -1;
	if (m->sock >= 0 && pthread_create(&m->receiver, NULL, receiver, m) == 0)
		m->receiving = true;
}

static void stop_receiving(struct memrec *m)
{
	if (!m->receiving)
		return;
	/* Wakes the receiver once the queue is empty; processes still running
	 * can no longer send (their shims stop when cprof exits). */
	(void)shutdown(m->sock, SHUT_RD);
	pthread_join(m->receiver, NULL);
	m->receiving = false;
}

int memrec_collect(struct memrec *m, struct cprof_err *err)
{
	(void)err;
	stop_receiving(m);
	size_t total = 0;
	m->base = xcalloc(m->regions.n + 1, sizeof *m->base);
	m->stacks = xcalloc(m->regions.n + 1, sizeof *m->stacks);
	for (size_t i = 0; i < m->regions.n; i++) {
		struct mem_region *r = &m->regions.v[i];
		r->nstacks = memtrace_nstacks(r, &m->damaged);
		memtrace_stacks(r, &m->stacks[i], &m->damaged);
		m->base[i] = total;
		total += r->nstacks;
	}
	m->stack_map = xcalloc(total + 1, sizeof *m->stack_map);
	return 0;
}

void memrec_stacks(struct memrec *m, struct resolver *res)
{
	/* The tracer's stacks hold return addresses only. */
	for (size_t i = 0; i < m->regions.n; i++) {
		const struct mem_region *r = &m->regions.v[i];
		const struct mem_stacks *s = &m->stacks[i];
		for (size_t k = 0; k < s->off.n; k++)
			m->stack_map[m->base[i] + k] =
				resolver_add(res, r->pid, s->time.v[k], s->n.v[k] ? s->ips.v + s->off.v[k] : NULL,
					     s->n.v[k], RESOLVE_RETURNS);
	}
}

/* ---- processes that were not traced ---- */
struct image {
	uint32_t pid, parent;
	uint64_t t0, t1;      /* [t0, t1): from its fork or exec to the next exec */
	bool forked, execs;   /* began with a fork / ended with an exec */
};

static bool region_in(const struct memrec *m, const struct image *im)
{
	for (size_t i = 0; i < m->regions.n; i++)
		if (m->regions.v[i].pid == im->pid && m->regions.v[i].start_ns >= im->t0 &&
		    m->regions.v[i].start_ns < im->t1)
			return true;
	return false;
}

/* Why the loader would not preload the shim into path; mapped: the kernel
 * reported the image's mappings (it stops profiling a process at an exec
 * that makes it undumpable: set-user-ID, set-group-ID, file capabilities). */
static const char *why_not(const char *path, bool mapped)
{
	struct stat sb;
	if (!mapped)
		return "the kernel stopped profiling it at exec, as it does for set-user-ID, set-group-ID and "
		       "file-capability programs; the dynamic loader ignores LD_PRELOAD for those";
	if (!path || stat(path, &sb) < 0)
		return "its program could not be examined";
	if (sb.st_mode & (S_ISUID | S_ISGID))
		return "set-user-ID or set-group-ID program: the dynamic loader ignores LD_PRELOAD for it";
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return "program with file capabilities: the dynamic loader ignores LD_PRELOAD for it";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	bool dynamic = false, elf = false;
	if (fd >= 0 && pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 512) {
		elf = true;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP)
				dynamic = true;
		}
	}
	if (fd >= 0)
		close(fd);
	if (elf && !dynamic)
		return "statically linked: there is no dynamic loader to preload the tracer";
	return "LD_PRELOAD or CPROF_MEM was removed from its environment, or the tracer could not start in it";
}

/* The program a process image ran: its first executable mapping; *mapped:
 * the kernel reported any mapping of the image at all. */
static const char *image_path(const struct raw_store *st, const struct image *im, bool *mapped)
{
	const struct raw_mmap *best = NULL;
	*mapped = false;
	for (size_t i = 0; i < st->mmaps.n; i++) {
		const struct raw_mmap *mm = &st->mmaps.v[i];
		if (mm->pid != im->pid || mm->time < im->t0 || mm->time >= im->t1)
			continue;
		*mapped = true;
		if (mm->path && mm->path[0] == '/' && (!best || mm->time < best->time))
			best = mm;
	}
	return best ? best->path : NULL;
}

static const char *image_comm(const struct raw_store *st, const struct image *im)
{
	const char *c = NULL;
	for (size_t i = 0; i < st->comms.n; i++)
		if (st->comms.v[i].pid == im->pid && st->comms.v[i].time < im->t1)
			c = st->comms.v[i].comm;
	return c ? c : "?";
}

/* Every process image the kernel saw (forks and execs of the workload's
 * tree), against the regions received: one line per program and reason. */
static void untraced(const struct memrec *m, const struct raw_store *st, struct sbuf *out, size_t *count)
{
	VEC(struct image) im = { 0 };
	/* Execs, in time order per pid; the records arrive in time order per CPU only. */
	for (size_t i = 0; i < st->tasks.n; i++) {
		const struct raw_task *t = &st->tasks.v[i];
		if (!t->exit && t->pid != t->ppid && t->pid == t->tid)
			vec_push(&im, ((struct image){ .pid = t->pid, .parent = t->ppid, .t0 = t->time, .t1 = UINT64_MAX,
						       .forked = true }));
	}
	for (size_t i = 0; i < st->comms.n; i++) {
		const struct raw_comm *c = &st->comms.v[i];
		if (c->exec && c->pid == c->tid)
			vec_push(&im, ((struct image){ .pid = c->pid, .t0 = c->time, .t1 = UINT64_MAX }));
	}
	/* Each image ends where the next of its pid begins. */
	for (size_t i = 0; i < im.n; i++)
		for (size_t k = 0; k < im.n; k++)
			if (k != i && im.v[k].pid == im.v[i].pid && im.v[k].t0 > im.v[i].t0 && im.v[k].t0 < im.v[i].t1) {
				im.v[i].t1 = im.v[k].t0;
				im.v[i].execs = !im.v[k].forked;
			}
	struct note {
		const char *path, *why;
		uint32_t pid;
		size_t n;
	} notes[MAX_NOTES];
	size_t nn = 0;
	*count = 0;
	for (size_t i = 0; i < im.n; i++) {
		const struct image *x = &im.v[i];
		/* A child that only execs (vfork, posix_spawn, system) runs no code of its own. */
		if ((x->forked && x->execs) || region_in(m, x))
			continue;
		bool mapped;
		const char *path = image_path(st, x, &mapped), *why;
		if (x->forked) {
			bool parent_traced = false;
			for (size_t k = 0; k < im.n; k++)
				if (im.v[k].pid == x->parent && im.v[k].t0 <= x->t0 && x->t0 < im.v[k].t1)
					parent_traced = region_in(m, &im.v[k]);
			why = parent_traced ? "forked without fork()'s handlers (clone), or the tracer could not start in it"
					    : "forked from a process that was not traced";
		} else {
			why = why_not(path, mapped);
		}
		(*count)++;
		size_t k = 0;
		while (k < nn && !(notes[k].why == why && ((!notes[k].path && !path) ||
							   (notes[k].path && path && strcmp(notes[k].path, path) == 0))))
			k++;
		if (k < nn)
			notes[k].n++;
		else if (nn < MAX_NOTES)
			notes[nn++] = (struct note){ path, why, x->pid, 1 };
	}
	size_t named = 0;
	for (size_t k = 0; k < nn; k++) {
		named += notes[k].n;
		const char *comm = image_comm(st, &(struct image){ .pid = notes[k].pid, .t1 = UINT64_MAX });
		if (notes[k].n > 1)
			sbuf_addf(out, "%zu processes (pid %u, ...) running %s: %s\n", notes[k].n, notes[k].pid,
				  notes[k].path ? notes[k].path : comm, notes[k].why);
		else if (notes[k].path)
			sbuf_addf(out, "pid %u (%s) running %s: %s\n", notes[k].pid, comm, notes[k].path, notes[k].why);
		else
			sbuf_addf(out, "pid %u (%s): %s\n", notes[k].pid, comm, notes[k].why);
	}
	if (*count > named)
		sbuf_addf(out, "%zu more processes\n", *count - named);
	vec_release(&im);
}

void memrec_finish(struct memrec *m, struct resolver *res, const struct raw_store *st, struct cprof_data *d,
		   bool quiet, const struct note_sink *notes)
{
	/* Handles become the stacks stored in d. */
	for (size_t i = 0; i < m->regions.n; i++)
		for (size_t k = 0; k < m->stacks[i].off.n; k++)
			m->stack_map[m->base[i] + k] = resolver_stack(res, m->stack_map[m->base[i] + k], 0);
	uint64_t still_running = 0;
	struct memtrace_totals tot = { .damaged = m->damaged };
	for (size_t i = 0; i < m->regions.n; i++) {
		const struct mem_region *r = &m->regions.v[i];
		memtrace_analyze(r, m->stack_map + m->base[i], r->nstacks, d, &tot);
		/* Exit handlers not run, the pid alive, and no later image of it
		 * (an image replaced by exec ended there). */
		bool later = false;
		for (size_t k = 0; k < m->regions.n; k++)
			later |= m->regions.v[k].pid == r->pid && m->regions.v[k].start_ns > r->start_ns;
		if (!((const struct memtrace_header *)(const void *)r->map)->end_ns && !later &&
		    kill((pid_t)r->pid, 0) == 0)
			still_running++;
	}
	cprof_meta_set(d, "mem", "malloc,calloc,realloc,reallocarray,free,aligned_alloc,posix_memalign,"
				 "memalign,valloc,pvalloc,mmap,munmap");
	cprof_meta_set(d, "mem_mode", m->sample ? "sample" : "exact");
	if (m->sample)
		cprof_meta_setf(d, "mem_sample_bytes", "%" PRIu64, m->sample_bytes);
	cprof_meta_setf(d, "mem_seen_allocs", "%" PRIu64, tot.seen_allocs);
	cprof_meta_setf(d, "mem_seen_bytes", "%" PRIu64, tot.seen_bytes);
	if (!m->sample)
		cprof_meta_setf(d, "mem_locked_events", "%" PRIu64, tot.locked_events);
	uint64_t damaged = tot.damaged;
	if (damaged)
		cprof_meta_setf(d, "mem_damaged_records", "%" PRIu64, damaged);
	if (m->bad_messages)
		cprof_meta_setf(d, "mem_bad_messages", "%" PRIu64, m->bad_messages);
	if (still_running)
		cprof_meta_setf(d, "mem_still_running", "%" PRIu64, still_running);
	struct sbuf nt = SBUF_INIT;
	size_t count = 0;
	untraced(m, st, &nt, &count);
	if (count) {
		cprof_meta_setf(d, "mem_not_traced", "%zu", count);
		if (nt.len && nt.buf[nt.len - 1] == '\n')
			nt.buf[--nt.len] = 0;
		cprof_meta_set(d, "mem_not_traced_why", nt.buf);
	}
	if (!quiet) {
		if (count) {
			notef(notes, "--mem: %zu process%s not traced:", count, count == 1 ? " was" : "es were");
			for (char *p = nt.buf; *p;) {
				char *nl = strchr(p, '\n');
				notef(notes, "  %.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
				if (!nl)
					break;
				p = nl + 1;
			}
		}
		if (still_running)
			notef(notes, "--mem: %" PRIu64 " traced process%s still running: %s memory profile stops here",
			      still_running, still_running == 1 ? " is" : "es are", still_running == 1 ? "its" : "their");
		if (damaged)
			notef(notes, "--mem: %" PRIu64 " records of the tracer did not hold together and were skipped",
			      damaged);
	}
	sbuf_release(&nt);
}

void memrec_cleanup(struct memrec *m)
{
	if (!m->prepared)
		return;
	stop_receiving(m);
	if (m->sock >= 0)
		close(m->sock);
	if (m->child_sock >= 0)
		close(m->child_sock);
	for (size_t i = 0; i < m->regions.n; i++) {
		munmap((void *)m->regions.v[i].map, m->regions.v[i].len);
		if (m->stacks)
			mem_stacks_release(&m->stacks[i]);
	}
	vec_release(&m->regions);
	pthread_mutex_destroy(&m->lock);
	free(m->stacks);
	free(m->shim);
	free(m->saved_preload);
	free(m->stack_map);
	free(m->base);
	memset(m, 0, sizeof *m);
}
