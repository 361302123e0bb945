/* kvfence: the state file: per host the addresses held and when each was
 * last seen, so that a restart or a boot fills the sets before DNS is up;
 * and, per set, the elements kvfence wrote there: the record that makes an
 * element kvfence's to remove. Written atomically (temporary file, fsync,
 * rename). */
#ifndef KVF_STATE_H
#define KVF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "catalogue.h"
#include "desired.h"
#include "elem.h"
#include "nftcodec.h"

/* Both clocks at one instant: the wall clock (time(), only to carry ages
 * across a reboot) and kvfence's clock (clock_now(), in which host states
 * keep their times). */
struct state_clock {
	int64_t wall;
	int64_t mono;
};

/* kvfence's clock: CLOCK_BOOTTIME seconds. It does not step with the
 * wall clock (NTP, a snapshot restore) and it counts a suspend, which is
 * real time in which an address went unconfirmed. */
int64_t clock_now(void);
struct state_clock state_clock_now(void);

/* "Seen long ago" on kvfence's clock, for elements found in the kernel
 * with no history: any definite answer replaces them. */
#define KVF_LONG_AGO	(INT64_C(100) * 365 * 86400)

/* A wall time before this (2025-01-01) is not a time kvfence wrote: an
 * unset real-time clock, or a damaged file. */
#define STATE_PLAUSIBLE_WALL	INT64_C(1735689600)

/* What kvfence wrote into one set. */
struct owned_set {
	int family;			/* NFPROTO_* */
	char *table, *name;		/* owned */
	/* A range set's record: elems are ranges (elem.hi set), each with
	 * its comment. Files from before range records have none, and
	 * leave the range sets without a record. */
	bool ranges;
	struct elem_list elems;		/* sorted by key; comment: its host or tag */
	/* kvfence created the set (and, table_created, its table in the
	 * same transaction): kvfence clear may delete it once empty. */
	bool created, table_created;
};

struct state_record {
	struct owned_set *v;
	size_t n;
	/* Written by a kvfence that records its ranges: a range set the
	 * record does not name holds none of kvfence's. Without it, such a
	 * set claims its ranges commented "servicetag " (engine.h). */
	bool ranges_recorded;
};

/* One set's record, as the engine hands it to state_save. */
struct state_set_view {
	const struct setref *ref;
	const struct elem_list *elems;	/* the record: key and host name (or tag) */
	bool created, table_created;	/* see struct owned_set */
	bool ranges;			/* see struct owned_set */
};

/* Write hs[i] for eps->v[i], i < eps->n, and the sets' records to path.
 * Times are written as wall-clock seconds (converted from kvfence's
 * clock at now). durable: fsync it (and the directory); without, the file
 * survives a crash of kvfence but perhaps not of the machine, which the
 * kernel's sets do not survive either: enough for the write-ahead of the
 * record before a batch, which must not cost an fsync per new address.
 * 0 or -errno. */
int state_save(const char *path, const struct endpoint_list *eps,
	       const struct host_state *hs, const struct state_set_view *sets,
	       size_t n_sets, struct state_clock now, bool durable);

struct state_loaded {
	int version;			/* of the file: 1 or 2 */
	bool has_record;		/* v2: the per-set record was read */
	struct state_record record;
	/* Set when the wall clock or the file's time is implausible (the
	 * file from the future, a clock before 2025): ages were then taken
	 * as they were when the file was written. For the caller to log. */
	char clock_note[256];
};

/* Load path: seed hs[i] for each host of eps found in the file with its
 * history (last seen, named by the latest answer or not), converted to
 * kvfence's clock; fill out->record. Addresses the host's latest definite
 * answer no longer named and older than grace are dropped, as a running
 * agent would have dropped them; those it named are kept whatever their
 * age (fail-static: only an answer ages them out; max-stale, the address
 * filter and the cap are applied by the caller). Hosts in the file but not
 * in eps are ignored. hs NULL: only the record is loaded. A damaged file seeds nothing. 0; -ENOENT (no file:
 * a first start); -EINVAL with err naming file:line (damage, a directory,
 * not a kvfence state file); other -errno (unreadable) with err. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, struct state_clock now, unsigned grace,
	       struct state_loaded *out, char *err, size_t errlen);
void state_loaded_free(struct state_loaded *l);
void state_record_free(struct state_record *r);

/* Keep a state file kvfence cannot use for the administrator: rename it
 * to path.bad-YYYYmmddTHHMMSSZ (UTC, at wall). newpath gets the name.
 * 0 or -errno. */
int state_set_aside(const char *path, int64_t wall, char *newpath, size_t len);

#endif
