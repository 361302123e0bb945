/* Unit tests of the name index: names spread over the slots whatever
 * part of them differs, and every name entered is found, across growth. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nameindex.h"
#include "tap.h"

struct named {
	char *name;
	unsigned extra;
};

/* How many of 16384 slots the homes of n names fill. */
static size_t homes_filled(char **names, size_t n)
{
	static unsigned char used[16384];
	size_t i, filled = 0;

	memset(used, 0, sizeof(used));
	for (i = 0; i < n; i++) {
		size_t s = name_index_hash(names[i]) & 16383;

		filled += !used[s];
		used[s] = 1;
	}
	return filled;
}

/* 10,000 names into 16,384 slots fill about 7,486 when the hash is as
 * good as random. glibc's hsearch_r hashes the length and the first
 * eight characters: names that differ later fall in one slot. */
static void test_names_spread_over_the_slots_whatever_part_differs(void)
{
	/* Before and after the number. */
	static const char *const shapes[][2] = {
		{ "fenceprodeastus", ".vault.azure.net" },	/* past the 8th byte */
		{ "", ".example.com" },				/* at the start */
		{ "a.b.c.example.com.", "" },			/* at the end, past 16 */
		{ "k", "" },					/* under 8 bytes */
		{ "contoso-prod-", "-x.vault.azure.net" },	/* across a word */
	};
	char *names[10000];
	size_t i, k, n = 10000, filled;

	for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		for (i = 0; i < n; i++) {
			char buf[64];

			snprintf(buf, sizeof(buf), "%s%05zu%s", shapes[k][0], i, shapes[k][1]);
			names[i] = strdup(buf);
		}
		filled = homes_filled(names, n);
		ok(filled > 7200 && filled < 7800, "%sNNNNN%s: %zu names fill %zu of 16384 "
		   "slots (as random: about 7486)", shapes[k][0], shapes[k][1], n, filled);
		for (i = 0; i < n; i++)
			free(names[i]);
	}
}

/* Names entered one at a time, the index growing under them, are each
 * found at their own index, and no name that was not entered is. */
static void test_every_name_entered_is_found_across_growth(void)
{
	size_t n = 5000, i, wrong = 0;
	struct named *v = calloc(n, sizeof(*v));
	struct name_index ix = { 0 };
	char buf[64];

	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "h%zu.example.net", i * 7919 % 100003);
		v[i].name = strdup(buf);
		name_index_reserve(&ix, ix.n + 1, v, sizeof(*v));
		if (*name_index_slot(&ix, v[i].name, v, sizeof(*v)) != 0)
			wrong++;
		name_index_add(&ix, i, v, sizeof(*v));
	}
	is_int(ix.n, n, "%zu names entered", n);
	ok(ix.mask + 1 >= n + n / 2, "at most two thirds full: %zu slots", ix.mask + 1);
	for (i = 0; i < n; i++)
		wrong += *name_index_slot(&ix, v[i].name, v, sizeof(*v)) != i + 1;
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "h%zu.example.ne", i * 7919 % 100003);
		wrong += *name_index_slot(&ix, buf, v, sizeof(*v)) != 0;
	}
	is_int(wrong, 0, "each found at its index, no near miss found");
	name_index_free(&ix);
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int main(void)
{
	test_names_spread_over_the_slots_whatever_part_differs();
	test_every_name_entered_is_found_across_growth();
	return done_testing();
}
