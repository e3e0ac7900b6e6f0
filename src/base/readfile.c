/* readfile.c - the whole-file reader; see base.h. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/base.h"

int stream_read(FILE *fp, const char *name, struct sbuf *sb, size_t max, struct cprof_err *err)
{
	size_t start = sb->len;
	struct stat st;
	/* +1: room for the read that sees the end, so a regular file is one read. */
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (!max || (uint64_t)st.st_size <= max))
		sbuf_grow(sb, (size_t)st.st_size + 1);
	for (;;) {
		if (sb->cap - sb->len < 65536 + 1)
			sbuf_grow(sb, 65536);
		size_t room = sb->cap - sb->len - 1;
		size_t n = fread(sb->buf + sb->len, 1, room, fp);
		sb->len += n;
		sb->buf[sb->len] = 0;
		if (max && sb->len - start > max)
			return err_set(err, EFBIG, "'%s': larger than %zu bytes", name, max);
		if (n < room)
			break;
	}
	if (ferror(fp)) {
		int e = errno ? errno : EIO;
		return err_set(err, e, "cannot read '%s': %s", name, strerror(e));
	}
	return 0;
}

int file_read(const char *path, struct sbuf *sb, size_t max, struct cprof_err *err)
{
	FILE *fp = fopen(path, "rbe");
	if (!fp) {
		int e = errno;
		return err_set(err, e, "cannot open '%s': %s", path, strerror(e));
	}
	int r = stream_read(fp, path, sb, max, err);
	fclose(fp);
	return r;
}

int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t got = pread(fd, p, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -ENODATA;
		p += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}
