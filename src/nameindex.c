/* kvfence: an index of names kept in the caller's array (see nameindex.h).
 * glibc's hsearch_r hashes only a name's first eight characters and its
 * length: 10,000 hosts named "contoso-...", one table chain, took 0.4 s
 * to read. This hash mixes every byte. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "nameindex.h"
#include "util.h"

/* 8 bytes at a time, each word multiplied in and folded, the last word
 * read as the name's last 8 bytes (overlapping the one before), then
 * MurmurHash3's finaliser, so that the low bits (the slot) depend on
 * every byte. FNV-1a took 6 instructions a byte, 150 for a vault's name,
 * in 50k look-ups of a 10k-host cold sync; this takes about 50. Not for
 * names an outsider may choose to collide: only the config's names are
 * entered. */
uint32_t name_index_hash(const char *name)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	size_t len = strlen(name), i;
	uint64_t h = len * k, w = 0;

	if (len < 8) {
		for (i = 0; i < len; i++)
			w |= (uint64_t)(unsigned char)name[i] << (8 * i);
	} else {
		for (i = 0; i + 8 < len; i += 8) {
			memcpy(&w, name + i, 8);
			h = (h ^ w) * k;
			h ^= h >> 32;
		}
		memcpy(&w, name + len - 8, 8);
	}
	h = (h ^ w) * k;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Enter value at the first free slot from name's home. */
static void put(struct name_index *ix, const char *name, uint32_t value)
{
	size_t s;

	for (s = name_index_home(ix, name); ix->slot[s]; s = (s + 1) & ix->mask)
		;
	ix->slot[s] = value;
}

void name_index_reserve(struct name_index *ix, size_t names, const void *v, size_t stride)
{
	struct name_index old = *ix;
	size_t size = 16, i;

	if (ix->slot && names + names / 2 <= ix->mask + 1)
		return;
	while (size < names + names / 2)
		size *= 2;
	ix->slot = xcalloc(size, sizeof(*ix->slot));
	ix->mask = size - 1;
	/* The names are distinct: each takes the first free slot. */
	for (i = 0; old.slot && i <= old.mask; i++)
		if (old.slot[i])
			put(ix, name_index_name(v, stride, old.slot[i] - 1), old.slot[i]);
	free(old.slot);
}

void name_index_add(struct name_index *ix, size_t i, const void *v, size_t stride)
{
	put(ix, name_index_name(v, stride, (uint32_t)i), (uint32_t)(i + 1));
	ix->n++;
}

void name_index_free(struct name_index *ix)
{
	free(ix->slot);
	memset(ix, 0, sizeof(*ix));
}
