/* Unit tests of ranges: canonical CIDR only, merging as nft auto-merge
 * would, and a diff that touches only our own ranges. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "range.h"
#include "tap.h"

static const char *fmt(const struct range *r)
{
	static char buf[128];

	return range_format(r, buf, sizeof(buf));
}

/* "a-b" or a CIDR prefix; aborts the test on a typo. */
static void push(struct range_list *l, const char *text, bool owned, const char *comment)
{
	struct range r;
	const char *why = NULL, *dash = strchr(text, '-');
	char lo[64];

	if (dash) {
		memset(&r, 0, sizeof(r));
		snprintf(lo, sizeof(lo), "%.*s", (int)(dash - text), text);
		if (addr_parse(lo, &r.lo) < 0 || addr_parse(dash + 1, &r.hi) < 0)
			ok(0, "test data %s", text);
	} else if (range_from_cidr(text, &r, &why) < 0) {
		ok(0, "test data %s: %s", text, why);
	}
	r.owned = owned;
	r.comment = comment;
	range_list_push(l, &r);
}

static void test_valid_prefixes_parse_and_format_back(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "20.38.1.0/24", "20.38.1.0/24" },
		{ "192.0.2.7/32", "192.0.2.7/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "255.255.255.254/31", "255.255.255.254/31" },
		{ "2603:1000::/40", "2603:1000::/40" },
		{ "2001:db8::1/128", "2001:db8::1/128" },
		{ "::/0", "::/0" },
		{ "2001:db8:8000::/33", "2001:db8:8000::/33" },
	};
	struct range r;
	const char *why;
	char lo[64], hi[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why = NULL;
		is_int(range_from_cidr(t[i].in, &r, &why), 0, "%s parses", t[i].in);
		is_str(fmt(&r), t[i].out, "%s formats back", t[i].in);
		ok(!r.owned && !r.comment, "%s: no owner, no comment", t[i].in);
	}
	range_from_cidr("20.38.1.0/24", &r, &why);
	is_str(addr_format(&r.lo, lo, sizeof(lo)), "20.38.1.0", "/24 low end");
	is_str(addr_format(&r.hi, hi, sizeof(hi)), "20.38.1.255", "/24 high end");
	range_from_cidr("2603:1000::/40", &r, &why);
	is_str(addr_format(&r.hi, hi, sizeof(hi)), "2603:1000:ff:ffff:ffff:ffff:ffff:ffff",
	       "/40 high end");
	is_int(r.lo.family, AF_INET6, "v6 family");
}

static void test_invalid_prefixes_are_refused(void)
{
	static const struct {
		const char *in, *why;
	} t[] = {
		{ "20.38.1.1/24", "host bits set (not a canonical prefix)" },
		{ "20.38.1.128/24", "host bits set (not a canonical prefix)" },
		{ "10.0.0.0/0", "host bits set (not a canonical prefix)" },
		{ "2603:1000::1/40", "host bits set (not a canonical prefix)" },
		{ "2001:db8:c000::/33", "host bits set (not a canonical prefix)" },
		{ "20.38.1.0", "missing prefix length" },
		{ "20.38.1.0/", "bad prefix length" },
		{ "20.38.1.0/024", "bad prefix length" },
		{ "20.38.1.0/+24", "bad prefix length" },
		{ "20.38.1.0/24 ", "bad prefix length" },
		{ "20.38.1.0/2x", "bad prefix length" },
		{ "20.38.1.0/-1", "bad prefix length" },
		{ "20.38.1.0/1000", "bad prefix length" },
		{ "20.38.1.0/33", "prefix length above 32" },
		{ "2603:1000::/129", "prefix length above 128" },
		{ "20.38.1/24", "not an IP address" },
		{ "kv.example.com/24", "not an IP address" },
		{ "/24", "not an IP address" },
		{ " 20.38.1.0/24", "not an IP address" },
		{ "20.38.1.0/24/24", "bad prefix length" },
		{ "", "missing prefix length" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64", "not an IP address" },
	};
	struct range r;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why = NULL;
		is_int(range_from_cidr(t[i].in, &r, &why), -EINVAL, "\"%s\" refused", t[i].in);
		is_str(why, t[i].why, "\"%s\": reason", t[i].in);
	}
}

