/* kvfence: address ranges for interval sets: CIDR parsing, merging as
 * `nft` auto-merge would, and the difference between the ranges wanted
 * and those the kernel holds. Pure. */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"
#include "util.h"

void range_list_push(struct range_list *l, const struct range *r)
{
	array_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *r;
}

const char *range_list_intern(struct range_list *l, const char *s)
{
	array_reserve(&l->strings, &l->cap_strings, l->n_strings + 1,
		      sizeof(*l->strings));
	l->strings[l->n_strings] = xstrdup(s);
	return l->strings[l->n_strings++];
}

void range_list_free(struct range_list *l)
{
	size_t i;

	for (i = 0; i < l->n_strings; i++)
		free(l->strings[i]);
	free(l->strings);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool range_addr_step(struct kvf_addr *a, bool up)
{
	uint8_t edge = up ? 0xff : 0x00;
	size_t n = addr_len(a), i = n;

	/* The last byte that does not already sit at the edge takes the
	 * carry (or the borrow); the bytes after it wrap. */
	while (i > 0 && a->bytes[i - 1] == edge)
		i--;
	if (i == 0)
		return false;
	a->bytes[i - 1] += up ? 1 : -1;
	memset(a->bytes + i, (uint8_t)~edge, n - i);
	return true;
}

/* The bits of byte i that lie beyond a prefix of plen bits. */
static uint8_t host_bits(size_t i, unsigned plen)
{
	if (plen >= (i + 1) * 8)
		return 0;
	if (plen <= i * 8)
		return 0xff;
	return 0xff >> (plen - i * 8);
}

/* Is [lo, hi] exactly the prefix lo/plen? */
static bool is_prefix(const struct kvf_addr *lo, const struct kvf_addr *hi, unsigned plen)
{
	size_t i;

	for (i = 0; i < addr_len(lo); i++) {
		uint8_t h = host_bits(i, plen);

		if ((lo->bytes[i] & h) || (hi->bytes[i] & h) != h ||
		    (lo->bytes[i] & ~h) != (hi->bytes[i] & ~h))
			return false;
	}
	return true;
}

/* A prefix length: decimal, no sign, no leading zero, at most max. */
static int parse_plen(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (!s[0] || (s[0] == '0' && s[1]) || strlen(s) > 3)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int range_from_cidr(const char *text, struct range *out, const char **why)
{
	char a[KVF_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	unsigned plen;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (!slash) {
		*why = "missing prefix length";
		return -EINVAL;
	}
	if ((size_t)(slash - text) >= sizeof(a)) {
		*why = "not an IP address";
		return -EINVAL;
	}
	memcpy(a, text, (size_t)(slash - text));
	a[slash - text] = '\0';
	if (addr_parse(a, &out->lo) < 0) {
		*why = "not an IP address";
		return -EINVAL;
	}
	r = parse_plen(slash + 1, (unsigned)addr_len(&out->lo) * 8, &plen);
	if (r < 0) {
		*why = r == -ERANGE ? (out->lo.family == AF_INET ?
				       "prefix length above 32" : "prefix length above 128")
			: "bad prefix length";
		return -EINVAL;
	}
	out->hi = out->lo;
	for (i = 0; i < addr_len(&out->lo); i++) {
		if (out->lo.bytes[i] & host_bits(i, plen)) {
			*why = "host bits set (not a canonical prefix)";
			return -EINVAL;
		}
		out->hi.bytes[i] |= host_bits(i, plen);
	}
	return 0;
}

/* Sorting: qsort is not stable, so each range carries its place in the
 * list as the last key, and the first of equal ranges stays first. */
struct ranked {
	struct range r;
	size_t i;
};

static int cmp_place(const struct ranked *a, const struct ranked *b)
{
	return (a->i > b->i) - (a->i < b->i);
}

static int cmp_lo(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int c = addr_cmp(&a->r.lo, &b->r.lo);

	return c ? c : cmp_place(a, b);
}

static int cmp_lo_hi(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int c = addr_cmp(&a->r.lo, &b->r.lo);

	if (!c)
		c = addr_cmp(&a->r.hi, &b->r.hi);
	return c ? c : cmp_place(a, b);
}

static void sort_ranked(struct range_list *l, int (*cmp)(const void *, const void *))
{
	struct ranked *t;
	size_t i;

	if (l->n < 2)
		return;
	t = xreallocarray(NULL, l->n, sizeof(*t));
	for (i = 0; i < l->n; i++)
		t[i] = (struct ranked){ l->v[i], i };
	qsort(t, l->n, sizeof(*t), cmp);
	for (i = 0; i < l->n; i++)
		l->v[i] = t[i].r;
	free(t);
}

void range_list_sort(struct range_list *l)
{
	sort_ranked(l, cmp_lo_hi);
}

/* b starts no later than a (sorted): do they overlap or touch? */
static bool touches(const struct range *a, const struct range *b)
{
	struct kvf_addr next = a->hi;

	if (a->lo.family != b->lo.family)
		return false;
	if (!range_addr_step(&next, true))
		return true;		/* a runs to the last address */
	return addr_cmp(&b->lo, &next) <= 0;
}

void range_list_merge(struct range_list *l)
{
	size_t i, w = 0;

	sort_ranked(l, cmp_lo);
	for (i = 0; i < l->n; i++) {
		struct range *cur = w ? &l->v[w - 1] : NULL;

		if (cur && touches(cur, &l->v[i])) {
			if (addr_cmp(&l->v[i].hi, &cur->hi) > 0)
				cur->hi = l->v[i].hi;
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
}

static int bounds_cmp(const struct range *a, const struct range *b)
{
	int c = addr_cmp(&a->lo, &b->lo);

	return c ? c : addr_cmp(&a->hi, &b->hi);
}

void range_diff(const struct range_list *desired, const struct range_list *kernel,
		struct range_list *add, struct range_list *del)
{
	size_t i = 0, j = 0;

	while (i < desired->n || j < kernel->n) {
		const struct range *d = i < desired->n ? &desired->v[i] : NULL;
		const struct range *k = j < kernel->n ? &kernel->v[j] : NULL;
		int c = !d ? 1 : !k ? -1 : bounds_cmp(d, k);

		if (c < 0) {
			range_list_push(add, d);
			i++;
		} else if (c > 0) {
			if (k->owned)
				range_list_push(del, k);
			j++;
		} else {
			/* Same bounds: kept as it is, whatever its comment.
			 * The comment tells which tag and file brought the
			 * range in; rewriting every range for each weekly
			 * file's new changeNumber would turn a two-prefix
			 * change into thousands of writes. */
			i++;
			j++;
		}
	}
}

const char *range_format(const struct range *r, char *buf, size_t len)
{
	char lo[KVF_ADDRSTRLEN], hi[KVF_ADDRSTRLEN];
	unsigned plen;

	addr_format(&r->lo, lo, sizeof(lo));
	for (plen = 0; plen <= addr_len(&r->lo) * 8; plen++) {
		if (is_prefix(&r->lo, &r->hi, plen)) {
			snprintf(buf, len, "%s/%u", lo, plen);
			return buf;
		}
	}
	snprintf(buf, len, "%s-%s", lo, addr_format(&r->hi, hi, sizeof(hi)));
	return buf;
}
