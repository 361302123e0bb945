/* kvfence: reading nftables with libnftnl over the command socket: a
 * set's type (judged against what kvfence can fill), its elements or
 * ranges, dumped again until two dumps of one generation agree. */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nftread.h"
#include "util.h"

/* A dump racing ruleset changes is repeated; give up after this many
 * (dumps, not reads: a read takes two that agree, see dump_consistent). */
#define LIST_RETRIES		16

static void set_err(char *err, size_t errlen, const struct setref *ref,
		    const char *reason)
{
	char d[300];

	snprintf(err, errlen, "%s: %s", setref_format(ref, d, sizeof(d)), reason);
}

static void set_err_errno(char *err, size_t errlen, const struct setref *ref,
			  const struct nlsock *sock, int r)
{
	char d[300];

	snprintf(err, errlen, "%s: %s%s", setref_format(ref, d, sizeof(d)), strerror(-r),
		 nlsock_kernel_err(sock) ? " (kernel)" : "");
}

/* Reading a set's type */

struct set_info {
	bool seen;
	uint32_t key_type, key_len, flags, size;
	uint64_t timeout;	/* default element timeout, ms; 0: none */
};

static int set_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct set_info *si = data;
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());

	if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
		si->seen = true;
		si->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
		si->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
		si->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE))
			si->size = nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);
		if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
			si->timeout = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* buf: MNL_SOCKET_BUFFER_SIZE bytes. */
static struct nlmsghdr *build_set_req(struct nlsock *sock, const struct setref *ref,
				      uint16_t type, uint16_t flags, char *buf)
{
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());
	struct nlmsghdr *nlh;

	/* libmnl 1.0.4 leaves attribute padding as it finds it. */
	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nlh = nftnl_nlmsg_build_hdr(buf, type, ref->family, flags, nlsock_next_seq(sock));
	if (type == NFT_MSG_GETSETELEM)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	else
		nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh;
}

static int check_key(const struct set_info *si, const struct setref *ref,
		     enum set_keytype *key, char *err, size_t errlen)
{
	char reason[320], type[128];

	if (nftcodec_key_from_kernel(si->key_type, si->key_len, key) < 0) {
		snprintf(reason, sizeof(reason), "key type %s (%u bytes) is none of "
			 "ipv4_addr, ipv6_addr, ipv4_addr . inet_service, "
			 "ipv6_addr . inet_service",
			 keytype_kernel_name(si->key_type, type, sizeof(type)), si->key_len);
		set_err(err, errlen, ref, reason);
		return -EPROTOTYPE;
	}
	return 0;
}

/* Maps and interval sets hold elements kvfence cannot write as single
 * keys (an interval start without its end would match everything
 * above it), so they count as a type kvfence does not handle. */
static int check_set_info(const struct set_info *si, const struct setref *ref,
			  enum set_keytype *key, char *err, size_t errlen)
{
	char reason[160];

	if (si->flags & (NFT_SET_MAP | NFT_SET_OBJECT | NFT_SET_INTERVAL)) {
		snprintf(reason, sizeof(reason), "is %s; kvfence fills only plain sets",
			 si->flags & NFT_SET_INTERVAL ? "an interval set" : "a map");
		set_err(err, errlen, ref, reason);
		return -EPROTOTYPE;
	}
	/* The kernel would expire kvfence's elements behind its back, with
	 * no notification: the set would empty while kvfence believes it
	 * full. Flag timeout alone is fine: elements written without a
	 * timeout never expire. */
	if (si->timeout) {
		snprintf(reason, sizeof(reason), "has a default timeout (%llus): the kernel "
			 "would expire kvfence's elements; declare it without timeout",
			 (unsigned long long)(si->timeout / 1000));
		set_err(err, errlen, ref, reason);
		return -EPROTOTYPE;
	}
	return check_key(si, ref, key, err, errlen);
}

/* Range mode wants the opposite: flag interval, and a key of one
 * address, not a concatenation. */
static int check_interval_info(const struct set_info *si, const struct setref *ref,
			       enum set_keytype *key, char *err, size_t errlen)
{
	char reason[160];
	int r;

	if (si->flags & (NFT_SET_MAP | NFT_SET_OBJECT) || !(si->flags & NFT_SET_INTERVAL)) {
		snprintf(reason, sizeof(reason), "is %s; range mode needs a set with "
			 "flags interval", si->flags & NFT_SET_INTERVAL ? "a map" :
			 "not an interval set");
		set_err(err, errlen, ref, reason);
		return -EPROTOTYPE;
	}
	r = check_key(si, ref, key, err, errlen);
	if (r == 0 && keytype_has_port(*key)) {
		snprintf(reason, sizeof(reason), "key type %s: range mode needs ipv4_addr "
			 "or ipv6_addr", keytype_name(*key));
		set_err(err, errlen, ref, reason);
		return -EPROTOTYPE;
	}
	return r;
}

