/* kvfence: nftables I/O over a netlink socket with libnftnl and libmnl:
 * read a set's key type and elements, and commit table, set and element
 * changes in one atomic batch, mapping every kernel error to its message. */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "log.h"
#include "nftset.h"
#include "util.h"

/* nftables datatype ids (nftables include/datatype.h); a concatenation
 * is encoded as (type1 << TYPE_BITS) | type2. */
#define NFT_TYPE_IPV4_ADDR	7
#define NFT_TYPE_IPV6_ADDR	8
#define NFT_TYPE_INET_SERVICE	13
#define NFT_TYPE_BITS		6
/* nftables enum byteorder, stored in set user data as nft does. */
#define NFT_BYTEORDER_INVALID	0
#define NFT_BYTEORDER_BIG	2

/* The element list nest length is a u16. An element costs at most
 * 4 (nest) + 28 (key) + 4 + 256 (user data, NFT_USERDATA_MAXLEN) = 292
 * bytes, so 200 of them (58,400 bytes) always fit; a range is two
 * elements (its end: 4 + 28 + 8 (flags) = 40 bytes), so 100 ranges. */
#define ELEMS_PER_MSG		200
/* Room reserved in the batch buffer before building one message. */
#define MSG_ROOM		(UINT16_MAX + 4096)
#define KEY_MAXLEN		20
#define RECV_BUFSIZ		65536
/* A dump racing ruleset changes is repeated; give up after this many
 * (dumps, not reads: a read takes two that agree, see dump_consistent). */
#define LIST_RETRIES		16
/* Receive buffer accounting for one ack skb (truesize), generously. */
#define ACK_TRUESIZE		1024
#define ACK_WAIT_MS		1000

struct nftset_ctx {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint32_t set_id;
	uint64_t msgs_sent;
	uint64_t dumps_disagreed;	/* two dumps of one generation differed */
	bool kernel_err;	/* the last talk() failed on the kernel's word */
	char *buf;		/* RECV_BUFSIZ, for replies and acks */
};

enum msg_kind {
	MSG_OTHER,
	MSG_ELEMS,		/* elements of a plain set */
	MSG_RANGES,		/* start and end elements of an interval set */
};

struct batch_msg {
	uint32_t seq;
	size_t off;		/* of the message in the batch buffer */
	char *desc;		/* "set inet filter kvfence4: add 3 elements" */
	struct setref ref;	/* the set it writes (names not owned) */
	enum set_keytype key;
	enum msg_kind kind;
};

struct nftset_batch {
	struct nftset_ctx *ctx;
	char *buf;
	size_t len, cap;
	struct batch_msg *msgs;
	size_t n, cap_msgs;
	int error;		/* first error found while queueing */
	char *error_msg;
};

const char *nftset_family_name(int nfproto)
{
	switch (nfproto) {
	case NFPROTO_INET:	return "inet";
	case NFPROTO_IPV4:	return "ip";
	case NFPROTO_IPV6:	return "ip6";
	case NFPROTO_ARP:	return "arp";
	case NFPROTO_BRIDGE:	return "bridge";
	case NFPROTO_NETDEV:	return "netdev";
	}
	return "unknown";
}

static uint32_t keytype_nft_type(enum set_keytype k)
{
	switch (k) {
	case KEY_IPV4:		return NFT_TYPE_IPV4_ADDR;
	case KEY_IPV6:		return NFT_TYPE_IPV6_ADDR;
	case KEY_IPV4_PORT:
		return NFT_TYPE_IPV4_ADDR << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;
	case KEY_IPV6_PORT:
		return NFT_TYPE_IPV6_ADDR << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;
	}
	return 0;
}

static uint32_t keytype_addrlen(enum set_keytype k)
{
	return keytype_family(k) == AF_INET ? 4 : 16;
}

/* Each field of a concatenation takes whole 32-bit registers: the 2-byte
 * port is padded to 4. */
static uint32_t keytype_len(enum set_keytype k)
{
	return keytype_addrlen(k) + (keytype_has_port(k) ? 4 : 0);
}

static int keytype_from_kernel(uint32_t type, uint32_t len, enum set_keytype *out)
{
	static const enum set_keytype all[] = {
		KEY_IPV4, KEY_IPV6, KEY_IPV4_PORT, KEY_IPV6_PORT,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (keytype_nft_type(all[i]) == type && keytype_len(all[i]) == len) {
			*out = all[i];
			return 0;
		}
	}
	return -EPROTOTYPE;
}

const char *setref_format(const struct setref *ref, char *buf, size_t len)
{
	snprintf(buf, len, "set %s %s %s", nftset_family_name(ref->family), ref->table,
		 ref->name);
	return buf;
}

static void set_err(char *err, size_t errlen, const struct setref *ref,
		    const char *reason)
{
	char d[300];

	snprintf(err, errlen, "%s: %s", setref_format(ref, d, sizeof(d)), reason);
}

static void set_err_errno(char *err, size_t errlen, const struct setref *ref,
			  const struct nftset_ctx *ctx, int r)
{
	char d[300];

	snprintf(err, errlen, "%s: %s%s", setref_format(ref, d, sizeof(d)), strerror(-r),
		 ctx->kernel_err ? " (kernel)" : "");
}

