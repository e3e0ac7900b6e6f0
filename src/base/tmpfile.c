/* tmpfile.c - write-to-temporary-then-rename for every output file. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/tmpfile.h"

/* Pending temp paths, for removal from atexit and signal handlers. */
#define MAX_PENDING 16
static char *volatile pending[MAX_PENDING];

static void pending_add(char *p)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (!pending[i]) {
			pending[i] = p;
			return;
		}
}

static void pending_del(const char *p)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i] == p)
			pending[i] = NULL;
}

void tmpfile_cleanup_all(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i])
			(void)unlink(pending[i]);
}

static void on_signal(int sig)
{
	tmpfile_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void tmpfile_install_signal_cleanup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	atexit(tmpfile_cleanup_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

int tmpfile_open(struct tmpfile *t, const char *final_path, struct cprof_err *err)
{
	struct sbuf sb = SBUF_INIT;
	static bool registered;
	if (!registered) {
		registered = true;
		atexit(tmpfile_cleanup_all);
	}
	memset(t, 0, sizeof *t);
	sbuf_addf(&sb, "%s.tmp.XXXXXX", final_path);
	int fd = mkstemp(sb.buf);
	if (fd < 0) {
		int e = errno;
		sbuf_release(&sb);
		return err_set(err, e, "cannot create '%s': %s", final_path, strerror(e));
	}
	/* mkstemp creates 0600; an output file gets the usual 0666 & ~umask. */
	mode_t um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) < 0) {
		int e = errno;
		close(fd);
		(void)unlink(sb.buf);
		sbuf_release(&sb);
		return err_set(err, e, "cannot set the mode of '%s': %s", final_path, strerror(e));
	}
	t->fp = fdopen(fd, "w");
	if (!t->fp) {
		int e = errno;
		close(fd);
		(void)unlink(sb.buf);
		sbuf_release(&sb);
		return err_set(err, e, "cannot open '%s': %s", final_path, strerror(e));
	}
	t->tmp_path = sbuf_detach(&sb);
	t->final_path = xstrdup(final_path);
	pending_add(t->tmp_path);
	return 0;
}

static void tmpfile_release(struct tmpfile *t)
{
	pending_del(t->tmp_path);
	free(t->tmp_path);
	free(t->final_path);
	t->tmp_path = t->final_path = NULL;
}

int tmpfile_commit(struct tmpfile *t, const char *keep_old, struct cprof_err *err)
{
	int r = 0;
	if (!t->fp)
		return err_set(err, EINVAL, "output file already closed");
	if (fflush(t->fp) != 0 || fsync(fileno(t->fp)) != 0) {
		int e = errno;
		r = err_set(err, e, "cannot write '%s': %s", t->final_path, strerror(e));
	}
	if (fclose(t->fp) != 0 && r == 0) {
		int e = errno;
		r = err_set(err, e, "cannot write '%s': %s", t->final_path, strerror(e));
	}
	t->fp = NULL;
	if (r == 0 && keep_old && access(t->final_path, F_OK) == 0 && rename(t->final_path, keep_old) != 0) {
		int e = errno;
		r = err_set(err, e, "cannot rename '%s' to '%s': %s", t->final_path, keep_old, strerror(e));
	}
	if (r == 0 && rename(t->tmp_path, t->final_path) != 0) {
		int e = errno;
		r = err_set(err, e, "cannot rename into '%s': %s", t->final_path, strerror(e));
	}
	if (r < 0)
		(void)unlink(t->tmp_path);
	tmpfile_release(t);
	return r;
}

void tmpfile_abort(struct tmpfile *t)
{
	if (t->fp) {
		fclose(t->fp);
		t->fp = NULL;
	}
	if (t->tmp_path)
		(void)unlink(t->tmp_path);
	tmpfile_release(t);
}
