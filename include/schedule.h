/* kvfence: when to ask DNS again. Pure: the caller passes the random
 * number for the jitter. */
#ifndef KVF_SCHEDULE_H
#define KVF_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds until host is resolved again.
 * After a good answer: its TTL clamped to [refresh_min, refresh_max],
 * less up to a tenth as jitter (never below refresh_min) so that hosts
 * answered together drift apart instead of firing together.
 * After failures (failures >= 1 consecutive): refresh_min doubled per
 * failure, up to refresh_max. */
int64_t schedule_delay_ms(unsigned ttl, unsigned failures, unsigned refresh_min,
			  unsigned refresh_max, uint32_t rnd);

#endif