/* libnftnl allocates with malloc: out of memory is fatal, as in xmalloc. */
static void *nn(void *p)
{
	if (!p)
		fatalx("out of memory");
	return p;
}

/* Socket */

static void sock_opt_flag(struct mnl_socket *nl, int opt)
{
	int one = 1;

	/* Old kernels lack these; the acks are then merely less detailed. */
	mnl_socket_setsockopt(nl, opt, &one, sizeof(one));
}

int nftset_open(struct nftset_ctx **ctxp)
{
	struct nftset_ctx *ctx = xcalloc(1, sizeof(*ctx));
	int r;

	ctx->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!ctx->nl)
		goto fail;
	if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	sock_opt_flag(ctx->nl, NETLINK_EXT_ACK);
	sock_opt_flag(ctx->nl, NETLINK_CAP_ACK);
	ctx->portid = mnl_socket_get_portid(ctx->nl);
	ctx->seq = (uint32_t)time(NULL);
	ctx->buf = xmalloc(RECV_BUFSIZ);
	*ctxp = ctx;
	return 0;
fail:
	r = -errno;
	if (ctx->nl)
		mnl_socket_close(ctx->nl);
	free(ctx);
	*ctxp = NULL;
	return r;
}

void nftset_close(struct nftset_ctx *ctx)
{
	if (!ctx)
		return;
	mnl_socket_close(ctx->nl);
	free(ctx->buf);
	free(ctx);
}

int nftset_fd(const struct nftset_ctx *ctx)
{
	return mnl_socket_get_fd(ctx->nl);
}

uint32_t nftset_portid(const struct nftset_ctx *ctx)
{
	return ctx->portid;
}

uint64_t nftset_msgs_sent(const struct nftset_ctx *ctx)
{
	return ctx->msgs_sent;
}

uint64_t nftset_dumps_disagreed(const struct nftset_ctx *ctx)
{
	return ctx->dumps_disagreed;
}

static uint32_t next_seq(struct nftset_ctx *ctx)
{
	return ++ctx->seq;
}

/* Leftovers of an earlier request that was abandoned halfway would
 * otherwise be read as the answer to the next one. Reading also lets
 * an unfinished dump run to its end. */
static void drain(struct nftset_ctx *ctx)
{
	while (recv(nftset_fd(ctx), ctx->buf, RECV_BUFSIZ, MSG_DONTWAIT) > 0)
		;
}

/* The kernel doubles what it is given. FORCE ignores rmem_max/wmem_max
 * and needs CAP_NET_ADMIN, which kvfence has anyway. */
static void sock_buf_reserve(int fd, int force_opt, int opt, size_t need)
{
	int cur = 0, val;
	socklen_t sl = sizeof(cur);

	if (need > INT_MAX / 2)
		need = INT_MAX / 2;
	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &sl) == 0 && (size_t)cur >= need)
		return;
	val = (int)need;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof(val)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &val, sizeof(val));
}

/* Send one request and run cb over the answer until the ack or the end
 * of the dump. 0 or -errno (the kernel's, for a failed request). */
