/* Unit tests of the refresh schedule. */
#include "autoconfig.h"

#include "schedule.h"
#include "tap.h"

#define AFTER_MAX (SCHEDULE_AFTER_MS + SCHEDULE_JITTER_MS)

int main(void)
{
	uint32_t r;
	int after = 1, spread = 0, aligned = 1;
	int64_t first = -1;
	unsigned f;

	is_int(schedule_delay_ms(300, 0, 1, 3600, 0, 0), 300000 + SCHEDULE_AFTER_MS,
	       "asks just after the TTL runs out, not before");
	is_int(schedule_delay_ms(300, 0, 1, 3600, 400, 0), 299600 + SCHEDULE_AFTER_MS,
	       "aligned to the second boundary at which a cache expires the record");
	is_int(schedule_delay_ms(0, 0, 1, 3600, 0, 0), 1000 + SCHEDULE_AFTER_MS,
	       "TTL 0: the next second boundary, no hot loop");
	is_int(schedule_delay_ms(0, 0, 1, 3600, 999, 0), 1000,
	       "TTL 0 answered late in a second: refresh-min holds");
	is_int(schedule_delay_ms(5, 0, 30, 3600, 0, 12345), 30000,
	       "a TTL below refresh-min waits refresh-min");
	is_int(schedule_delay_ms(2147483647u, 0, 1, 3600, 0, 0), 3600000,
	       "huge TTL: refresh-max");
	is_int(schedule_delay_ms(4000, 0, 1, 3600, 500, 77), 3600000,
	       "a TTL above refresh-max: refresh-max, jitter not added past it");
	for (r = 0; r < 1000; r++) {
		int64_t d = schedule_delay_ms(300, 0, 1, 3600, 0, r * 2654435761u);

		after &= d >= 300000 + SCHEDULE_AFTER_MS && d <= 300000 + AFTER_MAX;
		if (first < 0)
			first = d;
		spread |= d != first;
	}
	ok(after, "jitter only ever added, and short");
	ok(spread, "jitter spreads hosts");
	for (f = 0; f < 1000; f += 37) {
		int64_t d = schedule_delay_ms(5, 0, 1, 3600, f, 0);

		/* answer at second s + f ms: due at s + 5 s + AFTER */
		aligned &= f + d == 5000 + SCHEDULE_AFTER_MS;
	}
	ok(aligned, "the due time is the same boundary wherever in its second the answer came");
	is_int(schedule_delay_ms(300, 1, 1, 3600, 0, 0), 1000, "first failure: refresh-min");
	is_int(schedule_delay_ms(300, 2, 1, 3600, 0, 0), 2000, "second: doubled");
	is_int(schedule_delay_ms(300, 4, 30, 3600, 0, 0), 240000, "fourth: 8x");
	is_int(schedule_delay_ms(300, 100, 30, 3600, 0, 0), 3600000, "capped at refresh-max");
	return done_testing();
}
