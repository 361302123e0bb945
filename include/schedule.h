/* kvfence: when to ask DNS again. Pure: the caller passes the random
 * number for the jitter and where in its wall-clock second the answer
 * came. */
#ifndef KVF_SCHEDULE_H
#define KVF_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/* How long after a cache's record expires kvfence asks: at least
 * SCHEDULE_AFTER_MS, plus up to SCHEDULE_JITTER_MS of jitter. Short on
 * purpose: until kvfence has asked, a client of the same cache may be
 * handed an address kvfence has not seen. */
#define SCHEDULE_AFTER_MS	5
#define SCHEDULE_JITTER_MS	20

/* Follow-up queries in a cache's prefetch window (see below). */
#define SCHEDULE_FOLLOW1_MS	30
#define SCHEDULE_FOLLOW2_MS	120

/* What the schedule remembers of a host between answers. */
struct schedule_hint {
	unsigned full_ttl;	/* the largest TTL seen: the record's own */
	unsigned follow;	/* follow-ups sent at the current point */
	unsigned spent_ms;	/* their delays: refresh-min counts from the round */
};

/* Milliseconds until a host is resolved again.
 *
 * After a good answer: just after the answer's TTL runs out, so that the
 * query finds the cache expired and brings the new answer, rather than
 * just before it, which would bring the old answer once more and leave
 * the new one to the clients. Caches count TTLs in whole seconds of the
 * wall clock (unbound, BIND): a record answered with TTL t at wall time w
 * expires at a second boundary, floor(w) + t (or one second later, when
 * the cache still serves TTL 0 for that second). frac_ms is w's
 * milliseconds into its second. The delay is that boundary plus
 * SCHEDULE_AFTER_MS plus jitter, and no earlier than refresh_min (the
 * guard against TTL 0 hot loops) nor later than refresh_max.
 *
 * With a hint, the schedule also visits the points at which a cache may
 * fetch the new answer before the old one expires and hand it out at
 * once: unbound's prefetch, when a query comes with a tenth of the TTL
 * left (or in the TTL 0 second), and BIND's, with 2 s left (records of
 * 9 s and more). kvfence asks at each point's second boundary, which
 * triggers the prefetch if no client did, then twice more shortly after
 * (SCHEDULE_FOLLOW1_MS, SCHEDULE_FOLLOW2_MS; these two are exempt from
 * refresh_min), to see the new answer within milliseconds of the
 * clients. A cache that does not prefetch costs a few more queries per
 * TTL, no more. A record never seen with a TTL above 0 gets no
 * follow-ups: no cache keeps it.
 *
 * After failures (failures >= 1 consecutive): refresh_min doubled per
 * failure, up to refresh_max. */
int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, unsigned frac_ms, uint32_t rnd,
			  struct schedule_hint *hint);

#endif