static int talk(struct nftset_ctx *ctx, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	ctx->kernel_err = false;
	drain(ctx);
	if (mnl_socket_sendto(ctx->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ctx->msgs_sent++;
	for (;;) {
		n = mnl_socket_recvfrom(ctx->nl, ctx->buf, RECV_BUFSIZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = mnl_cb_run(ctx->buf, n, seq, ctx->portid, cb, data);
		if (r <= 0) {
			/* An error ack, or a dump the kernel flagged. */
			ctx->kernel_err = r < 0;
			return r < 0 ? -errno : 0;
		}
	}
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
	struct nftnl_set *s = nn(nftnl_set_alloc());

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
static struct nlmsghdr *build_set_req(struct nftset_ctx *ctx, const struct setref *ref,
				      uint16_t type, uint16_t flags, char *buf)
{
	struct nftnl_set *s = nn(nftnl_set_alloc());
	struct nlmsghdr *nlh;

	/* Attribute padding is left as found (see batch_tail). */
	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nlh = nftnl_nlmsg_build_hdr(buf, type, ref->family, flags, next_seq(ctx));
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

	if (keytype_from_kernel(si->key_type, si->key_len, key) < 0) {
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

static int get_set_info(struct nftset_ctx *ctx, const struct setref *ref,
			struct set_info *si, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	nlh = build_set_req(ctx, ref, NFT_MSG_GETSET, NLM_F_ACK, buf);
	r = talk(ctx, nlh, set_info_cb, si);
	if (r == 0 && !si->seen) {
		set_err(err, errlen, ref, "no answer from the kernel");
		return -EPROTO;
	}
	if (r < 0)
		set_err_errno(err, errlen, ref, ctx, r);
	return r;
}

int nftset_get(struct nftset_ctx *ctx, const struct setref *ref,
	       enum set_keytype *key, char *err, size_t errlen)
{
	struct set_info si = { 0 };
	int r = get_set_info(ctx, ref, &si, err, errlen);

	return r < 0 ? r : check_set_info(&si, ref, key, err, errlen);
}

int nftset_get_interval(struct nftset_ctx *ctx, const struct setref *ref, int *family,
			char *err, size_t errlen)
{
	struct set_info si = { 0 };
	enum set_keytype key;
	int r = get_set_info(ctx, ref, &si, err, errlen);

	if (r == 0)
		r = check_interval_info(&si, ref, &key, err, errlen);
	if (r == 0)
		*family = keytype_family(key);
	return r;
}

/* Reading elements */

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nn(nftnl_gen_alloc());

	if (nftnl_gen_nlmsg_parse(nlh, g) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

static int get_genid(struct nftset_ctx *ctx, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK,
				    next_seq(ctx));
	return talk(ctx, nlh, gen_cb, genid);
}

/* An element of an interval set: the start or the end of a range. */
struct edge {
	struct kvf_addr key;
	bool end;		/* NFT_SET_ELEM_INTERVAL_END */
	const char *comment;
};

/* One dump fills either out (plain sets) or edges, whose comments are
 * pooled in ranges (interval sets). */
struct dump {
	enum set_keytype key;
	struct elem_list *out;
	size_t n0;		/* out's length before the dump */
	struct range_list *ranges;
	struct edge *edges;
	size_t n_edges, cap_edges;
	int error;		/* first element kvfence could not read */
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	/* nft accepts a comment only if NUL-terminated; so do we. */
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT &&
	    len > 0 && v[len - 1] == '\0')
		*(const char **)data = v;
	return 0;
}

/* nftnl_udata_parse trusts each TLV's length; the bytes come from
 * whoever wrote the element, so check that they stay in bounds. */
static bool udata_valid(const uint8_t *p, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		if (len - off < 2 || len - off - 2 < p[off + 1])
			return false;
		off += 2 + p[off + 1];
	}
	return true;
}

static const char *elem_comment(struct nftnl_set_elem *e)
{
	const char *comment = NULL;
	const void *ud;
	uint32_t len;

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA))
		return NULL;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	if (!ud || !udata_valid(ud, len))
		return NULL;
	nftnl_udata_parse(ud, len, comment_cb, &comment);
	return comment;
}

static int key_decode(enum set_keytype key, const uint8_t *p, uint32_t len,
		      struct elem *el)
{
	uint32_t alen = keytype_addrlen(key);
	uint16_t port;

	if (len != keytype_len(key))
		return -EPROTO;
	memset(el, 0, sizeof(*el));
	el->addr.family = keytype_family(key);
	memcpy(el->addr.bytes, p, alen);
	if (keytype_has_port(key)) {
		memcpy(&port, p + alen, sizeof(port));
		el->port = ntohs(port);
	}
	return 0;
}

static int dump_elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct dump *d = data;
	const char *comment;
	const void *k;
	struct elem el;
	uint32_t len = 0;

	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!k || key_decode(d->key, k, len, &el) < 0) {
		d->error = -EBADMSG;
		return 0;
	}
	comment = elem_comment(e);
	if (d->ranges) {
		array_reserve(&d->edges, &d->cap_edges, d->n_edges + 1, sizeof(*d->edges));
		d->edges[d->n_edges++] = (struct edge){
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
	struct nftnl_set *s = nn(nftnl_set_alloc());
	struct dump *d = data;

	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		d->error = -EBADMSG;
	else
		nftnl_set_elem_foreach(s, dump_elem_cb, d);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int dump_elems(struct nftset_ctx *ctx, const struct setref *ref,
		      struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int r;

	nlh = build_set_req(ctx, ref, NFT_MSG_GETSETELEM, NLM_F_DUMP, buf);
	r = talk(ctx, nlh, dump_msg_cb, d);
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

static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t key_hash(const struct kvf_addr *a, uint16_t port, bool end)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, &a->family, 1);

	h = fnv1a(h, a->bytes, addr_len(a));
	h = fnv1a(h, &port, sizeof(port));
	return fnv1a(h, &end, sizeof(end));
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
static int dump_consistent(struct nftset_ctx *ctx, const struct setref *ref,
			   struct dump *d, char *err, size_t errlen)
{
	struct digest prev = { 0 }, cur;
	uint32_t gen0 = 0, gen1 = 0, prev_gen = 0;
	bool have_prev = false;
	int r, tries;

	for (tries = 0; tries < LIST_RETRIES; tries++) {
		dump_reset(d);
		r = get_genid(ctx, &gen0);
		if (r < 0)
			goto fail;
		r = dump_elems(ctx, ref, d);
		/* EINTR: the kernel flagged the dump as interrupted. */
		if (r == -EINTR)
			continue;
		if (r < 0)
			goto fail;
		r = get_genid(ctx, &gen1);
		if (r < 0)
			goto fail;
		if (gen0 != gen1)
			continue;
		cur = dump_digest(d);
		if (have_prev && prev_gen == gen0 && prev.n == cur.n && prev.sum == cur.sum)
			return 0;
		if (have_prev && prev_gen == gen0)
			ctx->dumps_disagreed++;
		prev = cur;
		prev_gen = gen0;
		have_prev = true;
	}
	dump_reset(d);
	set_err(err, errlen, ref, "the ruleset kept changing while it was read");
	return -EAGAIN;
fail:
	dump_reset(d);
	if (r == -EBADMSG && !ctx->kernel_err)
		set_err(err, errlen, ref, "an element could not be read as the set type");
	else
		set_err_errno(err, errlen, ref, ctx, r);
	return r;
}

int nftset_list(struct nftset_ctx *ctx, const struct setref *ref,
		enum set_keytype key, struct elem_list *out,
		char *err, size_t errlen)
{
	struct dump d = { .key = key, .out = out, .n0 = out->n };

	return dump_consistent(ctx, ref, &d, err, errlen);
}

static enum set_keytype range_keytype(int family)
{
	return family == AF_INET6 ? KEY_IPV6 : KEY_IPV4;
}

/* By address; an end before a start at the same address, where one
 * range ends and the next begins. */
static int edge_cmp(const void *pa, const void *pb)
{
	const struct edge *a = pa, *b = pb;
	int c = addr_cmp(&a->key, &b->key);

	return c ? c : (int)b->end - (int)a->end;
}

static void push_range(struct range_list *out, const struct edge *start,
		       const struct kvf_addr *hi)
{
	struct range r = { .lo = start->key, .hi = *hi, .comment = start->comment };

	range_list_push(out, &r);
}

/* The kernel dumps an interval set from its highest element down. In
 * address order each start runs to the element after it, an end at
 * hi + 1 (or, which the kernel would read the same way, the next
 * start), or to the family's last address. An end with no start
 * before it opens nothing: nft leaves one at 0.0.0.0 (::). */
static void pair_edges(struct dump *d, struct range_list *out)
{
	const struct edge *start = NULL;
	struct kvf_addr hi;
	size_t i;

	if (d->n_edges > 1)
		qsort(d->edges, d->n_edges, sizeof(*d->edges), edge_cmp);
	for (i = 0; i < d->n_edges; i++) {
		const struct edge *e = &d->edges[i];

		if (start && addr_cmp(&e->key, &start->key) > 0) {
			hi = e->key;
			range_addr_step(&hi, false);
			push_range(out, start, &hi);
		}
		start = e->end ? NULL : e;
	}
	if (start) {
		hi = start->key;
		memset(hi.bytes, 0xff, addr_len(&hi));
		push_range(out, start, &hi);
	}
}

int nftset_list_ranges(struct nftset_ctx *ctx, const struct setref *ref, int family,
		       struct range_list *out, char *err, size_t errlen)
{
	struct dump d = { .key = range_keytype(family), .ranges = out };
	int r = dump_consistent(ctx, ref, &d, err, errlen);

	if (r == 0)
		pair_edges(&d, out);
	free(d.edges);
	return r;
}

/* Building a batch */

struct nftset_batch *nftset_batch_new(struct nftset_ctx *ctx)
{
	struct nftset_batch *b = xcalloc(1, sizeof(*b));

	b->ctx = ctx;
	return b;
}

void nftset_batch_free(struct nftset_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		free(b->msgs[i].desc);
	free(b->msgs);
	free(b->buf);
	free(b->error_msg);
	free(b);
}

size_t nftset_batch_count(const struct nftset_batch *b)
{
	return b->n;
}

static void batch_fail(struct nftset_batch *b, int error, char *msg)
{
	if (b->error) {
		free(msg);
		return;
	}
	b->error = error;
	b->error_msg = msg;
}

/* Builders write without bounds: make room for the largest message.
 * libmnl 1.0.4 leaves attribute padding as it finds it: new room is
 * zeroed once (messages are only appended), so no stale byte is sent. */
static char *batch_tail(struct nftset_batch *b)
{
	size_t cap0 = b->cap;

	array_reserve(&b->buf, &b->cap, b->len + MSG_ROOM, 1);
	memset(b->buf + cap0, 0, b->cap - cap0);
	return b->buf + b->len;
}

/* Every message asks for an ack: on success too, so that the number of
 * acks read proves the kernel answered the whole batch. */
static struct nlmsghdr *batch_msg_start(struct nftset_batch *b, uint16_t type,
					int family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(batch_tail(b), type, family, flags | NLM_F_ACK,
				     next_seq(b->ctx));
}

static void batch_msg_end(struct nftset_batch *b, struct nlmsghdr *nlh, char *desc,
			  enum set_keytype key, enum msg_kind kind)
{
	struct batch_msg *m;

	array_reserve(&b->msgs, &b->cap_msgs, b->n + 1, sizeof(*b->msgs));
	m = &b->msgs[b->n++];
	m->seq = nlh->nlmsg_seq;
	m->off = b->len;
	m->desc = desc;
	m->key = key;
	m->kind = kind;
	m->ref = (struct setref){ 0 };
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static char *set_desc(const struct setref *ref, const char *what)
{
	return xasprintf("set %s %s %s: %s", nftset_family_name(ref->family),
			 ref->table, ref->name, what);
}

void nftset_batch_add_table(struct nftset_batch *b, int family, const char *table)
{
	struct nftnl_table *t = nn(nftnl_table_alloc());
	struct nlmsghdr *nlh;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = batch_msg_start(b, NFT_MSG_NEWTABLE, family, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_msg_end(b, nlh, xasprintf("table %s %s: create",
					nftset_family_name(family), table),
		      KEY_IPV4, MSG_OTHER);
	b->msgs[b->n - 1].ref = (struct setref){ .family = family, .table = table };
}

/* kvfence clear: objects kvfence created, removed once empty. */
void nftset_batch_del_table(struct nftset_batch *b, int family, const char *table)
{
	struct nftnl_table *t = nn(nftnl_table_alloc());
	struct nlmsghdr *nlh;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = batch_msg_start(b, NFT_MSG_DELTABLE, family, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_msg_end(b, nlh, xasprintf("table %s %s: delete",
					nftset_family_name(family), table),
		      KEY_IPV4, MSG_OTHER);
}

void nftset_batch_del_set(struct nftset_batch *b, const struct setref *ref)
{
	struct nftnl_set *s = nn(nftnl_set_alloc());
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nlh = batch_msg_start(b, NFT_MSG_DELSET, ref->family, 0);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_msg_end(b, nlh, set_desc(ref, "delete"), KEY_IPV4, MSG_OTHER);
}

struct table_info {
	bool seen;
	uint32_t use, flags;
	uint32_t owner;		/* netlink port of a "flags owner" table */
};

static int table_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *ti = data;
	struct nftnl_table *t = nn(nftnl_table_alloc());

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

static int get_table_info(struct nftset_ctx *ctx, int family, const char *table,
			  struct table_info *ti)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nn(nftnl_table_alloc());
	struct nlmsghdr *nlh;
	int r;

	memset(buf, 0, sizeof(buf));
	memset(ti, 0, sizeof(*ti));
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, next_seq(ctx));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = talk(ctx, nlh, table_info_cb, ti);
	if (r == 0 && !ti->seen)
		r = -EPROTO;
	return r;
}

int nftset_table_use(struct nftset_ctx *ctx, int family, const char *table, unsigned *use)
{
	struct table_info ti;
	int r = get_table_info(ctx, family, table, &ti);

	*use = ti.use;
	return r;
}

/* nft stores the key byte order in the set's user data (big endian for
 * an address, none for a concatenation); written the same way, `nft
 * list` prints our sets exactly like its own. */
static void set_put_udata(struct nftnl_set *s, enum set_keytype key)
{
	struct nftnl_udata_buf *ud = nn(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	uint32_t order = keytype_has_port(key) ? NFT_BYTEORDER_INVALID : NFT_BYTEORDER_BIG;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, order);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

/* nft sends an interval set of addresses just as a plain one, but for
 * NFT_SET_INTERVAL in the flags: no NFTA_SET_DESC, the same user data. */
static void batch_new_set(struct nftset_batch *b, const struct setref *ref,
			  enum set_keytype key, uint32_t flags)
{
	struct nftnl_set *s = nn(nftnl_set_alloc());
	struct nlmsghdr *nlh;
	char what[64];

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, keytype_nft_type(key));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, keytype_len(key));
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->ctx->set_id);
	set_put_udata(s, key);
	nlh = batch_msg_start(b, NFT_MSG_NEWSET, ref->family, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	snprintf(what, sizeof(what), "create (type %s%s)", keytype_name(key),
		 flags & NFT_SET_INTERVAL ? ", flags interval" : "");
	batch_msg_end(b, nlh, set_desc(ref, what), key, MSG_OTHER);
	b->msgs[b->n - 1].ref = *ref;
}

void nftset_batch_add_set(struct nftset_batch *b, const struct setref *ref,
			  enum set_keytype key)
{
	batch_new_set(b, ref, key, 0);
}

void nftset_batch_add_interval_set(struct nftset_batch *b, const struct setref *ref,
				   int family)
{
	batch_new_set(b, ref, range_keytype(family), NFT_SET_INTERVAL);
}

static void key_encode(enum set_keytype key, const struct elem *el, uint8_t *p)
{
	uint32_t alen = keytype_addrlen(key);
	uint16_t port = htons(el->port);

	memset(p, 0, KEY_MAXLEN);
	memcpy(p, el->addr.bytes, alen);
	if (keytype_has_port(key))
		memcpy(p + alen, &port, sizeof(port));
}

/* 0, or -errno with *why set (allocated) when el cannot be written.
 * flags: NFTNL_SET_ELEM_FLAGS, when not 0. */
static int elem_build(struct nftnl_set *s, enum set_keytype key, const struct elem *el,
		      bool with_comment, uint32_t flags, char **why)
{
	struct nftnl_set_elem *e;
	struct nftnl_udata_buf *ud;
	uint8_t k[KEY_MAXLEN];
	char a[128];

	if (el->addr.family != keytype_family(key)) {
		*why = xasprintf("element %s does not match type %s",
				 elem_format(el, a, sizeof(a)), keytype_name(key));
		return -EINVAL;
	}
	e = nn(nftnl_set_elem_alloc());
	key_encode(key, el, k);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, keytype_len(key));
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (with_comment && el->comment) {
		ud = nn(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
		if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, el->comment)) {
			nftnl_udata_buf_free(ud);
			nftnl_set_elem_free(e);
			*why = xasprintf("element %s: comment longer than %d bytes",
					 elem_format(el, a, sizeof(a)),
					 NFT_USERDATA_MAXLEN - 3);
			return -ENAMETOOLONG;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	nftnl_set_elem_add(s, e);
	return 0;
}

/* A range is its start element, with the comment, and an end element
 * at hi + 1, unless hi is the last address: then the start alone
 * matches all above it. */
static int range_build(struct nftnl_set *s, enum set_keytype key, const struct range *rg,
		       bool with_comment, char **why)
{
	struct elem el = { .addr = rg->lo, .comment = rg->comment };
	char a[2 * KVF_ADDRSTRLEN];
	int r;

	if (rg->lo.family != keytype_family(key) || rg->hi.family != rg->lo.family ||
	    addr_cmp(&rg->lo, &rg->hi) > 0) {
		*why = xasprintf("range %s is %s", range_format(rg, a, sizeof(a)),
				 addr_cmp(&rg->lo, &rg->hi) > 0 ? "empty (start above end)" :
				 "not of the set's family");
		return -EINVAL;
	}
	r = elem_build(s, key, &el, with_comment, 0, why);
	el.addr = rg->hi;
	if (r < 0 || !range_addr_step(&el.addr, true))
		return r;
	el.comment = NULL;
	return elem_build(s, key, &el, false, NFT_SET_ELEM_INTERVAL_END, why);
}

/* What messages of elements carry: plain elements, or the ranges of an
 * interval set, two elements each. */
struct elem_run {
	enum set_keytype key;
	const struct elem *elems;
	const struct range *ranges;
};

/* One message holding items [from, from + n) of run; n elements (or
 * ranges) fit in a message. */
static void elems_msg(struct nftset_batch *b, const struct setref *ref,
		      const struct elem_run *run, size_t from, size_t n, bool add)
{
	struct nftnl_set *s = nn(nftnl_set_alloc());
	const char *unit = run->ranges ? "range" : "element";
	struct nlmsghdr *nlh;
	char what[64], *why = NULL;
	size_t i;
	int r;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	for (i = from; i < from + n; i++) {
		r = run->ranges ? range_build(s, run->key, &run->ranges[i], add, &why) :
			elem_build(s, run->key, &run->elems[i], add, 0, &why);
		if (r < 0) {
			batch_fail(b, r, set_desc(ref, why));
			free(why);
			goto out;
		}
	}
	nlh = batch_msg_start(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			      ref->family, add ? NLM_F_CREATE : 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	snprintf(what, sizeof(what), "%s %zu %s%s", add ? "add" : "delete",
		 n, unit, n == 1 ? "" : "s");
	batch_msg_end(b, nlh, set_desc(ref, what), run->key,
		      run->ranges ? MSG_RANGES : MSG_ELEMS);
	b->msgs[b->n - 1].ref = *ref;
out:
	nftnl_set_free(s);
}

static void batch_elems(struct nftset_batch *b, const struct setref *ref,
			const struct elem_run *run, size_t n, bool add)
{
	size_t per_msg = run->ranges ? ELEMS_PER_MSG / 2 : ELEMS_PER_MSG;
	size_t i, chunk;

	for (i = 0; i < n; i += chunk) {
		chunk = n - i < per_msg ? n - i : per_msg;
		elems_msg(b, ref, run, i, chunk, add);
	}
}

void nftset_batch_add_elems(struct nftset_batch *b, const struct setref *ref,
			    enum set_keytype key, const struct elem *v, size_t n)
{
	struct elem_run run = { .key = key, .elems = v };

	batch_elems(b, ref, &run, n, true);
}

void nftset_batch_del_elems(struct nftset_batch *b, const struct setref *ref,
			    enum set_keytype key, const struct elem *v, size_t n)
{
	struct elem_run run = { .key = key, .elems = v };

	batch_elems(b, ref, &run, n, false);
}

void nftset_batch_add_ranges(struct nftset_batch *b, const struct setref *ref, int family,
			     const struct range *v, size_t n)
{
	struct elem_run run = { .key = range_keytype(family), .ranges = v };

	batch_elems(b, ref, &run, n, true);
}

void nftset_batch_del_ranges(struct nftset_batch *b, const struct setref *ref, int family,
			     const struct range *v, size_t n)
{
	struct elem_run run = { .key = range_keytype(family), .ranges = v };

	batch_elems(b, ref, &run, n, false);
}

/* Committing a batch */

struct ack {
	int error;		/* 0 or -errno */
	const char *msg;	/* extended ack message, or NULL */
	uint32_t offs;		/* of the offending attribute, or 0 */
};

static int ack_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) <= NLMSGERR_ATTR_OFFS)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void ack_parse(const struct nlmsghdr *nlh, struct ack *ack)
{
	const struct nlattr *tb[NLMSGERR_ATTR_OFFS + 1] = { NULL };
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	memset(ack, 0, sizeof(*ack));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		ack->error = -EPROTO;
		return;
	}
	ack->error = e->error > 0 ? -e->error : e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NETLINK_CAP_ACK the request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (off >= mnl_nlmsg_get_payload_len(nlh) ||
	    mnl_attr_parse(nlh, off, ack_attr_cb, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
		ack->msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
	if (tb[NLMSGERR_ATTR_OFFS] &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_OFFS], MNL_TYPE_U32) == 0)
		ack->offs = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
}

static const struct nlattr *nest_find(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

/* The key of an element nest we built, and whether it ends an interval. */
static bool nest_elem(const struct batch_msg *m, const struct nlattr *nest,
		      struct elem *el, bool *end)
{
	const struct nlattr *k = nest_find(nest, NFTA_SET_ELEM_KEY);
	const struct nlattr *f = nest_find(nest, NFTA_SET_ELEM_FLAGS);

	k = k ? nest_find(k, NFTA_DATA_VALUE) : NULL;
	*end = f && (ntohl(mnl_attr_get_u32(f)) & NFT_SET_ELEM_INTERVAL_END);
	return k && key_decode(m->key, mnl_attr_get_payload(k),
			       mnl_attr_get_payload_len(k), el) == 0;
}

/* A range message holds start, end, start, start, end...: the range of
 * an element is a start and the end right after it, or an end and the
 * start right before it. */
static bool elem_range(const struct batch_msg *m, const struct nlattr *prev,
		       const struct nlattr *next, const struct elem *el, bool end,
		       struct range *rg)
{
	struct elem other;
	bool other_end = false;

	rg->lo = rg->hi = el->addr;
	if (end) {
		if (!prev || !nest_elem(m, prev, &other, &other_end) || other_end)
			return false;
		rg->lo = other.addr;
		return range_addr_step(&rg->hi, false);
	}
	if (next && nest_elem(m, next, &other, &other_end) && other_end) {
		rg->hi = other.addr;
		return range_addr_step(&rg->hi, false);
	}
	memset(rg->hi.bytes, 0xff, addr_len(&rg->hi));
	return true;
}

/* The kernel points the extended ack at the element it refused; find it
 * in the message we sent, to name it (in range messages, its range) in
 * where. */
static bool offending_elem(const struct nftset_batch *b, const struct batch_msg *m,
			   uint32_t offs, char *where, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)(b->buf + m->off);
	const struct nlattr *a, *list = NULL, *prev = NULL, *next;
	char buf[2 * KVF_ADDRSTRLEN + 16];
	struct range rg;
	struct elem el;
	bool end;
	int rest;

	if (m->kind == MSG_OTHER || offs == 0 || offs >= nlh->nlmsg_len)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return false;
	mnl_attr_for_each_nested(a, list) {
		if ((size_t)((const char *)a - (const char *)nlh) != offs) {
			prev = a;
			continue;
		}
		if (!nest_elem(m, a, &el, &end))
			return false;
		if (m->kind == MSG_ELEMS) {
			snprintf(where, len, ", element %s", elem_format(&el, buf, sizeof(buf)));
			return true;
		}
		next = mnl_attr_next(a);
		rest = (int)((const char *)mnl_attr_get_payload(list) +
			     mnl_attr_get_payload_len(list) - (const char *)next);
		if (!elem_range(m, prev, mnl_attr_ok(next, rest) ? next : NULL,
				&el, end, &rg))
			return false;
		snprintf(where, len, ", range %s", range_format(&rg, buf, sizeof(buf)));
		return true;
	}
	return false;
}

static void describe_error(const struct nftset_batch *b, const struct batch_msg *m,
			   const struct ack *ack, char *err, size_t errlen)
{
	char where[2 * KVF_ADDRSTRLEN + 32] = "";
	/* ENFILE on an element is the set's declared size reached, not a
	 * process out of file descriptors. */
	bool full = ack->error == -ENFILE && m->kind != MSG_OTHER;

	offending_elem(b, m, ack->offs, where, sizeof(where));
	snprintf(err, errlen, "%s: %s (kernel%s%s%s)", m->desc,
		 full ? "the set is full" : strerror(-ack->error),
		 ack->msg ? ": " : "", ack->msg ? ack->msg : "", where);
}

struct ack_state {
	uint32_t begin_seq;
	size_t got, next;
	int error;		/* first failure, in batch order */
	const struct batch_msg *failed;	/* the message of that failure */
	bool whole;		/* the batch was refused as a whole */
};

/* Acks come in batch order; fall back to a search all the same. */
static const struct batch_msg *find_msg(const struct nftset_batch *b, uint32_t seq,
					struct ack_state *st)
{
	size_t i;

	if (st->next < b->n && b->msgs[st->next].seq == seq)
		return &b->msgs[st->next++];
	for (i = 0; i < b->n; i++)
		if (b->msgs[i].seq == seq)
			return &b->msgs[i];
	return NULL;
}

static void ack_one(const struct nftset_batch *b, const struct nlmsghdr *nlh,
		    struct ack_state *st, char *err, size_t errlen)
{
	const struct batch_msg *m;
	struct ack ack;

	if (nlh->nlmsg_type != NLMSG_ERROR)
		return;
	ack_parse(nlh, &ack);
	if (nlh->nlmsg_seq == st->begin_seq && ack.error) {
		st->whole = true;
		if (!st->error) {
			st->error = ack.error;
			snprintf(err, errlen, "batch of %zu messages: %s (kernel%s%s)",
				 b->n, strerror(-ack.error), ack.msg ? ": " : "",
				 ack.msg ? ack.msg : "");
		}
		return;
	}
	m = find_msg(b, nlh->nlmsg_seq, st);
	if (!m)
		return;
	st->got++;
	if (ack.error && !st->error) {
		st->error = ack.error;
		st->failed = m;
		describe_error(b, m, &ack, err, errlen);
	}
}

/* The kernel handles a batch inside sendmsg() and queues every ack
 * before it returns, so they are all readable at once. Waiting is only
 * a safety net; a lost ack leaves the outcome unknown, never "done". */
static int recv_acks(struct nftset_batch *b, struct ack_state *st, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = nftset_fd(b->ctx), .events = POLLIN };
	const struct nlmsghdr *nlh;
	ssize_t n;
	int len;

	n = recv(pfd.fd, b->ctx->buf, RECV_BUFSIZ, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN && poll(&pfd, 1, ACK_WAIT_MS) == 0)
		errno = ETIMEDOUT;
	if (n < 0) {
		int e = errno;

		if (e == EINTR || e == EAGAIN)
			return 0;
		snprintf(err, errlen, "batch of %zu messages: %s after %zu of %zu "
			 "acknowledgements; outcome unknown", b->n, strerror(e),
			 st->got, b->n);
		return -e;
	}
	len = (int)n;
	for (nlh = (const void *)b->ctx->buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len))
		ack_one(b, nlh, st, err, errlen);
	return 0;
}

