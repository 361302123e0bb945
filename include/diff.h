/* kvfence: the difference between the elements kvfence wants in a set and
 * those the kernel holds. Pure: sorts and walks, O(n log n). */
#ifndef KVF_DIFF_H
#define KVF_DIFF_H

#include "elem.h"

/* Whether the host an element's comment names still wants its key,
 * though no entry of the desired list says so (the list holds a shared
 * key once, with one host's comment). */
struct diff_wants {
	bool (*wants)(void *ctx, const struct elem *kernel_elem);
	void *ctx;
};

/* desired must be sorted (elem_list_sort); it may hold one entry per
 * host for a key that several hosts share. kernel must be sorted unique.
 * add receives desired elements the kernel lacks; del receives kernel
 * elements that are owned (elem.owned) and no longer desired. An owned
 * element whose comment names no host that still wants it (no entry of
 * desired with that comment, and w, if given, says no) lands in both
 * (renamed in one batch). Elements the administrator added (not owned)
 * are never deleted. Pointers in add/del borrow comments from the
 * inputs. */
void diff_compute(const struct elem_list *desired, const struct elem_list *kernel,
		  struct elem_list *add, struct elem_list *del, const struct diff_wants *w);

/* The same for an interval set's ranges: a range whose bounds both sides
 * hold stays as it is, whatever either comment says (the comment names
 * the tag and the file's changeNumber: rewriting every range for each
 * weekly file would turn a two-prefix change into thousands of writes).
 * A desired range that overlaps a kernel range not owned (the kernel
 * would refuse it) goes to held instead of add. */
void diff_compute_ranges(const struct elem_list *desired, const struct elem_list *kernel,
			 struct elem_list *add, struct elem_list *del, struct elem_list *held);

#endif
