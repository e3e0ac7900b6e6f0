/*
 * collector.c - the process side of libcprof-cupti.so (collector.h).
 *
 * Locks, and why each is short:
 *   name_lock  the process's name table; held for a lookup, and for the
 *              one write(2) of a name's definition the first time it is
 *              seen, so no record can use an id before it is in the file.
 *   tb->lock   one per launching thread: its stack buffer. Only that
 *              thread and a flusher take it, so a launch never waits for
 *              another thread's launch or for a conversion.
 *   list_lock  the list of stack buffers; taken when a thread first
 *              launches or exits, and by flushers (before tb->lock).
 *   flush_lock one flush or finish at a time (the helper's period, exit).
 * Activity buffers are converted outside all of them (inject.c), each
 * into its own writer.
 *
 * Signals: the handler only writes the signal number to a pipe. The helper
 * thread, started with every signal blocked, reads it, finishes the stream,
 * puts back the program's own disposition and sends the signal again, so
 * the program dies of it as it would have. A second signal while that runs
 * (a flush that hangs) kills at once.
 *
 * One file: it runs inside the workload under CUPTI's callbacks, and its
 * state and locking are easier to audit together.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector.h"
#include "cprof/base.h"
#include "cprof/gpu-stream.h"

#define STACK_BUF (64u << 10)  /* per launching thread */
#define STACK_SLOTS 1024u      /* distinct stacks remembered per thread (power of two) */
#define STACK_ARENA 16384u     /* their ips; when either fills up the table starts over */

enum { ST_OFF, ST_RUNNING, ST_FINISHING, ST_FINISHED };

static atomic_int state;
static atomic_int started;
static atomic_bool exit_flush; /* the forced flush at the end is running */
static int fd = -1;
static uint32_t pid;
static struct gpu_collector_hooks hooks;
static bool have_hooks;
static unsigned period_ms;

static _Atomic uint64_t loss[_GL_MAX];
static uint64_t loss_written[_GL_MAX]; /* under flush_lock */

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_key_t tbuf_key;
static bool tbuf_key_ok;
static void tbuf_release(void *p);

/* ---- direct writes: one record, one write(2) ---- */

static void write_out(struct gpu_writer *w)
{
	gpu_writer_flush(w);
	if (w->write_errors)
		atomic_fetch_add(&loss[GL_WRITE_ERRORS], w->write_errors);
}

void gpu_collector_note(const char *msg)
{
	uint8_t rec[8 + GS_MAX_NAME];
	struct gpu_writer w;
	if (fd < 0 || atomic_load(&state) == ST_FINISHED)
		return;
	gpu_writer_init_buf(&w, fd, rec, sizeof rec);
	gpu_writer_note(&w, msg);
	write_out(&w);
}

/* The counts since the last call (GS_COUNTS holds increments), if any. */
static void write_counts(void)
{
	uint64_t d[_GL_MAX];
	bool any = false;
	for (int i = 0; i < _GL_MAX; i++) {
		uint64_t cur = atomic_load(&loss[i]);
		d[i] = cur - loss_written[i];
		loss_written[i] = cur;
		any |= d[i] != 0;
	}
	if (!any)
		return;
	uint8_t rec[8 + 8 * _GL_MAX];
	struct gpu_writer w;
	gpu_writer_init_buf(&w, fd, rec, sizeof rec);
	gpu_writer_counts(&w, d, _GL_MAX);
	write_out(&w);
}

void gpu_collector_count(enum gpu_loss what, uint64_t n)
{
	if ((unsigned)what < _GL_MAX && n)
		atomic_fetch_add(&loss[what], n);
}

int gpu_collector_fd(void) { return fd; }
uint32_t gpu_collector_pid(void) { return pid; }

bool gpu_collector_active(void)
{
	int s = atomic_load(&state);
	return s == ST_RUNNING || s == ST_FINISHING;
}

bool gpu_collector_at_exit(void) { return atomic_load(&exit_flush); }

int gpu_collector_open(const char *path)
{
	if (fd >= 0)
		return -EALREADY;
	int f = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (f < 0)
		return -errno;
	fd = f;
	pid = (uint32_t)getpid();
	/* Before any launch can be recorded: threads hand their stack buffers
	 * back through it when they end. */
	tbuf_key_ok = pthread_key_create(&tbuf_key, tbuf_release) == 0;
	atomic_store(&state, ST_RUNNING);
	return 0;
}

/* ---- names, once per process ---- */