static int read_acks(struct nftset_batch *b, uint32_t begin_seq,
		     const struct batch_msg **failed, char *err, size_t errlen)
{
	struct ack_state st = { .begin_seq = begin_seq };
	int r;

	while (st.got < b->n && !st.whole) {
		r = recv_acks(b, &st, err, errlen);
		if (r < 0) {
			*failed = st.failed;
			return st.error ? st.error : r;
		}
	}
	*failed = st.failed;
	return st.error;
}

/* The name of the process behind a netlink port: nft does the same for
 * "# progname", since a process's first netlink socket gets its pid. */
static void port_process(uint32_t port, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", port);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* EPERM with CAP_NET_ADMIN: a table with "flags owner" (firewalld and
 * other daemons hold theirs that way) may be changed only through its
 * owner's netlink socket. Name the owner instead of a missing capability;
 * -EBUSY then, so that nobody is told to grant a capability. */
static int explain_owner(struct nftset_batch *b, const struct batch_msg *m, char *err,
			 size_t errlen)
{
	char comm[64], reason[256];
	struct table_info ti;

	if (!m->ref.table)
		return -EPERM;
	if (get_table_info(b->ctx, m->ref.family, m->ref.table, &ti) < 0 ||
	    !(ti.flags & NFT_TABLE_F_OWNER) || ti.owner == b->ctx->portid)
		return -EPERM;
	port_process(ti.owner, comm, sizeof(comm));
	snprintf(reason, sizeof(reason), "table %s %s is owned by another process (flags "
		 "owner, netlink port %u%s%s%s): only that process may change it",
		 nftset_family_name(m->ref.family), m->ref.table, ti.owner,
		 comm[0] ? ", \"" : "", comm, comm[0] ? "\"" : "");
	snprintf(err, errlen, "%s: %s", m->desc, reason);
	return -EBUSY;
}

