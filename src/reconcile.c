/* kvfence: the reconcile engine: kernel sets read, desired elements
 * computed from host states, the difference written in one batch. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrfilter.h"
#include "diff.h"
#include "log.h"
#include "reconcile.h"
#include "util.h"

static void add_set(struct engine *e, const char *name, enum set_keytype key)
{
	struct engine_set *s = &e->sets[e->n_sets++];

	memset(s, 0, sizeof(*s));
	s->ref.family = e->cfg->table_family;
	s->ref.table = e->cfg->table;
	s->ref.name = name;
	s->key = key;
}

void engine_init(struct engine *e, const struct config *cfg, struct nftset_ctx *nft)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->nft = nft;
	catalogue_build(cfg, &e->eps);
	e->hs = xcalloc(e->eps.n ? e->eps.n : 1, sizeof(*e->hs));
	e->logged = xcalloc(e->eps.n ? e->eps.n : 1, sizeof(*e->logged));
	if (cfg->set4)
		add_set(e, cfg->set4, KEY_IPV4_PORT);
	if (cfg->set6)
		add_set(e, cfg->set6, KEY_IPV6_PORT);
	rangesets_init(&e->ranges, cfg);
}

void engine_fini(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->eps.n; i++) {
		host_state_free(&e->hs[i]);
		free(e->logged[i].v);
	}
	free(e->hs);
	free(e->logged);
	for (i = 0; i < e->n_sets; i++)
		elem_list_free(&e->sets[i].kernel);
	catalogue_free(&e->eps);
	for (i = 0; i < e->n_retired; i++)
		free(e->retired[i]);
	free(e->retired);
	rangesets_fini(&e->ranges);
	memset(e, 0, sizeof(*e));
}

static void retire(struct engine *e, const char *name)
{
	e->retired = xreallocarray(e->retired, e->n_retired + 1, sizeof(*e->retired));
	e->retired[e->n_retired++] = xstrdup(name);
}

void engine_adopt(struct engine *e, struct engine *old)
{
	size_t i;

	for (i = 0; i < e->eps.n; i++) {
		long j = catalogue_find(&old->eps, e->eps.v[i].name);

		if (j >= 0) {
			e->hs[i] = old->hs[j];
			memset(&old->hs[j], 0, sizeof(old->hs[j]));
			e->logged[i] = old->logged[j];
			memset(&old->logged[j], 0, sizeof(old->logged[j]));
		}
	}
	for (i = 0; i < old->eps.n; i++)
		if (catalogue_find(&e->eps, old->eps.v[i].name) < 0)
			retire(e, old->eps.v[i].name);
	for (i = 0; i < old->n_retired; i++)
		retire(e, old->retired[i]);
}

static bool is_retired(const struct engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_retired; i++)
		if (strcmp(e->retired[i], name) == 0)
			return true;
	return false;
}

static const char *set_desc(const struct engine_set *s, char *buf, size_t len)
{
	return setref_format(&s->ref, buf, len);
}

static int check_type(struct engine *e, struct engine_set *s, enum set_keytype key,
		      char *err, size_t errlen)
{
	char d[300];

	if (keytype_family(key) != keytype_family(s->key)) {
		snprintf(err, errlen, "%s has type %s, but holds %s addresses for kvfence",
			 set_desc(s, d, sizeof(d)), keytype_name(key),
			 keytype_family(s->key) == AF_INET ? "IPv4" : "IPv6");
		return -EPROTOTYPE;
	}
	s->key = key;
	return 0;
}

static void mark_and_seed(struct engine *e, struct engine_set *s, int64_t seed_at)
{
	size_t i;

	for (i = 0; i < s->kernel.n; i++) {
		struct elem *el = &s->kernel.v[i];
		long h = el->comment ? catalogue_find(&e->eps, el->comment) : -1;

		el->owned = h >= 0 || (el->comment && is_retired(e, el->comment));
		if (h >= 0 && seed_at != INT64_MIN)
			desired_seed(&e->hs[h], &el->addr, seed_at);
	}
	elem_list_sort_unique(&s->kernel);
}

static int read_set(struct engine *e, struct engine_set *s, int64_t seed_at,
		    char *err, size_t errlen)
{
	enum set_keytype key;
	char d[300];
	int r;

	elem_list_clear(&s->kernel);
	r = nftset_get(e->nft, &s->ref, &key, err, errlen);
	if (r == -ENOENT) {
		s->exists = false;
		s->key = keytype_family(s->key) == AF_INET ? KEY_IPV4_PORT : KEY_IPV6_PORT;
		if (e->cfg->create_sets)
			return 0;
		snprintf(err, errlen, "%s does not exist and create-sets is no",
			 set_desc(s, d, sizeof(d)));
		return r;
	}
	if (r < 0)
		return r;
	s->exists = true;
	r = check_type(e, s, key, err, errlen);
	if (r < 0)
		return r;
	r = nftset_list(e->nft, &s->ref, s->key, &s->kernel, err, errlen);
	if (r < 0)
		return r;
	mark_and_seed(e, s, seed_at);
	return 0;
}

int engine_read_kernel(struct engine *e, int64_t seed_at, char *err, size_t errlen)
{
	size_t i;
	int r;

	char scratch[512];
	int broken = 0;

	for (i = 0; i < e->n_sets; i++) {
		/* Once one set is broken, err keeps its message. */
		r = read_set(e, &e->sets[i], seed_at, broken ? scratch : err,
			     broken ? sizeof(scratch) : errlen);
		e->sets[i].broken = r == -EPROTOTYPE;
		/* A set re-declared with another type stops only itself. */
		if (r == -EPROTOTYPE) {
			broken = r;
			continue;
		}
		if (r < 0)
			return r;
	}
	r = rangesets_read(&e->ranges, e->nft, e->cfg->create_sets, err, errlen);
	return r < 0 ? r : broken;
}

