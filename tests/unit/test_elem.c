/* Unit tests of element ordering: addr_cmp orders as the bytes do, and
 * elem_list_sort is a stable sort, whatever order its input comes in
 * (random, already sorted, reversed, runs of equal keys). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "elem.h"
#include "tap.h"

/* The reference: family first, then the address bytes as memcmp sees them. */
static int ref_addr_cmp(const struct kvf_addr *a, const struct kvf_addr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16);
	return (r > 0) - (r < 0);
}

/* Addresses that differ in few bytes, and in bytes with the high bit set,
 * where a signed or a little-endian comparison would go wrong. */
static void random_addr(struct kvf_addr *a, int narrow)
{
	static const uint8_t pick[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
	size_t i;

	memset(a, 0, sizeof(*a));
	a->family = tap_random() % 2 ? AF_INET : AF_INET6;
	for (i = 0; i < 16; i++)
		a->bytes[i] = narrow ? pick[tap_random() % sizeof(pick)] : (uint8_t)tap_random();
	/* IPv4 compares its first 4 bytes only: the rest must not matter. */
}

static void addresses_compare_as_their_bytes_do(void)
{
	struct kvf_addr a, b;
	int i, bad = 0;

	for (i = 0; i < 200000; i++) {
		random_addr(&a, i % 2);
		random_addr(&b, i % 2);
		if (i % 3 == 0) {	/* same family, share a prefix */
			b = a;
			b.bytes[tap_random() % 16] = (uint8_t)tap_random();
		}
		if (i % 7 == 0)
			b = a;
		if ((addr_cmp(&a, &b) > 0) - (addr_cmp(&a, &b) < 0) != ref_addr_cmp(&a, &b) &&
		    !bad++)
			printf("# the first disagreement at pair %d\n", i);
	}
	ok(bad == 0, "addr_cmp agrees with family-then-memcmp on 200000 pairs (%d differ)", bad);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.family = b.family = AF_INET;
	a.bytes[4] = 1;
	ok(addr_cmp(&a, &b) == 0, "IPv4: bytes past the fourth are not compared");
}

/* A list of n elements of few distinct keys; the comment records the
 * order in which each was pushed. */
static void fill(struct elem_list *l, size_t n, unsigned keys, const char *const *order)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < n; i++) {
		struct elem e = { .port = (uint16_t)(tap_random() % 2 ? 443 : 80) };
		unsigned k = tap_random() % keys;

		e.addr.family = k % 3 ? AF_INET : AF_INET6;
		e.addr.bytes[0] = (uint8_t)(k * 37);
		e.addr.bytes[3] = (uint8_t)(k >> 2 | 0x80);
		e.comment = order[i];
		elem_list_push(l, &e);
	}
}

/* 0 if l is in key order and equal keys keep their push order. */
static int check_sorted_stable(const struct elem_list *l, const char *const *order)
{
	size_t i;

	for (i = 1; i < l->n; i++) {
		int c = elem_key_cmp(&l->v[i - 1], &l->v[i]);

		if (c > 0)
			return 1;
		/* order[] holds increasing pointers: the push order. */
		if (c == 0 && l->v[i - 1].comment > l->v[i].comment)
			return 2;
	}
	return 0;
}

static void sorting_is_in_key_order_and_stable_for_any_input(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 1000, 30001 };
	static char marks[30001];
	const char *order[30001];
	size_t s, i;
	int bad, shape;

	for (i = 0; i < 30001; i++)
		order[i] = &marks[i];
	for (shape = 0; shape < 4; shape++) {
		bad = 0;
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct elem_list l;
			unsigned keys = shape == 3 ? 5 : 700;

			fill(&l, sizes[s], keys, order);
			if (shape == 1 || shape == 2) {	/* sorted, then reversed */
				elem_list_sort(&l);
				if (shape == 2)
					for (i = 0; i < l.n / 2; i++) {
						struct elem t = l.v[i];

						l.v[i] = l.v[l.n - 1 - i];
						l.v[l.n - 1 - i] = t;
					}
				for (i = 0; i < l.n; i++)
					l.v[i].comment = order[i];
			}
			elem_list_sort(&l);
			if (check_sorted_stable(&l, order) && !bad++)
				printf("# shape %d, %zu elements: not sorted or not stable\n",
				       shape, sizes[s]);
			elem_list_free(&l);
		}
		ok(bad == 0, "%s input of 0..30001 elements comes out sorted, equal keys in push order",
		   (const char *[]){ "random", "sorted", "reversed", "few-keys" }[shape]);
	}
}

static void sort_unique_keeps_the_first_pushed_of_equal_keys(void)
{
	static char marks[3];
	struct elem_list l = { 0 };
	struct elem e = { .addr = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } }, .port = 443 };

	e.comment = &marks[0];
	elem_list_push(&l, &e);
	e.addr.bytes[3] = 0;
	e.comment = &marks[1];
	elem_list_push(&l, &e);
	e.addr.bytes[3] = 1;
	e.comment = &marks[2];
	elem_list_push(&l, &e);
	elem_list_sort_unique(&l);
	is_int(l.n, 2, "two distinct keys remain");
	ok(l.n == 2 && l.v[1].comment == &marks[0], "the first pushed of the equal pair stays");
	elem_list_free(&l);
}

int main(void)
{
	addresses_compare_as_their_bytes_do();
	sorting_is_in_key_order_and_stable_for_any_input();
	sort_unique_keeps_the_first_pushed_of_equal_keys();
	return done_testing();
}
