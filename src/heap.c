/* kvfence: a binary min-heap of indices with a position table, so that
 * any index can be moved when its key changes. */
#include "autoconfig.h"

#include <stdlib.h>

#include "heap.h"
#include "util.h"

static int64_t key_at(const struct heap *h, size_t k)
{
	return h->key[h->v[k]];
}

static void place(struct heap *h, size_t k, size_t i)
{
	h->v[k] = i;
	h->pos[i] = k;
}

static void swap(struct heap *h, size_t a, size_t b)
{
	size_t t = h->v[a];

	place(h, a, h->v[b]);
	place(h, b, t);
}

static void up(struct heap *h, size_t k)
{
	while (k > 0 && key_at(h, (k - 1) / 2) > key_at(h, k)) {
		swap(h, k, (k - 1) / 2);
		k = (k - 1) / 2;
	}
}

static void down(struct heap *h, size_t k)
{
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, m = k;

		if (l < h->n && key_at(h, l) < key_at(h, m))
			m = l;
		if (r < h->n && key_at(h, r) < key_at(h, m))
			m = r;
		if (m == k)
			return;
		swap(h, k, m);
		k = m;
	}
}

void heap_init(struct heap *h, const int64_t *key, size_t n, int64_t absent)
{
	size_t i;

	h->key = key;
	h->absent = absent;
	h->cap = n ? n : 1;
	h->v = xcalloc(h->cap, sizeof(*h->v));
	h->pos = xcalloc(h->cap, sizeof(*h->pos));
	h->n = 0;
	for (i = 0; i < h->cap; i++)
		h->pos[i] = HEAP_NONE;
	for (i = 0; i < n; i++)
		heap_update(h, i);
}

void heap_free(struct heap *h)
{
	free(h->v);
	free(h->pos);
	h->v = h->pos = NULL;
	h->n = h->cap = 0;
}

void heap_grow(struct heap *h, const int64_t *key, size_t n)
{
	size_t i;

	h->key = key;
	if (n <= h->cap)
		return;
	h->v = xreallocarray(h->v, n, sizeof(*h->v));
	h->pos = xreallocarray(h->pos, n, sizeof(*h->pos));
	for (i = h->cap; i < n; i++)
		h->pos[i] = HEAP_NONE;
	h->cap = n;
}

void heap_update(struct heap *h, size_t i)
{
	size_t k = h->pos[i];

	if (h->key[i] == h->absent) {
		if (k == HEAP_NONE)
			return;
		h->pos[i] = HEAP_NONE;
		if (k != --h->n) {
			size_t moved = h->v[h->n];	/* the last one fills the hole */

			place(h, k, moved);
			up(h, k);
			down(h, h->pos[moved]);
		}
		return;
	}
	if (k == HEAP_NONE) {
		k = h->n++;
		place(h, k, i);
	}
	up(h, k);
	down(h, h->pos[i]);
}

size_t heap_top(const struct heap *h)
{
	return h->n ? h->v[0] : HEAP_NONE;
}
