/* kvfence: element lists: growth, ordering, the string pool for comments
 * read back from the kernel. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elem.h"
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
	return (a->port > b->port) - (a->port < b->port);
}

/* A stable merge sort (qsort is not stable): among equal keys the element
 * pushed first keeps its place, so its comment is the one that stays. */
static void merge_sort(struct elem *v, struct elem *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(v, tmp, mid);
	merge_sort(v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = elem_key_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void elem_list_sort(struct elem_list *l)
{
	struct elem *tmp;

	if (l->n < 2)
		return;
	tmp = xreallocarray(NULL, l->n, sizeof(*tmp));
	merge_sort(l->v, tmp, l->n);
	free(tmp);
}

void elem_list_sort_unique(struct elem_list *l)
{
	size_t i, w = 0;

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

	addr_format(&e->addr, a, sizeof(a));
	if (e->port)
		snprintf(buf, len, "%s . %u", a, e->port);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}
