/* kvfence: the pure DNS-answer path of the resolver (core library). */
#ifndef KVF_ANSWER_H
#define KVF_ANSWER_H

#include "result.h"

/* Turn a c-ares getaddrinfo result for one family (AF_INET or AF_INET6;
 * anything else is ignored) into status, addresses, chain and TTL,
 * merged into *res: addresses and chain names are added once each, the
 * TTL is the least of the records held, and the family's status is set.
 * Records are taken only from a successful answer. */
struct ares_addrinfo;
void answer_merge(struct host_result *res, int family, int ares_status,
		  const struct ares_addrinfo *ai);

#endif
