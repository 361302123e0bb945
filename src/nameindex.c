/* kvfence: an index of names kept in the caller's array (see nameindex.h).
 * glibc's hsearch_r hashes only a name's first eight characters and its
 * length: 10,000 hosts named "contoso-...", one table chain, took 0.4 s
 * to read. FNV-1a mixes every byte. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "nameindex.h"
#include "util.h"

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
