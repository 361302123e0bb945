/* kvfence: nftables batches built in memory with libnftnl: tables, sets
 * and elements (split into messages whose element list fits its u16
 * length), each message remembered with the object it writes. No socket:
 * nftcommit.c sends the batch; tests/unit/test_nftcodec.c parses it back. */
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
#include <libnftnl/udata.h>

#include "nftbatch.h"
#include "util.h"

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

struct nftbatch {
	char *buf;
	size_t len, cap;
	struct nftbatch_msg *msgs;
	size_t n, cap_msgs;
	uint32_t set_id;	/* NFTA_SET_ID: unique within the transaction */
	int error;		/* first error found while queueing */
	char *error_msg;
};

struct nftbatch *nftbatch_new(void)
{
	return xcalloc(1, sizeof(struct nftbatch));
}

void nftbatch_free(struct nftbatch *b)
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

size_t nftbatch_count(const struct nftbatch *b)
{
	return b->n;
}

const struct nftbatch_msg *nftbatch_msg(const struct nftbatch *b, size_t i)
{
	return i < b->n ? &b->msgs[i] : NULL;
}

const void *nftbatch_data(const struct nftbatch *b, size_t *len)
{
	*len = b->len;
	return b->buf;
}

int nftbatch_error(const struct nftbatch *b, const char **msg)
{
	*msg = b->error_msg;
	return b->error;
}

void nftbatch_number(struct nftbatch *b, uint32_t first_seq)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		b->msgs[i].seq = first_seq + (uint32_t)i;
		((struct nlmsghdr *)(b->buf + b->msgs[i].off))->nlmsg_seq = b->msgs[i].seq;
	}
}

static void batch_fail(struct nftbatch *b, int error, char *msg)
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
static char *batch_tail(struct nftbatch *b)
{
	size_t cap0 = b->cap;

	array_reserve(&b->buf, &b->cap, b->len + MSG_ROOM, 1);
	memset(b->buf + cap0, 0, b->cap - cap0);
	return b->buf + b->len;
}

/* Every message asks for an ack: on success too, so that the number of
 * acks read proves the kernel answered the whole batch. Sequence numbers
 * come when it is sent (nftbatch_number). */
static struct nlmsghdr *batch_msg_start(struct nftbatch *b, uint16_t type,
					int family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(batch_tail(b), type, family, flags | NLM_F_ACK, 0);
}

static void batch_msg_end(struct nftbatch *b, struct nlmsghdr *nlh, char *desc,
			  enum set_keytype key, enum nftbatch_kind kind)
{
	struct nftbatch_msg *m;

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
	return xasprintf("set %s %s %s: %s", nftcodec_family_name(ref->family),
			 ref->table, ref->name, what);
}

void nftbatch_add_table(struct nftbatch *b, int family, const char *table)
{
	struct nftnl_table *t = xcheck_alloc(nftnl_table_alloc());
	struct nlmsghdr *nlh;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = batch_msg_start(b, NFT_MSG_NEWTABLE, family, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_msg_end(b, nlh, xasprintf("table %s %s: create",
					nftcodec_family_name(family), table),
		      KEY_IPV4, NFTBATCH_OTHER);
	b->msgs[b->n - 1].ref = (struct setref){ .family = family, .table = table };
}

/* kvfence clear: objects kvfence created, removed once empty. */
void nftbatch_del_table(struct nftbatch *b, int family, const char *table)
{
	struct nftnl_table *t = xcheck_alloc(nftnl_table_alloc());
	struct nlmsghdr *nlh;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = batch_msg_start(b, NFT_MSG_DELTABLE, family, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_msg_end(b, nlh, xasprintf("table %s %s: delete",
					nftcodec_family_name(family), table),
		      KEY_IPV4, NFTBATCH_OTHER);
}

void nftbatch_del_set(struct nftbatch *b, const struct setref *ref)
{
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nlh = batch_msg_start(b, NFT_MSG_DELSET, ref->family, 0);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_msg_end(b, nlh, set_desc(ref, "delete"), KEY_IPV4, NFTBATCH_OTHER);
}

/* nft stores the key byte order in the set's user data (big endian for
 * an address, none for a concatenation); written the same way, `nft
 * list` prints our sets exactly like its own. */
static void set_put_udata(struct nftnl_set *s, enum set_keytype key)
{
	struct nftnl_udata_buf *ud = xcheck_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	uint32_t order = keytype_has_port(key) ? NFT_BYTEORDER_INVALID : NFT_BYTEORDER_BIG;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, order);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

/* nft sends an interval set of addresses just as a plain one, but for
 * NFT_SET_INTERVAL in the flags: no NFTA_SET_DESC, the same user data. */
static void batch_new_set(struct nftbatch *b, const struct setref *ref,
			  enum set_keytype key, uint32_t flags)
{
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());
	struct nlmsghdr *nlh;
	char what[64];

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, nftcodec_key_type(key));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, nftcodec_key_len(key));
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	set_put_udata(s, key);
	nlh = batch_msg_start(b, NFT_MSG_NEWSET, ref->family, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	snprintf(what, sizeof(what), "create (type %s%s)", keytype_name(key),
		 flags & NFT_SET_INTERVAL ? ", flags interval" : "");
	batch_msg_end(b, nlh, set_desc(ref, what), key, NFTBATCH_OTHER);
	b->msgs[b->n - 1].ref = *ref;
}

