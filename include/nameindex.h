/* kvfence: an index of names kept in the caller's array (the catalogue's
 * endpoints, the config's hosts): open addressing on 4-byte slots, a hash
 * of 8 bytes at a time and linear probing, at most two thirds full. A slot holds an element's
 * index + 1, 0 when free. The array is of elements of `stride` bytes whose
 * first member is the name (a char *); it is passed at each call, as it
 * may move between calls. Pure. */
#ifndef KVF_NAMEINDEX_H
#define KVF_NAMEINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct name_index {
	uint32_t *slot;		/* NULL: no room reserved yet */
	size_t mask;		/* slots - 1, a power of two */
	size_t n;		/* names entered */
};

/* Room for names names in all (the ones entered are kept; the slots move
 * when they grow). Elements of v: see above. */
void name_index_reserve(struct name_index *ix, size_t names, const void *v, size_t stride);
void name_index_free(struct name_index *ix);

/* Enter element i, whose name is not in the index yet, with room for
 * ix->n + 1 names reserved. */
void name_index_add(struct name_index *ix, size_t i, const void *v, size_t stride);

/* The name of element i. */
static inline const char *name_index_name(const void *v, size_t stride, uint32_t i)
{
	return *(char *const *)(const void *)((const char *)v + (size_t)i * stride);
}

/* A name's hash, every byte of it mixed into the low bits. */
uint32_t name_index_hash(const char *name);

static inline size_t name_index_home(const struct name_index *ix, const char *name)
{
	return name_index_hash(name) & ix->mask;
}

/* The slot of name, in an index with room reserved: *slot - 1 is the
 * index of the element of that name, or *slot is 0 where it goes. To
 * enter element i there (with room for ix->n + 1 names reserved before
 * the look-up): *slot = i + 1, ix->n++. Inline: the look-ups of an agent
 * (40k in a 10k-host cold sync) see a constant stride. */
static inline uint32_t *name_index_slot(const struct name_index *ix, const char *name,
					const void *v, size_t stride)
{
	size_t s;

	for (s = name_index_home(ix, name); ix->slot[s]; s = (s + 1) & ix->mask)
		if (strcmp(name_index_name(v, stride, ix->slot[s] - 1), name) == 0)
			break;
	return &ix->slot[s];
}

#endif