static void test_stepping_an_address_carries_and_borrows(void)
{
	struct kvf_addr a;
	char buf[64];

	addr_parse("10.0.0.255", &a);
	ok(range_addr_step(&a, true), "step up carries");
	is_str(addr_format(&a, buf, sizeof(buf)), "10.0.1.0", "10.0.0.255 + 1");
	ok(range_addr_step(&a, false), "step down borrows");
	is_str(addr_format(&a, buf, sizeof(buf)), "10.0.0.255", "10.0.1.0 - 1");
	addr_parse("255.255.255.255", &a);
	ok(!range_addr_step(&a, true), "no address after 255.255.255.255");
	is_str(addr_format(&a, buf, sizeof(buf)), "255.255.255.255", "left unchanged");
	addr_parse("0.0.0.0", &a);
	ok(!range_addr_step(&a, false), "no address before 0.0.0.0");
	addr_parse("2001:db8::ffff:ffff", &a);
	range_addr_step(&a, true);
	is_str(addr_format(&a, buf, sizeof(buf)), "2001:db8::1:0:0", "v6 carry");
	addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a);
	ok(!range_addr_step(&a, true), "no address after the last v6 one");
}

static void test_ranges_format_as_prefixes_where_they_can(void)
{
	struct range_list l = { 0 };

	push(&l, "20.40.0.0-20.40.0.9", false, NULL);
	push(&l, "20.40.0.0-20.40.0.255", false, NULL);
	push(&l, "20.40.0.1-20.40.0.2", false, NULL);	/* aligned size, not a prefix */
	push(&l, "2001:db8::-2001:db8::ff", false, NULL);
	is_str(fmt(&l.v[0]), "20.40.0.0-20.40.0.9", "not a prefix: a range");
	is_str(fmt(&l.v[1]), "20.40.0.0/24", "a prefix");
	is_str(fmt(&l.v[2]), "20.40.0.1-20.40.0.2", "two addresses across a boundary");
	is_str(fmt(&l.v[3]), "2001:db8::/120", "v6 prefix");
	range_list_free(&l);
}

static void test_overlapping_and_adjacent_ranges_merge(void)
{
	struct range_list l = { 0 };

	push(&l, "20.38.1.0/24", false, "b");
	push(&l, "20.38.0.0/24", false, "a");		/* adjacent below */
	push(&l, "20.38.1.128/25", false, "c");		/* contained */
	push(&l, "20.38.2.0-20.38.2.9", false, "d");	/* adjacent above */
	push(&l, "20.38.2.5-20.38.3.0", false, "e");	/* overlapping */
	push(&l, "20.38.3.2/31", false, "f");		/* one address apart: kept */
	push(&l, "2603:1000::/40", false, "v6a");
	push(&l, "2603:1000:100::/40", false, "v6b");	/* adjacent v6 */
	push(&l, "0.0.0.0/32", false, "zero");
	push(&l, "255.255.255.0/24", false, "top");
	push(&l, "255.255.255.255/32", false, "last");	/* inside, at the end */
	push(&l, "::/128", false, "v6 zero");		/* v4 and v6 never merge */
	range_list_merge(&l);
	is_int(l.n, 6, "merged to six");
	is_str(fmt(&l.v[0]), "0.0.0.0/32", "zero alone");
	is_str(fmt(&l.v[1]), "20.38.0.0-20.38.3.0", "overlap, adjacency, containment");
	is_str(l.v[1].comment, "a", "first part's comment");
	is_str(fmt(&l.v[2]), "20.38.3.2/31", "apart by one stays");
	is_str(fmt(&l.v[3]), "255.255.255.0/24", "last address merged in");
	is_str(l.v[3].comment, "top", "comment of the first");
	is_str(fmt(&l.v[4]), "::/128", "v6 after v4, not merged with 0.0.0.0");
	is_str(fmt(&l.v[5]), "2603:1000::/39", "v6 adjacency");
	is_str(l.v[5].comment, "v6a", "v6 comment");
	range_list_free(&l);

	/* Equal starts: the first pushed keeps its comment. */
	push(&l, "10.0.0.0/24", false, "second-listed-first");
	push(&l, "10.0.0.0/16", false, "later");
	push(&l, "10.0.0.0/24", false, "dup");
	range_list_merge(&l);
	is_int(l.n, 1, "same start: one");
	is_str(fmt(&l.v[0]), "10.0.0.0/16", "widest end wins");
	is_str(l.v[0].comment, "second-listed-first", "first pushed keeps its comment");
	range_list_free(&l);

	/* A range running to the last address swallows all after it. */
	push(&l, "255.0.0.0/8", false, "x");
	push(&l, "255.255.255.255/32", false, "y");
	push(&l, "254.255.255.255/32", false, "z");
	range_list_merge(&l);
	is_int(l.n, 1, "to the end: one");
	is_str(fmt(&l.v[0]), "254.255.255.255-255.255.255.255", "adjacent below the top");
	range_list_free(&l);

	range_list_merge(&l);
	is_int(l.n, 0, "empty merges to empty");
}

