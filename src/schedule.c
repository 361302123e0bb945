/* kvfence: the refresh schedule: just after the TTL runs out, clamped,
 * with exponential backoff on failure. */
#include "autoconfig.h"

#include "schedule.h"

int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, unsigned frac_ms, uint32_t rnd)
{
	int64_t min = (int64_t)refresh_min * 1000, max = (int64_t)refresh_max * 1000;
	int64_t d;

	if (failures > 0) {
		d = min;
		while (--failures > 0 && d < max)
			d *= 2;
		return d < max ? d : max;
	}
	if (frac_ms > 999)
		frac_ms = 999;
	/* TTL 0: the record is gone at the next second boundary. */
	d = (int64_t)(ttl ? ttl : 1) * 1000 - frac_ms;
	d += SCHEDULE_AFTER_MS + (int64_t)(rnd % (SCHEDULE_JITTER_MS + 1));
	if (d < min)
		d = min;
	if (d > max)
		d = max;
	return d;
}
