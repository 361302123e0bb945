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

/* Load path and seed hs[i] for each host of eps found in the file;
 * addresses last seen before now - grace are dropped. Hosts in the file
 * but not in eps are ignored. 0, -ENOENT (no file: a first start), or
 * -EINVAL with err naming file:line. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, int64_t now, unsigned grace,
	       char *err, size_t errlen);

#endif
