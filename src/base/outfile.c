/*
 * outfile.c - one decision, for every command, of what an output path is
 * (outfile.h): our own stdout or stderr, a device or FIFO written in
 * place, or a regular file replaced through a temporary file (tmpfile.c).
 * Symbolic links are followed here, so the temporary file is made beside
 * the link's final target and the rename replaces the target, not the link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/outfile.h"

/* The kernel's own limit on links followed in one lookup. */
#define MAX_LINK_HOPS 40

static const char *type_name(mode_t m)
{
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISBLK(m))
		return "block device";
	return "special file";
}

/* 1 or 2 if st is the file our stdout or stderr is, else -1. Checked by
 * identity, not by name, so /dev/stdout, /proc/self/fd/1 and the name of
 * the file the shell redirected to all count. */
static int stdio_alias(const struct stat *st)
{
	for (int fd = 1; fd <= 2; fd++) {
		struct stat s;
		if (fstat(fd, &s) == 0 && s.st_dev == st->st_dev && s.st_ino == st->st_ino)
			return fd;
	}
	return -1;
}

/* The path a chain of symbolic links ends at; the end need not exist yet
 * (a dangling link names the file to create). Caller frees *ret. */
static int follow_links(const char *path, char **ret, struct cprof_err *err)
{
	char *p = xstrdup(path);
	for (int hops = 0; hops <= MAX_LINK_HOPS; hops++) {
		struct stat st;
		if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) {
			/* Not there (yet): creating the temporary file says why if it
			 * cannot be. */
			*ret = p;
			return 0;
		}
		size_t cap = 256;
		char *target = NULL;
		ssize_t n;
		for (;;) {
			target = xrealloc(target, cap);
			n = readlink(p, target, cap);
			if (n < 0 || (size_t)n < cap)
				break;
			cap *= 2;
		}
		if (n < 0) {
			int e = errno;
			free(target);
			free(p);
			return err_set(err, e, "cannot read the link '%s': %s", path, strerror(e));
		}
		target[n] = 0;
		struct sbuf next = SBUF_INIT;
		char *slash = strrchr(p, '/');
		/* A relative target is relative to the link's directory. */
		if (target[0] != '/' && slash)
			sbuf_add(&next, p, (size_t)(slash - p) + 1);
		sbuf_adds(&next, target);
		free(target);
		free(p);
		p = sbuf_detach(&next);
	}
	free(p);
	return err_set(err, ELOOP, "cannot write '%s': %s", path, strerror(ELOOP));
}

static int open_stdio(struct outfile *o, int fd, struct cprof_err *err)
{
	/* A descriptor of our own, so commit can close it like any other and
	 * stdio's buffers of stdout are not mixed into. */
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return err_set(err, errno, "cannot write '%s': %s", o->name, strerror(errno));
	o->fp = fdopen(dfd, "w");
	if (!o->fp) {
		int e = errno;
		close(dfd);
		return err_set(err, e, "cannot write '%s': %s", o->name, strerror(e));
	}
	o->kind = OUTFILE_STDIO;
	o->stdio_fd = fd;
	return 0;
}

static int open_direct(struct outfile *o, struct cprof_err *err)
{
	/* A FIFO blocks here until a reader opens it, as with `cat > FIFO`. */
	int fd = open(o->name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot write '%s': %s", o->name, strerror(errno));
	/* The path may have been replaced since it was looked at: only a
	 * device or FIFO may be written in place. */
	struct stat st;
	if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		return err_set(err, EAGAIN, "cannot write '%s': it changed while being opened", o->name);
	}
	o->fp = fdopen(fd, "w");
	if (!o->fp) {
		int e = errno;
		close(fd);
		return err_set(err, e, "cannot write '%s': %s", o->name, strerror(e));
	}
	o->kind = OUTFILE_DIRECT;
	return 0;
}

