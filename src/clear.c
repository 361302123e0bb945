/* kvfence: `kvfence clear`: kvfence's own elements out of the kernel, and
 * the objects it created once empty. Ownership comes from the engine's
 * reading of the kernel (elem.owned), host sets and range sets alike:
 * the one place that decides what kvfence wrote, from the record in the
 * state file. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "kvfence.h"
#include "clear.h"
#include "log.h"
#include "nftbatch.h"
#include "nftcommit.h"
#include "nftread.h"
#include "engine.h"
#include "state.h"
#include "util.h"

int clear_lock_state(const char *state_file, int *fd, char *pid, size_t pidlen)
{
	char *path = xasprintf("%s.lock", state_file);
	ssize_t n;

	pid[0] = '\0';
	*fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (*fd < 0)
		return errno == ENOENT ? 0 : -errno;	/* no agent ever ran */
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	n = pread(*fd, pid, pidlen - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	close(*fd);
	*fd = -1;
	return -EAGAIN;
}

static void owned_elems(const struct elem_list *kernel, struct elem_list *out, size_t *kept)
{
	size_t i;

	for (i = 0; i < kernel->n; i++) {
		if (kernel->v[i].owned)
			elem_list_push(out, &kernel->v[i]);
		else
			++*kept;
	}
}

/* What a set loses and keeps, for the log and for emptiness. */
struct set_plan {
	struct engine_set *s;
	const struct setref *ref;
	size_t removed, kept;
	bool exists, deleted;
};

static void plan_print(const struct set_plan *p, bool dry_run)
{
	log_info("clear: set=%s %s=%zu kept=%zu%s%s", p->ref->name,
		 dry_run ? "would-remove" : "removed", p->removed, p->kept,
		 p->exists ? "" : " (no such set)",
		 p->deleted ? (dry_run ? ", would delete the set" : ", set deleted") : "");
}

static void queue_set(struct engine_set *s, struct nftbatch *b, struct set_plan *p)
{
	struct elem_list del = { 0 };

	memset(p, 0, sizeof(*p));
	p->s = s;
	p->ref = &s->ref;
	p->exists = s->exists && !s->broken;
	if (!p->exists)
		return;
	owned_elems(&s->kernel, &del, &p->kept);
	p->removed = del.n;
	nftbatch_del_elems(b, &s->ref, s->key, del.v, del.n);
	elem_list_free(&del);
}

/* Every configured set, host sets and range sets, and every set only
 * the record names (orphans). Returns the number of plans filled. */
static size_t queue_elems(struct engine *e, struct nftbatch *b, struct set_plan *plans)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_sets; i++)
		queue_set(&e->sets[i], b, &plans[n++]);
	for (i = 0; i < e->n_orphans; i++)
		queue_set(&e->orphans[i], b, &plans[n++]);
	return n;
}

/* Created by kvfence (the record says so) and empty once ours are out. */
static bool deletable(const struct set_plan *p)
{
	return p->exists && p->kept == 0 && p->s->created;
}

/* The table goes instead of its sets when kvfence created it and it
 * holds nothing but the sets about to go (no chain, no other set). */
static bool table_deletable(struct engine *e, const struct set_plan *plans, size_t n,
			    const struct setref *t, size_t *count)
{
	bool created = false;
	unsigned use;
	size_t i;

	*count = 0;
	for (i = 0; i < n; i++) {
		if (plans[i].ref->family != t->family ||
		    strcmp(plans[i].ref->table, t->table) != 0)
			continue;
		created |= plans[i].s->table_created;
		*count += deletable(&plans[i]);
	}
	return created && *count &&
	       nftread_table_use(e->nft, t->family, t->table, &use) == 0 && use == *count;
}

static int commit(struct engine *e, struct nftbatch *b, bool dry_run, char *err, size_t errlen)
{
	int r = dry_run ? 0 : nftcommit_batch(e->nft, b, err, errlen);

	nftbatch_free(b);
	return r;
}

static void mark_table_deleted(struct set_plan *plans, size_t n, const struct setref *t)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (deletable(&plans[j]) && plans[j].ref->family == t->family &&
		    strcmp(plans[j].ref->table, t->table) == 0)
			plans[j].deleted = true;
}

/* After the elements: sets kvfence created, now empty, one transaction
 * each (a set a rule still refers to is refused by the kernel and stays;
 * the others go); or their table, when kvfence created it and it holds
 * nothing else. */
static void delete_objects(struct engine *e, struct set_plan *plans, size_t n, bool dry_run,
			   struct clear_stats *st)
{
	struct nftbatch *b;
	char err[KVF_ERRLEN];
	size_t i, count;

