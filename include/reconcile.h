/* kvfence: the reconcile engine shared by `sync` and `run`: the hosts of
 * the config, what kvfence holds for each, and the kernel sets it keeps
 * equal to that. */
#ifndef KVF_RECONCILE_H
#define KVF_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "catalogue.h"
#include "config.h"
#include "desired.h"
#include "elem.h"
#include "nftset.h"
#include "rangeset.h"
#include "result.h"

#define ENGINE_MAX_SETS 2

struct engine_set {
	struct setref ref;
	enum set_keytype key;
	bool exists;		/* in the kernel, as last seen */
	bool broken;		/* exists with a type kvfence cannot fill */
	struct elem_list kernel;	/* as last read */
	size_t size;		/* elements after the last reconcile */
};

/* Rejected addresses already logged for a host: each is logged once. */
struct logged_rejects {
	struct kvf_addr *v;
	size_t n;
};

struct engine {
	const struct config *cfg;
	struct endpoint_list eps;
	struct host_state *hs;		/* parallel to eps.v */
	struct logged_rejects *logged;	/* parallel to eps.v */
	struct engine_set sets[ENGINE_MAX_SETS];
	size_t n_sets;
	struct nftset_ctx *nft;		/* borrowed */
	bool log_unchanged;		/* a set=... line even when nothing changed */
	/* Hosts dropped from the config by a reload: their elements are
	 * still ours to remove. Cleared by a successful reconcile. */
	char **retired;
	size_t n_retired;
	struct range_sets ranges;	/* range mode (service-tags) */
};

struct reconcile_stats {
	size_t added, removed;		/* host set elements */
	size_t ranges;			/* range set changes */
	size_t messages;		/* netlink messages of the batch */
};

void engine_init(struct engine *e, const struct config *cfg, struct nftset_ctx *nft);
void engine_fini(struct engine *e);

/* Move what old holds into e (a freshly initialised engine for a new
 * config): the state of every host both know, and the names only old
 * knows as retired. */
void engine_adopt(struct engine *e, struct engine *old);

/* Read every set's type and elements from the kernel. A missing table or
 * set is fine when create-sets is on (it will be created with the
 * default concatenated type); otherwise -ENOENT. A set of a type kvfence
 * cannot fill is marked broken and left alone while the others are read:
 * -EPROTOTYPE then, after everything else. Elements whose comment
 * names one of our hosts are marked owned and, if seed_at is not
 * INT64_MIN, seeded into that host's state as last seen at seed_at.
 * Returns 0 or -errno with err filled. */
int engine_read_kernel(struct engine *e, int64_t seed_at, char *err, size_t errlen);

/* Filter a resolution of host i and fold it into its state; logs each
 * rejected address and the cap. Returns addresses added plus removed. */
size_t engine_apply_result(struct engine *e, size_t i, const struct host_result *res,
			   int64_t now);

/* Fold the answer a client got through the DNS proxy for host i (one
 * family, status st) into its state: the same filter, cap and logging
 * as engine_apply_result, then desired_update_family (which leaves the
 * polling state alone). *in_kernel tells whether every accepted address
 * is already in the sets as last written or read: if not, the answer
 * must wait for a reconcile. Returns addresses added plus removed. */
size_t engine_apply_proxied(struct engine *e, size_t i, int family, enum resolve_status st,
			    const struct host_result *res, int64_t now, bool *in_kernel);

/* Write the difference between the desired elements and the kernel
 * elements last read, for all sets, in one batch (creating a missing
 * table and sets). dry_run prints the plan instead. Logs one line per
 * set. 0 or -errno with err filled; the kernel is then unchanged. */
int engine_reconcile(struct engine *e, bool dry_run, struct reconcile_stats *st,
		     char *err, size_t errlen);

#endif
