/* kvfence: the DNS-answer merge. A c-ares getaddrinfo result for one
 * family becomes status, addresses, CNAME chain and TTL in a host_result.
 * Pure: no sockets, no clock; only c-ares's structures, none of its
 * functions, so it sits in the core and is unit-tested and fuzzed alone. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ares.h>

#include "addr.h"
#include "answer.h"
#include "util.h"

static enum resolve_status map_status(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:	return RES_OK;
	case ARES_ENODATA:	return RES_NODATA;
	case ARES_ENOTFOUND:	return RES_NXDOMAIN;
	case ARES_ETIMEOUT:	return RES_TIMEOUT;
	/* c-ares 1.18.1 turns SERVFAIL and REFUSED (and ICMP unreachable)
	 * into ECONNREFUSED once every server was tried: no server gave a
	 * usable answer. Distinct from silence, still not definite. */
	case ARES_ECONNREFUSED:
	case ARES_ESERVFAIL:	return RES_SERVFAIL;
	case ARES_EREFUSED:	return RES_REFUSED;
	default:		return RES_ERROR;
	}
}

/* RFC 2181 section 8: a TTL with the top bit set is read as zero. c-ares
 * stores the unsigned wire value in an int, so such TTLs arrive negative. */
static void note_ttl(struct host_result *res, int ttl)
{
	unsigned t = ttl < 0 ? 0 : (unsigned)ttl;

	/* Called before the record is stored: the first one sets ttl, which
	 * means nothing while no record is held (see result.h). */
	if (res->n_addrs + res->n_cnames == 0 || t < res->ttl)
		res->ttl = t;
}

/* The address of a node of the wanted family, or false for anything else
 * (the other family, a truncated sockaddr, a mismatched one). */
static bool node_addr(const struct ares_addrinfo_node *n, int family, struct kvf_addr *out)
{
	const struct sockaddr *sa = n->ai_addr;

	memset(out, 0, sizeof(*out));
	if (n->ai_family != family || !sa || sa->sa_family != family)
		return false;
	out->family = (uint8_t)family;
	if (family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (family == AF_INET6 && n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
		memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool holds_addr(const struct host_result *res, const struct kvf_addr *a)
{
	size_t i;

	for (i = 0; i < res->n_addrs; i++)
		if (addr_cmp(&res->addrs[i], a) == 0)
			return true;
	return false;
}

/* Addresses of family from nodes; returns how many nodes carried one
 * (duplicates included), so the caller can tell NODATA from OK. */
static size_t merge_nodes(struct host_result *res, int family,
			  const struct ares_addrinfo_node *nodes)
{
	const struct ares_addrinfo_node *n;
	struct kvf_addr a;
	size_t count = 0, seen = 0;

	for (n = nodes; n; n = n->ai_next)
		count++;
	if (count == 0)
		return 0;
	/* Room for both families at once (array_reserve starts at 8). */
	array_reserve(&res->addrs, &res->cap_addrs, res->n_addrs + count, sizeof(*res->addrs));
	for (n = nodes; n; n = n->ai_next) {
		if (!node_addr(n, family, &a))
			continue;
		seen++;
		note_ttl(res, n->ai_ttl);
		if (!holds_addr(res, &a))
			res->addrs[res->n_addrs++] = a;
	}
	return seen;
}

/* Chain targets are kept as the rest of kvfence compares names: lower
 * case, no trailing dot; nothing usable (NULL, "", ".") is skipped.
 * The length of name without its trailing dots. */
static size_t name_len(const char *name)
{
	size_t len = strlen(name);

	while (len > 0 && name[len - 1] == '.')
		len--;
	return len;
}

/* Whether the chain holds name (its first len bytes), in any case. Both
 * families' answers carry the same chain: the second one's names are
 * found here, before anything is copied. */
static bool holds_cname(const struct host_result *res, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < res->n_cnames; i++)
		if (strncasecmp(res->cnames[i], name, len) == 0 && res->cnames[i][len] == '\0')
			return true;
	return false;
}

static char *lower_copy(const char *name, size_t len)
{
	char *s = xmalloc(len + 1);

	ascii_lower(s, name, len);
	return s;
}

static void merge_cnames(struct host_result *res, const struct ares_addrinfo_cname *cnames)
{
	const struct ares_addrinfo_cname *c;
	size_t count = 0, len;

	for (c = cnames; c; c = c->next)
		count++;
	if (count == 0)
		return;
	array_reserve(&res->cnames, &res->cap_cnames, res->n_cnames + count,
		      sizeof(*res->cnames));
	for (c = cnames; c; c = c->next) {
		if (!c->name || (len = name_len(c->name)) == 0)
			continue;
		note_ttl(res, c->ttl);
		if (!holds_cname(res, c->name, len))
			res->cnames[res->n_cnames++] = lower_copy(c->name, len);
	}
}

/* Records are taken only from a successful answer: c-ares hands no
 * addrinfo with an error, and anything that did arrive with one is not
 * an answer to trust. */
void answer_merge(struct host_result *res, int family, int ares_status,
		  const struct ares_addrinfo *ai)
{
	enum resolve_status st = map_status(ares_status);
	size_t got = 0;

	if (family != AF_INET && family != AF_INET6)
		return;
	if (st == RES_OK && ai) {
		merge_cnames(res, ai->cnames);
		got = merge_nodes(res, family, ai->nodes);
	}
	/* Success without an address of the family (a CNAME to nothing, or
	 * only records of the other family) is NODATA for this family. */
	if (st == RES_OK && got == 0)
		st = RES_NODATA;
	if (family == AF_INET)
		res->status4 = st;
	else
		res->status6 = st;
}
