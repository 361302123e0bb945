/* kvfence: `kvfence clear`: kvfence's own elements out of the kernel, and
 * the objects it created once empty. Ownership comes from the engine's
 * reading of the kernel (elem.owned, range.owned): the one place that
 * decides what kvfence wrote. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "clear.h"
#include "log.h"
#include "reconcile.h"
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

/* Whether kvfence created this set (or, name NULL, the table). Until
 * the state file records what kvfence created, nothing counts as
 * created: sets and table stay, emptied of kvfence's elements. */
static bool created_by_us(const struct engine *e, const char *name)
{
	(void)e;
	(void)name;
	return false;
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

static void owned_ranges(const struct range_list *kernel, struct range_list *out,
			 size_t *kept)
{
	size_t i;

	for (i = 0; i < kernel->n; i++) {
		if (kernel->v[i].owned)
			range_list_push(out, &kernel->v[i]);
		else
			++*kept;
	}
}

/* What a set loses and keeps, for the log and for emptiness. */
struct set_plan {
	const struct setref *ref;
	size_t removed, kept;
	bool exists;
};

static void plan_print(const struct set_plan *p, bool dry_run)
{
	log_info("clear: set=%s %sremoved=%zu kept=%zu%s", p->ref->name,
		 dry_run ? "would-be-" : "", p->removed, p->kept,
		 p->exists ? "" : " (no such set)");
}

static size_t queue_elems(struct engine *e, struct nftset_batch *b, struct set_plan *plans)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_sets; i++) {
		struct engine_set *s = &e->sets[i];
		struct elem_list del = { 0 };
		struct set_plan *p = &plans[n++];

		memset(p, 0, sizeof(*p));
		p->ref = &s->ref;
		p->exists = s->exists && !s->broken;
		if (!p->exists)
			continue;
		owned_elems(&s->kernel, &del, &p->kept);
		p->removed = del.n;
		nftset_batch_del_elems(b, &s->ref, s->key, del.v, del.n);
		elem_list_free(&del);
	}
	for (i = 0; i < e->ranges.n; i++) {
		struct range_set *s = &e->ranges.v[i];
		struct range_list del = { 0 };
		struct set_plan *p = &plans[n++];

		memset(p, 0, sizeof(*p));
		p->ref = &s->ref;
		p->exists = s->exists;
		if (!p->exists)
			continue;
		owned_ranges(&s->kernel, &del, &p->kept);
		p->removed = del.n;
		nftset_batch_del_ranges(b, &s->ref, s->family, del.v, del.n);
		range_list_free(&del);
	}
	return n;
}

/* The second batch: created sets now empty; the whole table instead
 * when kvfence created it and it holds nothing but those sets. */
static int queue_objects(struct engine *e, struct nftset_batch *b, const struct set_plan *plans,
			 size_t n, struct clear_stats *st)
{
	unsigned use;
	size_t i, empty = 0;
	int r;

	for (i = 0; i < n; i++)
		if (plans[i].exists && plans[i].kept == 0 && created_by_us(e, plans[i].ref->name))
			empty++;
	if (empty == 0)
		return 0;
	if (created_by_us(e, NULL)) {
		r = nftset_table_use(e->nft, e->cfg->table_family, e->cfg->table, &use);
		if (r < 0)
			return r;
		if (use == empty) {
			nftset_batch_del_table(b, e->cfg->table_family, e->cfg->table);
			st->sets_deleted = empty;
			st->table_deleted = true;
			return 0;
		}
	}
	for (i = 0; i < n; i++)
		if (plans[i].exists && plans[i].kept == 0 && created_by_us(e, plans[i].ref->name)) {
			nftset_batch_del_set(b, plans[i].ref);
			st->sets_deleted++;
		}
	return 0;
}

static int commit(struct nftset_batch *b, bool dry_run, char *err, size_t errlen)
{
	int r = dry_run ? 0 : nftset_batch_commit(b, err, errlen);

	nftset_batch_free(b);
	return r;
}

static int clear_engine(struct engine *e, bool dry_run, struct clear_stats *st,
			char *err, size_t errlen)
{
	struct set_plan plans[ENGINE_MAX_SETS + 2];
	struct nftset_batch *b = nftset_batch_new(e->nft);
	size_t i, n;
	int r;

	n = queue_elems(e, b, plans);
	r = commit(b, dry_run, err, errlen);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		plan_print(&plans[i], dry_run);
		st->removed += plans[i].removed;
		st->kept += plans[i].kept;
	}
	b = nftset_batch_new(e->nft);
	r = queue_objects(e, b, plans, n, st);
	if (r < 0) {
		nftset_batch_free(b);
		snprintf(err, errlen, "table %s: %s", e->cfg->table, strerror(-r));
		return r;
	}
	return commit(b, dry_run, err, errlen);
}

int clear_run(const struct config *cfg, struct nftset_ctx *nft, bool dry_run,
	      struct clear_stats *st, char *err, size_t errlen)
{
	/* A missing set is nothing to clear, whatever create-sets says. */
	struct config c = *cfg;
	struct engine e;
	int r;

	memset(st, 0, sizeof(*st));
	c.create_sets = true;
	/* The range sets too when service-tags is no longer configured:
	 * their elements are told apart by their comment prefix. Only the
	 * count is read for that (rangesets_init). */
	if (c.n_tagsets == 0)
		c.n_tagsets = 1;
	engine_init(&e, &c, nft);
	r = engine_read_kernel(&e, INT64_MIN, err, errlen);
	if (r == -EPROTOTYPE) {
		/* Not a set kvfence could have written: left alone. */
		log_warnx("%s; that set is left alone", err);
		r = 0;
	}
	if (r == 0)
		r = clear_engine(&e, dry_run, st, err, errlen);
	engine_fini(&e);
	return r;
}
