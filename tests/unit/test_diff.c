/* Unit tests of the diff: only the difference, never a foreign element. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "tap.h"

static void push(struct elem_list *l, const char *addr, uint16_t port, bool owned,
		 const char *comment)
{
	struct elem e = { .port = port, .owned = owned, .comment = comment };

	addr_parse(addr, &e.addr);
	elem_list_push(l, &e);
}

static void push_range(struct elem_list *l, const char *lo, const char *hi, bool owned,
		       const char *comment)
{
	struct elem e = { .owned = owned, .comment = comment };

	addr_parse(lo, &e.addr);
	addr_parse(hi, &e.hi);
	elem_list_push(l, &e);
}

/* Service Tags move a range's bounds while a range not ours overlaps it
 * (an administrator's, or ours from before a lost state file): the
 * kernel would refuse the overlap and fail the one batch of every set,
 * so the range is held back; what overlaps only our own goes in, the
 * old one leaving in the same batch. */
static void test_a_range_overlapping_one_not_ours_is_held_back(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 }, held = { 0 };
	char buf[64];

	push_range(&want, "192.0.2.0", "192.0.2.127", true, "servicetag A");
	push_range(&want, "198.51.100.0", "198.51.100.255", true, "servicetag A");
	push_range(&want, "203.0.113.128", "203.0.113.255", true, "servicetag X");
	push_range(&want, "203.0.114.0", "203.0.114.0", true, "servicetag X");
	push_range(&kern, "192.0.2.0", "192.0.2.255", true, "servicetag A");	/* ours */
	push_range(&kern, "203.0.113.0", "203.0.113.255", false, "servicetag X");
	push_range(&kern, "203.0.114.0", "203.0.114.0", false, "by hand");	/* same */
	elem_list_sort(&want);
	elem_list_sort_unique(&kern);
	diff_compute_ranges(&want, &kern, &add, &del, &held);
	is_int(add.n, 2, "two ranges to add");
	is_str(elem_format(&add.v[0], buf, sizeof(buf)), "192.0.2.0/25",
	       "overlapping only our own: added");
	is_str(elem_format(&add.v[1], buf, sizeof(buf)), "198.51.100.0/24",
	       "overlapping nothing: added");
	is_int(del.n, 1, "our old range deleted");
	is_int(held.n, 1, "one held back");
	is_str(held.n ? elem_format(&held.v[0], buf, sizeof(buf)) : "", "203.0.113.128/25",
	       "the one inside a range not ours");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
	elem_list_free(&held);
}

static void test_missing_elements_are_added_and_stale_ones_deleted(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };
	char buf[64];

	push(&want, "192.0.2.1", 443, true, "a.example.com");
	push(&want, "192.0.2.2", 443, true, "a.example.com");
	push(&want, "192.0.2.2", 80, true, "a.example.com");
	push(&kern, "192.0.2.2", 443, true, "a.example.com");	/* kept */
	push(&kern, "192.0.2.3", 443, true, "a.example.com");	/* ours, gone */
	push(&kern, "198.51.100.9", 443, false, "by hand");	/* foreign */
	push(&kern, "198.51.100.10", 443, false, NULL);		/* foreign, no comment */
	elem_list_sort_unique(&want);
	elem_list_sort_unique(&kern);
	diff_compute(&want, &kern, &add, &del, NULL);
	is_int(add.n, 2, "two to add");
	is_str(elem_format(&add.v[0], buf, sizeof(buf)), "192.0.2.1 . 443", "first add");
	is_str(elem_format(&add.v[1], buf, sizeof(buf)), "192.0.2.2 . 80", "port differs: add");
	is_int(del.n, 1, "one to delete");
	is_str(elem_format(&del.v[0], buf, sizeof(buf)), "192.0.2.3 . 443", "only our stale one");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

static void test_unchanged_and_empty_sets_need_nothing(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "empty vs empty: nothing");
	push(&want, "2001:db8::1", 443, true, "h");
	push(&kern, "2001:db8::1", 443, true, "h");
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "same element: nothing");
	push(&kern, "2001:db8::1", 0, false, "plain");	/* different key */
	elem_list_sort_unique(&kern);
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "foreign extra element: nothing");
	elem_list_free(&want);
	elem_list_free(&kern);
}

static void test_an_element_held_by_the_administrator_is_kept(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	/* The administrator already has the element: nothing to add, and
	 * it is still not ours to delete later. */
	push(&want, "192.0.2.5", 443, true, "h");
	push(&kern, "192.0.2.5", 443, false, "admin");
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "same key held by the administrator: nothing");
	want.n = 0;
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "not desired any more, but foreign: kept");
	elem_list_free(&want);
	elem_list_free(&kern);
}

