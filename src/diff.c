/* kvfence: desired versus kernel. Both lists are sorted by key, so one
 * merge walk finds what to add and what to delete: O(n), no allocation
 * per element beyond the output arrays. */
#include "autoconfig.h"

#include <string.h>

#include "diff.h"

static bool same_comment(const struct elem *a, const struct elem *b)
{
	if (!a->comment || !b->comment)
		return a->comment == b->comment;
	return strcmp(a->comment, b->comment) == 0;
}

/* The desired entries for one key (a list may hold one per host that
 * wants it). Returns the index past the group. */
static size_t group_end(const struct elem_list *l, size_t i)
{
	size_t j = i + 1;

	while (j < l->n && elem_key_cmp(&l->v[i], &l->v[j]) == 0)
		j++;
	return j;
}

/* An element of ours whose comment names a host that no longer wants it
 * is rewritten (delete and add in the same batch, so no packet sees it
 * missing) to name one that does. While its host still wants it, it
 * stays as it is: no flapping between two hosts' comments. */
static bool needs_rename(const struct elem_list *desired, size_t from, size_t to,
			 const struct elem *k, const struct diff_wants *w)
{
	size_t i;

	if (!k->owned)
		return false;
	for (i = from; i < to; i++)
		if (same_comment(&desired->v[i], k))
			return false;
	return !(w && k->comment && w->wants(w->ctx, k));
}

static void walk(const struct elem_list *desired, const struct elem_list *kernel,
		 struct elem_list *add, struct elem_list *del, bool rename,
		 const struct diff_wants *w)
{
	size_t i = 0, j = 0;

	while (i < desired->n || j < kernel->n) {
		size_t end;
		int c;

		if (i == desired->n)
			c = 1;
		else if (j == kernel->n)
			c = -1;
		else
			c = elem_key_cmp(&desired->v[i], &kernel->v[j]);
		if (c > 0) {
			/* Only our own elements leave: an element the
			 * administrator added stays, whatever DNS says. */
			if (kernel->v[j].owned)
				elem_list_push(del, &kernel->v[j]);
			j++;
			continue;
		}
		end = group_end(desired, i);
		if (c < 0) {
			elem_list_push(add, &desired->v[i]);
		} else {
			if (rename && needs_rename(desired, i, end, &kernel->v[j], w)) {
				elem_list_push(del, &kernel->v[j]);
				elem_list_push(add, &desired->v[i]);
			}
			j++;
		}
		i = end;
	}
}

void diff_compute(const struct elem_list *desired, const struct elem_list *kernel,
		  struct elem_list *add, struct elem_list *del, const struct diff_wants *w)
{
	walk(desired, kernel, add, del, true, w);
}

/* Moves out of add the ranges that overlap a kernel range not ours: the
 * kernel refuses an interval that overlaps another, and the one batch
 * for every set would fail with it. Both lists are sorted by their
 * first address, and a set's ranges never overlap one another, so their
 * last addresses are sorted too: one pointer walk. */
static void hold_overlapping(const struct elem_list *kernel, struct elem_list *add,
			     struct elem_list *held)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < add->n; i++) {
		const struct elem *a = &add->v[i];

		while (j < kernel->n && (kernel->v[j].owned ||
					 addr_cmp(&kernel->v[j].hi, &a->addr) < 0))
			j++;
		if (j < kernel->n && addr_cmp(&kernel->v[j].addr, &a->hi) <= 0)
			elem_list_push(held, a);
		else
			add->v[n++] = *a;
	}
	add->n = n;
}

void diff_compute_ranges(const struct elem_list *desired, const struct elem_list *kernel,
			 struct elem_list *add, struct elem_list *del, struct elem_list *held)
{
	walk(desired, kernel, add, del, false, NULL);
	hold_overlapping(kernel, add, held);
}
