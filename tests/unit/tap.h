/* kvfence unit tests: a tiny TAP producer. Each test file includes this
 * once, calls ok()/is_int()/is_str() and ends with done_testing(). */
#ifndef KVF_TAP_H
#define KVF_TAP_H

#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return pass;
}

#define is_int(got, want, ...) do { \
	long long g_ = (got), w_ = (want); \
	if (!ok(g_ == w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int p_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
	if (!ok(p_, __VA_ARGS__)) \
		printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

/* A fixed xorshift sequence: random cases that come out the same in
 * every run. tap_seed sets its start. */
static uint32_t tap_rnd = 2463534242u;

static inline void tap_seed(uint32_t seed)
{
	tap_rnd = seed;
}

static inline uint32_t tap_random(void)
{
	tap_rnd ^= tap_rnd << 13;
	tap_rnd ^= tap_rnd >> 17;
	tap_rnd ^= tap_rnd << 5;
	return tap_rnd;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
