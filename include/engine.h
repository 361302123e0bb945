/* kvfence: the engine shared by `sync`, `run` and `clear`: the hosts of
 * the config, what kvfence holds for each, and the kernel sets it keeps
 * equal to that.
 *
 * Every managed set is one struct engine_set, whatever its kind: a host
 * set (elements: an address and port per host, from DNS) or a range set
 * (an interval set of the Service Tags' prefixes). Both are read, owned,
 * diffed, written and logged by one path; the kind decides only the key
 * (ranges: one address type, elements with a range end), the interval
 * flag at creation, and what is desired (the hosts' addresses, or the
 * merged ranges). Ownership is the same for both: an element is
 * kvfence's when its record (kept in the state file, written ahead of
 * the batch that adds to it) holds its key with the comment it carries.
 * A comment alone proves nothing: an administrator can write "servicetag
 * AzureKeyVault" or a host's name as well as kvfence can. */
#ifndef KVF_ENGINE_H
#define KVF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addrfilter.h"
#include "catalogue.h"
#include "config.h"
#include "desired.h"
#include "elem.h"
#include "nftcodec.h"
#include "nlsock.h"
#include "result.h"
#include "servicetags.h"
#include "state.h"

/* kvfence4, kvfence6, kvfence4r, kvfence6r */
#define ENGINE_MAX_SETS 4

enum engine_kind {
	ENGINE_ELEMS,		/* a host set: address (and port) per element */
	ENGINE_RANGES,		/* a range set: flags interval, Service Tags ranges */
};

struct engine_set {
	struct setref ref;
	enum engine_kind kind;
	enum set_keytype key;	/* ranges: KEY_IPV4 or KEY_IPV6 */
	bool exists;		/* in the kernel, as last seen */
	bool broken;		/* exists with a type kvfence cannot fill */
	struct elem_list kernel;	/* as last read or written */
	size_t size;		/* elements as last read or written */
	/* What kvfence wrote here and may remove: keys, comment = the host
	 * (ranges: the tag) written for. A kernel element is kvfence's only
	 * if the record holds its key with the comment it carries. Kept in
	 * the state file, written there before a batch adds what it lacks. */
	struct elem_list record;
	/* A range set whose record the state file did not keep (written
	 * before range sets had one): at its first read, the ranges with
	 * kvfence's comment prefix are claimed, once, as then they were
	 * owned; from then on the record alone decides. */
	bool claim_tagged;
	/* Ranges held back at the last reconcile (they overlap a range not
	 * kvfence's), keys only: each is logged once while it stays so,
	 * across a reload too (engine_adopt carries it). */
	struct elem_list held;
	/* A set only the record names (the config moved to another table
	 * or set): kvfence's elements leave it, the set stays. */
	bool orphan;
	char *own_table, *own_name;	/* an orphan's names */
	/* kvfence created the set (table_created: and the table, in the
	 * same transaction); kept with the record, for kvfence clear. */
	bool created, table_created;
};

/* Rejected addresses already logged for a host: each is logged once. */
struct logged_rejects {
	struct kvf_addr *v;
	size_t n;
};

/* Monotonic counters for the metrics: carried over by engine_adopt, so a
 * reload (SIGHUP) never lowers them; a restart starts them at 0. */
struct engine_counters {
	uint64_t added, removed;	/* elements written, host and range sets */
	uint64_t rejected[ADDR_CLASS_MAX + 1];	/* answered addresses, by class */
	uint64_t capped;		/* over max-addresses-per-host */
	uint64_t ranges_held;		/* ranges held back (overlap one not ours) */
};

/* A Private Link host's latest definite answer: the public addresses it
 * named, all refused (kvfence.conf(5), vault ... private). */
struct public_answer {
	struct kvf_addr *v;
	size_t n;
};

/* What the engine keeps of a host's answers beside its state: one record
 * per host. (The state itself stays an array of its own, hs: the state
 * file and the desired elements take it as one.) */
