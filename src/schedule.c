/* kvfence: the refresh schedule: just after the TTL runs out, through
 * the points where caches prefetch, clamped, with exponential backoff
 * on failure. */
#include "autoconfig.h"

#include "schedule.h"

#define BIND_LEFT	2	/* BIND's prefetch: 2 s left ... */
#define BIND_ELIGIBLE	9	/* ... of records of 9 s or more */

static bool at_point(unsigned ttl, unsigned full)
{
	return ttl == 0 || (full / 10 > 0 && ttl == full / 10) ||
	       (full >= BIND_ELIGIBLE && ttl == BIND_LEFT);
}

/* The largest point (seconds left) below ttl, or -1. */
static long point_below(unsigned ttl, unsigned full)
{
	long p = -1;

	if (ttl > 0)
		p = 0;
	if (full >= BIND_ELIGIBLE && BIND_LEFT < ttl && BIND_LEFT > p)
		p = BIND_LEFT;
	if (full / 10 < ttl && (long)(full / 10) > p)
		p = full / 10;
	return p;
}

static int64_t clamp(int64_t d, int64_t min, int64_t max)
{
	if (d < min)
		d = min;
	return d > max ? max : d;
}

int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, unsigned frac_ms, uint32_t rnd,
			  struct schedule_hint *hint)
{
	int64_t min = (int64_t)refresh_min * 1000, max = (int64_t)refresh_max * 1000;
	int64_t after = SCHEDULE_AFTER_MS + (int64_t)(rnd % (SCHEDULE_JITTER_MS + 1));
	int64_t d;
	long p;

	if (failures > 0) {
		if (hint)
			hint->follow = hint->spent_ms = 0;
		d = min;
		while (--failures > 0 && d < max)
			d *= 2;
		return d < max ? d : max;
	}
	if (frac_ms > 999)
		frac_ms = 999;
	if (hint) {
		if (ttl > hint->full_ttl)
			hint->full_ttl = ttl;
		/* A record never seen with a TTL above 0 is not cached by
		 * anyone: there is nothing to prefetch, and no follow-up. */
		if (hint->full_ttl > 0 && at_point(ttl, hint->full_ttl) && hint->follow < 2) {
			d = ++hint->follow == 1 ? SCHEDULE_FOLLOW1_MS : SCHEDULE_FOLLOW2_MS;
			hint->spent_ms += (unsigned)d;
			return d;
		}
		/* refresh-min counts from the round's first query, not from
		 * its last follow-up. */
		min = min > hint->spent_ms ? min - hint->spent_ms : 0;
		hint->follow = 0;
		hint->spent_ms = 0;
		p = point_below(ttl, hint->full_ttl);
		if (p > 0)
			return clamp((int64_t)(ttl - (unsigned)p) * 1000 - frac_ms + after,
				     min, max);
	}
	/* TTL 0: the record is gone at the next second boundary. */
	d = (int64_t)(ttl ? ttl : 1) * 1000 - frac_ms + after;
	return clamp(d, min, max);
}
