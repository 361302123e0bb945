/* kvfence: range mode's interval sets in the engine. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "nftread.h"
#include "rangeset.h"

static void add_set(struct range_sets *rs, const struct config *cfg, const char *name,
		    int family)
{
	struct range_set *s = &rs->v[rs->n++];

	memset(s, 0, sizeof(*s));
	s->ref.family = cfg->table_family;
	s->ref.table = cfg->table;
	s->ref.name = name;
	s->family = family;
}

void rangesets_init(struct range_sets *rs, const struct config *cfg)
{
	memset(rs, 0, sizeof(*rs));
	if (cfg->n_tagsets == 0)
		return;
	if (cfg->range_set4)
		add_set(rs, cfg, cfg->range_set4, AF_INET);
	if (cfg->range_set6)
		add_set(rs, cfg, cfg->range_set6, AF_INET6);
}

void rangesets_fini(struct range_sets *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		range_list_free(&rs->v[i].kernel);
		range_list_free(&rs->v[i].add);
		range_list_free(&rs->v[i].del);
	}
	memset(rs, 0, sizeof(*rs));
}

static bool ours(const char *comment)
{
	return comment && strncmp(comment, SERVICETAGS_COMMENT_PREFIX,
				  strlen(SERVICETAGS_COMMENT_PREFIX)) == 0;
}

static int read_one(struct range_set *s, struct nlsock *nft, bool create,
		    char *err, size_t errlen)
{
	char d[300];
	int family, r;
	size_t i;

	range_list_free(&s->kernel);
	s->broken = false;
	r = nftread_interval_set(nft, &s->ref, &family, err, errlen);
	if (r == -ENOENT) {
		s->exists = false;
		if (create)
			return 0;
		snprintf(err, errlen, "%s does not exist and create-sets is no",
			 setref_format(&s->ref, d, sizeof(d)));
		return r;
	}
	if (r == 0 && family != s->family) {
		snprintf(err, errlen, "%s holds %s addresses, expected %s",
			 setref_format(&s->ref, d, sizeof(d)), family == AF_INET ? "IPv4" : "IPv6", s->family == AF_INET ? "IPv4" : "IPv6");
		r = -EPROTOTYPE;
	}
	/* It exists, with another type: never created over, never written. */
	s->broken = r == -EPROTOTYPE;
	if (r < 0)
		return r;
	s->exists = true;
	r = nftread_ranges(nft, &s->ref, family, &s->kernel, err, errlen);
	if (r < 0)
		return r;
	for (i = 0; i < s->kernel.n; i++)
		s->kernel.v[i].owned = ours(s->kernel.v[i].comment);
	range_list_sort(&s->kernel);
	s->size = s->kernel.n;
	return 0;
}

int rangesets_read(struct range_sets *rs, struct nlsock *nft, bool create,
		   char *err, size_t errlen)
{
	char scratch[512];
	int r, broken = 0;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		/* Once one set is broken, err keeps its message. */
		r = read_one(&rs->v[i], nft, create, broken ? scratch : err,
			     broken ? sizeof(scratch) : errlen);
		if (r == -EPROTOTYPE) {
			broken = r;
			continue;
		}
		if (r < 0)
			return r;
	}
	return broken;
}

static void print_plan(const struct range_set *s)
{
	char buf[100];
	size_t i;

	if (!s->exists)
		printf("would create interval set %s\n", s->ref.name);
	for (i = 0; i < s->add.n; i++)
		printf("would add to %s: %s comment \"%s\"\n", s->ref.name,
		       range_format(&s->add.v[i], buf, sizeof(buf)), s->add.v[i].comment);
	for (i = 0; i < s->del.n; i++)
		printf("would remove from %s: %s\n", s->ref.name,
		       range_format(&s->del.v[i], buf, sizeof(buf)));
}

size_t rangesets_queue(struct range_sets *rs, struct nftbatch *b, bool *table_queued,
		       bool dry_run)
{
	size_t i, changed = 0;

	for (i = 0; rs->tags && i < rs->n; i++) {
		struct range_set *s = &rs->v[i];

		if (s->broken)
			continue;
		range_diff(s->family == AF_INET ? &rs->tags->v4 : &rs->tags->v6, &s->kernel,
			   &s->add, &s->del);
		changed += s->add.n + s->del.n;
		if (dry_run) {
			print_plan(s);
			continue;
		}
		if (!s->exists) {
			if (!*table_queued)
				nftbatch_add_table(b, s->ref.family, s->ref.table);
			*table_queued = true;
			nftbatch_add_interval_set(b, &s->ref, s->family);
		}
		nftbatch_del_ranges(b, &s->ref, s->family, s->del.v, s->del.n);
		nftbatch_add_ranges(b, &s->ref, s->family, s->add.v, s->add.n);
	}
	return changed;
}

/* The kernel now holds its old ranges less del, plus add. */
static void commit_view(struct range_set *s)
{
	struct range_list next = { 0 };
	size_t i, j = 0;

	for (i = 0; i < s->kernel.n; i++) {
		struct range r = s->kernel.v[i];

		if (j < s->del.n && addr_cmp(&r.lo, &s->del.v[j].lo) == 0 &&
		    addr_cmp(&r.hi, &s->del.v[j].hi) == 0) {
			j++;
			continue;
		}
		if (r.comment)
			r.comment = range_list_intern(&next, r.comment);
		range_list_push(&next, &r);
	}
	for (i = 0; i < s->add.n; i++) {
		struct range r = s->add.v[i];

		r.owned = true;
		r.comment = range_list_intern(&next, r.comment);
		range_list_push(&next, &r);
	}
	range_list_sort(&next);
	range_list_free(&s->kernel);
	s->kernel = next;
	s->exists = true;
	s->size = next.n;
}

void rangesets_done(struct range_sets *rs, bool committed, bool log_unchanged)
{
	size_t i;

	for (i = 0; rs->tags && i < rs->n; i++) {
		struct range_set *s = &rs->v[i];
		char d[300];

		if (committed && !s->broken) {
			if (!s->exists)
				log_info("created interval %s", setref_format(&s->ref, d, sizeof(d)));
			commit_view(s);
			if (s->add.n || s->del.n || log_unchanged)
				log_info("set=%s added=%zu removed=%zu size=%zu", s->ref.name,
					 s->add.n, s->del.n, s->size);
		}
		range_list_free(&s->add);
		range_list_free(&s->del);
	}
}