static int get_set_info(struct nlsock *sock, const struct setref *ref,
			struct set_info *si, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	nlh = build_set_req(sock, ref, NFT_MSG_GETSET, NLM_F_ACK, buf);
	r = nlsock_talk(sock, nlh, set_info_cb, si);
	if (r == 0 && !si->seen) {
		set_err(err, errlen, ref, "no answer from the kernel");
		return -EPROTO;
	}
	if (r < 0)
		set_err_errno(err, errlen, ref, sock, r);
	return r;
}

int nftread_set(struct nlsock *sock, const struct setref *ref,
		enum set_keytype *key, char *err, size_t errlen)
{
	struct set_info si = { 0 };
	int r = get_set_info(sock, ref, &si, err, errlen);

	return r < 0 ? r : check_set_info(&si, ref, key, err, errlen);
}

int nftread_interval_set(struct nlsock *sock, const struct setref *ref, int *family,
			 char *err, size_t errlen)
{
	struct set_info si = { 0 };
	enum set_keytype key;
	int r = get_set_info(sock, ref, &si, err, errlen);

	if (r == 0)
		r = check_interval_info(&si, ref, &key, err, errlen);
	if (r == 0)
		*family = keytype_family(key);
	return r;
}


/* Reading elements */

/* One dump fills either out (plain sets) or edges, whose comments are
 * pooled in ranges (interval sets). */
struct dump {
	enum set_keytype key;
	struct elem_list *out;
	size_t n0;		/* out's length before the dump */
	struct range_list *ranges;
	struct nftcodec_edge *edges;
	size_t n_edges, cap_edges;
	int error;		/* first element kvfence could not read */
};

static const char *elem_comment(struct nftnl_set_elem *e)
{
	const void *ud;
	uint32_t len = 0;

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA))
		return NULL;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	return nftcodec_udata_comment(ud, len);
}

static int dump_elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct dump *d = data;
	const char *comment;
	const void *k;
	struct elem el;
	uint32_t len = 0;

	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!k || nftcodec_key_decode(d->key, k, len, &el) < 0) {
		d->error = -EBADMSG;
		return 0;
	}
	comment = elem_comment(e);
	if (d->ranges) {
		array_reserve(&d->edges, &d->cap_edges, d->n_edges + 1, sizeof(*d->edges));
		d->edges[d->n_edges++] = (struct nftcodec_edge){
			.key = el.addr,
			.end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
			       (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
				NFT_SET_ELEM_INTERVAL_END),
			.comment = comment ? range_list_intern(d->ranges, comment) : NULL,
		};
		return 0;
	}
	if (comment)
		el.comment = elem_list_intern(d->out, comment);
	elem_list_push(d->out, &el);
	return 0;
}

static int dump_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());
	struct dump *d = data;

	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		d->error = -EBADMSG;
	else
		nftnl_set_elem_foreach(s, dump_elem_cb, d);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int dump_elems(struct nlsock *sock, const struct setref *ref, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	nlh = build_set_req(sock, ref, NFT_MSG_GETSETELEM, NLM_F_DUMP, buf);
	r = nlsock_talk(sock, nlh, dump_msg_cb, d);
	return r < 0 ? r : d->error;
}

/* Comments of a discarded attempt stay in the pool until the list is
 * cleared: bounded by LIST_RETRIES. */
static void dump_reset(struct dump *d)
{
	if (d->out)
		d->out->n = d->n0;
	d->n_edges = 0;
	d->error = 0;
}

/* What one dump read: how many elements, and an order-independent sum
 * of a hash of each key (and interval flag). */
struct digest {
	size_t n;
	uint64_t sum;
};

static uint64_t key_hash(const struct kvf_addr *a, uint16_t port, bool end)
{
	uint64_t h = fnv1a64(FNV1A64_BASIS, &a->family, 1);

	h = fnv1a64(h, a->bytes, addr_len(a));
	h = fnv1a64(h, &port, sizeof(port));
	return fnv1a64(h, &end, sizeof(end));
}

static struct digest dump_digest(const struct dump *d)
{
	struct digest g = { 0 };
	size_t i;

	if (d->out)
		for (i = d->n0; i < d->out->n; i++, g.n++)
			g.sum += key_hash(&d->out->v[i].addr, d->out->v[i].port, false);
	for (i = 0; i < d->n_edges; i++, g.n++)
		g.sum += key_hash(&d->edges[i].key, 0, d->edges[i].end);
	return g;
}