static void test_ranges_sort_by_family_then_address(void)
{
	struct range_list l = { 0 };

	push(&l, "2001:db8::/32", false, NULL);
	push(&l, "10.0.0.0/16", false, NULL);
	push(&l, "10.0.0.0/8", false, NULL);
	push(&l, "9.0.0.0/8", false, NULL);
	range_list_sort(&l);
	is_str(fmt(&l.v[0]), "9.0.0.0/8", "sort 0");
	is_str(fmt(&l.v[1]), "10.0.0.0/16", "sort 1: same lo, lower hi first");
	is_str(fmt(&l.v[2]), "10.0.0.0/8", "sort 2");
	is_str(fmt(&l.v[3]), "2001:db8::/32", "sort 3: v6 last");
	is_int(l.n, 4, "sort keeps all");
	range_list_free(&l);
}

static void test_range_diff_adds_and_deletes_by_bounds(void)
{
	struct range_list want = { 0 }, kern = { 0 }, add = { 0 }, del = { 0 };

	push(&want, "20.38.1.0/24", true, "AzureKeyVault.WestEurope");	/* kept */
	push(&want, "20.40.0.0-20.40.0.9", true, "AzureKeyVault.WestEurope");	/* new */
	push(&want, "20.41.0.0/24", true, "AzureKeyVault.WestEurope");	/* same bounds */
	push(&want, "198.51.100.0/24", true, "AzureKeyVault.WestEurope");	/* foreign exact */
	push(&want, "2603:1000::/40", true, "AzureActiveDirectory");	/* new v6 */
	push(&kern, "20.38.1.0/24", true, "AzureKeyVault.WestEurope");
	push(&kern, "20.40.0.0-20.40.0.8", true, "AzureKeyVault.WestEurope");	/* shrank */
	push(&kern, "20.41.0.0/24", true, "AzureKeyVault.NorthEurope");
	push(&kern, "20.50.0.0/16", true, "AzureKeyVault.WestEurope");	/* gone */
	push(&kern, "198.51.100.0/24", false, NULL);			/* by hand */
	push(&kern, "203.0.113.0/24", false, "by hand");		/* foreign */
	push(&kern, "2001:db8::/32", true, "AzureActiveDirectory");	/* gone v6 */
	range_list_merge(&want);
	range_list_sort(&kern);
	range_diff(&want, &kern, &add, &del);

	is_int(add.n, 2, "two to add (same bounds under another comment: kept)");
	is_str(fmt(&add.v[0]), "20.40.0.0-20.40.0.9", "add: new bounds");
	is_str(fmt(&add.v[1]), "2603:1000::/40", "add: v6");
	is_int(del.n, 3, "three to delete");
	is_str(fmt(&del.v[0]), "20.40.0.0-20.40.0.8", "del: old bounds");
	is_str(fmt(&del.v[1]), "20.50.0.0/16", "del: gone");
	is_str(fmt(&del.v[2]), "2001:db8::/32", "del: gone v6");
	range_list_free(&add);
	range_list_free(&del);

	/* The same lists again once applied: nothing. */
	range_list_free(&kern);
	push(&kern, "20.38.1.0/24", true, "AzureKeyVault.WestEurope");
	push(&kern, "20.40.0.0-20.40.0.9", true, "AzureKeyVault.WestEurope");
	push(&kern, "20.41.0.0/24", true, "AzureKeyVault.WestEurope");
	push(&kern, "198.51.100.0/24", false, NULL);
	push(&kern, "2603:1000::/40", true, "AzureActiveDirectory");
	range_list_sort(&kern);
	range_diff(&want, &kern, &add, &del);
	is_int(add.n + del.n, 0, "applied: no difference");

	/* Nothing wanted: only our own go. */
	range_list_free(&want);
	range_diff(&want, &kern, &add, &del);
	is_int(add.n, 0, "nothing wanted: no add");
	is_int(del.n, 4, "nothing wanted: our four go, the foreign one stays");
	range_list_free(&add);
	range_list_free(&del);
	range_list_free(&kern);
}

static void test_comments_are_interned_as_copies(void)
{
	struct range_list l = { 0 };
	char s[] = "AzureKeyVault";
	const char *p = range_list_intern(&l, s);

	s[0] = 'X';
	is_str(p, "AzureKeyVault", "interned copy");
	ok(p != s, "a copy, not the caller's");
	range_list_free(&l);
	is_int(l.n_strings + l.n, 0, "freed list is empty");
}

int main(void)
{
	test_valid_prefixes_parse_and_format_back();
	test_invalid_prefixes_are_refused();
	test_stepping_an_address_carries_and_borrows();
	test_ranges_format_as_prefixes_where_they_can();
	test_overlapping_and_adjacent_ranges_merge();
	test_ranges_sort_by_family_then_address();
	test_range_diff_adds_and_deletes_by_bounds();
	test_comments_are_interned_as_copies();
	return done_testing();
}
