/*
 * tmpfile.h - every output file cprof writes goes through here: it is
 * created as "NAME.tmp.XXXXXX" next to its final name, removed if cprof
 * exits or is killed before tmpfile_commit(), and renamed into place only
 * when complete. Readers therefore never see a half-written file.
 * Paths given by the user go through outfile.h, which decides whether a
 * path gets this treatment at all (a device or a FIFO does not).
 */
#ifndef CPROF_TMPFILE_H
#define CPROF_TMPFILE_H

#include <stdio.h>
#include <sys/types.h>
#include "cprof/base.h"

struct tmpfile {
	char *final_path;  /* owned */
	char *tmp_path;    /* owned */
	FILE *fp;          /* open for writing until commit/abort */
};

/* Create the temporary file for final_path, mode 0666 less the umask. */
int tmpfile_open(struct tmpfile *t, const char *final_path, struct cprof_err *err) CPROF_WUR;
/* The same with another mode (0600 for files that only their owner reads). */
int tmpfile_open_mode(struct tmpfile *t, const char *final_path, mode_t mode, struct cprof_err *err) CPROF_WUR;
/* Flush, fsync, rename into place and fsync the directory. If keep_old is
 * non-NULL and the final path exists, it is first given keep_old as a second
 * name (cprof.data -> cprof.data.old), so the final path never goes missing. */
int tmpfile_commit(struct tmpfile *t, const char *keep_old, struct cprof_err *err) CPROF_WUR;
/* Flush and rename into place, without fsync: for cache files, whose
 * reader checks each file whole and rebuilds one that a crash left torn,
 * so waiting for the disk buys nothing. */
int tmpfile_commit_cache(struct tmpfile *t, struct cprof_err *err) CPROF_WUR;
/* Remove the temporary file; safe to call after commit (then a no-op). */
void tmpfile_abort(struct tmpfile *t);

/* Install SIGINT/SIGTERM/SIGHUP handlers that remove pending temp files and
 * re-raise; commands that handle signals themselves do not call this. */
void tmpfile_install_signal_cleanup(void);
/* Remove every pending temp file (async-signal-safe). */
void tmpfile_cleanup_all(void);

#endif
