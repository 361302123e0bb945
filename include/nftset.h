/* kvfence: nftables I/O through libnftnl and libmnl: read a set's type and
 * elements, create the table and sets, write element differences in one
 * atomic batch. No nft process, no libnftables. */
#ifndef KVF_NFTSET_H
#define KVF_NFTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elem.h"
#include "range.h"

struct setref {
	int family;		/* NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 */
	const char *table;
	const char *name;
};

struct nftset_ctx;
struct nftset_batch;

/* Open the netlink command socket. 0, or -errno (-EPERM without
 * CAP_NET_ADMIN is reported at the first request, see below). */
int nftset_open(struct nftset_ctx **ctx);
void nftset_close(struct nftset_ctx *ctx);
int nftset_fd(const struct nftset_ctx *ctx);
/* The command socket's netlink port id. */
uint32_t nftset_portid(const struct nftset_ctx *ctx);

/* Read the set's key type. 0 on success; -ENOENT if the table or the set
 * does not exist; -EPROTOTYPE if the set exists but its key is none of
 * enum set_keytype (err says what it is); -EPERM; other -errno. */
int nftset_get(struct nftset_ctx *ctx, const struct setref *ref,
	       enum set_keytype *key, char *err, size_t errlen);

/* Append the set's elements to out (comments interned in out; owned is
 * left false for the caller to decide). 0 or -errno. The dump is
 * repeated if the ruleset generation changed while it ran, and until two
 * dumps agree (see nftset_dumps_disagreed). */
int nftset_list(struct nftset_ctx *ctx, const struct setref *ref,
		enum set_keytype key, struct elem_list *out,
		char *err, size_t errlen);

/* Interval sets of plain addresses (range mode). family: AF_INET for
 * ipv4_addr, AF_INET6 for ipv6_addr. */

/* 0 if the set exists, has flag interval and a plain address key of some
 * family (*family set); -ENOENT; -EPROTOTYPE for any other kind of set. */
int nftset_get_interval(struct nftset_ctx *ctx, const struct setref *ref, int *family,
			char *err, size_t errlen);

/* Append the set's ranges to out: start and end elements paired back
 * into inclusive ranges (an open end runs to the last address); the
 * comment of a range is its start element's. 0 or -errno. */
int nftset_list_ranges(struct nftset_ctx *ctx, const struct setref *ref, int family,
		       struct range_list *out, char *err, size_t errlen);

/* A batch: everything added to it is committed in one transaction. */
struct nftset_batch *nftset_batch_new(struct nftset_ctx *ctx);
void nftset_batch_add_table(struct nftset_batch *b, int family, const char *table);
void nftset_batch_add_set(struct nftset_batch *b, const struct setref *ref,
			  enum set_keytype key);
/* Elements carry their comment as nftables element user data (the form
 * `nft` writes and shows as comment "..."). */
void nftset_batch_add_elems(struct nftset_batch *b, const struct setref *ref,
			    enum set_keytype key, const struct elem *v, size_t n);
void nftset_batch_del_elems(struct nftset_batch *b, const struct setref *ref,
			    enum set_keytype key, const struct elem *v, size_t n);
/* Range mode: create an interval set (flags interval) of family's plain
 * address type; add or delete ranges, each as its start element (with
 * the comment) and its end element (NFT_SET_ELEM_INTERVAL_END, at
 * hi + 1; none when hi is the family's last address). */
void nftset_batch_add_interval_set(struct nftset_batch *b, const struct setref *ref,
				   int family);
void nftset_batch_add_ranges(struct nftset_batch *b, const struct setref *ref, int family,
			     const struct range *v, size_t n);
void nftset_batch_del_ranges(struct nftset_batch *b, const struct setref *ref, int family,
			     const struct range *v, size_t n);

/* kvfence clear: delete a set or a table (with whatever it still holds:
 * the caller checks first that it holds nothing else). */
void nftset_batch_del_set(struct nftset_batch *b, const struct setref *ref);
void nftset_batch_del_table(struct nftset_batch *b, int family, const char *table);
/* The table's use count (its chains, sets, objects and flowtables).
 * 0, -ENOENT or -errno. */
int nftset_table_use(struct nftset_ctx *ctx, int family, const char *table, unsigned *use);

/* Number of netlink messages queued, excluding batch begin and end. */
size_t nftset_batch_count(const struct nftset_batch *b);
/* Send the batch and read the kernel's verdict. 0 when it committed;
 * otherwise -errno of the first failing message, with err naming the
 * object and the kernel's reason, e.g.
 * "set inet filter kvfence4: add 3 elements: No such file or directory
 * (kernel)"; nothing of the batch is then applied. An empty batch sends
 * nothing and returns 0. -EBUSY (not the kernel's -EPERM) when the table
 * is owned by another process's netlink socket ("flags owner"). */
int nftset_batch_commit(struct nftset_batch *b, char *err, size_t errlen);
void nftset_batch_free(struct nftset_batch *b);

/* Netlink messages written so far on this context (begin/end excluded). */
uint64_t nftset_msgs_sent(const struct nftset_ctx *ctx);

/* Reads whose two dumps of one ruleset generation disagreed (the kernel's
 * set dump racing a hash table resize) and were read again. */
uint64_t nftset_dumps_disagreed(const struct nftset_ctx *ctx);

const char *nftset_family_name(int nfproto);
/* "set inet filter kvfence4": how every message names a set. */
const char *setref_format(const struct setref *ref, char *buf, size_t len);

#endif
