/* kvfence: the engine: kernel sets read, desired elements computed from
 * host states (host sets) or the Service Tags (range sets), the
 * difference written in one batch. One path for both kinds of set; the
 * kind is switched on only for the key, the interval flag and what is
 * desired (engine.h). */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrfilter.h"
#include "diff.h"
#include "log.h"
#include "nftbatch.h"
#include "nftcommit.h"
#include "nftread.h"
#include "engine.h"
#include "range.h"
#include "util.h"

static void add_set(struct engine *e, const char *name, enum engine_kind kind,
		    enum set_keytype key)
{
	struct engine_set *s = &e->sets[e->n_sets++];

	memset(s, 0, sizeof(*s));
	s->ref.family = e->cfg->table_family;
	s->ref.table = e->cfg->table;
	s->ref.name = name;
	s->kind = kind;
	s->key = key;
}

/* The key a set is created with (and assumed while it is missing). */
static enum set_keytype default_key(enum engine_kind kind, int family)
{
	if (kind == ENGINE_RANGES)
		return nftcodec_range_key(family);
	return family == AF_INET ? KEY_IPV4_PORT : KEY_IPV6_PORT;
}

void engine_init(struct engine *e, const struct config *cfg, struct nlsock *nft)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->nft = nft;
	catalogue_build(cfg, &e->eps);
	e->hs = xcalloc(e->eps.n ? e->eps.n : 1, sizeof(*e->hs));
	e->hosts = xcalloc(e->eps.n ? e->eps.n : 1, sizeof(*e->hosts));
	if (cfg->set4)
		add_set(e, cfg->set4, ENGINE_ELEMS, KEY_IPV4_PORT);
	if (cfg->set6)
		add_set(e, cfg->set6, ENGINE_ELEMS, KEY_IPV6_PORT);
	if (cfg->n_tagsets && cfg->range_set4)
		add_set(e, cfg->range_set4, ENGINE_RANGES, nftcodec_range_key(AF_INET));
	if (cfg->n_tagsets && cfg->range_set6)
		add_set(e, cfg->range_set6, ENGINE_RANGES, nftcodec_range_key(AF_INET6));
}

static void set_free(struct engine_set *s)
{
	elem_list_free(&s->kernel);
	elem_list_free(&s->record);
	elem_list_free(&s->held);
	free(s->own_table);
	free(s->own_name);
}

void engine_fini(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->eps.n; i++) {
		host_state_free(&e->hs[i]);
		free(e->hosts[i].logged.v);
		free(e->hosts[i].pl_public.v);
	}
	free(e->hs);
	free(e->hosts);
	for (i = 0; i < e->n_sets; i++)
		set_free(&e->sets[i]);
	for (i = 0; i < e->n_orphans; i++)
		set_free(&e->orphans[i]);
	free(e->orphans);
	catalogue_free(&e->eps);
	memset(e, 0, sizeof(*e));
}

/* A record's comment: a configured host's name lives as long as the
 * engine; any other is copied into the list. */
static const char *record_name(const struct engine *e, struct elem_list *l, const char *c)
{
	long h = catalogue_find(&e->eps, c);

	return h >= 0 ? e->eps.v[h].name : elem_list_intern(l, c);
}

static bool same_set(const struct setref *a, int family, const char *table, const char *name)
{
	return a->family == family && strcmp(a->table, table) == 0 && strcmp(a->name, name) == 0;
}

static struct engine_set *find_set(struct engine *e, int family, const char *table,
				   const char *name)
{
	size_t i;

	for (i = 0; i < e->n_sets; i++)
		if (same_set(&e->sets[i].ref, family, table, name))
			return &e->sets[i];
	for (i = 0; i < e->n_orphans; i++)
		if (same_set(&e->orphans[i].ref, family, table, name))
			return &e->orphans[i];
	return NULL;
}

static struct engine_set *add_orphan(struct engine *e, int family, const char *table,
				     const char *name, enum engine_kind kind)
{
	struct engine_set *s;

	e->orphans = xreallocarray(e->orphans, e->n_orphans + 1, sizeof(*e->orphans));
	s = &e->orphans[e->n_orphans++];
	memset(s, 0, sizeof(*s));
	s->orphan = true;
	s->own_table = xstrdup(table);
	s->own_name = xstrdup(name);
	s->ref.family = family;
	s->ref.table = s->own_table;
	s->ref.name = s->own_name;
	s->kind = kind;
	s->key = default_key(kind, AF_INET);	/* read from the kernel before use */
	return s;
}

/* A record entry of kind: of a configured set, or an orphan. NULL when
 * there is nothing to keep. */
/* The record of a set, merged element by element; or, moved: src's
 * comments are this engine's host names or in src's own strings (a
 * record state_load read against e->eps), and the set has no record
 * yet, so that the list is taken over whole. */