/* True the first time a is rejected for this host. A hostile server
 * could answer new addresses for ever: past a bound, stop remembering
 * (and logging) new ones rather than grow without limit. */
#define LOGGED_REJECTS_MAX 256

static bool first_rejection(struct logged_rejects *l, const struct kvf_addr *a)
{
	size_t i;

	if (l->n >= LOGGED_REJECTS_MAX)
		return false;
	for (i = 0; i < l->n; i++)
		if (addr_cmp(&l->v[i], a) == 0)
			return false;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *a;
	return true;
}

static void log_rejections(const char *host, const struct filtered *f, unsigned max,
			   struct logged_rejects *logged)
{
	char a[KVF_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < f->n_rejected; i++)
		if (first_rejection(logged, &f->rejected[i].addr))
			log_warnx("host %s: rejected %s address %s", host,
				  addrfilter_class_name(f->rejected[i].why),
				  addr_format(&f->rejected[i].addr, a, sizeof(a)));
	if (f->n_capped)
		log_warnx("host %s: answered more than max-addresses-per-host %u addresses; "
			  "%zu left out", host, max, f->n_capped);
}

size_t engine_apply_result(struct engine *e, size_t i, const struct host_result *res,
			   int64_t now)
{
	const struct config *cfg = e->cfg;
	const char *host = e->eps.v[i].name;
	struct filtered f;
	size_t changed;

	addrfilter_apply(host, res, cfg->allow_private, cfg->max_addresses, &f);
	log_rejections(host, &f, cfg->max_addresses, &e->logged[i]);
	changed = desired_update(&e->hs[i], res, &f, now, cfg->grace);
	filtered_free(&f);
	return changed;
}

static bool kernel_has(const struct elem_list *l, const struct elem *want)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = elem_key_cmp(&l->v[mid], want);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether every accepted address of host i, with each of its ports, is
 * in the kernel as kvfence last saw it (after its own last commit). A
 * set that cannot be written (broken) cannot be waited for. */
static bool kernel_holds(const struct engine *e, size_t i, const struct filtered *f)
{
	const struct endpoint *ep = &e->eps.v[i];
	size_t k, j;
	unsigned p;

	for (k = 0; k < e->n_sets; k++) {
		const struct engine_set *s = &e->sets[k];
		bool ports = keytype_has_port(s->key);

		if (s->broken)
			continue;
		for (j = 0; j < f->n_addrs; j++) {
			struct elem el = { .addr = f->addrs[j] };

			if (f->addrs[j].family != keytype_family(s->key))
				continue;
			if (!s->exists)
				return false;
			for (p = 0; p < (ports ? ep->n_ports : 1); p++) {
				el.port = ports ? ep->ports[p] : 0;
				if (!kernel_has(&s->kernel, &el))
					return false;
			}
		}
	}
	return true;
}

size_t engine_apply_proxied(struct engine *e, size_t i, int family, enum resolve_status st,
			    const struct host_result *res, int64_t now, bool *in_kernel)
{
	const struct config *cfg = e->cfg;
	const char *host = e->eps.v[i].name;
	struct filtered f;
	size_t changed;

	addrfilter_apply(host, res, cfg->allow_private, cfg->max_addresses, &f);
	log_rejections(host, &f, cfg->max_addresses, &e->logged[i]);
	changed = desired_update_family(&e->hs[i], family, st, &f, now, cfg->grace);
	*in_kernel = kernel_holds(e, i, &f);
	filtered_free(&f);
	return changed;
}

static void print_plan(const struct engine_set *s, const struct elem_list *add,
		       const struct elem_list *del)
{
	char d[300], el[128];
	size_t i;

	if (!s->exists)
		printf("would create %s { type %s }\n", set_desc(s, d, sizeof(d)),
		       keytype_name(s->key));
	for (i = 0; i < add->n; i++)
		printf("would add to %s: %s comment \"%s\"\n", s->ref.name,
		       elem_format(&add->v[i], el, sizeof(el)), add->v[i].comment);
	for (i = 0; i < del->n; i++)
		printf("would remove from %s: %s\n", s->ref.name,
		       elem_format(&del->v[i], el, sizeof(el)));
}

