/*
 * io.c - the I/O of the traced syscalls (trace.c hands over each returned
 * call): per open file descriptor of a process, the read-like, write-like
 * and sync calls, the bytes they returned and the time in them, from the
 * call that first used (or opened) it until it was closed; its path as
 * /proc named it while it was open.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "sys-internal.h"

/* The I/O syscalls by name, so that no number is written here twice. */
static const struct {
	const char *name;
	enum sys_io_kind kind;
} io_calls[] = {
	{ "read", IOK_READ },       { "pread64", IOK_READ },     { "readv", IOK_READ },
	{ "preadv", IOK_READ },     { "preadv2", IOK_READ },     { "recvfrom", IOK_READ },
	{ "recvmsg", IOK_READ },    { "write", IOK_WRITE },      { "pwrite64", IOK_WRITE },
	{ "writev", IOK_WRITE },    { "pwritev", IOK_WRITE },    { "pwritev2", IOK_WRITE },
	{ "sendto", IOK_WRITE },    { "sendmsg", IOK_WRITE },    { "fsync", IOK_SYNC },
	{ "fdatasync", IOK_SYNC },  { "open", IOK_NEW_FD },      { "openat", IOK_NEW_FD },
	{ "openat2", IOK_NEW_FD },  { "creat", IOK_NEW_FD },     { "accept", IOK_NEW_FD },
	{ "accept4", IOK_NEW_FD },  { "socket", IOK_NEW_FD },    { "dup", IOK_NEW_FD },
	{ "dup2", IOK_NEW_FD },     { "dup3", IOK_NEW_FD },      { "close", IOK_CLOSE },
};

void sys_io_init(struct sys_trace *t)
{
	t->io_kind = xcalloc(sys_names_n ? sys_names_n : 1, 1);
	for (size_t nr = 0; nr < sys_names_n; nr++)
		for (size_t k = 0; sys_names[nr] && k < sizeof io_calls / sizeof io_calls[0]; k++)
			if (strcmp(sys_names[nr], io_calls[k].name) == 0)
				t->io_kind[nr] = (uint8_t)io_calls[k].kind;
}

/* The open descriptor fd of pid: its newest cell, or a new one. */
static struct sys_io_cell *io_of(struct sys_trace *t, uint32_t pid, int32_t fd)
{
	uint64_t key = (uint64_t)pid << 32 | (uint32_t)fd;
	int64_t i = u64map_get(&t->io_idx, key);
	if (i >= 0 && !t->io.v[i].closed)
		return &t->io.v[i];
	struct sys_io_cell c = { .pid = pid, .fd = fd };
	u64map_put(&t->io_idx, key, (uint32_t)t->io.n);
	vec_push(&t->io, c);
	return &t->io.v[t->io.n - 1];
}

/* What a returned call did to a descriptor, and the bytes it moved. */
void sys_io_count(struct sys_trace *t, const struct sys_thread *th, uint64_t dur, int64_t ret)
{
	enum sys_io_kind k = th->nr < sys_names_n ? (enum sys_io_kind)t->io_kind[th->nr] : IOK_NONE;
	if (k == IOK_NONE)
		return;
	if (k == IOK_NEW_FD || k == IOK_CLOSE) {
		/* The descriptor now names another file, or none. */
		int64_t fd = k == IOK_NEW_FD ? ret : th->arg0;
		if ((k == IOK_CLOSE && ret != 0) || fd < 0 || fd > INT32_MAX)
			return;
		int64_t i = u64map_get(&t->io_idx, (uint64_t)th->pid << 32 | (uint32_t)fd);
		if (i >= 0)
			t->io.v[i].closed = true;
		return;
	}
	if (th->arg0 < 0 || th->arg0 > INT32_MAX)
		return; /* a bad descriptor: EBADF, no file to charge */
	struct sys_io_cell *c = io_of(t, th->pid, (int32_t)th->arg0);
	int at = k == IOK_READ ? 0 : k == IOK_WRITE ? 1 : 2;
	c->calls[at]++;
	c->ns[at] += dur;
	if (at < 2 && ret > 0)
		c->bytes[at] += (uint64_t)ret;
}

void sys_trace_name_fds(struct sys_trace *t, char *(*path)(uint32_t pid, int32_t fd))
{
	for (size_t i = 0; i < t->io.n; i++) {
		struct sys_io_cell *c = &t->io.v[i];
		if (c->path_tried)
			continue;
		c->path_tried = true;
		if (!c->closed)
			c->path = path(c->pid, c->fd);
	}
}

void sys_io_store(const struct sys_trace *t, struct cprof_data *d)
{
	for (size_t i = 0; i < t->io.n; i++) {
		const struct sys_io_cell *c = &t->io.v[i];
		vec_push(&d->sys_io, ((struct cprof_sys_io){
			.pid = c->pid, .fd = c->fd, .path = cprof_intern(d, c->path ? c->path : ""),
			.read_calls = c->calls[0], .read_bytes = c->bytes[0], .read_ns = c->ns[0],
			.write_calls = c->calls[1], .write_bytes = c->bytes[1], .write_ns = c->ns[1],
			.sync_calls = c->calls[2], .sync_ns = c->ns[2] }));
	}
}

void sys_io_release(struct sys_trace *t)
{
	for (size_t i = 0; i < t->io.n; i++)
		free(t->io.v[i].path);
	vec_release(&t->io);
	u64map_release(&t->io_idx);
	free(t->io_kind);
}
