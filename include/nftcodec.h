/* kvfence: the pure side of talking nftables: how a set is named, how
 * kvfence's key types map to nftables datatypes, set element keys to and
 * from their netlink bytes, element comments in user data, and interval
 * set elements paired back into ranges. No socket, no libnftnl calls. */
#ifndef KVF_NFTCODEC_H
#define KVF_NFTCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elem.h"
#include "range.h"

/* The largest key: an IPv6 address and a port padded to 4 bytes. */
#define NFTCODEC_KEY_MAXLEN	20

struct setref {
	int family;		/* NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 */
	const char *table;
	const char *name;
};

/* "inet", "ip", "ip6"...: the family as nft writes it. */
const char *nftcodec_family_name(int nfproto);
/* "set inet filter kvfence4": how every message names a set. Returns buf. */
const char *setref_format(const struct setref *ref, char *buf, size_t len);

/* The key's nftables datatype id (a concatenation packed as nft packs
 * it) and its length in bytes. */
uint32_t nftcodec_key_type(enum set_keytype key);
uint32_t nftcodec_key_len(enum set_keytype key);
/* The key type of a kernel set: 0, or -EPROTOTYPE for any other. */
int nftcodec_key_from_kernel(uint32_t type, uint32_t len, enum set_keytype *out);
/* Range mode's key: the plain address type of family (AF_INET, AF_INET6). */
enum set_keytype nftcodec_range_key(int family);

/* el's key as the kernel stores it, into p (NFTCODEC_KEY_MAXLEN bytes,
 * zero padded); nftcodec_key_len(key) of them count. el's family must be
 * key's. */
void nftcodec_key_encode(enum set_keytype key, const struct elem *el, uint8_t *p);
/* The element of key bytes p (comment NULL); -EPROTO if len is not the
 * key's length. */
int nftcodec_key_decode(enum set_keytype key, const uint8_t *p, uint32_t len,
			struct elem *el);

/* The comment in an element's user data, pointing into p, or NULL: none,
 * not NUL-terminated (nft refuses those too), or the TLVs run past len
 * (the bytes are whoever wrote the element's). The last comment wins. */
const char *nftcodec_udata_comment(const uint8_t *p, uint32_t len);

/* An element of an interval set: the start or the end of a range. */
struct nftcodec_edge {
	struct kvf_addr key;
	bool end;		/* NFT_SET_ELEM_INTERVAL_END */
	const char *comment;
};

/* Pair the elements of an interval set (any order; v is sorted in place)
 * into inclusive ranges appended to out; a range's comment is its
 * start's. */
void nftcodec_pair_edges(struct nftcodec_edge *v, size_t n, struct range_list *out);

#endif
