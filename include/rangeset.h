/* kvfence: the interval sets of range mode inside the reconcile engine:
 * read from the kernel, compared with the merged Service Tags ranges,
 * written in the engine's one batch. */
#ifndef KVF_RANGESET_H
#define KVF_RANGESET_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "nftbatch.h"
#include "nlsock.h"
#include "range.h"
#include "servicetags.h"

struct range_set {
	struct setref ref;
	int family;			/* AF_INET or AF_INET6 */
	bool exists;
	bool broken;			/* of another type: left alone */
	struct range_list kernel;	/* as last read or written */
	struct range_list add, del;	/* of the batch being built */
	size_t size;
};

struct range_sets {
	struct range_set v[2];
	size_t n;
	/* NULL: no ranges loaded (none configured, or the files are bad):
	 * the range sets are then left exactly as they are. Borrowed. */
	const struct servicetags *tags;
};

void rangesets_init(struct range_sets *rs, const struct config *cfg);
void rangesets_fini(struct range_sets *rs);

/* Like engine_read_kernel, for the interval sets: a set of another type
 * (not an interval set, a map, the other family) is marked broken and
 * left alone, the others are read, and -EPROTOTYPE is returned at the
 * end with err naming the first such set. */
int rangesets_read(struct range_sets *rs, struct nlsock *nft, bool create,
		   char *err, size_t errlen);

/* Compute the differences and queue them (creating missing sets, and
 * the table unless *table_queued) or, dry_run, print them. Returns the
 * number of ranges added plus removed. */
size_t rangesets_queue(struct range_sets *rs, struct nftbatch *b, bool *table_queued,
		       bool dry_run);

/* After the batch: committed (views updated, one log line per changed
 * set) or not (differences dropped). */
void rangesets_done(struct range_sets *rs, bool committed, bool log_unchanged);

#endif
