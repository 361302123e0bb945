/* kvfence: an nftables batch built in memory with libnftnl: table, set
 * and element messages, each remembered with what it writes so that the
 * kernel's acks can be mapped back to it (nftcommit.h sends it). */
#ifndef KVF_NFTBATCH_H
#define KVF_NFTBATCH_H

#include <stddef.h>
#include <stdint.h>
#include "elem.h"
#include "nftcodec.h"
#include "range.h"

struct nftbatch;

enum nftbatch_kind {
	NFTBATCH_OTHER,		/* a table or a set */
	NFTBATCH_ELEMS,		/* elements of a plain set */
	NFTBATCH_RANGES,	/* start and end elements of an interval set */
};

/* One queued message. */
struct nftbatch_msg {
	uint32_t seq;
	size_t off;		/* of the message in nftbatch_data() */
	char *desc;		/* "set inet filter kvfence4: add 3 elements" */
	struct setref ref;	/* the table or set it writes (names not owned);
				 * table NULL where no explanation needs it */
	enum set_keytype key;
	enum nftbatch_kind kind;
};

/* A batch: everything added to it is committed in one transaction. */
struct nftbatch *nftbatch_new(void);
void nftbatch_free(struct nftbatch *b);

void nftbatch_add_table(struct nftbatch *b, int family, const char *table);
void nftbatch_add_set(struct nftbatch *b, const struct setref *ref, enum set_keytype key);
/* Elements carry their comment as nftables element user data (the form
 * `nft` writes and shows as comment "..."). At most 200 elements (100
 * ranges) go in one message, so that its element list stays under the
 * u16 attribute length. Elements with a range end (elem_is_range: an
 * interval set's, all of them) go as nftbatch_add_ranges writes them. */
void nftbatch_add_elems(struct nftbatch *b, const struct setref *ref,
			enum set_keytype key, const struct elem *v, size_t n);
void nftbatch_del_elems(struct nftbatch *b, const struct setref *ref,
			enum set_keytype key, const struct elem *v, size_t n);
/* Range mode: create an interval set (flags interval) of family's plain
 * address type; add or delete ranges, each as its start element (with
 * the comment) and its end element (NFT_SET_ELEM_INTERVAL_END, at
 * hi + 1; none when hi is the family's last address). */
void nftbatch_add_interval_set(struct nftbatch *b, const struct setref *ref, int family);
void nftbatch_add_ranges(struct nftbatch *b, const struct setref *ref, int family,
			 const struct range *v, size_t n);
void nftbatch_del_ranges(struct nftbatch *b, const struct setref *ref, int family,
			 const struct range *v, size_t n);
/* kvfence clear: delete a set or a table (with whatever it still holds:
 * the caller checks first that it holds nothing else). */
void nftbatch_del_set(struct nftbatch *b, const struct setref *ref);
void nftbatch_del_table(struct nftbatch *b, int family, const char *table);

/* Number of netlink messages queued (batch begin and end are the
 * sender's). */
size_t nftbatch_count(const struct nftbatch *b);
const struct nftbatch_msg *nftbatch_msg(const struct nftbatch *b, size_t i);
/* The messages back to back, *len bytes. */
const void *nftbatch_data(const struct nftbatch *b, size_t *len);
/* The first element that could not be queued: -errno, *msg naming it;
 * 0 when all could. A batch with an error must not be sent. */
int nftbatch_error(const struct nftbatch *b, const char **msg);
/* Give the messages the sequence numbers first_seq, first_seq + 1...
 * (the socket hands them out). */
void nftbatch_number(struct nftbatch *b, uint32_t first_seq);

#endif