static struct engine_set *take_record(struct engine *e, int family, const char *table,
				      const char *name, enum engine_kind kind,
				      struct elem_list *src, bool created,
				      bool table_created, bool moved)
{
	struct engine_set *s = find_set(e, family, table, name);
	size_t i, w = 0;

	if (src->n == 0 && !created)
		return s;
	if (!s)
		s = add_orphan(e, family, table, name, kind);
	s->created |= created;
	s->table_created |= table_created;
	if (moved && s->record.n == 0 && s->record.n_strings == 0) {
		elem_list_free(&s->record);
		s->record = *src;
		memset(src, 0, sizeof(*src));
		for (i = 0; i < s->record.n; i++)
			if (s->record.v[i].comment)
				s->record.v[w++] = s->record.v[i];
		s->record.n = w;
		elem_list_sort_unique(&s->record);
		return s;
	}
	elem_list_reserve(&s->record, s->record.n + src->n);
	for (i = 0; i < src->n; i++) {
		struct elem el = src->v[i];

		if (!el.comment)
			continue;
		el.comment = record_name(e, &s->record, el.comment);
		elem_list_push(&s->record, &el);
	}
	elem_list_sort_unique(&s->record);
	return s;
}

static void claim_tagged_ranges(struct engine *e)
{
	size_t k;

	for (k = 0; k < e->n_sets; k++)
		e->sets[k].claim_tagged = e->sets[k].kind == ENGINE_RANGES;
}

void engine_load_record(struct engine *e, struct state_record *rec)
{
	struct engine_set *s;
	size_t i;

	/* A file written before range records: a range set it has no
	 * record of was owned by its ranges' comment. */
	if (!rec->ranges_recorded)
		claim_tagged_ranges(e);
	for (i = 0; i < rec->n; i++) {
		struct owned_set *o = &rec->v[i];

		s = take_record(e, o->family, o->table, o->name,
				o->ranges ? ENGINE_RANGES : ENGINE_ELEMS, &o->elems, o->created,
				o->table_created, true);
		if (s && o->ranges)
			s->claim_tagged = false;
	}
}

void engine_record_from_hosts(struct engine *e)
{
	size_t i, j, k;
	unsigned p;

	claim_tagged_ranges(e);
	for (k = 0; k < e->n_sets; k++) {
		struct engine_set *s = &e->sets[k];

		if (s->kind != ENGINE_ELEMS)
			continue;
		for (i = 0; i < e->eps.n; i++) {
			for (j = 0; j < e->hs[i].n_addrs; j++) {
				struct elem el = { .addr = e->hs[i].addrs[j].addr,
						   .comment = e->eps.v[i].name };

				if (el.addr.family != keytype_family(s->key))
					continue;
				/* The set's type is not known yet: claim both forms. */
				elem_list_push(&s->record, &el);
				for (p = 0; p < e->eps.v[i].n_ports; p++) {
					el.port = e->eps.v[i].ports[p];
					elem_list_push(&s->record, &el);
				}
			}
		}
		elem_list_sort_unique(&s->record);
	}
}

size_t engine_size(const struct engine *e, enum engine_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_sets; i++)
		if (e->sets[i].kind == kind)
			n += e->sets[i].size;
	return n;
}

/* A configured range set is recorded even when it holds nothing of
 * ours: the line says its record is kept (no claim by comment next
 * time), unless that claim is still to be made. */
static bool worth_recording(const struct engine_set *s)
{
	return s->record.n || s->created ||
	       (s->kind == ENGINE_RANGES && !s->orphan && !s->claim_tagged);
}

static void view_of(struct state_set_view *v, const struct engine_set *s)
{
	v->ref = &s->ref;
	v->elems = &s->record;
	v->created = s->created;
	v->table_created = s->table_created;
	v->ranges = s->kind == ENGINE_RANGES;
}

size_t engine_record_views(const struct engine *e, struct state_set_view **out)
{
	size_t i, n = 0;

	*out = xcalloc(e->n_sets + e->n_orphans + 1, sizeof(**out));
	for (i = 0; i < e->n_sets; i++)
		if (worth_recording(&e->sets[i]))
			view_of(&(*out)[n++], &e->sets[i]);
	for (i = 0; i < e->n_orphans; i++)
		if (worth_recording(&e->orphans[i]))
			view_of(&(*out)[n++], &e->orphans[i]);
	return n;
}

static void adopt_record(struct engine *e, struct engine_set *o)
{
	struct engine_set *s = take_record(e, o->ref.family, o->ref.table, o->ref.name, o->kind,
					   &o->record, o->created, o->table_created, false);

	/* A claim not made yet (the set was never read) stays to be made.
	 * Ranges held back stay so, not logged anew for a reload. */
	if (s && s->kind == o->kind) {
		s->claim_tagged = o->claim_tagged;
		elem_list_free(&s->held);
		s->held = o->held;
		memset(&o->held, 0, sizeof(o->held));
	}
}

