/*
 * files.c - where --latency finds things: the program as execvp finds it,
 * a library as the dynamic loader finds it, a function in the files a
 * running process has mapped, tracefs and its uprobe_events file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/latency.h"
#include "cprof/symbol.h"
#include "lat-internal.h"

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* An x86-64 ELF file: what the loader takes from a library directory
 * (it skips the 32-bit libraries in lib32 and the like). */
static bool is_elf64(const char *path)
{
	unsigned char h[20];
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	bool ok = fread(h, 1, sizeof h, fp) == sizeof h && memcmp(h, "\177ELF", 4) == 0 && h[4] == 2 && h[5] == 1 &&
		  h[18] == 62 && h[19] == 0;
	fclose(fp);
	return ok;
}

/* name in the directories of the list dirs ("a:b"), an x86-64 ELF file
 * if elf: a new path, or NULL. */
static char *search_dirs(const char *dirs, const char *name, bool elf)
{
	for (const char *p = dirs; p && *p;) {
		size_t n = strcspn(p, ":");
		if (n) {
			struct sbuf sb = SBUF_INIT;
			sbuf_addf(&sb, "%.*s/%s", (int)n, p, name);
			char *path = sbuf_detach(&sb);
			if (is_file(path) && (!elf || is_elf64(path)))
				return path;
			free(path);
		}
		p += n;
		if (*p)
			p++;
	}
	return NULL;
}

/* The directories of /etc/ld.so.conf.d/ *.conf, one list "a:b:c". */
static void ld_conf_dirs(struct sbuf *out)
{
	DIR *d = opendir("/etc/ld.so.conf.d");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof path, "/etc/ld.so.conf.d/%s", de->d_name);
		FILE *fp = fopen(path, "r");
		if (!fp)
			continue;
		char line[512];
		while (fgets(line, sizeof line, fp)) {
			line[strcspn(line, "#\r\n")] = '\0';
			if (line[0] == '/')
				sbuf_addf(out, "%s%s", out->len ? ":" : "", line);
		}
		fclose(fp);
	}
	closedir(d);
}

/* The library as the dynamic loader finds it (a name with a '/' is a
 * path): LD_LIBRARY_PATH, /etc/ld.so.conf.d, the system's directories. */
char *lat_find_library(const char *lib)
{
	if (strchr(lib, '/'))
		return is_file(lib) ? xstrdup(lib) : NULL;
	char *p = search_dirs(getenv("LD_LIBRARY_PATH"), lib, true);
	if (p)
		return p;
	struct sbuf conf = SBUF_INIT;
	ld_conf_dirs(&conf);
	p = search_dirs(conf.buf, lib, true);
	sbuf_release(&conf);
	if (p)
		return p;
	return search_dirs("/lib/" CPROF_MULTIARCH ":/usr/lib/" CPROF_MULTIARCH ":/lib64:/usr/lib64:/lib:/usr/lib", lib,
			   true);
}

/* argv[0] as execvp finds it. */
char *lat_find_program(const char *name)
{
	if (strchr(name, '/'))
		return is_file(name) ? xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	return search_dirs(path ? path : "/usr/local/bin:/usr/bin:/bin", name, false);
}

/* A running process's files (-p): its executable (/proc/PID/exe), then
 * every other file it has mapped executable (/proc/PID/maps), each once;
 * *n of them, new strings in a new array; NULL with *n 0 when it is gone. */
