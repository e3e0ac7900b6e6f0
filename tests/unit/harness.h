/*
 * harness.h - the unit-test harness: TEST() declares a case, main() from
 * RUN_TESTS() runs them all. A failed assertion prints file:line and the
 * expression and aborts the executable (meson reports it); SKIP() exits 77.
 */
#ifndef CPROF_TEST_HARNESS_H
#define CPROF_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
struct test_case {
	const char *name;
	test_fn fn;
};

#define TEST(name) static void test_##name(void)
#define T(name) { #name, test_##name }

#define FAIL_(...) do { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); abort(); } while (0)
#define ASSERT(x) do { if (!(x)) FAIL_("assertion failed: %s", #x); } while (0)
#define ASSERT_OK(x) do { long r_ = (long)(x); if (r_ < 0) FAIL_("%s failed: %ld", #x, r_); } while (0)
#define ASSERT_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
			      if (a_ != b_) FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define ASSERT_STREQ(a, b) do { const char *a_ = (a), *b_ = (b); \
				if (!a_ || !b_ || strcmp(a_, b_)) FAIL_("%s == %s: '%s' != '%s'", #a, #b, \
									a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define ASSERT_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
				    if (a_ - b_ > (tol) || b_ - a_ > (tol)) FAIL_("%s ~= %s: %g vs %g (tol %g)", #a, #b, a_, b_, (double)(tol)); } while (0)
#define SKIP(why) do { printf("skipped: %s\n", why); exit(77); } while (0)

#define RUN_TESTS(...) \
	int main(void) \
	{ \
		static const struct test_case cases[] = { __VA_ARGS__ }; \
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) { \
			printf("# %s\n", cases[i].name); \
			fflush(stdout); \
			cases[i].fn(); \
		} \
		printf("%zu cases passed\n", sizeof cases / sizeof cases[0]); \
		return 0; \
	}

#endif
