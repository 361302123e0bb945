/* Unit tests of the refresh schedule. */
#include "autoconfig.h"

#include "schedule.h"
#include "tap.h"

int main(void)
{
	uint32_t r;
	int in_range = 1, spread = 0;
	int64_t first = -1;

	is_int(schedule_delay_ms(300, 0, 30, 3600, 0), 300000, "TTL followed");
	is_int(schedule_delay_ms(0, 0, 30, 3600, 0), 30000, "TTL 0: refresh-min, no hot loop");
	is_int(schedule_delay_ms(2147483647u, 0, 30, 3600, 0), 3600000, "huge TTL: refresh-max");
	is_int(schedule_delay_ms(5, 0, 30, 3600, 12345), 30000, "jitter never below refresh-min");
	for (r = 0; r < 1000; r++) {
		int64_t d = schedule_delay_ms(300, 0, 30, 3600, r * 2654435761u);

		in_range &= d >= 270000 && d <= 300000;
		if (first < 0)
			first = d;
		spread |= d != first;
	}
	ok(in_range, "jitter within a tenth of the TTL, never later");
	ok(spread, "jitter spreads hosts");
	is_int(schedule_delay_ms(300, 1, 30, 3600, 0), 30000, "first failure: refresh-min");
	is_int(schedule_delay_ms(300, 2, 30, 3600, 0), 60000, "second: doubled");
	is_int(schedule_delay_ms(300, 4, 30, 3600, 0), 240000, "fourth: 8x");
	is_int(schedule_delay_ms(300, 100, 30, 3600, 0), 3600000, "capped at refresh-max");
	return done_testing();
}
