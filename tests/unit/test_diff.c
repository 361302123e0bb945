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

static void test_basic(void)
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
	diff_compute(&want, &kern, &add, &del);
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

static void test_unchanged_and_empty(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "empty vs empty: nothing");
	push(&want, "2001:db8::1", 443, true, "h");
	push(&kern, "2001:db8::1", 443, true, "h");
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "same element: nothing");
	push(&kern, "2001:db8::1", 0, false, "plain");	/* different key */
	elem_list_sort_unique(&kern);
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "foreign extra element: nothing");
	elem_list_free(&want);
	elem_list_free(&kern);
}

static void test_foreign_same_key(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	/* The administrator already has the element: nothing to add, and
	 * it is still not ours to delete later. */
	push(&want, "192.0.2.5", 443, true, "h");
	push(&kern, "192.0.2.5", 443, false, "admin");
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "same key held by the administrator: nothing");
	want.n = 0;
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "not desired any more, but foreign: kept");
	elem_list_free(&want);
	elem_list_free(&kern);
}

static void test_large(void)
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
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 10000 && del.n == 10000, "100k elements, 10%% churn: 10000 add, 10000 delete");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

static void test_sort_unique_keeps_first(void)
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

static void test_shared_key_comment(void)
{
	struct elem_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	/* Two hosts want the key; the kernel names the second: no flapping. */
	push(&want, "192.0.2.10", 443, true, "a.example.com");
	push(&want, "192.0.2.10", 443, true, "b.example.com");
	push(&kern, "192.0.2.10", 443, true, "b.example.com");
	elem_list_sort(&want);
	diff_compute(&want, &kern, &add, &del);
	ok(add.n == 0 && del.n == 0, "shared key named by a host that still wants it: kept");
	/* b stops wanting it: renamed to a in one batch. */
	want.n = 1;
	diff_compute(&want, &kern, &add, &del);
	ok(del.n == 1 && add.n == 1 && strcmp(add.v[0].comment, "a.example.com") == 0,
	   "named by a host that no longer wants it: deleted and re-added under the other");
	elem_list_free(&want);
	elem_list_free(&kern);
	elem_list_free(&add);
	elem_list_free(&del);
}

/* Set key types read from the kernel are named as nft names them, never
 * printed as the packed number. */
static void test_kernel_type_names(void)
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
	test_kernel_type_names();
	test_shared_key_comment();
	test_basic();
	test_unchanged_and_empty();
	test_foreign_same_key();
	test_large();
	test_sort_unique_keeps_first();
	return done_testing();
}
