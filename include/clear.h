/* kvfence: `kvfence clear`, the inverse of the agent: remove exactly what
 * kvfence wrote (its elements of the configured host and range sets) and
 * the sets and table it created once they hold nothing else. What an
 * administrator wrote stays. */
#ifndef KVF_CLEAR_H
#define KVF_CLEAR_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "nlsock.h"

struct clear_stats {
	size_t removed;		/* elements and ranges */
	size_t kept;		/* elements of the sets that are not ours */
	size_t sets_deleted;
	bool table_deleted;
};

/* Remove kvfence's elements from the configured sets in one batch, then
 * the sets and table kvfence created that are then empty, in a second
 * (a rule still referring to a set makes the kernel refuse that one; the
 * elements are gone all the same). dry_run prints the plan. Logs one
 * line per set. 0, or -errno with err filled. */
int clear_run(const struct config *cfg, struct nlsock *nft, bool dry_run,
	      struct clear_stats *st, char *err, size_t errlen);

/* The agent's lock on the state file: 0 taken (*fd to close when done),
 * -EAGAIN held by a running agent (pid written to pid, or ""), -errno. */
int clear_lock_state(const char *state_file, int *fd, char *pid, size_t pidlen);

#endif
