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

/* Milliseconds until a host is resolved again.
 *
 * After a good answer: just after the answer's TTL runs out, so that the
 * query finds the cache expired and brings the new answer, rather than
 * just before it, which would bring the old answer once more and leave
 * the new one to the clients. Caches count TTLs in whole seconds of the
 * wall clock (unbound, BIND): a record answered with TTL t at wall time w
 * expires at a second boundary, floor(w) + t (or one second later, when
 * the cache still serves TTL 0 for that second: the query then sees TTL 0
 * and the next one goes at the next boundary). frac_ms is w's
 * milliseconds into its second. The delay is that boundary plus
 * SCHEDULE_AFTER_MS plus jitter, and no earlier than refresh_min (the
 * guard against TTL 0 hot loops) nor later than refresh_max.
 *
 * After failures (failures >= 1 consecutive): refresh_min doubled per
 * failure, up to refresh_max. */
int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, unsigned frac_ms, uint32_t rnd);

#endif