	for (i = 0; i < n; i++) {
		if (!deletable(&plans[i]) || plans[i].deleted)
			continue;
		b = nftbatch_new();
		if (table_deletable(e, plans, n, plans[i].ref, &count)) {
			nftbatch_del_table(b, plans[i].ref->family, plans[i].ref->table);
			if (commit(e, b, dry_run, err, sizeof(err)) < 0) {
				log_warnx("clear: %s; it stays", err);
				continue;
			}
			mark_table_deleted(plans, n, plans[i].ref);
			st->table_deleted = true;
			st->sets_deleted += count;
			continue;
		}
		nftbatch_del_set(b, plans[i].ref);
		if (commit(e, b, dry_run, err, sizeof(err)) < 0) {
			log_warnx("clear: %s; it stays (a rule still uses it?)", err);
			continue;
		}
		plans[i].deleted = true;
		st->sets_deleted++;
	}
}

/* Nothing of ours is left in the kernel: the record says so. A set
 * deleted is no longer one kvfence created. */
static void forget_written(struct engine *e, const struct set_plan *plans, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		elem_list_clear(&plans[i].s->record);
		if (plans[i].deleted)
			plans[i].s->created = plans[i].s->table_created = false;
	}
}

static int clear_engine(struct engine *e, bool dry_run, struct clear_stats *st,
			char *err, size_t errlen)
{
	struct set_plan *plans = xcalloc(e->n_sets + e->n_orphans + 1,
					 sizeof(*plans));
	struct nftbatch *b = nftbatch_new();
	size_t i, n;
	int r;

	n = queue_elems(e, b, plans);
	r = commit(e, b, dry_run, err, errlen);
	if (r < 0)
		goto out;
	delete_objects(e, plans, n, dry_run, st);
	for (i = 0; i < n; i++) {
		plan_print(&plans[i], dry_run);
		st->removed += plans[i].removed;
		st->kept += plans[i].kept;
	}
	if (!dry_run)
		forget_written(e, plans, n);
out:
	free(plans);
	return r;
}

/* The record of what kvfence wrote (and created), and the hosts, kept
 * for the next start. 1: a state file was read, 0: none (nothing in
 * the host sets counts as kvfence's), -1: unusable (the same, and it is
 * left for the administrator). */
static int load_record(struct engine *e, const struct config *cfg)
{
	struct state_loaded sl;
	char err[KVF_ERRLEN];
	int r;

	r = state_load(cfg->state_file, &e->eps, e->hs, state_clock_now(), cfg->grace, &sl,
		       err, sizeof(err));
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warnx("clear: state file unusable: %s; nothing in the sets counts as "
			  "kvfence's", err);
		return -1;
	}
	if (sl.has_record)
		engine_load_record(e, &sl.record);
	else
		engine_record_from_hosts(e);
	state_loaded_free(&sl);
	return 1;
}

static void save_record(struct engine *e)
{
	struct state_set_view *views;
	size_t n = engine_record_views(e, &views);
	int r = state_save(e->cfg->state_file, &e->eps, e->hs, views, n, state_clock_now(), true);

	if (r < 0)
		log_warnx("clear: state file %s: %s", e->cfg->state_file, strerror(-r));
	free(views);
}

int clear_run(const struct config *cfg, struct nlsock *nft, bool dry_run,
	      struct clear_stats *st, char *err, size_t errlen)
{
	/* A missing set is nothing to clear, whatever create-sets says. */
	struct config c = *cfg;
	struct engine e;
	int r, loaded;

	memset(st, 0, sizeof(*st));
	c.create_sets = true;
	/* The range sets too when service-tags is no longer configured:
	 * their record is then that of configured sets, and a state file
	 * from before range records still has the comment prefix claimed
	 * (engine_load_record). Only the count is read for that
	 * (engine_init). */
	if (c.n_tagsets == 0)
		c.n_tagsets = 1;
	engine_init(&e, &c, nft);
	loaded = load_record(&e, &c);
	r = engine_read_kernel(&e, INT64_MIN, err, errlen);
	if (r == -EPROTOTYPE) {
		/* Not a set kvfence could have written: left alone. */
		log_warnx("%s; that set is left alone", err);
		r = 0;
	}
	if (r == 0)
		r = clear_engine(&e, dry_run, st, err, errlen);
	if (r == 0 && !dry_run && loaded == 1)
		save_record(&e);
	engine_fini(&e);
	return r;
}