void engine_adopt(struct engine *e, struct engine *old)
{
	size_t i;

	for (i = 0; i < e->eps.n; i++) {
		long j = catalogue_find(&old->eps, e->eps.v[i].name);

		if (j >= 0) {
			e->hs[i] = old->hs[j];
			memset(&old->hs[j], 0, sizeof(old->hs[j]));
			e->hosts[i] = old->hosts[j];
			memset(&old->hosts[j], 0, sizeof(old->hosts[j]));
		}
	}
	for (i = 0; i < old->n_sets; i++)
		adopt_record(e, &old->sets[i]);
	for (i = 0; i < old->n_orphans; i++)
		adopt_record(e, &old->orphans[i]);
	e->persist = old->persist;
	e->persist_arg = old->persist_arg;
	engine_filter_held(e);
	e->counters = old->counters;
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

/* The element of the sorted list rec (a record, a kernel view) with
 * el's key, or NULL. */
static const struct elem *find_key(const struct elem_list *rec, const struct elem *el)
{
	size_t lo = 0, hi = rec->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = elem_key_cmp(&rec->v[mid], el);

		if (c == 0)
			return &rec->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Ours: the record holds the key with the comment the element carries.
 * The comment alone is not enough (an administrator can write it), nor
 * the key alone (an administrator may have re-written the element). */
static bool record_claims(const struct elem_list *rec, const struct elem *el)
{
	const struct elem *r = find_key(rec, el);

	return r && el->comment && strcmp(r->comment, el->comment) == 0;
}

static bool tagged(const struct elem *el)
{
	return el->comment && strncmp(el->comment, SERVICETAGS_COMMENT_PREFIX,
				      strlen(SERVICETAGS_COMMENT_PREFIX)) == 0;
}

/* The host an element of a host set names, or -1. */
static long named_host(const struct engine *e, const struct engine_set *s,
		       const struct elem *el)
{
	if (s->kind != ENGINE_ELEMS || !el->comment)
		return -1;
	return catalogue_find(&e->eps, el->comment);
}

/* Mark kvfence's elements; a range set's pending claim is made here
 * (its tagged ranges enter the record). Returns how many elements look
 * like kvfence's (a host's name, kvfence's comment prefix) but are not. */
static size_t mark_and_seed(struct engine *e, struct engine_set *s, int64_t seed_at)
{
	size_t i, lookalikes = 0, n = s->record.n;

	elem_list_sort_unique(&s->kernel);
	for (i = 0; i < s->kernel.n; i++) {
		struct elem *el = &s->kernel.v[i];
		long h = named_host(e, s, el);

		el->owned = record_claims(&s->record, el);
		if (!el->owned && s->claim_tagged && tagged(el)) {
			el->owned = true;
			elem_list_push(&s->record, el);
		}
		if (!el->owned && (h >= 0 || (s->kind == ENGINE_RANGES && tagged(el))))
			lookalikes++;
		if (el->owned && h >= 0 && seed_at != INT64_MIN)
			desired_seed(&e->hs[h], &el->addr, seed_at);
	}
	if (s->record.n != n) {
		/* Comments of the kernel list die with it. */
		for (i = n; i < s->record.n; i++)
			s->record.v[i].comment = elem_list_intern(&s->record,
								  s->record.v[i].comment);
		elem_list_sort_unique(&s->record);
		e->record_changed = true;
	}
	s->claim_tagged = false;
	return lookalikes;
}

static void log_lookalikes(const struct engine_set *s, size_t n)
{
	const char *what = s->kind == ENGINE_RANGES ?
			   "commented \"" SERVICETAGS_COMMENT_PREFIX "...\"" :
			   "named after configured hosts";
	char d[300];

	if (n)
		log_warnx("%s: %zu %s%s %s %s not in kvfence's record of what it wrote: left "
			  "alone (an administrator's, or written before the state file was lost)",
			  set_desc(s, d, sizeof(d)), n,
			  s->kind == ENGINE_RANGES ? "range" : "element", n == 1 ? "" : "s", what,
			  n == 1 ? "is" : "are");
}

/* The set's type: a host set of any of kvfence's key types, a range set
 * with flag interval and a plain address key. */
static int read_type(struct engine *e, const struct engine_set *s, enum set_keytype *key,
		     char *err, size_t errlen)
{
	int family, r;

	if (s->kind == ENGINE_ELEMS)
		return nftread_set(e->nft, &s->ref, key, err, errlen);
	r = nftread_interval_set(e->nft, &s->ref, &family, err, errlen);
	if (r == 0)
		*key = nftcodec_range_key(family);
	return r;
}

/* Ranges as an interval set's elements (elem.hi set), appended to out in
 * their order; comments copied into out's pool when copy, else borrowed
 * from in. */
static void ranges_as_elems(const struct range_list *in, struct elem_list *out, bool copy)
{
	size_t i;

	elem_list_reserve(out, out->n + in->n);
	for (i = 0; i < in->n; i++) {
		struct elem el = { .addr = in->v[i].lo, .hi = in->v[i].hi,
				   .comment = in->v[i].comment };

		if (copy && el.comment)
			el.comment = elem_list_intern(out, el.comment);
		elem_list_push(out, &el);
	}
}

static int read_elems(struct engine *e, struct engine_set *s, char *err, size_t errlen)
{
	struct range_list ranges = { 0 };
	int r;

	if (s->kind == ENGINE_ELEMS)
		return nftread_elems(e->nft, &s->ref, s->key, &s->kernel, err, errlen);
	r = nftread_ranges(e->nft, &s->ref, keytype_family(s->key), &ranges, err, errlen);
	if (r == 0)
		ranges_as_elems(&ranges, &s->kernel, true);
	range_list_free(&ranges);
	return r;
}

static int read_set(struct engine *e, struct engine_set *s, int64_t seed_at,
		    char *err, size_t errlen)
{
	enum set_keytype key;
	char d[300];
	size_t n;
	int r;

	elem_list_clear(&s->kernel);
	s->size = 0;
	r = read_type(e, s, &key, err, errlen);
	if (r == -ENOENT) {
		s->exists = false;
		s->claim_tagged = false;	/* nothing to claim */
		s->key = default_key(s->kind, keytype_family(s->key));
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
	r = read_elems(e, s, err, errlen);
	if (r < 0)
		return r;
	n = mark_and_seed(e, s, seed_at);
	s->size = s->kernel.n;
	if (seed_at != INT64_MIN)
		log_lookalikes(s, n);
	return 0;
}

/* Its record leaves the state file with it: the caller saves. */
static void drop_orphan(struct engine *e, size_t i)
{
	e->record_changed = true;
	set_free(&e->orphans[i]);
	memmove(&e->orphans[i], &e->orphans[i + 1], (e->n_orphans - i - 1) * sizeof(*e->orphans));
	e->n_orphans--;
}

/* An orphan that is gone, or re-declared with a type kvfence never
 * wrote, holds nothing of ours: forget it. */
static int read_orphan(struct engine *e, size_t i, char *err, size_t errlen)
{
	struct engine_set *s = &e->orphans[i];
	enum set_keytype key;
	char scratch[512];
	int r;

	elem_list_clear(&s->kernel);
	s->exists = false;
	r = read_type(e, s, &key, scratch, sizeof(scratch));
	if (r == -ENOENT || r == -EPROTOTYPE ||
	    (r == 0 && s->record.n && keytype_family(key) != s->record.v[0].addr.family)) {
		drop_orphan(e, i);
		return 1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", scratch);
		return r;
	}
	s->key = key;
	r = read_elems(e, s, err, errlen);
	if (r < 0)
		return r;
	mark_and_seed(e, s, INT64_MIN);
	s->exists = true;
	return 0;
}

int engine_read_kernel(struct engine *e, int64_t seed_at, char *err, size_t errlen)
{
	char scratch[512];
	int r, broken = 0;
	size_t i;

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
	for (i = 0; i < e->n_orphans; ) {
		r = read_orphan(e, i, err, errlen);
		if (r < 0)
			return r;
		if (r == 0)
			i++;
	}
	return broken;
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

/* Why a private address was refused when the chain did pass a Private
 * Link zone: the host is no vault (an administrator reading the chain
 * would expect it in). */
/* The hint for a private address rejected; looked for only when there
 * are rejections (the chain walk is per answer otherwise). */
static const char *private_hint(const struct endpoint *ep, const struct host_result *res,
				enum allow_private mode, const struct filtered *f)
{
	if (f->n_rejected == 0 || mode != PRIVATE_AUTO || ep->keyvault ||
	    !addrfilter_chain_privatelink(ep->name, res->cnames, res->n_cnames))
		return "";
	return " (its chain passes a Private Link zone, but allow-private auto admits "
	       "private addresses only for vault and managed-hsm hosts)";
}

static void log_rejections(const char *host, const struct filtered *f, unsigned max,
			   const char *hint, struct logged_rejects *logged)
{
	char a[KVF_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < f->n_rejected; i++)
		if (first_rejection(logged, &f->rejected[i].addr))
			log_warnx("host %s: rejected %s address %s%s", host,
				  addrfilter_class_name(f->rejected[i].why),
				  addr_format(&f->rejected[i].addr, a, sizeof(a)),
				  f->rejected[i].why == ADDR_PRIVATE ? hint : "");
	if (f->n_capped)
		log_warnx("host %s: answered more than max-addresses-per-host %u addresses; "
			  "%zu left out", host, max, f->n_capped);
}

static void count_rejections(struct engine_counters *c, const struct filtered *f)
{
	size_t i;

	for (i = 0; i < f->n_rejected; i++)
		c->rejected[f->rejected[i].why]++;
	c->capped += f->n_capped;
}

/* A host said to be reached through Private Link that DNS answers with a
 * public address: the client's resolver does not see the privatelink
 * zone (Microsoft's Private Link troubleshooting lists it first). The
 * address is refused, failing closed, and kept for status and metrics;
 * each is logged once. */
static void refuse_public(struct engine *e, size_t i, const struct host_result *res,
			  struct filtered *f)
{
	struct public_answer *pa = &e->hosts[i].pl_public;
	char a[KVF_ADDRSTRLEN];
	size_t k, w = 0;

	if (!resolve_status_definite(res->status4) && !resolve_status_definite(res->status6))
		return;		/* no news: what was reported stands */
	pa->n = 0;
	for (k = 0; k < f->n_addrs; k++) {
		if (addrfilter_classify(&f->addrs[k]) != ADDR_PUBLIC) {
			f->addrs[w++] = f->addrs[k];
			continue;
		}
		pa->v = xreallocarray(pa->v, pa->n + 1, sizeof(*pa->v));
		pa->v[pa->n++] = f->addrs[k];
		if (first_rejection(&e->hosts[i].logged, &f->addrs[k]))
			log_warnx("host %s: private (Private Link), but DNS answered the public "
				  "address %s: refused; this host's resolver does not resolve "
				  "the privatelink zone", e->eps.v[i].name,
				  addr_format(&f->addrs[k], a, sizeof(a)));
	}
	f->n_addrs = w;
}

/* A private host holds no public address: not one seeded from the kernel
 * or the state file, not one from before the config said private. */
static size_t drop_public(struct host_state *h)
{
	size_t k, w = 0, n = h->n_addrs;

	for (k = 0; k < n; k++)
		if (addrfilter_classify(&h->addrs[k].addr) != ADDR_PUBLIC)
			h->addrs[w++] = h->addrs[k];
	h->n_addrs = w;
	return n - w;
}

/* What every answer of host i meets, polled or proxied: the filter and
 * the cap (each rejection logged once and counted) and, for a host
 * expected on Private Link, the refusal of public addresses. */
static void filter_answer(struct engine *e, size_t i, const struct host_result *res,
			  struct filtered *f)
{
	const struct config *cfg = e->cfg;

	addrfilter_apply(&e->eps.v[i], res, cfg->allow_private, cfg->max_addresses, f);
	log_rejections(e->eps.v[i].name, f, cfg->max_addresses,
		       private_hint(&e->eps.v[i], res, cfg->allow_private, f),
		       &e->hosts[i].logged);
	count_rejections(&e->counters, f);
	if (e->eps.v[i].private_link)
		refuse_public(e, i, res, f);
}

/* After the fold: a Private Link host drops public addresses it held;
 * a definite answer says whether its chain is a Private Link one. */
static size_t settle_answer(struct engine *e, size_t i, const struct host_result *res,
			    bool definite)
{
	size_t changed = 0;

	if (e->eps.v[i].private_link)
		changed = drop_public(&e->hs[i]);
	if (definite)
		e->hs[i].privatelink = addrfilter_chain_privatelink(e->eps.v[i].name, res->cnames,
								    res->n_cnames);
	return changed;
}

size_t engine_apply_result(struct engine *e, size_t i, const struct host_result *res,
			   int64_t now)
{
	struct filtered f;
	size_t changed;

	filter_answer(e, i, res, &f);
	changed = desired_update(&e->hs[i], res, &f, now, e->cfg->grace);
	changed += settle_answer(e, i, res, resolve_status_definite(res->status4) &&
					    resolve_status_definite(res->status6));
	filtered_free(&f);
	return changed;
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

		if (s->kind != ENGINE_ELEMS || s->broken)
			continue;
		for (j = 0; j < f->n_addrs; j++) {
			struct elem el = { .addr = f->addrs[j] };

			if (f->addrs[j].family != keytype_family(s->key))
				continue;
			if (!s->exists)
				return false;
			for (p = 0; p < (ports ? ep->n_ports : 1); p++) {
				el.port = ports ? ep->ports[p] : 0;
				if (!find_key(&s->kernel, &el))
					return false;
			}
		}
	}
	return true;
}

size_t engine_apply_proxied(struct engine *e, size_t i, int family, enum resolve_status st,
			    const struct host_result *res, int64_t now, bool *in_kernel)
{
	struct filtered f;
	size_t changed;

	filter_answer(e, i, res, &f);
	changed = desired_update_family(&e->hs[i], family, st, &f, now, e->cfg->grace);
	changed += settle_answer(e, i, res, resolve_status_definite(st));
	*in_kernel = kernel_holds(e, i, &f);
	filtered_free(&f);
	return changed;
}

/* The held addresses as an answer, so that they meet the very filter an
 * answer meets; a remembered Private Link chain stands for the chain. */
static void held_as_result(const struct host_state *h, struct host_result *res, char **pl)
{
	size_t j;

	memset(res, 0, sizeof(*res));
	res->addrs = xcalloc(h->n_addrs ? h->n_addrs : 1, sizeof(*res->addrs));
	for (j = 0; j < h->n_addrs; j++)
		res->addrs[res->n_addrs++] = h->addrs[j].addr;
	if (h->privatelink) {
		res->cnames = pl;
		res->n_cnames = 1;
	}
}

size_t engine_filter_held(struct engine *e)
{
	static char pl_name[] = "held.privatelink.vaultcore.azure.net";
	char *pl[1] = { pl_name };
	const struct config *cfg = e->cfg;
	size_t i, n, total = 0;

	for (i = 0; i < e->eps.n; i++) {
		struct host_state *h = &e->hs[i];
		struct host_result res;
		struct filtered f;

		if (h->n_addrs == 0)
			continue;
		held_as_result(h, &res, pl);
		/* The cap is applied below, by rank rather than by address. */
		addrfilter_apply(&e->eps.v[i], &res, cfg->allow_private, UINT16_MAX, &f);
		log_rejections(e->eps.v[i].name, &f, cfg->max_addresses,
			       private_hint(&e->eps.v[i], &res, cfg->allow_private, &f),
			       &e->hosts[i].logged);
		total += desired_keep_only(h, f.addrs, f.n_addrs);
		filtered_free(&f);
		free(res.addrs);
		/* A private host holds no public address, whatever its source. */
		if (e->eps.v[i].private_link)
			total += drop_public(h);
		n = desired_cap(h, cfg->max_addresses);
		if (n)
			log_warnx("host %s: holds more than max-addresses-per-host %u addresses "
				  "of a family; %zu left out", e->eps.v[i].name,
				  cfg->max_addresses, n);
		total += n;
	}
	return total;
}

/* Whether the engine writes the set: not one of a type it cannot fill,
 * nor a range set while no ranges are loaded (left as it is). */
static bool writable(const struct engine *e, const struct engine_set *s)
{
	return !s->broken && (s->kind == ENGINE_ELEMS || e->tags);
}

/* What a reconcile would write to a set; held: the ranges it would not
 * add (they overlap a range not kvfence's), keys only. */
struct set_diff {
	struct elem_list add, del, held;
};

/* sync --dry-run: every change it would make, held-back ranges included,
 * said as what it would do. */
static void print_plan(const struct engine_set *s, const struct set_diff *p)
{
	const struct elem_list *add = &p->add, *del = &p->del;
	char d[300], el[128];
	size_t i;

	if (!s->exists && s->kind == ENGINE_RANGES)
		printf("would create interval set %s\n", s->ref.name);
	else if (!s->exists)
		printf("would create %s { type %s }\n", set_desc(s, d, sizeof(d)),
		       keytype_name(s->key));
	for (i = 0; i < add->n; i++)
		printf("would add to %s: %s comment \"%s\"\n", s->ref.name,
		       elem_format(&add->v[i], el, sizeof(el)), add->v[i].comment);
	for (i = 0; i < del->n; i++)
		printf("would remove from %s: %s\n", s->ref.name,
		       elem_format(&del->v[i], el, sizeof(el)));
	for (i = 0; i < p->held.n; i++)
		printf("would not add to %s: %s: it overlaps a range that is not in kvfence's "
		       "record\n", s->ref.name, elem_format(&p->held.v[i], el, sizeof(el)));
}

/* A missing set (and its table) is created in the same transaction that
 * fills it: the administrator's rules never see it empty. */
static void queue_set(struct nftbatch *b, struct engine_set *s, bool *table_queued,
		      const struct elem_list *add, const struct elem_list *del)
{
	if (!s->exists) {
		if (!*table_queued)
			nftbatch_add_table(b, s->ref.family, s->ref.table);
		*table_queued = true;
		if (s->kind == ENGINE_RANGES)
			nftbatch_add_interval_set(b, &s->ref, keytype_family(s->key));
		else
			nftbatch_add_set(b, &s->ref, s->key);
	}
	nftbatch_del_elems(b, &s->ref, s->key, del->v, del->n);
	nftbatch_add_elems(b, &s->ref, s->key, add->v, add->n);
}

/* The ranges of a that b lacks, the first five logged by name with
 * what, the others in one line with more. Returns how many. */
static size_t log_ranges_not_in(const struct engine_set *s, const struct elem_list *a,
				const struct elem_list *b, int prio, const char *what,
				const char *more)
{
	size_t i, n = 0;
	char d[300], r[100];

	for (i = 0; i < a->n; i++)
		if (!find_key(b, &a->v[i]) && n++ < 5)
			log_msg(prio, "%s: range %s %s", set_desc(s, d, sizeof(d)),
				elem_format(&a->v[i], r, sizeof(r)), what);
	if (n > 5)
		log_msg(prio, "%s: %zu more ranges %s", set_desc(s, d, sizeof(d)), n - 5, more);
	return n;
}

/* Ranges held back because they overlap a range not kvfence's: a
 * condition, logged and counted when a range becomes held, logged when
 * it no longer is; not at every reconcile (or reload, which carries
 * s->held over) while it stays so. */
static void note_held(struct engine *e, struct engine_set *s, struct elem_list *held)
{
	e->counters.ranges_held +=
		log_ranges_not_in(s, held, &s->held, LOG_WARNING,
				  "not added: it overlaps a range that is not in kvfence's record "
				  "of what it wrote (an administrator's, or written before the "
				  "state file was lost); the kernel refuses overlapping ranges",
				  "not added for the same reason");
	log_ranges_not_in(s, &s->held, held, LOG_INFO, "is no longer held back",
			  "no longer held back");
	elem_list_free(&s->held);
	s->held = *held;
	memset(held, 0, sizeof(*held));
}

/* The desired list holds a shared key once, under the first host that
 * wants it: whether the host a kernel element of ours names wants it too
 * is asked of that host's state. */
struct wants_ctx {
	const struct engine *e;
	enum set_keytype key;
};

static bool host_wants(void *ctx, const struct elem *el)
{
	const struct wants_ctx *w = ctx;
	long i = catalogue_find(&w->e->eps, el->comment);

	return i >= 0 && desired_host_wants(&w->e->eps.v[i], &w->e->hs[i], w->key, el);
}

/* dry_run: the held ranges stay in d for the plan, and change nothing. */
static void compute(struct engine *e, struct engine_set *s, struct set_diff *d, bool dry_run)
{
	struct elem_list desired = { 0 };
	size_t i;

	memset(d, 0, sizeof(*d));
	if (!writable(e, s))
		return;
	if (s->kind == ENGINE_ELEMS) {
		struct wants_ctx ctx = { e, s->key };

		desired_elements(&e->eps, e->hs, s->key, &desired);
		/* An empty set (a first fill): all of it is added, as the
		 * diff would copy it (each key once, in order). */
		if (s->kernel.n == 0) {
			d->add = desired;
			return;
		}
		diff_compute(&desired, &s->kernel, &d->add, &d->del,
			     &(struct diff_wants){ host_wants, &ctx });
	} else {
		ranges_as_elems(keytype_family(s->key) == AF_INET ? &e->tags->v4 :
				    &e->tags->v6, &desired, false);
		elem_list_sort(&desired);
		diff_compute_ranges(&desired, &s->kernel, &d->add, &d->del, &d->held);
		/* Keys only: the comments go with the ranges loaded. */
		for (i = 0; i < d->held.n; i++)
			d->held.v[i].comment = NULL;
		if (!dry_run)
			note_held(e, s, &d->held);
	}
	/* add and del hold copies: the desired list goes now, before the
	 * batch, the other set's list and the new view make the peak. */
	elem_list_free(&desired);
}

static void compute_orphan(const struct engine_set *s, struct set_diff *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; s->exists && i < s->kernel.n; i++)
		if (s->kernel.v[i].owned)
			elem_list_push(&d->del, &s->kernel.v[i]);
}

static void set_diff_free(struct set_diff *d)
{
	elem_list_free(&d->add);
	elem_list_free(&d->del);
	elem_list_free(&d->held);
}

/* After a commit the record is exactly what of ours the set holds.
 * Whether it says so already (a sync that added what it had claimed):
 * then it stays as it is, not built again. */
static bool record_holds_exactly(const struct elem_list *kernel, const struct elem_list *rec)
{
	size_t i, j = 0;

	for (i = 0; i < kernel->n; i++) {
		const struct elem *k = &kernel->v[i];

		if (!k->owned)
			continue;
		if (j == rec->n || elem_key_cmp(k, &rec->v[j]) != 0 ||
		    (k->comment != rec->v[j].comment && strcmp(k->comment, rec->v[j].comment) != 0))
			return false;
		j++;
	}
	return j == rec->n;
}

static void rebuild_record(struct engine *e, struct engine_set *s)
{
	struct elem_list next = { 0 };
	size_t i, n = 0;

	if (record_holds_exactly(&s->kernel, &s->record))
		return;
	for (i = 0; i < s->kernel.n; i++)
		n += s->kernel.v[i].owned;
	elem_list_reserve(&next, n);
	for (i = 0; i < s->kernel.n; i++)
		if (s->kernel.v[i].owned) {
			struct elem el = s->kernel.v[i];

			el.comment = record_name(e, &next, el.comment);
			elem_list_push(&next, &el);
		}
	e->record_changed = true;
	elem_list_free(&s->record);
	s->record = next;
}

/* Before a batch: the record must hold every element the batch adds
 * before the kernel does. True if it had to grow. Both lists are sorted
 * (add is the diff's, in key order): one walk. */
static bool claim(struct engine *e, struct engine_set *s, const struct elem_list *add)
{
	size_t i, j = 0, n = s->record.n;
	bool grew = false;

	for (i = 0; i < add->n; i++) {
		struct elem el = add->v[i];
		int c = 1;

		while (j < n && (c = elem_key_cmp(&s->record.v[j], &el)) < 0)
			j++;
		if (j < n && c == 0 && el.comment &&
		    strcmp(s->record.v[j].comment, el.comment) == 0)
			continue;
		grew = true;
		el.comment = record_name(e, &s->record, el.comment);
		/* A key re-written for another host: the new comment is the
		 * one the kernel will hold. Entries past n are unsorted yet. */
		if (j < n && c == 0)
			s->record.v[j].comment = el.comment;
		else
			elem_list_push(&s->record, &el);
	}
	if (s->record.n != n)
		elem_list_sort_unique(&s->record);
	e->record_changed |= grew;
	return grew;
}

/* After a commit the kernel holds its old elements less del, plus add:
 * keep that as the "kernel" view, so the next reconcile needs no dump
 * unless the monitor says someone else changed the set. */
static void commit_view(struct engine *e, struct engine_set *s, struct set_diff *d)
{
	struct elem_list next = { 0 };
	size_t i, j = 0;

	/* A first fill of a host set: the view is what was added, taken
	 * as it is (sorted, its comments the endpoint names). */
	if (s->kernel.n == 0 && s->kind == ENGINE_ELEMS) {
		next = d->add;
		memset(&d->add, 0, sizeof(d->add));
		for (i = 0; i < next.n; i++)
			next.v[i].owned = true;
	}
	for (i = 0; i < s->kernel.n; i++) {
		struct elem el = s->kernel.v[i];

		/* del is an ordered subsequence of the kernel list. */
		if (j < d->del.n && elem_key_cmp(&el, &d->del.v[j]) == 0) {
			j++;
			continue;
		}
		/* Comments of the old view die with it: point ours at the
		 * endpoint names, copy the rest. */
		if (el.comment)
			el.comment = record_name(e, &next, el.comment);
		elem_list_push(&next, &el);
	}
	for (i = 0; i < d->add.n; i++) {
		struct elem el = d->add.v[i];

		el.owned = true;
		/* A host set's comments are the endpoint names already; a
		 * range set's die with the ranges loaded. */
		if (s->kind == ENGINE_RANGES && el.comment)
			el.comment = elem_list_intern(&next, el.comment);
		elem_list_push(&next, &el);
	}
	elem_list_sort_unique(&next);
	elem_list_free(&s->kernel);
	s->kernel = next;
	s->exists = true;
	s->size = next.n;
	rebuild_record(e, s);
}

static void log_created(const struct engine_set *s)
{
	char d[300];

	log_info("created %s%s { type %s%s }", s->kind == ENGINE_RANGES ? "interval " : "",
		 set_desc(s, d, sizeof(d)), keytype_name(s->key),
		 s->kind == ENGINE_RANGES ? "; flags interval" : "");
}

static void count_diff(struct reconcile_stats *st, const struct engine_set *s,
		       const struct set_diff *d)
{
	if (s->kind == ENGINE_RANGES) {
		st->ranges += d->add.n + d->del.n;
		return;
	}
	st->added += d->add.n;
	st->removed += d->del.n;
}

static void count_written(struct engine *e, const struct set_diff *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		e->counters.added += d[i].add.n;
		e->counters.removed += d[i].del.n;
	}
}

static void log_orphan(const struct engine_set *s, const struct set_diff *d)
{
	char desc[300];

	if (d->del.n)
		log_info("set=%s removed=%zu: %s is no longer configured; kvfence's elements "
			 "removed, the set left in place", s->ref.name, d->del.n,
			 set_desc(s, desc, sizeof(desc)));
}

/* Write-ahead: what the batch will add is in the saved record first. */
static void claim_all(struct engine *e, struct set_diff *d)
{
	bool grew = false;
	size_t i;

	for (i = 0; i < e->n_sets; i++)
		grew |= claim(e, &e->sets[i], &d[i].add);
	if (grew && e->persist)
		e->persist(e->persist_arg);
}

static void queue_orphans(struct engine *e, struct nftbatch *b, struct set_diff *od,
			  bool dry_run, struct reconcile_stats *st)
{
	size_t i;

	for (i = 0; i < e->n_orphans; i++) {
		struct engine_set *s = &e->orphans[i];

		compute_orphan(s, &od[i]);
		if (dry_run && s->exists)
			print_plan(s, &od[i]);
		else if (od[i].del.n)
			nftbatch_del_elems(b, &s->ref, s->key, od[i].del.v, od[i].del.n);
		count_diff(st, s, &od[i]);
	}
}

/* Orphans read and emptied of ours are done with. */
static void finish_orphans(struct engine *e, struct set_diff *od, bool committed)
{
	size_t i, n = e->n_orphans;

	for (i = n; i-- > 0; ) {
		if (committed && e->orphans[i].exists) {
			log_orphan(&e->orphans[i], &od[i]);
			drop_orphan(e, i);
		}
		set_diff_free(&od[i]);
	}
}

/* Whether the batch about to create a missing set creates its table
 * too: a NEWTABLE of an existing table is no error, so ask first. */
static bool table_missing(struct engine *e)
{
	unsigned use;
	size_t i;

	for (i = 0; i < e->n_sets; i++)
		if (!e->sets[i].exists && writable(e, &e->sets[i]))
			return nftread_table_use(e->nft, e->sets[i].ref.family,
						 e->sets[i].ref.table, &use) == -ENOENT;
	return false;
}

/* Remembered with the record, for kvfence clear. Not a range set's:
 * kvfence clear empties those of kvfence's ranges but leaves the sets
 * (the rules printed for range mode refer to them). */
static void note_created(struct engine_set *s, bool table_new, bool *any)
{
	log_created(s);
	if (s->kind == ENGINE_RANGES)
		return;
	s->created = true;
	s->table_created = table_new;
	*any = true;
}

int engine_reconcile(struct engine *e, bool dry_run, struct reconcile_stats *st,
		     char *err, size_t errlen)
{
	struct set_diff d[ENGINE_MAX_SETS], *od;
	struct nftbatch *b;
	bool table_queued = false, table_new = !dry_run && table_missing(e), created = false;
	size_t i;
	int r = 0;

	memset(st, 0, sizeof(*st));
	od = xcalloc(e->n_orphans + 1, sizeof(*od));
	b = nftbatch_new();
	for (i = 0; i < e->n_sets; i++) {
		compute(e, &e->sets[i], &d[i], dry_run);
		if (!writable(e, &e->sets[i]))
			continue;
		if (dry_run)
			print_plan(&e->sets[i], &d[i]);
		else
			queue_set(b, &e->sets[i], &table_queued, &d[i].add, &d[i].del);
		count_diff(st, &e->sets[i], &d[i]);
	}
	queue_orphans(e, b, od, dry_run, st);
	st->messages = nftbatch_count(b);
	if (!dry_run) {
		claim_all(e, d);
		r = nftcommit_batch(e->nft, b, err, errlen);
	}
	/* The batch's buffer is the largest allocation of a reconcile: gone
	 * before the new view is built. */
	nftbatch_free(b);
	if (r == 0 && !dry_run) {
		count_written(e, d, e->n_sets);
		count_written(e, od, e->n_orphans);
	}
	for (i = 0; i < e->n_sets; i++) {
		struct engine_set *s = &e->sets[i];

		if (r == 0 && !dry_run && writable(e, s)) {
			if (!s->exists)
				note_created(s, table_new, &created);
			size_t added = d[i].add.n;

			commit_view(e, s, &d[i]);
			if (added || d[i].del.n || e->log_unchanged)
				log_info("set=%s added=%zu removed=%zu size=%zu",
					 s->ref.name, added, d[i].del.n, s->size);
		}
		set_diff_free(&d[i]);
	}
	finish_orphans(e, od, r == 0 && !dry_run);
	free(od);
	if (created && e->persist)
		e->persist(e->persist_arg);
	return r;
}
