/* test-rewrite.c - --fold-go-runtime and --full-names on loaded profiles. */
#include <errno.h>

#include "cprof/folded.h"
#include "cprof/rewrite.h"
#include "harness.h"

static void load(struct cprof_data *d, const char *text)
{
	struct cprof_err err;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	ASSERT(fp);
	ASSERT_EQ(folded_read(d, fp, "in", true, NULL, &err), 0);
	fclose(fp);
}

/* The profile as folded text, stacks merged and sorted, for comparing. */
static char *folded(const struct cprof_data *d)
{
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	struct cprof_err err;
	ASSERT_OK(profile_build(&p, d, &f, &err));
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	ASSERT(fp);
	folded_write(fp, &p);
	fclose(fp);
	profile_release(&p);
	/* Sum equal lines, sort: the writer emits one line per distinct stack. */
	char *lines[64];
	unsigned long counts[64];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(l, ' ');
		ASSERT(sp);
		*sp = 0;
		size_t i = 0;
		while (i < n && strcmp(lines[i], l) != 0)
			i++;
		if (i == n) {
			ASSERT(n < 64);
			lines[n] = l;
			counts[n++] = 0;
		}
		counts[i] += strtoul(sp + 1, NULL, 10);
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *t = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = t;
			unsigned long c = counts[j];
			counts[j] = counts[j - 1];
			counts[j - 1] = c;
		}
	struct sbuf out = SBUF_INIT;
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&out, "%s %lu\n", lines[i], counts[i]);
	free(buf);
	return sbuf_detach(&out);
}

TEST(classes)
{
	ASSERT_EQ(go_runtime_class("runtime.goexit.abi0"), GO_DROP);
	ASSERT_EQ(go_runtime_class("runtime.goexit"), GO_DROP);
	ASSERT_EQ(go_runtime_class("runtime.systemstack.abi0"), GO_DROP);
	ASSERT_EQ(go_runtime_class("runtime.mcall"), GO_DROP);
	ASSERT_EQ(go_runtime_class("runtime.main"), GO_DROP);
	ASSERT_EQ(go_runtime_class("runtime.schedule"), GO_FOLD);
	ASSERT_EQ(go_runtime_class("runtime.findRunnable"), GO_KEEP); /* folded only under schedule */
	ASSERT_EQ(go_runtime_class("runtime.chanrecv"), GO_KEEP);
	ASSERT_EQ(go_runtime_class("runtime.mallocgc"), GO_KEEP);
	ASSERT_EQ(go_runtime_class("runtime.gcBgMarkWorker"), GO_KEEP);
	ASSERT_EQ(go_runtime_class("main.main"), GO_KEEP);
	ASSERT_EQ(go_runtime_class("runtime.mainly"), GO_KEEP);
	ASSERT_EQ(go_runtime_class("myruntime.main"), GO_KEEP);
	ASSERT_EQ(go_runtime_class(""), GO_KEEP);
}

/* Stacks as cprof records Go programs (frame pointers, leaf last). */
static const char go_stacks[] =
	"runtime.goexit.abi0;main.main.func2;main.worker;main.crunch 100\n"
	"runtime.goexit.abi0;runtime.main;main.main;runtime.chansend1;runtime.chansend 7\n"
	"runtime.goexit.abi0;main.main.func2;main.worker;runtime.chanrecv2;runtime.chanrecv;runtime.mcall;"
	"runtime.park_m;runtime.schedule;runtime.findRunnable;runtime.stopm;runtime.futexsleep;futex_wait_[k] 5\n"
	"runtime.goexit.abi0;main.main.func2;main.worker;runtime.chanrecv2;runtime.chanrecv;runtime.mcall;"
	"runtime.park_m;runtime.schedule 3\n"
	"runtime.mstart.abi0;runtime.mstart0;runtime.mstart1;runtime.schedule;runtime.findRunnable;runtime.runqget 4\n"
	"runtime.goexit.abi0;main.main;runtime.chansend1;runtime.chansend;runtime.send;runtime.systemstack.abi0;"
	"runtime.goready.func1;runtime.ready 2\n"
	"runtime.goexit.abi0;runtime.gcBgMarkWorker;runtime.systemstack.abi0;runtime.gcBgMarkWorker.func2;"
	"runtime.gcDrain 6\n"
	"runtime.goexit.abi0 1\n"
	"runtime.rt0_go.abi0;runtime.mstart.abi0 1\n";

TEST(fold_go_runtime)
{
	struct cprof_data d;
	load(&d, go_stacks);
	size_t before = d.stack_offset.n;
	ASSERT_EQ(rewrite_fold_go_runtime(&d), 8);
	char *got = folded(&d);
	ASSERT_STREQ(got,
		     "main.main.func2;main.worker;main.crunch 100\n"
		     "main.main.func2;main.worker;runtime.chanrecv2;runtime.chanrecv;runtime.schedule 8\n"
		     "main.main;runtime.chansend1;runtime.chansend 7\n"
		     "main.main;runtime.chansend1;runtime.chansend;runtime.send;runtime.goready.func1;runtime.ready 2\n"
		     "runtime.gcBgMarkWorker;runtime.gcBgMarkWorker.func2;runtime.gcDrain 6\n"
		     "runtime.goexit.abi0 1\n"
		     "runtime.mstart.abi0 1\n"
		     "runtime.schedule 4\n");
	free(got);
	ASSERT(d.stack_offset.n > before); /* rewritten stacks are added, the old ones stay valid */
	/* A second pass finds nothing left to fold. */
	ASSERT_EQ(rewrite_fold_go_runtime(&d), 0);
	cprof_data_release(&d);

	/* A profile without Go frames is untouched. */
	load(&d, "main;a;b 3\nmain;c 2\n");
	ASSERT_EQ(rewrite_fold_go_runtime(&d), 0);
	got = folded(&d);
	ASSERT_STREQ(got, "main;a;b 3\nmain;c 2\n");
	free(got);
	cprof_data_release(&d);
}

TEST(full_names)
{
	struct cprof_data d;
	load(&d, "main;r::sum_sq 3\nmain;r::sum_sq;core::ptr::read_volatile_[i] 2\n");
	/* Give the frames full names, as the recorder does for Rust symbols. */
	uint32_t full = cprof_intern(&d, "r::sum_sq::h0123456789abcdef");
	uint32_t full2 = cprof_intern(&d, "core::ptr::read_volatile::hfedcba9876543210");
	for (size_t i = 0; i < d.frames.n; i++) {
		const char *f = cprof_str(&d, d.frames.v[i].func);
		if (strcmp(f, "r::sum_sq") == 0)
			d.frames.v[i].full = full;
		else if (strcmp(f, "core::ptr::read_volatile") == 0)
			d.frames.v[i].full = full2;
	}
	char *got = folded(&d);
	ASSERT_STREQ(got, "main;r::sum_sq 3\nmain;r::sum_sq;core::ptr::read_volatile_[i] 2\n");
	free(got);
	ASSERT_EQ(rewrite_full_names(&d), 2);
	got = folded(&d);
	ASSERT_STREQ(got, "main;r::sum_sq::h0123456789abcdef 3\n"
			  "main;r::sum_sq::h0123456789abcdef;core::ptr::read_volatile::hfedcba9876543210_[i] 2\n");
	free(got);
	ASSERT_EQ(rewrite_full_names(&d), 0); /* nothing left to change */
	cprof_data_release(&d);
}

RUN_TESTS(T(classes), T(fold_go_runtime), T(full_names))