static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;
static struct name_slot {
	uint64_t hash;
	char *s;
	uint32_t len, id; /* id 0: empty */
} *names;
static size_t names_n, names_cap;
static uint32_t last_name_id;

static struct name_slot *name_find(struct name_slot *tab, size_t cap, uint64_t h, const char *s, uint32_t len)
{
	size_t i = (size_t)h & (cap - 1);
	while (tab[i].id && !(tab[i].hash == h && tab[i].len == len && memcmp(tab[i].s, s, len) == 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Room for one more name; false if memory ran out (the name is then
 * written again next time, which is wasteful but right). */
static bool names_reserve(void)
{
	if (2 * (names_n + 1) <= names_cap)
		return true;
	size_t cap = names_cap ? 2 * names_cap : 256;
	struct name_slot *tab = calloc(cap, sizeof *tab);
	if (!tab)
		return false;
	for (size_t i = 0; i < names_cap; i++)
		if (names[i].id)
			*name_find(tab, cap, names[i].hash, names[i].s, names[i].len) = names[i];
	free(names);
	names = tab;
	names_cap = cap;
	return true;
}

uint32_t gpu_collector_name(const char *name)
{
	if (!name || fd < 0)
		return 0;
	uint32_t len = (uint32_t)strnlen(name, GS_MAX_NAME);
	uint64_t h = hash_bytes(name, len, HASH_SEED);
	uint32_t id = 0;
	pthread_mutex_lock(&name_lock);
	struct name_slot *slot = names_cap ? name_find(names, names_cap, h, name, len) : NULL;
	if (slot && slot->id) {
		id = slot->id;
		goto out;
	}
	uint8_t rec[8 + GS_NAME_FIXED + GS_MAX_NAME];
	struct gpu_writer w;
	gpu_writer_init_buf(&w, fd, rec, sizeof rec);
	gpu_writer_name(&w, pid, ++last_name_id, name);
	write_out(&w);
	if (w.write_errors)
		goto out; /* not in the file: records must not use it */
	id = last_name_id;
	char *copy = malloc(len + 1);
	if (copy && names_reserve()) {
		memcpy(copy, name, len);
		copy[len] = 0;
		*name_find(names, names_cap, h, name, len) = (struct name_slot){ h, copy, len, id };
		names_n++;
	} else {
		free(copy);
	}
out:
	pthread_mutex_unlock(&name_lock);
	return id;
}

/* ---- launch stacks, one buffer per launching thread ---- */

struct tbuf {
	pthread_mutex_t lock;
	struct gpu_writer w;
	struct stack_slot {
		uint64_t hash;
		uint32_t id, n, off; /* id 0: empty; off: into arena */
	} *slots;
	uint64_t *arena;
	uint32_t arena_used, slots_used;
	struct tbuf *next; /* list, under list_lock; never freed */
	bool in_use;       /* under list_lock */
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tbuf *tbufs;
static _Atomic uint32_t last_stack_id;
static __thread struct tbuf *my_tbuf;
static __thread uint32_t my_tid;

/* A thread ends: its stacks go out, and its buffer (with the stacks it
 * knows, which stay valid for the process) serves the next new thread. */
static void tbuf_release(void *p)
{
	struct tbuf *tb = p;
	pthread_mutex_lock(&tb->lock);
	if (gpu_collector_active())
		gpu_writer_flush(&tb->w);
	pthread_mutex_unlock(&tb->lock);
	pthread_mutex_lock(&list_lock);
	tb->in_use = false;
	pthread_mutex_unlock(&list_lock);
	my_tbuf = NULL; /* another thread may take it now */
}

static struct tbuf *tbuf_get(void)
{
	struct tbuf *tb;
	pthread_mutex_lock(&list_lock);
	for (tb = tbufs; tb && tb->in_use; tb = tb->next)
		;
	if (!tb) {
		tb = calloc(1, sizeof *tb);
		if (tb) {
			tb->slots = calloc(STACK_SLOTS, sizeof *tb->slots);
			tb->arena = malloc(STACK_ARENA * sizeof *tb->arena);
			if (!tb->slots || !tb->arena || gpu_writer_init(&tb->w, fd, STACK_BUF) < 0) {
				free(tb->slots);
				free(tb->arena);
				free(tb);
				tb = NULL;
			} else {
				pthread_mutex_init(&tb->lock, NULL);
				tb->next = tbufs;
				tbufs = tb;
			}
		}
	}
	if (tb)
		tb->in_use = true;
	pthread_mutex_unlock(&list_lock);
	if (tb && tbuf_key_ok)
		pthread_setspecific(tbuf_key, tb);
	return tb;
}

/* The id of this stack in tb, writing its definition if it is new. */
static uint32_t intern_stack(struct tbuf *tb, const uint64_t *ips, uint32_t n)
{
	uint64_t h = hash_bytes(ips, 8 * (size_t)n, HASH_SEED);
	size_t i = (size_t)h & (STACK_SLOTS - 1);
	for (; tb->slots[i].id; i = (i + 1) & (STACK_SLOTS - 1)) {
		const struct stack_slot *s = &tb->slots[i];
		if (s->hash == h && s->n == n && memcmp(tb->arena + s->off, ips, 8 * (size_t)n) == 0)
			return s->id;
	}
	if (4 * (tb->slots_used + 1) > 3 * STACK_SLOTS || tb->arena_used + n > STACK_ARENA) {
		/* Full: start over. Ids handed out stay valid in the stream. */
		memset(tb->slots, 0, STACK_SLOTS * sizeof *tb->slots);
		tb->slots_used = tb->arena_used = 0;
		i = (size_t)h & (STACK_SLOTS - 1);
	}
	uint32_t id = atomic_fetch_add(&last_stack_id, 1) + 1;
	memcpy(tb->arena + tb->arena_used, ips, 8 * (size_t)n);
	tb->slots[i] = (struct stack_slot){ h, id, n, tb->arena_used };
	tb->arena_used += n;
	tb->slots_used++;
	gpu_writer_stack(&tb->w, pid, id, ips, n);
	return id;
}

void gpu_collector_launch(uint32_t corr, uint32_t domain, const uint64_t *ips, uint32_t n)
{
	if (!gpu_collector_active())
		return;
	struct tbuf *tb = my_tbuf;
	if (!tb && !(tb = my_tbuf = tbuf_get())) {
		atomic_fetch_add(&loss[GL_STACKS_LOST], 1);
		return;
	}
	if (!my_tid)
		my_tid = (uint32_t)syscall(SYS_gettid);
	if (n > GS_MAX_IPS)
		n = GS_MAX_IPS;
	pthread_mutex_lock(&tb->lock);
	if (gpu_collector_active()) {
		uint32_t id = intern_stack(tb, ips, n);
		gpu_writer_launch(&tb->w, corr, pid, my_tid, domain, id);
	}
	pthread_mutex_unlock(&tb->lock);
}

static void flush_stacks(void)
{
	pthread_mutex_lock(&list_lock);
	for (struct tbuf *tb = tbufs; tb; tb = tb->next) {
		pthread_mutex_lock(&tb->lock);
		gpu_writer_flush(&tb->w);
		if (tb->w.write_errors) {
			atomic_fetch_add(&loss[GL_WRITE_ERRORS], tb->w.write_errors);
			tb->w.write_errors = 0;
		}
		pthread_mutex_unlock(&tb->lock);
	}
	pthread_mutex_unlock(&list_lock);
}

/* ---- finishing ---- */

void gpu_collector_finish(uint32_t reason, uint32_t sig)
{
	pthread_mutex_lock(&flush_lock);
	int expect = ST_RUNNING;
	if (fd < 0 || !atomic_compare_exchange_strong(&state, &expect, ST_FINISHING)) {
		pthread_mutex_unlock(&flush_lock);
		return;
	}
	if (have_hooks) {
		/* Complete buffers first: a forced flush hands over buffers with
		 * unfinished records, whose iteration stops at the first one. */
		hooks.flush(false);
		atomic_store(&exit_flush, true);
		hooks.flush(true);
		atomic_store(&exit_flush, false);
	}
	/* Launches from here on are not written; ones under way finish first
	 * (flush_stacks takes each buffer's lock). */
	atomic_store(&state, ST_FINISHED);
	flush_stacks();
	write_counts();
	uint8_t rec[16];
	struct gpu_writer w;
	gpu_writer_init_buf(&w, fd, rec, sizeof rec);
	gpu_writer_end(&w, reason, sig);
	gpu_writer_flush(&w);
	pthread_mutex_unlock(&flush_lock);
}

static void at_exit(void)
{
	gpu_collector_finish(GS_END_EXIT, 0);
}

/* ---- the helper thread and signals ---- */

static const int caught[] = { SIGINT, SIGTERM };
static struct sigaction old_action[ARRAY_SIZE(caught)];
static volatile sig_atomic_t installed[ARRAY_SIZE(caught)];
static int wake[2] = { -1, -1 };
static atomic_bool helper_up;
static atomic_int signalled;

static void on_signal(int sig);

/* Put back the disposition the program had, if ours is still in place
 * (the program may have installed its own since). Async-signal-safe. */
static void restore_signal(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(caught); i++) {
		struct sigaction cur;
		if (caught[i] != sig || !installed[i])
			continue;
		installed[i] = 0;
		if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == on_signal)
			sigaction(sig, &old_action[i], NULL);
	}
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char b = (unsigned char)sig;
	if (atomic_exchange(&signalled, sig) == 0 && atomic_load(&helper_up) && write(wake[1], &b, 1) == 1) {
		errno = e;
		return;
	}
	/* A second signal, or nobody to finish: die of it now. The signal is
	 * blocked in its handler, so it lands when this returns. */
	restore_signal(sig);
	raise(sig);
	errno = e;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(caught); i++) {
		/* Only where the program has no handler: its own would not run
		 * atexit either, and cprof must not take the signal from it. */
		if (sigaction(caught[i], NULL, &old_action[i]) == 0 && old_action[i].sa_handler == SIG_DFL &&
		    !(old_action[i].sa_flags & SA_SIGINFO)) {
			installed[i] = 1;
			if (sigaction(caught[i], &sa, NULL) < 0)
				installed[i] = 0;
		}
	}
}

static void tick(void)
{
	pthread_mutex_lock(&flush_lock);
	if (atomic_load(&state) == ST_RUNNING) {
		/* Flag 0: the buffers whose records are all complete, full or not
		 * (CUPTI's own periodic flush returns only full ones). */
		hooks.flush(false);
		flush_stacks();
		write_counts();
	}
	pthread_mutex_unlock(&flush_lock);
}

/*
 * Every period a flush; on a signal's byte, finish and die of the signal.
 * It stays up after the stream is finished, sleeping: a signal that lands
 * while exit() finishes the stream must still kill the process.
 */
static void *helper_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { .fd = wake[0], .events = POLLIN };
		int r = poll(&p, 1, atomic_load(&state) == ST_RUNNING ? (int)period_ms : -1);
		if (r < 0 && errno != EINTR)
			break;
		unsigned char sig = 0;
		if (r > 0 && read(wake[0], &sig, 1) == 1 && sig) {
			gpu_collector_finish(GS_END_SIGNAL, sig); /* or waits for the one under way */
			restore_signal(sig);
			/* Process-directed: this thread blocks every signal. */
			kill(getpid(), sig);
			break;
		}
		if (r == 0)
			tick();
	}
	atomic_store(&helper_up, false);
	return NULL;
}

