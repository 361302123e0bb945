/* kvfence: the state file: per host the addresses held and when each was
 * last seen, so that a restart or a boot fills the sets before DNS is up.
 * Written atomically (temporary file, fsync, rename). */
#ifndef KVF_STATE_H
#define KVF_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "catalogue.h"
#include "desired.h"

/* Write hs[i] for eps->v[i], i < eps->n, to path. 0 or -errno. */
int state_save(const char *path, const struct endpoint_list *eps,
	       const struct host_state *hs);

/* Load path and seed hs[i] for each host of eps found in the file.
 * Addresses the host's latest answer no longer named and last seen
 * before now - grace are dropped, as a running agent would have dropped
 * them; those the latest answer named are kept whatever their age
 * (fail-static: only an answer ages them out; max-stale is applied by
 * the caller). Times after now are taken as now. Hosts in the file but
 * not in eps are ignored. A damaged file seeds nothing. 0, -ENOENT (no
 * file: a first start), or -EINVAL with err naming file:line. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, int64_t now, unsigned grace,
	       char *err, size_t errlen);

#endif