static char **process_files(int pid, size_t *n)
{
	VEC(char *) v = { NULL, 0, 0 };
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t len = readlink(path, buf, sizeof buf - 1);
	if (len > 0 && buf[0] == '/') {
		buf[len] = 0;
		if (is_file(buf)) /* not "... (deleted)" */
			vec_push(&v, xstrdup(buf));
	}
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *fp = fopen(path, "r");
	while (fp && fgets(buf, sizeof buf, fp)) {
		char perms[8];
		int pos = 0;
		if (sscanf(buf, "%*x-%*x %7s %*x %*s %*s%n", perms, &pos) != 1 || perms[2] != 'x')
			continue;
		char *name = buf + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		if (*name != '/' || !is_file(name))
			continue; /* anonymous, [vdso], or a file deleted since */
		bool seen = false;
		for (size_t i = 0; i < v.n && !seen; i++)
			seen = strcmp(v.v[i], name) == 0;
		if (!seen)
			vec_push(&v, xstrdup(name));
	}
	if (fp)
		fclose(fp);
	*n = v.n;
	return v.v;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* err, prefixed with the probe; NULL. */
static char *probe_failed(const char *spec, struct cprof_err *err)
{
	struct cprof_err e = *err;
	err_set(err, e.code, "--latency %s: %s", spec, e.msg);
	return NULL;
}

char *lat_find_in_process(const char *spec, const char *lib, const char *sym, int pid, uint64_t *off,
			  struct cprof_err *err)
{
	size_t n = 0;
	char **files = process_files(pid, &n), *found = NULL;
	if (!n) {
		free(files);
		err_set(err, ESRCH, "--latency %s: cannot read process %d's files in /proc", spec, pid);
		return NULL;
	}
	size_t ln = lib ? strlen(lib) : 0;
	int r = 1; /* 1: no file of it tried yet */
	for (size_t i = 0; i < n && !found; i++) {
		const char *b = base_name(files[i]);
		if (lib && !(strcmp(files[i], lib) == 0 || strcmp(b, lib) == 0 ||
			     (strncmp(b, lib, ln) == 0 && b[ln] == '.')))
			continue;
		if ((r = elf_symbol_offset(files[i], sym, off, err)) == 0)
			found = xstrdup(files[i]);
		else if (lib || r == -EINVAL)
			break; /* the library without it, or an IFUNC: err says so */
	}
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (found)
		return found;
	if ((lib && r < 0) || r == -EINVAL)
		return probe_failed(spec, err);
	if (lib) { /* not mapped (yet): where the loader would find it */
		if (!(found = lat_find_library(lib))) {
			err_set(err, ENOENT, "--latency %s: process %d has no library '%s' mapped, and none is found "
					     "(give its path)", spec, pid, lib);
			return NULL;
		}
		if (elf_symbol_offset(found, sym, off, err) < 0) {
			free(found);
			return probe_failed(spec, err);
		}
		return found;
	}
	err_set(err, ENOENT, "--latency %s: no function '%s' in process %d's executable or libraries", spec,
		sym, pid);
	return NULL;
}

/*
 * The probes are defined in tracefs (uprobe_events) and opened as
 * tracepoints, not through the uprobe PMU: an event of the PMU carries its
 * file's path as a pointer into cprof's memory (attr.config1), which the
 * kernel reads again whenever the event is inherited, in the forking
 * task's memory, so every thread the workload creates would fail with
 * EFAULT. A tracepoint inherits by its id.
 */
const char *lat_tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	struct stat st;
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		char path[128];
		snprintf(path, sizeof path, "%s/uprobe_events", roots[i]);
		if (stat(path, &st) == 0)
			return roots[i];
	}
	return NULL;
}

int lat_write_probe(const char *root, const char *line, struct cprof_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "%s/uprobe_events", root);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			return err_set(err, e, "cannot write %s (root only): run as root, or make tracefs writable to you",
				       path);
		return err_set(err, e, "cannot open %s: %s", path, strerror(e));
	}
	ssize_t n = write(fd, line, strlen(line));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(line))
		return err_set(err, n < 0 ? e : EIO, "cannot define the uprobe '%s' in %s: %s", line, path,
			       n < 0 ? strerror(e) : "short write");
	return 0;
}

/*
 * Probes left by a cprof that was killed before it could remove them
 * (SIGKILL): groups cprof_PID whose process is gone. They cost nothing
 * while unused but pile up in uprobe_events, so each recording removes
 * them first. Returns how many were removed.
 */
size_t lat_remove_stale(const char *root)
{
	char path[128];
	snprintf(path, sizeof path, "%s/uprobe_events", root);
	struct sbuf sb = SBUF_INIT;
	if (file_read(path, &sb, 1u << 20, NULL) < 0) {
		sbuf_release(&sb);
		return 0;
	}
	size_t removed = 0;
	for (char *line = sb.buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* "p:cprof_123/f0 /path:0x..." or "r:cprof_123/f0_ret ..." */
		int pid;
		char event[64], probe[96];
		if (strlen(line) < 3 || line[1] != ':' || sscanf(line + 2, "cprof_%d/%63[^ ]", &pid, event) != 2 ||
		    pid <= 0 || pid == (int)getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(probe, sizeof probe, "-:cprof_%d/%s", pid, event);
		struct cprof_err e;
		if (lat_write_probe(root, probe, &e) == 0)
			removed++;
	}
	sbuf_release(&sb);
	return removed;
}
