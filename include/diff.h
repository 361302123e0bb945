/* kvfence: the difference between the elements kvfence wants in a set and
 * those the kernel holds. Pure: sorts and walks, O(n log n). */
#ifndef KVF_DIFF_H
#define KVF_DIFF_H

#include "elem.h"

/* desired must be sorted (elem_list_sort); it may hold one entry per
 * host for a key that several hosts share. kernel must be sorted unique.
 * add receives desired elements the kernel lacks; del receives kernel
 * elements that are owned (elem.owned) and no longer desired. An owned
 * element whose comment names no host that still wants it lands in both
 * (renamed in one batch). Elements the administrator added (not owned)
 * are never deleted. Pointers in add/del borrow comments from the
 * inputs. */
void diff_compute(const struct elem_list *desired, const struct elem_list *kernel,
		  struct elem_list *add, struct elem_list *del);

/* The same for an interval set's ranges: a range whose bounds both sides
 * hold stays as it is, whatever either comment says (the comment names
 * the tag and the file's changeNumber: rewriting every range for each
 * weekly file would turn a two-prefix change into thousands of writes).
 * A desired range that overlaps a kernel range not owned (the kernel
 * would refuse it) goes to held instead of add. */
void diff_compute_ranges(const struct elem_list *desired, const struct elem_list *kernel,
			 struct elem_list *add, struct elem_list *del, struct elem_list *held);

#endif
