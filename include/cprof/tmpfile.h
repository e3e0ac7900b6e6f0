/*
 * tmpfile.h - every output file cprof writes goes through here: it is
 * created as "NAME.tmp.XXXXXX" next to its final name, removed if cprof
 * exits or is killed before tmpfile_commit(), and renamed into place only
 * when complete. Readers therefore never see a half-written file.
 */
#ifndef CPROF_TMPFILE_H
#define CPROF_TMPFILE_H

#include <stdio.h>
#include "cprof/base.h"

struct tmpfile {
	char *final_path;  /* owned */
	char *tmp_path;    /* owned */
	FILE *fp;          /* open for writing until commit/abort */
};

/* Create the temporary file for final_path. */
int tmpfile_open(struct tmpfile *t, const char *final_path, struct cprof_err *err) CPROF_WUR;
/* Flush, fsync and rename into place. If keep_old is non-NULL and the final
 * path exists, it is first renamed to keep_old (cprof.data -> cprof.data.old). */
int tmpfile_commit(struct tmpfile *t, const char *keep_old, struct cprof_err *err) CPROF_WUR;
/* Remove the temporary file; safe to call after commit (then a no-op). */
void tmpfile_abort(struct tmpfile *t);

/* Install SIGINT/SIGTERM/SIGHUP handlers that remove pending temp files and
 * re-raise; commands that handle signals themselves do not call this. */
void tmpfile_install_signal_cleanup(void);
/* Remove every pending temp file (async-signal-safe). */
void tmpfile_cleanup_all(void);

#endif