static int open_replace(struct outfile *o, unsigned flags, struct cprof_err *err)
{
	char *final = NULL;
	int r = follow_links(o->name, &final, err);
	if (r < 0)
		return r;
	struct stat st;
	if (flags & OUTFILE_KEEP_OLD) {
		struct sbuf old = SBUF_INIT;
		sbuf_addf(&old, "%s.old", final);
		o->old_path = sbuf_detach(&old);
		/* Found now, not when the work is done and the file is complete. */
		if (lstat(o->old_path, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = err_set(err, EISDIR, "cannot keep the previous '%s' as '%s': that is a directory",
				    o->name, o->old_path);
			goto out;
		}
	}
	/* Before the file exists: a signal must find it in the pending list. */
	tmpfile_install_signal_cleanup();
	r = tmpfile_open_mode(&o->tmp, final, flags & OUTFILE_PRIVATE ? 0600 : 0666, err);
	if (r < 0)
		goto out;
	o->fp = o->tmp.fp;
	o->kind = OUTFILE_REPLACE;
out:
	if (r < 0) {
		free(o->old_path);
		o->old_path = NULL;
	}
	free(final);
	return r;
}

int outfile_open(struct outfile *o, const char *path, unsigned flags, struct cprof_err *err)
{
	memset(o, 0, sizeof *o);
	o->name = path;
	if (!*path)
		return err_set(err, EINVAL, "the output file name is empty");
	int fd = -1;
	struct stat st;
	if (strcmp(path, "-") == 0) {
		fd = STDOUT_FILENO;
	} else if (stat(path, &st) == 0) {
		/* A character device first: /dev/null may also be our stdout, and
		 * is as good written through its own name. */
		if (S_ISCHR(st.st_mode))
			return open_direct(o, err);
		fd = stdio_alias(&st);
		if (fd < 0 && S_ISDIR(st.st_mode))
			return err_set(err, EISDIR, "cannot write '%s': it is a directory", path);
		if (fd < 0 && S_ISFIFO(st.st_mode))
			return open_direct(o, err);
		if (fd < 0 && !S_ISREG(st.st_mode))
			return err_set(err, EINVAL, "cannot write '%s': it is a %s", path, type_name(st.st_mode));
	} else if (errno != ENOENT) {
		return err_set(err, errno, "cannot write '%s': %s", path, strerror(errno));
	}
	if (fd >= 0) {
		if ((flags & OUTFILE_NO_STDIO) || (fd == STDERR_FILENO && (flags & OUTFILE_NO_STDERR)))
			return err_set(err, EINVAL, "'%s' is cprof's standard %s; give a file name", path,
				       fd == STDOUT_FILENO ? "output" : "error");
		return open_stdio(o, fd, err);
	}
	return open_replace(o, flags, err);
}

int outfile_commit(struct outfile *o, struct cprof_err *err)
{
	int r = 0;
	if (!o->fp)
		return err_set(err, EINVAL, "'%s' is already closed", o->name);
	if (o->kind == OUTFILE_REPLACE) {
		o->fp = NULL;
		r = tmpfile_commit(&o->tmp, o->old_path, err);
	} else {
		errno = 0;
		bool bad = fflush(o->fp) != 0 || ferror(o->fp);
		int e = errno ? errno : EIO;
		if (fclose(o->fp) != 0 && !bad) {
			bad = true;
			e = errno;
		}
		o->fp = NULL;
		/* The reader has gone (head, a closed FIFO): not our failure. */
		if (bad && e != EPIPE)
			r = err_set(err, e, "cannot write '%s': %s", o->name, strerror(e));
	}
	free(o->old_path);
	o->old_path = NULL;
	return r;
}

void outfile_abort(struct outfile *o)
{
	if (o->kind == OUTFILE_REPLACE && o->fp)
		tmpfile_abort(&o->tmp);
	else if (o->fp)
		fclose(o->fp);
	o->fp = NULL;
	free(o->old_path);
	o->old_path = NULL;
}