/* A missing set (and its table) is created in the same transaction that
 * fills it: the administrator's rules never see it empty. */
static void queue_set(struct nftset_batch *b, struct engine_set *s, bool *table_queued,
		      const struct elem_list *add, const struct elem_list *del)
{
	if (s->broken)
		return;
	if (!s->exists) {
		if (!*table_queued)
			nftset_batch_add_table(b, s->ref.family, s->ref.table);
		*table_queued = true;
		nftset_batch_add_set(b, &s->ref, s->key);
	}
	nftset_batch_del_elems(b, &s->ref, s->key, del->v, del->n);
	nftset_batch_add_elems(b, &s->ref, s->key, add->v, add->n);
}

struct set_diff {
	struct elem_list add, del;
};

static void compute(struct engine *e, struct engine_set *s, struct set_diff *d)
{
	struct elem_list desired = { 0 };

	memset(d, 0, sizeof(*d));
	if (s->broken)
		return;
	desired_elements(&e->eps, e->hs, s->key, &desired);
	diff_compute(&desired, &s->kernel, &d->add, &d->del);
	/* add and del hold copies: the desired list (every host's every
	 * address, duplicates included) goes now, before the batch, the
	 * other set's list and the new view make the peak. */
	elem_list_free(&desired);
}

static void set_diff_free(struct set_diff *d)
{
	elem_list_free(&d->add);
	elem_list_free(&d->del);
}

/* After a commit the kernel holds its old elements less del, plus add:
 * keep that as the "kernel" view, so the next reconcile needs no dump
 * unless the monitor says someone else changed the set. */
static void commit_view(struct engine *e, struct engine_set *s, struct set_diff *d)
{
	struct elem_list next = { 0 };
	size_t i, j = 0;

	for (i = 0; i < s->kernel.n; i++) {
		struct elem el = s->kernel.v[i];
		long h;

		/* del is an ordered subsequence of the kernel list. */
		if (j < d->del.n && elem_key_cmp(&el, &d->del.v[j]) == 0) {
			j++;
			continue;
		}
		/* Comments of the old view die with it: point ours at the
		 * endpoint names, copy the rest. */
		h = el.comment ? catalogue_find(&e->eps, el.comment) : -1;
		if (h >= 0)
			el.comment = e->eps.v[h].name;
		else if (el.comment)
			el.comment = elem_list_intern(&next, el.comment);
		elem_list_push(&next, &el);
	}
	for (i = 0; i < d->add.n; i++) {
		struct elem el = d->add.v[i];

		el.owned = true;
		elem_list_push(&next, &el);
	}
	elem_list_sort_unique(&next);
	elem_list_free(&s->kernel);
	s->kernel = next;
	s->exists = true;
	s->size = next.n;
}

static void log_created(const struct engine_set *s)
{
	char d[300];

	log_info("created %s { type %s }", set_desc(s, d, sizeof(d)), keytype_name(s->key));
}

int engine_reconcile(struct engine *e, bool dry_run, struct reconcile_stats *st,
		     char *err, size_t errlen)
{
	struct set_diff d[ENGINE_MAX_SETS];
	struct nftset_batch *b;
	bool table_queued = false;
	size_t i;
	int r = 0;

	memset(st, 0, sizeof(*st));
	b = nftset_batch_new(e->nft);
	for (i = 0; i < e->n_sets; i++) {
		compute(e, &e->sets[i], &d[i]);
		if (dry_run)
			print_plan(&e->sets[i], &d[i].add, &d[i].del);
		else
			queue_set(b, &e->sets[i], &table_queued, &d[i].add, &d[i].del);
		st->added += d[i].add.n;
		st->removed += d[i].del.n;
	}
	st->ranges = rangesets_queue(&e->ranges, b, &table_queued, dry_run);
	st->messages = nftset_batch_count(b);
	if (!dry_run)
		r = nftset_batch_commit(b, err, errlen);
	/* The batch's buffer is the largest allocation of a reconcile: gone
	 * before the new view is built. */
	nftset_batch_free(b);
	if (r == 0 && !dry_run) {
		for (i = 0; i < e->n_retired; i++)
			free(e->retired[i]);
		e->n_retired = 0;
	}
	for (i = 0; i < e->n_sets; i++) {
		struct engine_set *s = &e->sets[i];

		if (r == 0 && !dry_run && !s->broken) {
			if (!s->exists)
				log_created(s);
			commit_view(e, s, &d[i]);
			if (d[i].add.n || d[i].del.n || e->log_unchanged)
				log_info("set=%s added=%zu removed=%zu size=%zu",
					 s->ref.name, d[i].add.n, d[i].del.n, s->size);
		}
		set_diff_free(&d[i]);
	}
	rangesets_done(&e->ranges, r == 0 && !dry_run, e->log_unchanged);
	return r;
}