/* Dump the set's elements into d, again while the ruleset generation
 * changes under the dump, and until two dumps in one generation agree.
 * The kernel resumes a set dump that spans several messages by skipping
 * as many elements as it already sent, walking the hash table afresh;
 * a resize of that table (deferred work after inserts and deletes, no
 * new generation, no NLM_F_DUMP_INTR) in between reorders it, and
 * elements are skipped or sent twice: reads came back a third short
 * (tests/bench/dump-race.sh). A resize is over in moments; two dumps
 * that agree are not racing one. 0 or -errno with err set. */
static int dump_consistent(struct nlsock *sock, const struct setref *ref,
			   struct dump *d, char *err, size_t errlen)
{
	struct digest prev = { 0 }, cur;
	uint32_t gen0 = 0, gen1 = 0, prev_gen = 0;
	bool have_prev = false;
	int r, tries;

	for (tries = 0; tries < LIST_RETRIES; tries++) {
		dump_reset(d);
		r = nlsock_get_genid(sock, &gen0);
		if (r < 0)
			goto fail;
		r = dump_elems(sock, ref, d);
		/* EINTR: the kernel flagged the dump as interrupted. */
		if (r == -EINTR)
			continue;
		if (r < 0)
			goto fail;
		r = nlsock_get_genid(sock, &gen1);
		if (r < 0)
			goto fail;
		if (gen0 != gen1)
			continue;
		cur = dump_digest(d);
		if (have_prev && prev_gen == gen0 && prev.n == cur.n && prev.sum == cur.sum)
			return 0;
		if (have_prev && prev_gen == gen0)
			nlsock_count_dump_disagreed(sock);
		prev = cur;
		prev_gen = gen0;
		have_prev = true;
	}
	dump_reset(d);
	set_err(err, errlen, ref, "the ruleset kept changing while it was read");
	return -EAGAIN;
fail:
	dump_reset(d);
	if (r == -EBADMSG && !nlsock_kernel_err(sock))
		set_err(err, errlen, ref, "an element could not be read as the set type");
	else
		set_err_errno(err, errlen, ref, sock, r);
	return r;
}

int nftread_elems(struct nlsock *sock, const struct setref *ref,
		  enum set_keytype key, struct elem_list *out,
		  char *err, size_t errlen)
{
	struct dump d = { .key = key, .out = out, .n0 = out->n };

	return dump_consistent(sock, ref, &d, err, errlen);
}

int nftread_ranges(struct nlsock *sock, const struct setref *ref, int family,
		   struct range_list *out, char *err, size_t errlen)
{
	struct dump d = { .key = nftcodec_range_key(family), .ranges = out };
	int r = dump_consistent(sock, ref, &d, err, errlen);

	if (r == 0)
		nftcodec_pair_edges(d.edges, d.n_edges, out);
	free(d.edges);
	return r;
}

/* Reading a table */

struct table_info {
	bool seen;
	uint32_t use, flags;
	uint32_t owner;		/* netlink port of a "flags owner" table */
};

static int table_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *ti = data;
	struct nftnl_table *t = xcheck_alloc(nftnl_table_alloc());

	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		ti->seen = true;
		ti->use = nftnl_table_get_u32(t, NFTNL_TABLE_USE);
		ti->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
		if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
			ti->owner = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int get_table_info(struct nlsock *sock, int family, const char *table,
			  struct table_info *ti)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = xcheck_alloc(nftnl_table_alloc());
	struct nlmsghdr *nlh;
	int r;

	memset(buf, 0, sizeof(buf));
	memset(ti, 0, sizeof(*ti));
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK,
				    nlsock_next_seq(sock));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = nlsock_talk(sock, nlh, table_info_cb, ti);
	if (r == 0 && !ti->seen)
		r = -EPROTO;
	return r;
}

int nftread_table_use(struct nlsock *sock, int family, const char *table, unsigned *use)
{
	struct table_info ti;
	int r = get_table_info(sock, family, table, &ti);

	*use = ti.use;
	return r;
}


uint32_t nftread_table_owner(struct nlsock *sock, int family, const char *table)
{
	struct table_info ti;

	if (get_table_info(sock, family, table, &ti) < 0 || !(ti.flags & NFT_TABLE_F_OWNER))
		return 0;
	return ti.owner;
}

uint32_t nftread_set_size(struct nlsock *sock, const struct setref *ref)
{
	struct set_info si = { 0 };
	char ignored[256];

	if (get_set_info(sock, ref, &si, ignored, sizeof(ignored)) < 0)
		return 0;
	return si.size;
}
