/* kvfence: nftables encodings that need no socket: set names, key types,
 * element keys and comments, interval elements paired into ranges. Pure;
 * unit-tested in tests/unit/test_nftcodec.c. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <libnftnl/udata.h>	/* the user data TLV types, as nft uses them */

#include "nftcodec.h"

/* nftables datatype ids (nftables include/datatype.h); a concatenation
 * is encoded as (type1 << TYPE_BITS) | type2. */
#define NFT_TYPE_IPV4_ADDR	7
#define NFT_TYPE_IPV6_ADDR	8
#define NFT_TYPE_INET_SERVICE	13
#define NFT_TYPE_BITS		6

const char *nftcodec_family_name(int nfproto)
{
	switch (nfproto) {
	case NFPROTO_INET:	return "inet";
	case NFPROTO_IPV4:	return "ip";
	case NFPROTO_IPV6:	return "ip6";
	case NFPROTO_ARP:	return "arp";
	case NFPROTO_BRIDGE:	return "bridge";
	case NFPROTO_NETDEV:	return "netdev";
	}
	return "unknown";
}

const char *setref_format(const struct setref *ref, char *buf, size_t len)
{
	snprintf(buf, len, "set %s %s %s", nftcodec_family_name(ref->family), ref->table,
		 ref->name);
	return buf;
}

uint32_t nftcodec_key_type(enum set_keytype key)
{
	switch (key) {
	case KEY_IPV4:		return NFT_TYPE_IPV4_ADDR;
	case KEY_IPV6:		return NFT_TYPE_IPV6_ADDR;
	case KEY_IPV4_PORT:
		return NFT_TYPE_IPV4_ADDR << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;
	case KEY_IPV6_PORT:
		return NFT_TYPE_IPV6_ADDR << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;
	}
	return 0;
}

static uint32_t key_addrlen(enum set_keytype key)
{
	return keytype_family(key) == AF_INET ? 4 : 16;
}

/* Each field of a concatenation takes whole 32-bit registers: the 2-byte
 * port is padded to 4. */
uint32_t nftcodec_key_len(enum set_keytype key)
{
	return key_addrlen(key) + (keytype_has_port(key) ? 4 : 0);
}

int nftcodec_key_from_kernel(uint32_t type, uint32_t len, enum set_keytype *out)
{
	static const enum set_keytype all[] = {
		KEY_IPV4, KEY_IPV6, KEY_IPV4_PORT, KEY_IPV6_PORT,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (nftcodec_key_type(all[i]) == type && nftcodec_key_len(all[i]) == len) {
			*out = all[i];
			return 0;
		}
	}
	return -EPROTOTYPE;
}

enum set_keytype nftcodec_range_key(int family)
{
	return family == AF_INET6 ? KEY_IPV6 : KEY_IPV4;
}

void nftcodec_key_encode(enum set_keytype key, const struct elem *el, uint8_t *p)
{
	uint32_t alen = key_addrlen(key);
	uint16_t port = htons(el->port);

	memset(p, 0, NFTCODEC_KEY_MAXLEN);
	memcpy(p, el->addr.bytes, alen);
	if (keytype_has_port(key))
		memcpy(p + alen, &port, sizeof(port));
}

int nftcodec_key_decode(enum set_keytype key, const uint8_t *p, uint32_t len,
			struct elem *el)
{
	uint32_t alen = key_addrlen(key);
	uint16_t port;

	if (len != nftcodec_key_len(key))
		return -EPROTO;
	memset(el, 0, sizeof(*el));
	el->addr.family = keytype_family(key);
	memcpy(el->addr.bytes, p, alen);
	if (keytype_has_port(key)) {
		memcpy(&port, p + alen, sizeof(port));
		el->port = ntohs(port);
	}
	return 0;
}

/* nftnl_udata_parse trusts each TLV's length (a type byte, a length
 * byte, the value): check that they stay in bounds before reading any. */
static bool udata_valid(const uint8_t *p, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		if (len - off < 2 || len - off - 2 < p[off + 1])
			return false;
		off += 2 + p[off + 1];
	}
	return true;
}

const char *nftcodec_udata_comment(const uint8_t *p, uint32_t len)
{
	const char *comment = NULL;
	uint32_t off;

	if (!p || !udata_valid(p, len))
		return NULL;
	for (off = 0; off < len; off += 2 + p[off + 1]) {
		const char *v = (const char *)p + off + 2;
		uint8_t vlen = p[off + 1];

		if (p[off] == NFTNL_UDATA_SET_ELEM_COMMENT && vlen > 0 && v[vlen - 1] == '\0')
			comment = v;
	}
	return comment;
}

/* By address; an end before a start at the same address, where one
 * range ends and the next begins. */
static int edge_cmp(const void *pa, const void *pb)
{
	const struct nftcodec_edge *a = pa, *b = pb;
	int c = addr_cmp(&a->key, &b->key);

	return c ? c : (int)b->end - (int)a->end;
}

static void push_range(struct range_list *out, const struct nftcodec_edge *start,
		       const struct kvf_addr *hi)
{
	struct range r = { .lo = start->key, .hi = *hi, .comment = start->comment };

	range_list_push(out, &r);
}

/* The kernel dumps an interval set from its highest element down. In
 * address order each start runs to the element after it, an end at
 * hi + 1 (or, which the kernel would read the same way, the next
 * start), or to the family's last address. An end with no start
 * before it opens nothing: nft leaves one at 0.0.0.0 (::). */
void nftcodec_pair_edges(struct nftcodec_edge *v, size_t n, struct range_list *out)
{
	const struct nftcodec_edge *start = NULL;
	struct kvf_addr hi;
	size_t i;

	if (n > 1)
		qsort(v, n, sizeof(*v), edge_cmp);
	for (i = 0; i < n; i++) {
		const struct nftcodec_edge *e = &v[i];

		if (start && addr_cmp(&e->key, &start->key) > 0) {
			hi = e->key;
			range_addr_step(&hi, false);
			push_range(out, start, &hi);
		}
		start = e->end ? NULL : e;
	}
	if (start) {
		hi = start->key;
		memset(hi.bytes, 0xff, addr_len(&hi));
		push_range(out, start, &hi);
	}
}
