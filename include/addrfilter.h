/* kvfence: which answered addresses may enter a firewall set (DESIGN §5).
 * Pure. */
#ifndef KVF_ADDRFILTER_H
#define KVF_ADDRFILTER_H

#include <stdbool.h>
#include "addr.h"
#include "catalogue.h"
#include "config.h"
#include "result.h"

enum addr_class {
	ADDR_PUBLIC,
	ADDR_PRIVATE,		/* RFC 1918, 100.64/10, fc00::/7 */
	ADDR_UNSPECIFIED,
	ADDR_LOOPBACK,
	ADDR_LINKLOCAL,
	ADDR_MULTICAST,
	ADDR_BROADCAST,
	ADDR_RESERVED,		/* 0/8, 240/4, documentation-free reserved ranges... */
	ADDR_MAPPED,		/* ::ffff:0:0/96 and other embedded IPv4 forms */
};
#define ADDR_CLASS_MAX ADDR_MAPPED

enum addr_class addrfilter_classify(const struct kvf_addr *a);
const char *addrfilter_class_name(enum addr_class c);

/* True if name lies in one of the Key Vault / Managed HSM Private Link
 * zones (ENDPOINTS.md); a bare "privatelink." label is not enough. */
bool addrfilter_privatelink_zone(const char *name);

/* True if any name of the chain (the host itself or a CNAME target) lies
 * in a Private Link zone. */
bool addrfilter_chain_privatelink(const char *host, char *const *cnames, size_t n);

struct rejection {
	struct kvf_addr addr;
	enum addr_class why;
};

struct filtered {
	struct kvf_addr *addrs;		/* accepted, sorted, unique */
	size_t n_addrs;
	struct rejection *rejected;
	size_t n_rejected;
	size_t n_capped;		/* accepted but over max-addresses (per family) */
};

/* Filter res (answers for the endpoint ep) by mode and cap; out is
 * allocated, free it with filtered_free(). Under PRIVATE_AUTO a private
 * address passes only for an endpoint marked keyvault (a vault or
 * managed HSM) whose chain runs through a Private Link zone: a CRL, auth,
 * graph or "host" name is never a private endpoint, whatever CNAME a
 * resolver puts in front of it. */
void addrfilter_apply(const struct endpoint *ep, const struct host_result *res,
		      enum allow_private mode, unsigned max_addresses,
		      struct filtered *out);
void filtered_free(struct filtered *f);

#endif
