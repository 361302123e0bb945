/* kvfence: element lists: growth, ordering, the string pool for comments
 * read back from the kernel. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elem.h"
#include "range.h"
#include "util.h"

const char *keytype_name(enum set_keytype k)
{
	switch (k) {
	case KEY_IPV4:		return "ipv4_addr";
	case KEY_IPV6:		return "ipv6_addr";
	case KEY_IPV4_PORT:	return "ipv4_addr . inet_service";
	case KEY_IPV6_PORT:	return "ipv6_addr . inet_service";
	}
	return "?";
}

/* nftables' datatype numbers (its include/datatype.h, stable across
 * versions: they are stored in the kernel) and the names nft prints. */
static const char *const nft_types[] = {
	[1] = "verdict", [2] = "nf_proto", [3] = "bitmask", [4] = "integer",
	[5] = "string", [6] = "ll_addr", [7] = "ipv4_addr", [8] = "ipv6_addr",
	[9] = "ether_addr", [10] = "ether_type", [11] = "arp_op", [12] = "inet_proto",
	[13] = "inet_service", [14] = "icmp_type", [15] = "tcp_flag",
	[16] = "dccp_pkttype", [17] = "mh_type", [18] = "time", [19] = "mark",
	[20] = "iface_index", [21] = "iface_type", [22] = "realm", [23] = "classid",
	[24] = "uid", [25] = "gid", [26] = "ct_state", [27] = "ct_dir",
	[28] = "ct_status", [29] = "icmpv6_type", [30] = "ct_label", [31] = "pkt_type",
	[32] = "icmp_code", [33] = "icmpv6_code", [34] = "icmpx_code",
	[35] = "devgroup", [36] = "dscp", [37] = "ecn", [38] = "fib_addrtype",
	[39] = "boolean", [40] = "ct_event", [41] = "ifname", [42] = "igmp_type",
	[43] = "day", [44] = "hour", [45] = "cgroupsv2",
};

#define NFT_TYPE_BITS	6	/* a concatenation packs 6 bits per member */
#define NFT_TYPE_MASK	((1u << NFT_TYPE_BITS) - 1)

const char *keytype_kernel_name(uint32_t type, char *buf, size_t len)
{
	uint32_t parts[6];
	size_t n = 0, l = 0;

	/* The first member sits in the highest bits. */
	do {
		parts[n++] = type & NFT_TYPE_MASK;
		type >>= NFT_TYPE_BITS;
	} while (type && n < sizeof(parts) / sizeof(parts[0]));
	buf[0] = '\0';
	while (n-- > 0 && l < len) {
		const char *name = parts[n] < sizeof(nft_types) / sizeof(nft_types[0]) ?
				   nft_types[parts[n]] : NULL;

		if (name)
			l += (size_t)snprintf(buf + l, len - l, "%s%s", l ? " . " : "", name);
		else
			l += (size_t)snprintf(buf + l, len - l, "%stype %u", l ? " . " : "",
					      parts[n]);
	}
	return buf;
}

void elem_list_push(struct elem_list *l, const struct elem *e)
{
	array_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *e;
}

void elem_list_reserve(struct elem_list *l, size_t n)
{
	array_reserve_exact(&l->v, &l->cap, n, sizeof(*l->v));
}

const char *elem_list_intern(struct elem_list *l, const char *s)
{
	/* Runs of one comment (a tag's ranges, one host's ports) share a
	 * copy. */
	if (l->n_strings && strcmp(l->strings[l->n_strings - 1], s) == 0)
		return l->strings[l->n_strings - 1];
	array_reserve(&l->strings, &l->cap_strings, l->n_strings + 1,
		      sizeof(*l->strings));
	l->strings[l->n_strings] = xstrdup(s);
	return l->strings[l->n_strings++];
}

void elem_list_clear(struct elem_list *l)
{
	size_t i;

	for (i = 0; i < l->n_strings; i++)
		free(l->strings[i]);
	l->n_strings = 0;
	l->n = 0;
}

void elem_list_free(struct elem_list *l)
{
	elem_list_clear(l);
	free(l->strings);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int elem_key_cmp(const struct elem *a, const struct elem *b)
{
	int r = addr_cmp(&a->addr, &b->addr);

	if (r)
		return r;
	if (a->port != b->port)
		return (a->port > b->port) - (a->port < b->port);
	if (!elem_is_range(a) && !elem_is_range(b))
		return 0;
	return addr_cmp(&a->hi, &b->hi);
}

#define SORT_RUN	8	/* runs this short are sorted by insertion */

/* Stable (qsort is not): among equal keys the element pushed first keeps
 * its place, so its comment is the one that stays. */
static void insertion_sort(struct elem *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct elem e = v[i];

		for (j = i; j > 0 && elem_key_cmp(&e, &v[j - 1]) < 0; j--)
			v[j] = v[j - 1];
		v[j] = e;
	}
}

/* A stable merge sort. Halves already in order are left as they are, so
 * a list read back in order (the state file's record, a kernel dump)
 * costs one comparison per element. Only the left half is copied out:
 * the merge writes behind the right half's read position. */
static void merge_sort(struct elem *v, struct elem *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n <= SORT_RUN) {
		insertion_sort(v, n);
		return;
	}
	merge_sort(v, tmp, mid);
	merge_sort(v + mid, tmp, n - mid);
	if (elem_key_cmp(&v[mid], &v[mid - 1]) >= 0)
		return;
	memcpy(tmp, v, mid * sizeof(*v));
	while (i < mid && j < n)
		v[k++] = elem_key_cmp(&v[j], &tmp[i]) < 0 ? v[j++] : tmp[i++];
	while (i < mid)
		v[k++] = tmp[i++];
}

void elem_list_sort(struct elem_list *l)
{
	struct elem *tmp;

	if (l->n < 2)
		return;
	tmp = xreallocarray(NULL, l->n / 2 + 1, sizeof(*tmp));
	merge_sort(l->v, tmp, l->n);
	free(tmp);
}

void elem_list_sort_unique(struct elem_list *l)
{
	size_t i, w = 0;

	/* Each key after the one before (a record read back, a first
	 * fill's view): nothing to sort or drop, one pass. */
	for (i = 1; i < l->n && elem_key_cmp(&l->v[i - 1], &l->v[i]) < 0; i++)
		;
	if (i >= l->n)
		return;
	elem_list_sort(l);
	for (i = 0; i < l->n; i++) {
		if (w && elem_key_cmp(&l->v[w - 1], &l->v[i]) == 0)
			continue;
		l->v[w++] = l->v[i];
	}
	l->n = w;
}

const char *elem_format(const struct elem *e, char *buf, size_t len)
{
	char a[KVF_ADDRSTRLEN];

	if (elem_is_range(e))
		return range_format(&(struct range){ .lo = e->addr, .hi = e->hi }, buf, len);
	addr_format(&e->addr, a, sizeof(a));
	if (e->port)
		snprintf(buf, len, "%s . %u", a, e->port);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}
