/*
 * launcher.c - start the workload suspended, so its events can be opened
 * against its pid before it runs a single instruction of the target, then
 * let it exec (enable_on_exec turns the events on at that moment).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cprof/record.h"

int workload_prepare(struct workload *w, char **argv, struct cprof_err *err)
{
	int go[2], ex[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	if (pipe2(ex, O_CLOEXEC) < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return err_set(err, e, "pipe: %s", strerror(e));
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(ex[0]);
		close(ex[1]);
		return err_set(err, e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		char c;
		close(go[1]);
		close(ex[0]);
		/* The recorder ignores SIGPIPE; the workload gets the default back. */
		signal(SIGPIPE, SIG_DFL);
		/* EOF (0) is the signal to go; data or error means the recorder gave up. */
		if (read(go[0], &c, 1) != 0)
			_exit(127);
		/* With the recording on our stdout, the workload's goes to stderr. */
		if (!w->stdout_to_stderr || dup2(STDERR_FILENO, STDOUT_FILENO) >= 0)
			execvp(argv[0], argv);
		int e = errno; /* of exec, or of dup2 */
		if (write(ex[1], &e, sizeof e) != sizeof e)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	w->pid = pid;
	w->go_fd = go[1];
	w->err_fd = ex[0];
	return 0;
}

int workload_start(struct workload *w, const char *cmd, struct cprof_err *err)
{
	int e = 0;
	close(w->go_fd);
	w->go_fd = -1;
	ssize_t n;
	do
		n = read(w->err_fd, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(w->err_fd);
	w->err_fd = -1;
	if (n == (ssize_t)sizeof e) {
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		w->pid = 0;
		if (e == ENOENT)
			return err_set(err, e, "cannot run '%s': command not found", cmd);
		return err_set(err, e, "cannot run '%s': %s", cmd, strerror(e));
	}
	return 0;
}

void workload_abort(struct workload *w)
{
	if (w->go_fd >= 0) {
		/* Writing a byte tells the child to exit instead of exec. */
		if (write(w->go_fd, "x", 1) != 1)
			kill(w->pid, SIGKILL);
		close(w->go_fd);
		w->go_fd = -1;
	}
	if (w->err_fd >= 0) {
		close(w->err_fd);
		w->err_fd = -1;
	}
	if (w->pid > 0)
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	w->pid = 0;
}
