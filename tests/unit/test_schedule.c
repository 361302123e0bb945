/* Unit tests of the refresh schedule. */
#include "autoconfig.h"

#include "schedule.h"
#include "tap.h"

#define AFTER_MAX (SCHEDULE_AFTER_MS + SCHEDULE_JITTER_MS)

/* A cache answering a record of TTL full, counting down: the queries
 * the schedule makes from a fresh answer (at second 0, ms 0 into it) to
 * the one after expiry, as seconds left at each, -1 for the expiry. */
static int walk(unsigned full, int *left, int max, int *followups)
{
	struct schedule_hint h = { 0 };
	int64_t t = 0;	/* ms since the fresh answer */
	int n = 0;

	*followups = 0;
	while (n < max) {
		int64_t sec = t / 1000, d;
		unsigned ttl;

		if (sec > (int64_t)full)
			break;		/* expired: the next answer is new */
		ttl = full - (unsigned)sec;
		d = schedule_delay_ms(ttl, 0, 1, 3600, (unsigned)(t % 1000), 0, &h);
		if (d == SCHEDULE_FOLLOW1_MS || d == SCHEDULE_FOLLOW2_MS)
			(*followups)++;
		t += d;
		left[n++] = t / 1000 > (int64_t)full ? -1 : (int)(full - t / 1000);
	}
	return n;
}

static void prefetch_points(void)
{
	int left[64], n, f, i, saw3 = 0, saw2 = 0, saw0 = 0;
	struct schedule_hint h = { 0 };

	n = walk(30, left, 64, &f);
	for (i = 0; i < n; i++) {
		saw3 |= left[i] == 3;
		saw2 |= left[i] == 2;
		saw0 |= left[i] == 0;
	}
	ok(saw3 && saw2 && saw0, "TTL 30: asks at 3 s left (unbound), 2 s (BIND) and the TTL 0 second");
	ok(left[n - 1] == -1, "and once more after it expired");
	is_int(f, 6, "two follow-ups at each of the three points");
	ok(n <= 10, "at most ten queries per TTL (%d)", n);
	n = walk(5, left, 64, &f);
	ok(left[0] == 0 && f == 2 && left[n - 1] == -1,
	   "TTL 5: no tenth to wait for, only the TTL 0 second and after");
	/* A fresh answer (TTL back at the full value) ends the follow-ups. */
	schedule_delay_ms(30, 0, 1, 3600, 0, 0, &h);
	is_int(schedule_delay_ms(3, 0, 1, 3600, 0, 0, &h), SCHEDULE_FOLLOW1_MS,
	       "in the prefetch window: a follow-up, exempt from refresh-min");
	is_int(schedule_delay_ms(3, 0, 1, 3600, 30, 0, &h), SCHEDULE_FOLLOW2_MS, "and a second");
	h = (struct schedule_hint){ .full_ttl = 5 };
	schedule_delay_ms(0, 0, 1, 3600, 5, 0, &h);
	schedule_delay_ms(0, 0, 1, 3600, 35, 0, &h);
	is_int(schedule_delay_ms(0, 0, 1, 3600, 155, 0, &h), 1000 - 155 + SCHEDULE_AFTER_MS,
	       "after the follow-ups of the TTL 0 second: its end, refresh-min counted from the round");
	h = (struct schedule_hint){ .full_ttl = 30, .follow = 2 };
	ok(schedule_delay_ms(30, 0, 1, 3600, 60, 0, &h) > 20000,
	   "the prefetched answer (full TTL again): on to its own window");
	is_int(h.follow, 0, "follow-ups counted afresh");
	/* Failures reset the follow-ups and back off as before. */
	h.follow = 1;
	is_int(schedule_delay_ms(3, 1, 1, 3600, 0, 0, &h), 1000, "a failure: refresh-min");
	is_int(h.follow, 0, "and no follow-up pending");
	/* TTL 0 from the source: no cache holds it, no follow-ups. */
	h = (struct schedule_hint){ 0 };
	is_int(schedule_delay_ms(0, 0, 2, 3600, 0, 0, &h), 2000,
	       "a record only ever seen at TTL 0: refresh-min, no follow-up");
	/* An authoritative server answers the full TTL every time. */
	h = (struct schedule_hint){ 0 };
	ok(schedule_delay_ms(300, 0, 1, 3600, 0, 0, &h) == 270000 + SCHEDULE_AFTER_MS,
	   "no countdown (an authoritative server): asks at 90%% of the TTL");
}

int main(void)
{
	uint32_t r;
	int after = 1, spread = 0, aligned = 1;
	int64_t first = -1;
	unsigned f;

	is_int(schedule_delay_ms(300, 0, 1, 3600, 0, 0, NULL), 300000 + SCHEDULE_AFTER_MS,
	       "asks just after the TTL runs out, not before");
	is_int(schedule_delay_ms(300, 0, 1, 3600, 400, 0, NULL), 299600 + SCHEDULE_AFTER_MS,
	       "aligned to the second boundary at which a cache expires the record");
	is_int(schedule_delay_ms(0, 0, 1, 3600, 0, 0, NULL), 1000 + SCHEDULE_AFTER_MS,
	       "TTL 0: the next second boundary, no hot loop");
	is_int(schedule_delay_ms(0, 0, 1, 3600, 999, 0, NULL), 1000,
	       "TTL 0 answered late in a second: refresh-min holds");
	is_int(schedule_delay_ms(5, 0, 30, 3600, 0, 12345, NULL), 30000,
	       "a TTL below refresh-min waits refresh-min");
	is_int(schedule_delay_ms(2147483647u, 0, 1, 3600, 0, 0, NULL), 3600000,
	       "huge TTL: refresh-max");
	is_int(schedule_delay_ms(4000, 0, 1, 3600, 500, 77, NULL), 3600000,
	       "a TTL above refresh-max: refresh-max, jitter not added past it");
	for (r = 0; r < 1000; r++) {
		int64_t d = schedule_delay_ms(300, 0, 1, 3600, 0, r * 2654435761u, NULL);

		after &= d >= 300000 + SCHEDULE_AFTER_MS && d <= 300000 + AFTER_MAX;
		if (first < 0)
			first = d;
		spread |= d != first;
	}
	ok(after, "jitter only ever added, and short");
	ok(spread, "jitter spreads hosts");
	for (f = 0; f < 1000; f += 37) {
		int64_t d = schedule_delay_ms(5, 0, 1, 3600, f, 0, NULL);

		/* answer at second s + f ms: due at s + 5 s + AFTER */
		aligned &= f + d == 5000 + SCHEDULE_AFTER_MS;
	}
	ok(aligned, "the due time is the same boundary wherever in its second the answer came");
	is_int(schedule_delay_ms(300, 1, 1, 3600, 0, 0, NULL), 1000, "first failure: refresh-min");
	is_int(schedule_delay_ms(300, 2, 1, 3600, 0, 0, NULL), 2000, "second: doubled");
	is_int(schedule_delay_ms(300, 4, 30, 3600, 0, 0, NULL), 240000, "fourth: 8x");
	is_int(schedule_delay_ms(300, 100, 30, 3600, 0, 0, NULL), 3600000, "capped at refresh-max");
	prefetch_points();
	return done_testing();
}
