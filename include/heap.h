/* kvfence: a min-heap of indices 0..n-1 ordered by an int64 key array the
 * caller owns (the agent's per-host due times), so that the loop finds
 * what is due in O(log n) instead of walking every host. Pure. */
#ifndef KVF_HEAP_H
#define KVF_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE ((size_t)-1)

struct heap {
	const int64_t *key;	/* borrowed: key[i] of index i */
	int64_t absent;		/* a key of this value is not in the heap */
	size_t *v;		/* the heap, of indices */
	size_t *pos;		/* pos[i]: where i is in v, or HEAP_NONE */
	size_t n, cap;
};

/* For indices 0..n-1; every index whose key is not absent is put in. */
void heap_init(struct heap *h, const int64_t *key, size_t n, int64_t absent);
void heap_free(struct heap *h);
/* The key array moved and now holds n indices (n at least as many as
 * before); the new ones are absent. */
void heap_grow(struct heap *h, const int64_t *key, size_t n);
/* key[i] changed: move i to its place, take it out (absent) or put it in. */
void heap_update(struct heap *h, size_t i);
/* The index of the smallest key, or HEAP_NONE when empty. */
size_t heap_top(const struct heap *h);

#endif