void nftbatch_add_set(struct nftbatch *b, const struct setref *ref, enum set_keytype key)
{
	batch_new_set(b, ref, key, 0);
}

void nftbatch_add_interval_set(struct nftbatch *b, const struct setref *ref, int family)
{
	batch_new_set(b, ref, nftcodec_range_key(family), NFT_SET_INTERVAL);
}

/* 0, or -errno with *why set (allocated) when el cannot be written.
 * flags: NFTNL_SET_ELEM_FLAGS, when not 0. */
static int elem_build(struct nftnl_set *s, enum set_keytype key, const struct elem *el,
		      bool with_comment, uint32_t flags, char **why)
{
	struct nftnl_set_elem *e;
	struct nftnl_udata_buf *ud;
	uint8_t k[NFTCODEC_KEY_MAXLEN];
	char a[128];

	if (el->addr.family != keytype_family(key)) {
		*why = xasprintf("element %s does not match type %s",
				 elem_format(el, a, sizeof(a)), keytype_name(key));
		return -EINVAL;
	}
	e = xcheck_alloc(nftnl_set_elem_alloc());
	nftcodec_key_encode(key, el, k);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, nftcodec_key_len(key));
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (with_comment && el->comment) {
		ud = xcheck_alloc(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
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
 * interval set, two elements each (as struct range, or as elements with
 * a range end). */
struct elem_run {
	enum set_keytype key;
	const struct elem *elems;
	const struct range *ranges;
};

static bool run_ranges(const struct elem_run *run, size_t n)
{
	return run->ranges || (n && elem_is_range(&run->elems[0]));
}

/* One message holding items [from, from + n) of run; n elements (or
 * ranges) fit in a message. */
static void elems_msg(struct nftbatch *b, const struct setref *ref,
		      const struct elem_run *run, size_t from, size_t n, bool add)
{
	struct nftnl_set *s = xcheck_alloc(nftnl_set_alloc());
	const char *unit = run_ranges(run, from + n) ? "range" : "element";
	struct nlmsghdr *nlh;
	char what[64], *why = NULL;
	size_t i;
	int r;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ref->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ref->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ref->name);
	for (i = from; i < from + n; i++) {
		r = run->ranges ? range_build(s, run->key, &run->ranges[i], add, &why) :
		    elem_is_range(&run->elems[i]) ?
			range_build(s, run->key, &(struct range){ .lo = run->elems[i].addr,
				    .hi = run->elems[i].hi, .comment = run->elems[i].comment },
				    add, &why) :
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
		      run_ranges(run, from + n) ? NFTBATCH_RANGES : NFTBATCH_ELEMS);
	b->msgs[b->n - 1].ref = *ref;
out:
	nftnl_set_free(s);
}

static void batch_elems(struct nftbatch *b, const struct setref *ref,
			const struct elem_run *run, size_t n, bool add)
{
	size_t per_msg = run_ranges(run, n) ? ELEMS_PER_MSG / 2 : ELEMS_PER_MSG;
	size_t i, chunk;

	for (i = 0; i < n; i += chunk) {
		chunk = n - i < per_msg ? n - i : per_msg;
		elems_msg(b, ref, run, i, chunk, add);
	}
}

void nftbatch_add_elems(struct nftbatch *b, const struct setref *ref,
			enum set_keytype key, const struct elem *v, size_t n)
{
	struct elem_run run = { .key = key, .elems = v };

	batch_elems(b, ref, &run, n, true);
}

void nftbatch_del_elems(struct nftbatch *b, const struct setref *ref,
			enum set_keytype key, const struct elem *v, size_t n)
{
	struct elem_run run = { .key = key, .elems = v };

	batch_elems(b, ref, &run, n, false);
}

void nftbatch_add_ranges(struct nftbatch *b, const struct setref *ref, int family,
			 const struct range *v, size_t n)
{
	struct elem_run run = { .key = nftcodec_range_key(family), .ranges = v };

	batch_elems(b, ref, &run, n, true);
}

void nftbatch_del_ranges(struct nftbatch *b, const struct setref *ref, int family,
			 const struct range *v, size_t n)
{
	struct elem_run run = { .key = nftcodec_range_key(family), .ranges = v };

	batch_elems(b, ref, &run, n, false);
}

/* Committing a batch */