static int start_helper(void)
{
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int r = pthread_create(&t, NULL, helper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close(wake[0]);
		close(wake[1]);
		wake[0] = wake[1] = -1;
		return -r;
	}
	pthread_detach(t);
	atomic_store(&helper_up, true);
	return 0;
}

/*
 * A forked child carries a copy of all this: locks perhaps held by threads
 * that do not exist in it, the parent's unwritten stacks, our handlers. It
 * does not trace (CUDA does not survive a fork, and the parent writes its
 * own records): everything is reset and the stream is left alone.
 */
static void atfork_child(void)
{
	atomic_store(&state, ST_FINISHED);
	pthread_mutex_init(&flush_lock, NULL);
	pthread_mutex_init(&name_lock, NULL);
	pthread_mutex_init(&list_lock, NULL);
	for (struct tbuf *tb = tbufs; tb; tb = tb->next) {
		pthread_mutex_init(&tb->lock, NULL);
		tb->w.len = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(caught); i++)
		restore_signal(caught[i]);
	atomic_store(&helper_up, false);
	for (int i = 0; i < 2; i++)
		if (wake[i] >= 0) {
			close(wake[i]);
			wake[i] = -1;
		}
	if (fd >= 0) {
		close(fd);
		fd = -1;
	}
}

int gpu_collector_start(const struct gpu_collector_hooks *h, unsigned period, bool catch_signals)
{
	if (atomic_exchange(&started, 1))
		return -EALREADY;
	if (fd < 0)
		return -EBADF;
	if (h) {
		hooks = *h;
		have_hooks = true;
	}
	period_ms = period ? period : 200;
	if (atexit(at_exit) != 0)
		return -ENOMEM;
	int r = pthread_atfork(NULL, NULL, atfork_child);
	if (r)
		return -r;
	if (!have_hooks)
		return 0;
	if ((r = start_helper()) < 0)
		return r;
	if (catch_signals)
		install_signals();
	return 0;
}
