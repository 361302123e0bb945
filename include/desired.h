/* kvfence: per host, the addresses kvfence holds and when each was last
 * seen in a definite answer; from those, the elements each set should
 * hold (grace, fail-static, max-stale). Pure: now is passed in. */
#ifndef KVF_DESIRED_H
#define KVF_DESIRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "addr.h"
#include "catalogue.h"
#include "elem.h"
#include "result.h"
#include "addrfilter.h"

struct seen_addr {
	struct kvf_addr addr;
	bool current;		/* named by the latest definite answer */
	int64_t last_seen;	/* seconds on kvfence's clock (see clock_now),
				 * which does not step; never the wall clock */
};

struct host_state {
	struct seen_addr *addrs;	/* sorted by address */
	size_t n_addrs, cap_addrs;
	unsigned ttl;			/* of the last good answer */
	int64_t last_answer;		/* last definite answer; 0: never */
	enum resolve_status last4, last6;
	/* The latest result of the family was definite: only then may
	 * addresses it no longer names age out (fail-static otherwise). */
	bool definite4, definite6;
	unsigned failures;		/* consecutive non-definite results */
	int64_t failing_since;		/* first failure of the streak; 0: none */
	/* The latest answer's CNAME chain passed a Key Vault / Managed HSM
	 * Private Link zone: what allow-private auto asks of a private
	 * address, remembered for addresses held without an answer. */
	bool privatelink;
};

/* Record addresses already in the kernel (or in the state file) as held,
 * last seen at last_seen, without an answer. */
void desired_seed(struct host_state *h, const struct kvf_addr *a, int64_t last_seen);

/* Hold a with its history (the state file): last seen at last_seen, and
 * whether the latest definite answer named it. */
void desired_hold(struct host_state *h, const struct kvf_addr *a, int64_t last_seen,
		  bool current);

/* Keep only the held addresses found in keep (sorted, unique); returns
 * how many were dropped. */
size_t desired_keep_only(struct host_state *h, const struct kvf_addr *keep, size_t n);

/* At most max addresses of each family: those the latest answer named
 * first, then the most recently seen. Returns how many were dropped. */
size_t desired_cap(struct host_state *h, unsigned max);

/* Apply one filtered resolution at time now. Per family: a definite
 * answer refreshes the answered addresses and drops those not seen for
 * longer than grace; a failure keeps everything (fail-static). Returns
 * the number of addresses added plus removed. */
size_t desired_update(struct host_state *h, const struct host_result *res,
		      const struct filtered *f, int64_t now, unsigned grace);

/* Apply one family's answer that a client asked for through the DNS
 * proxy. A definite answer is an answer like any other for its family:
 * its addresses are current and last seen now, the others of the family
 * stop being current and leave after grace, as they would after a
 * polled answer (grace exists because answers rotate). Anything else
 * (a failure, a partial answer) changes nothing: the client's failure
 * is no evidence about the addresses held. The polling state (failures,
 * TTL, last answer, the other family) is not touched: the schedule stays
 * the poller's. Returns the number of addresses added plus removed. */
size_t desired_update_family(struct host_state *h, int family, enum resolve_status st,
			     const struct filtered *f, int64_t now, unsigned grace);

/* Drop addresses no longer answered and last seen before now - grace, in
 * the families whose latest result was definite. Returns how many. */
size_t desired_expire(struct host_state *h, int64_t now, unsigned grace);

/* When desired_expire or desired_expire_stale will next drop something:
 * the earliest such time, or INT64_MAX. */
int64_t desired_next_expiry(const struct host_state *h, unsigned grace, unsigned max_stale);

/* Drop addresses last seen before now - max_stale (0: never). Returns how
 * many were dropped. */
size_t desired_expire_stale(struct host_state *h, int64_t now, unsigned max_stale);

/* Append to out the elements for a set of keytype from every host: each
 * held address of the set's family, once per port of the endpoint (once
 * in all for a plain set), commented with the host name. Each key once:
 * a key several hosts share, or one out held already, keeps the first
 * comment (host order). out is sorted afterwards. */
void desired_elements(const struct endpoint_list *eps, const struct host_state *hs,
		      enum set_keytype key, struct elem_list *out);

/* Whether the host ep (its state h) wants el's key in a set of keytype:
 * it holds the address, and the port is one of its own. */
bool desired_host_wants(const struct endpoint *ep, const struct host_state *h,
			enum set_keytype key, const struct elem *el);

void host_state_free(struct host_state *h);

#endif
