/* Unit tests of the index heap the agent keeps its due times in. */
#include "autoconfig.h"

#include <stdlib.h>

#include "heap.h"
#include "tap.h"
#include "util.h"

#define N 500
#define ABSENT INT64_MAX

/* The index of the smallest key by brute force, HEAP_NONE if all absent. */
static size_t brute_min(const int64_t *key, size_t n)
{
	size_t i, m = HEAP_NONE;

	for (i = 0; i < n; i++)
		if (key[i] != ABSENT && (m == HEAP_NONE || key[i] < key[m]))
			m = i;
	return m;
}

static void top_is_always_the_smallest_key_through_random_changes(void)
{
	int64_t key[N];
	struct heap h;
	size_t i, step, bad = 0;

	for (i = 0; i < N; i++)
		key[i] = tap_random() % 4 == 0 ? ABSENT : (int64_t)(tap_random() % 100000);
	heap_init(&h, key, N, ABSENT);
	for (step = 0; step < 20000; step++) {
		size_t top = heap_top(&h), m = brute_min(key, N);

		if ((top == HEAP_NONE) != (m == HEAP_NONE) ||
		    (top != HEAP_NONE && key[top] != key[m]))
			bad++;
		i = tap_random() % N;
		switch (tap_random() % 4) {
		case 0: key[i] = ABSENT; break;			/* in flight */
		case 1: key[i] = (int64_t)(tap_random() % 100000); break;
		case 2: key[i] = key[i] == ABSENT ? 0 : key[i] / 2; break;
		default: if (top != HEAP_NONE) { i = top; key[i] = ABSENT; } break;
		}
		heap_update(&h, i);
	}
	is_int(bad, 0, "the top is the smallest key after each of 20000 random changes");
	heap_free(&h);
}

static void popping_every_due_index_in_order_leaves_the_heap_empty(void)
{
	int64_t key[N];
	struct heap h;
	size_t i, popped = 0, top;
	int64_t last = -1;
	int ordered = 1;

	for (i = 0; i < N; i++)
		key[i] = (int64_t)(tap_random() % 1000);
	heap_init(&h, key, N, ABSENT);
	while ((top = heap_top(&h)) != HEAP_NONE) {
		ordered &= key[top] >= last;
		last = key[top];
		key[top] = ABSENT;
		heap_update(&h, top);
		popped++;
	}
	is_int(popped, N, "every index comes out once");
	ok(ordered, "in the order of their keys");
	heap_free(&h);
}

static void an_empty_heap_has_no_top(void)
{
	struct heap h;
	int64_t key[1] = { ABSENT };

	heap_init(&h, key, 0, ABSENT);
	ok(heap_top(&h) == HEAP_NONE, "no hosts: no top");
	heap_free(&h);
	heap_init(&h, key, 1, ABSENT);
	ok(heap_top(&h) == HEAP_NONE, "only absent keys: no top");
	key[0] = 7;
	heap_update(&h, 0);
	ok(heap_top(&h) == 0, "a key put in is the top");
	heap_free(&h);
}

static void a_grown_heap_keeps_its_order_and_takes_new_indices(void)
{
	int64_t *key = xcalloc(1, sizeof(*key));
	struct heap h;

	heap_init(&h, key, 0, ABSENT);	/* an empty start, as the loop's */
	key = xreallocarray(key, 2, sizeof(*key));
	heap_grow(&h, key, 2);
	key[0] = 50;
	key[1] = 20;
	heap_update(&h, 0);
	heap_update(&h, 1);
	key = xreallocarray(key, 600, sizeof(*key));
	heap_grow(&h, key, 600);
	key[599] = 10;
	heap_update(&h, 599);
	ok(heap_top(&h) == 599, "a new index with the smallest key is the top");
	key[599] = ABSENT;
	heap_update(&h, 599);
	ok(heap_top(&h) == 1, "the old ones kept their order");
	key[1] = ABSENT;
	heap_update(&h, 1);
	ok(heap_top(&h) == 0, "index 0 was in too");
	heap_free(&h);
	free(key);
}

int main(void)
{
	tap_seed(12345u);
	top_is_always_the_smallest_key_through_random_changes();
	popping_every_due_index_in_order_leaves_the_heap_empty();
	an_empty_heap_has_no_top();
	a_grown_heap_keeps_its_order_and_takes_new_indices();
	return done_testing();
}
