/* kvfence: address ranges for interval sets (range mode, Service Tags):
 * merging as `nft` auto-merge would, and the difference between what is
 * wanted and what the kernel holds. Pure. */
#ifndef KVF_RANGE_H
#define KVF_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include "addr.h"

struct range {
	struct kvf_addr lo, hi;		/* inclusive, same family */
	bool owned;			/* kernel ranges: kvfence's (range_diff) */
	const char *comment;		/* not owned by the range */
};

struct range_list {
	struct range *v;
	size_t n, cap;
	char **strings;			/* comments read from the kernel */
	size_t n_strings, cap_strings;
};

void range_list_push(struct range_list *l, const struct range *r);
const char *range_list_intern(struct range_list *l, const char *s);
void range_list_free(struct range_list *l);

/* A CIDR prefix ("20.38.1.0/24", "2603:1000::/40") to a range. Refuses
 * what is not canonical (host bits set), a missing or bad length.
 * 0, or -EINVAL with *why set to a static reason. */
int range_from_cidr(const char *text, struct range *out, const char **why);

/* Sort by (family, lo) and collapse overlapping and adjacent ranges of a
 * family into one; a merged range keeps the comment of its first part. */
void range_list_merge(struct range_list *l);

/* Sort by (family, lo, hi) only. */
void range_list_sort(struct range_list *l);

/* desired: merged. kernel: sorted. add: desired ranges the kernel lacks
 * exactly; del: owned kernel ranges not desired exactly. A range with the
 * same bounds stays as it is, whatever either comment says. */
void range_diff(const struct range_list *desired, const struct range_list *kernel,
		struct range_list *add, struct range_list *del);

/* Move a to the next (up) or the previous address of its family. false,
 * a unchanged, when that would wrap past the last or the first address. */
bool range_addr_step(struct kvf_addr *a, bool up);

/* "20.38.1.0/24" when the range is one prefix, else "20.38.1.0-20.38.1.9". */
const char *range_format(const struct range *r, char *buf, size_t len);

#endif