struct engine_host {
	struct logged_rejects logged;
	struct public_answer pl_public;
};

struct engine {
	const struct config *cfg;
	struct endpoint_list eps;
	struct host_state *hs;		/* parallel to eps.v */
	struct engine_host *hosts;	/* parallel to eps.v */
	struct engine_set sets[ENGINE_MAX_SETS];
	size_t n_sets;
	struct nlsock *nft;		/* borrowed */
	bool log_unchanged;		/* a set=... line even when nothing changed */
	struct engine_set *orphans;	/* sets the record names, no longer configured */
	size_t n_orphans;
	/* Called before a batch that adds elements the saved record lacks,
	 * so that a crash after the commit cannot leave an element of ours
	 * that the next start takes for an administrator's. */
	void (*persist)(void *arg);
	bool record_changed;	/* since the caller last cleared it */
	void *persist_arg;
	/* Range mode: the merged ranges the range sets hold. NULL: none
	 * loaded (none configured, or the files are bad): the range sets
	 * are then left exactly as they are. Borrowed. */
	const struct servicetags *tags;
	struct engine_counters counters;
};

struct reconcile_stats {
	size_t added, removed;		/* host set elements */
	size_t ranges;			/* range set changes */
	size_t messages;		/* netlink messages of the batch */
};

void engine_init(struct engine *e, const struct config *cfg, struct nlsock *nft);
void engine_fini(struct engine *e);

/* Move what old holds into e (a freshly initialised engine for a new
 * config): the state of every host both know, and the record of every
 * set (a set the new config no longer names becomes an orphan, from
 * which kvfence's elements are removed), with the ranges it holds back.
 * Held addresses pass the new config's filter and cap. */
void engine_adopt(struct engine *e, struct engine *old);

/* Take the record state_load read against e->eps: its element lists
 * move into the engine (rec is left with empty ones). */
void engine_load_record(struct engine *e, struct state_record *rec);

/* A state file without a record (version 1, before records): claim, in
 * the configured host sets, exactly the elements the file's hosts held:
 * their addresses with their ports (or none, in a plain set), commented
 * with the host; in the range sets, the ranges with kvfence's comment
 * prefix (claim_tagged). engine_load_record does the latter for a range
 * set the record does not name, in a file from before range records
 * (without rec->ranges_recorded) only. */
void engine_record_from_hosts(struct engine *e);

/* Elements of the sets of a kind, as last read or written. */
size_t engine_size(const struct engine *e, enum engine_kind kind);

/* The record of every set, for state_save; *out is allocated. */
size_t engine_record_views(const struct engine *e, struct state_set_view **out);

/* Pass every held address through the address filter and the cap, as
 * an answer would (the state file, the kernel, a reload are no less
 * untrusted); logs each rejection once. Returns how many were dropped. */
size_t engine_filter_held(struct engine *e);

/* Read every set's type and elements from the kernel (a range set: flag
 * interval and a plain address key). A missing table or
 * set is fine when create-sets is on (it will be created with the
 * default concatenated type); otherwise -ENOENT. A set of a type kvfence
 * cannot fill is marked broken and left alone while the others are read:
 * -EPROTOTYPE then, after everything else. Elements the record holds
 * (key and comment) are marked owned and, if seed_at is not INT64_MIN,
 * those of a configured host seeded into its state as last seen at
 * seed_at; elements that carry a configured host's name but are not in
 * the record are counted and, at seed time, logged. Orphan sets are read
 * for kvfence's elements; one that is gone is forgotten.
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
 * table and sets). dry_run prints the plan instead (ranges it would hold
 * back included) and changes nothing, counters included. Logs one line per
 * set. 0 or -errno with err filled; the kernel is then unchanged. */
int engine_reconcile(struct engine *e, bool dry_run, struct reconcile_stats *st,
		     char *err, size_t errlen);

#endif