/* A full set: say how full it may get, and what to change. */
static void explain_full(struct nftset_batch *b, const struct batch_msg *m, char *err,
			 size_t errlen)
{
	struct set_info si = { 0 };
	char ignored[256];
	size_t l = strlen(err);

	if (get_set_info(b->ctx, &m->ref, &si, ignored, sizeof(ignored)) < 0 || !si.size)
		return;
	snprintf(err + l, errlen - l, "; it is declared with size %u: raise the size, or lower "
		 "max-addresses-per-host", si.size);
}

union batch_hdr {
	struct nlmsghdr nlh;
	char buf[64];
};

static int batch_send(struct nftset_batch *b, uint32_t *begin_seq, char *err, size_t errlen)
{
	struct nftset_ctx *ctx = b->ctx;
	union batch_hdr begin, end;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct iovec iov[3];
	struct msghdr mh = {
		.msg_name = &snl, .msg_namelen = sizeof(snl),
		.msg_iov = iov, .msg_iovlen = 3,
	};
	size_t total;

	drain(ctx);
	*begin_seq = nftnl_batch_begin(begin.buf, next_seq(ctx))->nlmsg_seq;
	nftnl_batch_end(end.buf, next_seq(ctx));
	iov[0] = (struct iovec){ begin.buf, begin.nlh.nlmsg_len };
	iov[1] = (struct iovec){ b->buf, b->len };
	iov[2] = (struct iovec){ end.buf, end.nlh.nlmsg_len };
	total = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
	/* netlink_sendmsg() refuses a message larger than the send buffer. */
	sock_buf_reserve(nftset_fd(ctx), SO_SNDBUFFORCE, SO_SNDBUF, total + 64);
	sock_buf_reserve(nftset_fd(ctx), SO_RCVBUFFORCE, SO_RCVBUF,
			 b->n * ACK_TRUESIZE + RECV_BUFSIZ);
	if (sendmsg(nftset_fd(ctx), &mh, 0) < 0) {
		int e = errno;

		snprintf(err, errlen, "batch of %zu messages (%zu bytes): %s%s", b->n,
			 total, strerror(e), e == EMSGSIZE ?
			 " (socket send buffer too small: raise net.core.wmem_max)" : "");
		return -e;
	}
	ctx->msgs_sent += b->n;
	return 0;
}

int nftset_batch_commit(struct nftset_batch *b, char *err, size_t errlen)
{
	const struct batch_msg *failed = NULL;
	uint32_t begin_seq;
	int r;

	if (b->error) {
		snprintf(err, errlen, "%s", b->error_msg);
		return b->error;
	}
	if (b->n == 0)
		return 0;
	r = batch_send(b, &begin_seq, err, errlen);
	if (r < 0)
		return r;
	r = read_acks(b, begin_seq, &failed, err, errlen);
	if (r == -ENFILE && failed && failed->kind != MSG_OTHER)
		explain_full(b, failed, err, errlen);
	if (r == -EPERM && failed)
		r = explain_owner(b, failed, err, errlen);
	return r;
}