static void test_a_100k_element_diff_counts_its_churn_exactly(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };
	char a[32];
	size_t i;

	/* 100k each, shifted by 10%: exactly 10k adds and 10k deletes. */
	for (i = 0; i < 100000; i++) {
		snprintf(a, sizeof(a), "20.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		push(&kern, a, 443, true, "h");
		snprintf(a, sizeof(a), "20.%zu.%zu.%zu", (i + 10000) >> 16,
			 ((i + 10000) >> 8) & 255, (i + 10000) & 255);
		push(&want, a, 443, true, "h");
	}
	elem_list_sort_unique(&want);
	elem_list_sort_unique(&kern);
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 10000 && del.n == 10000, "100k elements, 10%% churn: 10000 add, 10000 delete");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

static void test_sort_unique_keeps_the_first_of_each_key(void)
{
	struct elem_list l = { 0 };

	push(&l, "192.0.2.9", 443, true, "b.example.com");
	push(&l, "192.0.2.1", 443, true, "a.example.com");
	push(&l, "192.0.2.9", 443, true, "c.example.com");
	elem_list_sort_unique(&l);
	ok(l.n == 2 && strcmp(l.v[1].comment, "b.example.com") == 0,
	   "duplicate keys: the first comment stays");
	elem_list_free(&l);
}

static void test_a_shared_key_stays_while_any_host_wants_it(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	/* Two hosts want the key; the kernel names the second: no flapping. */
	push(&want, "192.0.2.10", 443, true, "a.example.com");
	push(&want, "192.0.2.10", 443, true, "b.example.com");
	push(&kern, "192.0.2.10", 443, true, "b.example.com");
	elem_list_sort(&want);
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(add.n == 0 && del.n == 0, "shared key named by a host that still wants it: kept");
	/* b stops wanting it: renamed to a in one batch. */
	want.n = 1;
	diff_compute(&want, &kern, &add, &del, NULL);
	ok(del.n == 1 && add.n == 1 && strcmp(add.v[0].comment, "a.example.com") == 0,
	   "named by a host that no longer wants it: deleted and re-added under the other");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

static bool wants_b(void *ctx, const struct elem *el)
{
	return *(bool *)ctx && strcmp(el->comment, "b.example.com") == 0;
}

/* The engine's desired list holds a shared key once, under the first
 * host; whether another host the kernel names still wants it, the
 * caller says. */
static void test_a_shared_key_named_by_another_host_stays_while_the_caller_says_it_wants_it(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };
	bool b_wants = true;
	struct diff_wants w = { wants_b, &b_wants };

	push(&want, "192.0.2.10", 443, true, "a.example.com");
	push(&kern, "192.0.2.10", 443, true, "b.example.com");
	diff_compute(&want, &kern, &add, &del, &w);
	ok(add.n == 0 && del.n == 0, "named by a host that still wants it: kept");
	b_wants = false;
	diff_compute(&want, &kern, &add, &del, &w);
	ok(del.n == 1 && add.n == 1 && strcmp(add.v[0].comment, "a.example.com") == 0,
	   "named by a host that no longer wants it: renamed");
	elem_list_clear(&add);
	elem_list_clear(&del);
	kern.v[0].owned = false;
	diff_compute(&want, &kern, &add, &del, &w);
	ok(add.n == 0 && del.n == 0, "not ours: left as it is");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

/* Set key types read from the kernel are named as nft names them, never
 * printed as the packed number. */
static void test_kernel_key_types_are_named_as_nft_names_them(void)
{
	char buf[128];

	is_str(keytype_kernel_name(7, buf, sizeof(buf)), "ipv4_addr", "ipv4_addr");
	is_str(keytype_kernel_name(7 << 6 | 13, buf, sizeof(buf)), "ipv4_addr . inet_service",
	       "a concatenation, first member first");
	is_str(keytype_kernel_name(9, buf, sizeof(buf)), "ether_addr", "ether_addr");
	is_str(keytype_kernel_name((7 << 6 | 41) << 6 | 13, buf, sizeof(buf)),
	       "ipv4_addr . ifname . inet_service", "three members");
	is_str(keytype_kernel_name(63, buf, sizeof(buf)), "type 63", "an unknown type");
	is_str(keytype_kernel_name(0, buf, sizeof(buf)), "type 0", "type 0");
}

int main(void)
{
	test_kernel_key_types_are_named_as_nft_names_them();
	test_a_shared_key_stays_while_any_host_wants_it();
	test_a_shared_key_named_by_another_host_stays_while_the_caller_says_it_wants_it();
	test_a_range_overlapping_one_not_ours_is_held_back();
	test_missing_elements_are_added_and_stale_ones_deleted();
	test_unchanged_and_empty_sets_need_nothing();
	test_an_element_held_by_the_administrator_is_kept();
	test_a_100k_element_diff_counts_its_churn_exactly();
	test_sort_unique_keeps_the_first_of_each_key();
	return done_testing();
}
