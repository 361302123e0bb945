/* kvfence: what one resolution of one host produced, before filtering.
 * Filled by the resolver (c-ares), consumed by the pure core. */
#ifndef KVF_RESULT_H
#define KVF_RESULT_H

#include <stddef.h>
#include "addr.h"

enum resolve_status {
	RES_OK,		/* addresses of this family */
	RES_NODATA,	/* the name exists, no record of this family */
	RES_NXDOMAIN,	/* the name does not exist */
	RES_TIMEOUT,	/* no answer */
	RES_SERVFAIL,
	RES_REFUSED,
	RES_ERROR,	/* anything else: bad answer, CNAME loop, ... */
};

/* Definite answers age addresses out; the others keep them (fail-static). */
static inline int resolve_status_definite(enum resolve_status s)
{
	return s == RES_OK || s == RES_NODATA || s == RES_NXDOMAIN;
}

const char *resolve_status_name(enum resolve_status s);

struct host_result {
	enum resolve_status status4;	/* of the A query */
	enum resolve_status status6;	/* of the AAAA query */
	struct kvf_addr *addrs;		/* both families, as answered */
	size_t n_addrs;
	unsigned ttl;			/* minimum over the chain and records;
					 * 0 when none (NODATA, failures) */
	char **cnames;			/* the chain's targets, in order */
	size_t n_cnames;
	size_t cap_addrs, cap_cnames;	/* answer_merge's room: one allocation
					 * each for both families' answers */
};

void result_free(struct host_result *r);
/* Empty r (statuses RES_OK, no records) for another answer; the room of
 * its arrays stays. */
void result_clear(struct host_result *r);

#endif
