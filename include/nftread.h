/* kvfence: reading nftables over the command socket: a set's type, its
 * elements or ranges (dumps repeated until consistent), a table's use
 * count and owner. */
#ifndef KVF_NFTREAD_H
#define KVF_NFTREAD_H

#include <stddef.h>
#include <stdint.h>
#include "elem.h"
#include "nftcodec.h"
#include "nlsock.h"
#include "range.h"

/* Read the set's key type. 0 on success; -ENOENT if the table or the set
 * does not exist; -EPROTOTYPE if the set exists but its key is none of
 * enum set_keytype (err says what it is); -EPERM; other -errno. */
int nftread_set(struct nlsock *sock, const struct setref *ref,
		enum set_keytype *key, char *err, size_t errlen);

/* Append the set's elements to out (comments interned in out; owned is
 * left false for the caller to decide). 0 or -errno. The dump is
 * repeated if the ruleset generation changed while it ran, and until two
 * dumps agree (see nlsock_dumps_disagreed). */
int nftread_elems(struct nlsock *sock, const struct setref *ref,
		  enum set_keytype key, struct elem_list *out,
		  char *err, size_t errlen);

/* Interval sets of plain addresses (range mode). family: AF_INET for
 * ipv4_addr, AF_INET6 for ipv6_addr. */

/* 0 if the set exists, has flag interval and a plain address key of some
 * family (*family set); -ENOENT; -EPROTOTYPE for any other kind of set. */
int nftread_interval_set(struct nlsock *sock, const struct setref *ref, int *family,
			 char *err, size_t errlen);

/* Append the set's ranges to out: start and end elements paired back
 * into inclusive ranges (an open end runs to the last address); the
 * comment of a range is its start element's. 0 or -errno. */
int nftread_ranges(struct nlsock *sock, const struct setref *ref, int family,
		   struct range_list *out, char *err, size_t errlen);

/* The table's use count (its chains, sets, objects and flowtables).
 * 0, -ENOENT or -errno. */
int nftread_table_use(struct nlsock *sock, int family, const char *table, unsigned *use);

/* The netlink port owning a "flags owner" table, or 0 when it has no
 * owner or cannot be read. */
uint32_t nftread_table_owner(struct nlsock *sock, int family, const char *table);

/* The set's declared size (0: none, or it cannot be read). */
uint32_t nftread_set_size(struct nlsock *sock, const struct setref *ref);

#endif
