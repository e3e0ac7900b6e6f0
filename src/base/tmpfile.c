/* tmpfile.c - write-to-temporary-then-rename for every output file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
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
	/* Die of the same signal, so the parent sees what happened
	 * (sigaction and raise are async-signal-safe; signal is not). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
	raise(sig);
}

static const int cleanup_sigs[] = { SIGINT, SIGTERM, SIGHUP };

void tmpfile_install_signal_cleanup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_sigs); i++) {
		struct sigaction old, sa;
		/* An ignored signal stays ignored (nohup, background jobs of a
		 * script): we were not meant to die of it. */
		if (sigaction(cleanup_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		for (size_t j = 0; j < ARRAY_SIZE(cleanup_sigs); j++)
			sigaddset(&sa.sa_mask, cleanup_sigs[j]);
		(void)sigaction(cleanup_sigs[i], &sa, NULL);
	}
}

/* tmpfile_open_mode's work, with the cleanup signals blocked. tmpl is
 * the temporary name's template, which t keeps (freed on failure). */
static int tmpfile_create(struct tmpfile *t, char *tmpl, const char *final_path, mode_t mode,
			  struct cprof_err *err)
{
	int fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmpl);
		return err_set(err, e, "cannot create '%s': %s", final_path, strerror(e));
	}
	/* mkstemp creates 0600; give the file the mode it would get from
	 * open(O_CREAT, mode) under the current umask. */
	mode_t um = umask(0);
	umask(um);
	int e = 0;
	const char *what = NULL;
	if (fchmod(fd, mode & ~um) < 0) {
		e = errno;
		what = "set the mode of";
	} else if (!(t->fp = fdopen(fd, "w"))) {
		e = errno;
		what = "open";
	}
	if (what) {
		close(fd);
		(void)unlink(tmpl);
		free(tmpl);
		return err_set(err, e, "cannot %s '%s': %s", what, final_path, strerror(e));
	}
	t->tmp_path = tmpl;
	t->final_path = xstrdup(final_path);
	pending_add(t->tmp_path);
	return 0;
}

int tmpfile_open_mode(struct tmpfile *t, const char *final_path, mode_t mode, struct cprof_err *err)
{
	static bool registered;
	if (!registered) {
		registered = true;
		atexit(tmpfile_cleanup_all);
	}
	memset(t, 0, sizeof *t);
	struct sbuf tmpl = SBUF_INIT;
	sbuf_addf(&tmpl, "%s.tmp.XXXXXX", final_path);
	/* The file is in the pending list before a signal can see it exist:
	 * killed in between, a command left its temporary file behind. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_sigs); i++)
		sigaddset(&block, cleanup_sigs[i]);
	(void)pthread_sigmask(SIG_BLOCK, &block, &old);
	int r = tmpfile_create(t, sbuf_detach(&tmpl), final_path, mode, err);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int tmpfile_open(struct tmpfile *t, const char *final_path, struct cprof_err *err)
{
	return tmpfile_open_mode(t, final_path, 0666, err);
}

static void tmpfile_release(struct tmpfile *t)
{
	pending_del(t->tmp_path);
	free(t->tmp_path);
	free(t->final_path);
	t->tmp_path = t->final_path = NULL;
}

/* Make the renames durable: a rename lives in the directory, and without
 * this a crash can bring back the old name or none. */
static int fsync_parent(const char *path, struct cprof_err *err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	int r = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Some file systems cannot fsync a directory (EINVAL): nothing to do there. */
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		int e = errno;
		r = err_set(err, e, "cannot sync the directory of '%s': %s", path, strerror(e));
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

/* Keep the file at final as keep_old without a moment in which final does
 * not exist: a second name first, then the new file renamed over final. */
static int keep_previous(const char *final, const char *keep_old, struct cprof_err *err)
{
	struct stat st;
	if (lstat(final, &st) != 0)
		return errno == ENOENT ? 0 : err_set(err, errno, "cannot read '%s': %s", final, strerror(errno));
	if (unlink(keep_old) != 0 && errno != ENOENT)
		return err_set(err, errno, "cannot replace '%s': %s", keep_old, strerror(errno));
	if (link(final, keep_old) == 0)
		return 0;
	int e = errno;
	if (e != EPERM && e != EOPNOTSUPP && e != EMLINK && e != ENOSYS)
		return err_set(err, e, "cannot keep '%s' as '%s': %s", final, keep_old, strerror(e));
	/* A file system without hard links (FAT): keep the old file with a
	 * rename; final is missing until the caller's rename. */
	if (rename(final, keep_old) != 0)
		return err_set(err, errno, "cannot rename '%s' to '%s': %s", final, keep_old, strerror(errno));
	return 0;
}

static int commit(struct tmpfile *t, const char *keep_old, bool durable, struct cprof_err *err)
{
	int r = 0;
	if (!t->fp)
		return err_set(err, EINVAL, "output file already closed");
	if (fflush(t->fp) != 0 || ferror(t->fp) || (durable && fsync(fileno(t->fp)) != 0)) {
		int e = errno ? errno : EIO;
		r = err_set(err, e, "cannot write '%s': %s", t->final_path, strerror(e));
	}
	if (fclose(t->fp) != 0 && r == 0) {
		int e = errno;
		r = err_set(err, e, "cannot write '%s': %s", t->final_path, strerror(e));
	}
	t->fp = NULL;
	if (r == 0 && keep_old)
		r = keep_previous(t->final_path, keep_old, err);
	if (r == 0 && rename(t->tmp_path, t->final_path) != 0) {
		int e = errno;
		r = err_set(err, e, "cannot rename into '%s': %s", t->final_path, strerror(e));
	}
	if (r < 0)
		(void)unlink(t->tmp_path);
	else if (durable)
		r = fsync_parent(t->final_path, err);
	tmpfile_release(t);
	return r;
}

int tmpfile_commit(struct tmpfile *t, const char *keep_old, struct cprof_err *err)
{
	return commit(t, keep_old, true, err);
}

int tmpfile_commit_cache(struct tmpfile *t, struct cprof_err *err)
{
	return commit(t, NULL, false, err);
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
