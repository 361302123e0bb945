/* kvfence: desired versus kernel. Both lists are sorted by key, so one
 * merge walk finds what to add and what to delete: O(n), no allocation
 * per element beyond the output arrays. */
#include "autoconfig.h"

#include "diff.h"

void diff_compute(const struct elem_list *desired, const struct elem_list *kernel,
		  struct elem_list *add, struct elem_list *del)
{
	size_t i = 0, j = 0;

	while (i < desired->n || j < kernel->n) {
		int c;

		if (i == desired->n)
			c = 1;
		else if (j == kernel->n)
			c = -1;
		else
			c = elem_key_cmp(&desired->v[i], &kernel->v[j]);
		if (c < 0) {
			elem_list_push(add, &desired->v[i++]);
		} else if (c > 0) {
			/* Only our own elements leave: an element the
			 * administrator added stays, whatever DNS says. */
			if (kernel->v[j].owned)
				elem_list_push(del, &kernel->v[j]);
			j++;
		} else {
			i++;
			j++;
		}
	}
}
