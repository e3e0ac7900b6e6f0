/*
 * outfile.h - what an output path given by the user (-o FILE, --plot FILE,
 * --timeline FILE) means. Every command decides it here, the same way:
 *
 *   "-", or a path naming cprof's own standard output or standard error
 *   (/dev/stdout, /proc/self/fd/2, or the file or pipe the shell
 *   redirected them to): written through that descriptor, so `>>`
 *   appends and pipes work;
 *   a character device or a FIFO (/dev/null, a named pipe): opened and
 *   written in place, never replaced;
 *   a symbolic link: followed to its final target, which is then treated
 *   as below; the link stays a link;
 *   a regular file, or a name that does not exist yet: written to a
 *   temporary file in the same directory and renamed over it when
 *   complete (tmpfile.h), so nobody sees half a file;
 *   a directory, socket or block device: refused.
 *
 * outfile_open() decides and creates the temporary file (or opens the
 * device) at once, so a path that cannot be written fails before any work
 * is done, and installs the handlers that remove the temporary file on
 * SIGINT, SIGTERM and SIGHUP.
 */
#ifndef CPROF_OUTFILE_H
#define CPROF_OUTFILE_H

#include <stdio.h>
#include "cprof/base.h"
#include "cprof/tmpfile.h"

enum outfile_kind {
	OUTFILE_STDIO,    /* our stdout or stderr */
	OUTFILE_DIRECT,   /* a character device or FIFO, written in place */
	OUTFILE_REPLACE,  /* a regular file: temporary + rename */
};

enum {
	OUTFILE_PRIVATE = 1 << 0,   /* created 0600, not 0666 (both less the umask) */
	OUTFILE_KEEP_OLD = 1 << 1,  /* a replaced file is kept as FILE.old */
	OUTFILE_NO_STDIO = 1 << 2,  /* refuse stdout and stderr */
	OUTFILE_NO_STDERR = 1 << 3, /* refuse stderr (stdout is taken) */
};

struct outfile {
	const char *name;      /* the path as given, for messages; borrowed */
	enum outfile_kind kind;
	int stdio_fd;          /* OUTFILE_STDIO: which, STDOUT_FILENO or STDERR_FILENO */
	FILE *fp;              /* write here until commit or abort */
	struct tmpfile tmp;    /* OUTFILE_REPLACE */
	char *old_path;        /* owned; OUTFILE_KEEP_OLD of an OUTFILE_REPLACE */
};

/* Decide what path is and open it for writing; flags are OUTFILE_*. */
int outfile_open(struct outfile *o, const char *path, unsigned flags, struct cprof_err *err) CPROF_WUR;
/* Finish: flush and check every write; a regular file is synced and renamed
 * into place. Writes to a reader that went away (EPIPE) are not an error,
 * as on a pipe. The outfile is closed either way. */
int outfile_commit(struct outfile *o, struct cprof_err *err) CPROF_WUR;
/* Close without finishing: a temporary file is removed, the final path is
 * untouched. Safe after commit (then a no-op). */
void outfile_abort(struct outfile *o);

#endif
