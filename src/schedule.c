/* kvfence: the refresh schedule: TTL-following, clamped, jittered, with
 * exponential backoff on failure. */
#include "autoconfig.h"

#include "schedule.h"

int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, uint32_t rnd)
{
	int64_t min = (int64_t)refresh_min * 1000, max = (int64_t)refresh_max * 1000;
	int64_t d, jitter;

	if (failures > 0) {
		d = min;
		while (--failures > 0 && d < max)
			d *= 2;
		return d < max ? d : max;
	}
	d = (int64_t)ttl * 1000;
	if (d < min)
		d = min;
	if (d > max)
		d = max;
	jitter = (int64_t)(rnd % (uint32_t)(d / 10 + 1));
	d -= jitter;
	return d < min ? min : d;
}
