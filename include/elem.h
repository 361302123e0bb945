/* kvfence: set elements as kvfence sees them: an address, a port (0 in a
 * plain address set) and the comment naming the host it came from; or,
 * in an interval set (range mode), a range of addresses and the comment
 * naming the Service Tag it came from. One type for both kinds of set,
 * so that the engine reads, records, diffs and writes them one way. */
#ifndef KVF_ELEM_H
#define KVF_ELEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

enum set_keytype {
	KEY_IPV4,		/* ipv4_addr */
	KEY_IPV6,		/* ipv6_addr */
	KEY_IPV4_PORT,		/* ipv4_addr . inet_service */
	KEY_IPV6_PORT,		/* ipv6_addr . inet_service */
};

static inline bool keytype_has_port(enum set_keytype k)
{
	return k == KEY_IPV4_PORT || k == KEY_IPV6_PORT;
}

static inline int keytype_family(enum set_keytype k)
{
	return (k == KEY_IPV4 || k == KEY_IPV4_PORT) ? AF_INET : AF_INET6;
}

const char *keytype_name(enum set_keytype k);
/* A kernel set's key type (nftables datatype numbers, concatenations
 * included) as nft names it, such as "ipv4_addr . ifname"; unknown
 * members as "type N". Returns buf. */
const char *keytype_kernel_name(uint32_t type, char *buf, size_t len);

struct elem {
	struct kvf_addr addr;	/* an interval set's element: the range's first */
	struct kvf_addr hi;	/* its last (inclusive); family 0: no range */
	uint16_t port;		/* host order; 0 when the set has no port */
	bool owned;		/* kernel elements: kvfence's (its record says so) */
	const char *comment;	/* NULL: none. Not owned by the element. */
};

static inline bool elem_is_range(const struct elem *e)
{
	return e->hi.family != 0;
}

struct elem_list {
	struct elem *v;
	size_t n, cap;
	/* Comments read from the kernel live here, freed with the list. */
	char **strings;
	size_t n_strings, cap_strings;
};

void elem_list_push(struct elem_list *l, const struct elem *e);
/* Room for exactly n elements in all (no doubling). */
void elem_list_reserve(struct elem_list *l, size_t n);
/* Copy s into the list's string pool (or return the copy made last, if
 * the same); the pointer lives as long as l. */
const char *elem_list_intern(struct elem_list *l, const char *s);
void elem_list_clear(struct elem_list *l);
void elem_list_free(struct elem_list *l);
/* Order by (family, address, port, range end); ties keep the first
 * (stable). */
void elem_list_sort(struct elem_list *l);
/* Sort then drop duplicate keys, keeping the first comment. */
void elem_list_sort_unique(struct elem_list *l);
int elem_key_cmp(const struct elem *a, const struct elem *b);
/* "192.0.2.1 . 443", "2001:db8::1", or a range as range_format writes it */
const char *elem_format(const struct elem *e, char *buf, size_t len);

#endif
