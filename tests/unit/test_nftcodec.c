/* Unit tests of the nftables codec and of batches without a kernel, the
 * way libnftnl tests itself: keys and comments encoded and decoded,
 * interval elements paired into ranges, a batch built in memory and
 * parsed back with libnftnl's own parsers, and hand-made kernel acks
 * mapped back to the element they point at. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "kvfence.h"
#include "nftbatch.h"
#include "nftcodec.h"
#include "nftcommit.h"
#include "tap.h"

static const enum set_keytype all_keys[] = {
	KEY_IPV4, KEY_IPV6, KEY_IPV4_PORT, KEY_IPV6_PORT,
};
#define N_KEYS (sizeof(all_keys) / sizeof(all_keys[0]))

static const struct setref set4 = { NFPROTO_INET, "filter", "kvfence4" };
static const struct setref set6r = { NFPROTO_INET, "filter", "kvfence6r" };

static struct elem mkelem(const char *addr, uint16_t port, const char *comment)
{
	struct elem el = { .port = port, .comment = comment };

	if (addr_parse(addr, &el.addr) < 0)
		ok(0, "test data %s", addr);
	return el;
}

static struct range mkrange(const char *lo, const char *hi, const char *comment)
{
	struct range r = { .comment = comment };

	if (addr_parse(lo, &r.lo) < 0 || addr_parse(hi, &r.hi) < 0)
		ok(0, "test data %s-%s", lo, hi);
	return r;
}

static const char *efmt(const struct elem *el)
{
	static char buf[128];

	return elem_format(el, buf, sizeof(buf));
}

static void test_every_key_type_round_trips_through_its_bytes(void)
{
	static const char *const addrs[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	static const uint16_t ports[] = { 443, 1, 65535 };
	uint8_t k[NFTCODEC_KEY_MAXLEN];
	struct elem in, out;
	size_t i, a, p;

	for (i = 0; i < N_KEYS; i++) {
		enum set_keytype key = all_keys[i];

		for (a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
			for (p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
				in = mkelem(addrs[a], keytype_has_port(key) ? ports[p] : 0, NULL);
				if (in.addr.family != keytype_family(key))
					continue;
				nftcodec_key_encode(key, &in, k);
				ok(nftcodec_key_decode(key, k, nftcodec_key_len(key), &out) == 0 &&
				   elem_key_cmp(&in, &out) == 0 && !out.comment,
				   "%s: %s round trips", keytype_name(key), efmt(&in));
			}
		}
	}
}

static void test_keys_are_laid_out_as_the_kernel_stores_them(void)
{
	static const uint8_t v4port[8] = { 192, 0, 2, 7, 0x01, 0xbb, 0, 0 };
	static const uint8_t v6port[20] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x1f, 0x90, 0, 0,
	};
	uint8_t k[NFTCODEC_KEY_MAXLEN];
	struct elem el;

	is_int(nftcodec_key_len(KEY_IPV4), 4, "ipv4_addr is 4 bytes");
	is_int(nftcodec_key_len(KEY_IPV6), 16, "ipv6_addr is 16 bytes");
	is_int(nftcodec_key_len(KEY_IPV4_PORT), 8, "ipv4_addr . inet_service: port padded to 4");
	is_int(nftcodec_key_len(KEY_IPV6_PORT), 20, "ipv6_addr . inet_service is 20 bytes");
	el = mkelem("192.0.2.7", 443, NULL);
	nftcodec_key_encode(KEY_IPV4_PORT, &el, k);
	ok(memcmp(k, v4port, sizeof(v4port)) == 0, "192.0.2.7 . 443: address, port big endian, "
	   "zero padding");
	el = mkelem("2001:db8::9", 8080, NULL);
	nftcodec_key_encode(KEY_IPV6_PORT, &el, k);
	ok(memcmp(k, v6port, sizeof(v6port)) == 0, "2001:db8::9 . 8080 likewise");
	is_int(nftcodec_key_decode(KEY_IPV4_PORT, k, 4, &el), -EPROTO,
	       "a key of the wrong length is refused");
	is_int(nftcodec_key_decode(KEY_IPV6, k, 20, &el), -EPROTO,
	       "an ipv6_addr . inet_service key read as ipv6_addr is refused");
}

static void test_interval_edges_round_trip_with_the_range_key(void)
{
	static const char *const edges[] = {
		"0.0.0.0", "203.0.113.0", "255.255.255.255", "::", "2001:db8::",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	uint8_t k[NFTCODEC_KEY_MAXLEN];
	struct elem in, out;
	size_t i;

	is_int(nftcodec_range_key(AF_INET), KEY_IPV4, "IPv4 ranges use ipv4_addr");
	is_int(nftcodec_range_key(AF_INET6), KEY_IPV6, "IPv6 ranges use ipv6_addr");
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		enum set_keytype key;

		in = mkelem(edges[i], 0, NULL);
		key = nftcodec_range_key(in.addr.family);
		nftcodec_key_encode(key, &in, k);
		ok(nftcodec_key_decode(key, k, nftcodec_key_len(key), &out) == 0 &&
		   addr_cmp(&in.addr, &out.addr) == 0 && out.port == 0,
		   "edge %s round trips", edges[i]);
	}
}

static void test_key_types_map_to_nft_types_and_names(void)
{
	enum set_keytype got;
	char name[128];
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		enum set_keytype key = all_keys[i];
		uint32_t type = nftcodec_key_type(key);

		is_str(keytype_kernel_name(type, name, sizeof(name)), keytype_name(key),
		       "%s: nft's name of its datatype is kvfence's", keytype_name(key));
		ok(nftcodec_key_from_kernel(type, nftcodec_key_len(key), &got) == 0 && got == key,
		   "%s is read back from the kernel's type and length", keytype_name(key));
		is_int(nftcodec_key_from_kernel(type, nftcodec_key_len(key) + 4, &got),
		       -EPROTOTYPE, "%s with another length is not ours", keytype_name(key));
	}
	is_int(nftcodec_key_type(KEY_IPV4_PORT), 7 << 6 | 13, "concatenation packed as nft does");
	is_int(nftcodec_key_from_kernel(9, 6, &got), -EPROTOTYPE, "ether_addr is not ours");
	is_int(nftcodec_key_from_kernel(7 << 6 | 41, 20, &got), -EPROTOTYPE,
	       "ipv4_addr . ifname is not ours");
	is_str(nftcodec_family_name(NFPROTO_INET), "inet", "family inet");
	is_str(nftcodec_family_name(NFPROTO_IPV4), "ip", "family ip");
	is_str(nftcodec_family_name(NFPROTO_IPV6), "ip6", "family ip6");
	is_str(nftcodec_family_name(99), "unknown", "an unknown family");
	is_str(setref_format(&set4, name, sizeof(name)), "set inet filter kvfence4",
	       "a set is named as nft names it");
}

/* User data as libnftnl writes it. */
static size_t udata_with(uint8_t *out, size_t cap, const char *comment)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	size_t len;

	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_ELEM_FLAGS, 1);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, comment);
	len = nftnl_udata_buf_len(ud);
	if (len <= cap)
		memcpy(out, nftnl_udata_buf_data(ud), len);
	nftnl_udata_buf_free(ud);
	return len;
}

static void test_comment_is_read_from_user_data_and_hostile_lengths_are_refused(void)
{
	uint8_t ud[300];
	size_t len = udata_with(ud, sizeof(ud), "vault.example.net");
	static const uint8_t past_end[] = { 0, 200, 'a', 'b', 0 };
	static const uint8_t half_header[] = { 0, 2, 'a', 0, 1 };
	static const uint8_t unterminated[] = { 0, 3, 'a', 'b', 'c' };
	static const uint8_t empty_value[] = { 0, 0 };
	static const uint8_t two[] = { 0, 2, 'a', 0, 0, 2, 'b', 0 };
	static const uint8_t flags_only[] = { 1, 4, 0, 0, 0, 1 };
	static const uint8_t later_past_end[] = { 0, 2, 'a', 0, 0, 9, 'b', 0 };
	uint8_t full[2 + 255];

	is_str(nftcodec_udata_comment(ud, (uint32_t)len), "vault.example.net",
	       "libnftnl's comment is read after another TLV");
	is_str(nftcodec_udata_comment(ud, (uint32_t)len - 1), NULL,
	       "the same cut short by a byte is refused");
	is_str(nftcodec_udata_comment(past_end, sizeof(past_end)), NULL,
	       "a TLV length past the end is refused");
	is_str(nftcodec_udata_comment(half_header, sizeof(half_header)), NULL,
	       "a TLV header cut in half is refused");
	is_str(nftcodec_udata_comment(later_past_end, sizeof(later_past_end)), NULL,
	       "a good comment followed by a TLV past the end is refused whole");
	is_str(nftcodec_udata_comment(unterminated, sizeof(unterminated)), NULL,
	       "a comment without its NUL is refused, as nft refuses it");
	is_str(nftcodec_udata_comment(empty_value, sizeof(empty_value)), NULL,
	       "an empty comment value is no comment");
	is_str(nftcodec_udata_comment(two, sizeof(two)), "b", "of two comments the last wins");
	is_str(nftcodec_udata_comment(flags_only, sizeof(flags_only)), NULL,
	       "user data without a comment");
	is_str(nftcodec_udata_comment(ud, 0), NULL, "no user data");
	is_str(nftcodec_udata_comment(NULL, 5), NULL, "a NULL pointer");
	full[0] = NFTNL_UDATA_SET_ELEM_COMMENT;
	full[1] = 255;
	memset(full + 2, 'x', 254);
	full[256] = '\0';
	ok(nftcodec_udata_comment(full, sizeof(full)) == (const char *)full + 2,
	   "a 255-byte value ending exactly at the end is read in place");
}

static const char *rfmt(const struct range *r)
{
	static char buf[128];

	return range_format(r, buf, sizeof(buf));
}

static struct nftcodec_edge edge(const char *addr, bool end, const char *comment)
{
	struct nftcodec_edge e = { .end = end, .comment = comment };

	if (addr_parse(addr, &e.key) < 0)
		ok(0, "test data %s", addr);
	return e;
}

static void test_range_edges_pair_into_the_ranges_written(void)
{
	/* As the kernel dumps them: highest first, nft's end at 0.0.0.0. */
	struct nftcodec_edge v[] = {
		edge("203.0.113.128", false, "open"),
		edge("198.51.100.10", true, NULL),
		edge("198.51.100.0", false, "a"),
		edge("192.0.2.0", true, NULL),		/* ends one, starts the next */
		edge("192.0.2.0", false, "b"),
		edge("0.0.0.0", true, NULL),
		edge("10.0.0.0", false, "c"),		/* runs to the next start */
	};
	struct nftcodec_edge v6[] = {
		edge("2001:db8:1::", true, NULL),
		edge("2001:db8::", false, "six"),
	};
	struct range_list out = { 0 };

	nftcodec_pair_edges(v, sizeof(v) / sizeof(v[0]), &out);
	is_int(out.n, 4, "four ranges from seven edges");
	if (out.n == 4) {
		is_str(rfmt(&out.v[0]), "10.0.0.0-192.0.1.255", "a start runs to the next edge");
		is_str(out.v[0].comment, "c", "its comment is its start's");
		is_str(rfmt(&out.v[1]), "192.0.2.0-198.51.99.255",
		       "an end and a start at one address: the next range begins there");
		is_str(rfmt(&out.v[2]), "198.51.100.0-198.51.100.9", "an end is hi + 1");
		is_str(out.v[2].comment, "a", "comment a");
		is_str(rfmt(&out.v[3]), "203.0.113.128-255.255.255.255",
		       "a start without an end runs to the last address");
	}
	range_list_free(&out);
	memset(&out, 0, sizeof(out));
	nftcodec_pair_edges(v6, 2, &out);
	ok(out.n == 1 && strcmp(rfmt(&out.v[0]), "2001:db8::/48") == 0 &&
	   strcmp(out.v[0].comment, "six") == 0, "an IPv6 range pairs the same way");
	range_list_free(&out);
	memset(&out, 0, sizeof(out));
	nftcodec_pair_edges(v, 0, &out);
	is_int(out.n, 0, "no edges, no ranges");
	range_list_free(&out);
}

/* Parsing back: every message with libnftnl's parsers or libmnl. */

static const struct nlmsghdr *msg_at(const struct nftbatch *b, size_t i)
{
	size_t len;
	const char *data = nftbatch_data(b, &len);

	return (const void *)(data + nftbatch_msg(b, i)->off);
}

static uint16_t nft_type(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type & 0xff;
}

struct parsed {
	struct elem v[512];
	uint32_t flags[512];
	size_t n;
	char comments[512][260];
	enum set_keytype key;
};

static int comment_of(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
		snprintf(data, 260, "%s", (const char *)nftnl_udata_get(attr));
	return 0;
}

/* The attributes nested in nest, by type (up to NFTA_SET_ELEM_MAX). */
static int nested_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) <= NFTA_SET_ELEM_MAX)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *tb[NFTA_SET_ELEM_MAX + 1] = { NULL };

	if (mnl_attr_parse_nested(nest, nested_cb, tb) < 0)
		return NULL;
	return tb[type];
}

/* One element nest: the key by hand from its bytes (not through the
 * codec under test), the flags, the comment with libnftnl's parser. */
static bool parsed_elem(const struct nlattr *nest, struct parsed *p)
{
	const struct nlattr *key = nested(nest, NFTA_SET_ELEM_KEY);
	const struct nlattr *flags = nested(nest, NFTA_SET_ELEM_FLAGS);
	const struct nlattr *ud = nested(nest, NFTA_SET_ELEM_USERDATA);
	uint32_t alen = keytype_family(p->key) == AF_INET ? 4 : 16;
	struct elem *el = &p->v[p->n];
	const uint8_t *k;

	key = key ? nested(key, NFTA_DATA_VALUE) : NULL;
	if (p->n >= 512 || !key || mnl_attr_get_payload_len(key) != nftcodec_key_len(p->key) ||
	    (flags && mnl_attr_validate(flags, MNL_TYPE_U32) < 0))
		return false;
	k = mnl_attr_get_payload(key);
	memset(el, 0, sizeof(*el));
	el->addr.family = keytype_family(p->key);
	memcpy(el->addr.bytes, k, alen);
	if (keytype_has_port(p->key))
		el->port = (uint16_t)(k[alen] << 8 | k[alen + 1]);
	p->flags[p->n] = flags ? ntohl(mnl_attr_get_u32(flags)) : 0;
	p->comments[p->n][0] = '\0';
	if (ud && nftnl_udata_parse(mnl_attr_get_payload(ud), mnl_attr_get_payload_len(ud),
				    comment_of, p->comments[p->n]) < 0)
		return false;
	p->n++;
	return true;
}

/* Append the elements of message i to p; false unless it is a valid
 * element message for ref. libnftnl 1.2.4's nftnl_set_elems_nlmsg_parse
 * cannot read back what its own builder writes when there are several
 * elements (the builder numbers the element nests 1, 2, 3..., the parser
 * wants each to be NFTA_LIST_ELEM; the kernel ignores the type): the
 * set is read with libnftnl, the element list walked with libmnl. */
static bool parse_elems(const struct nftbatch *b, size_t i, const struct setref *ref,
			struct parsed *p)
{
	const struct nlmsghdr *nlh = msg_at(b, i);
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *e, *list = NULL;
	const char *table = NULL, *name = NULL;

	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			table = mnl_attr_get_str(a);
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS &&
		    mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			list = a;
	}
	if (g->nfgen_family != ref->family || !table || strcmp(table, ref->table) ||
	    !name || strcmp(name, ref->name) || !list)
		return false;
	mnl_attr_for_each_nested(e, list)
		if (!parsed_elem(e, p))
			return false;
	return true;
}

static void test_batch_built_in_memory_parses_back_to_what_went_in(void)
{
	static struct parsed p;
	static char names[450][40];
	struct elem v[450];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftbatch *b = nftbatch_new();
	const char *why;
	size_t i, len, off = 0;
	bool same = true;

	for (i = 0; i < 450; i++) {
		snprintf(names[i], sizeof(names[i]), "vault%03zu.vault.azure.net", i);
		v[i] = mkelem("192.0.2.0", (uint16_t)(443 + i), i % 3 ? names[i] : NULL);
		v[i].addr.bytes[3] = (uint8_t)i;
	}
	nftbatch_add_table(b, NFPROTO_INET, "filter");
	nftbatch_add_set(b, &set4, KEY_IPV4_PORT);
	nftbatch_add_elems(b, &set4, KEY_IPV4_PORT, v, 450);
	is_int(nftbatch_error(b, &why), 0, "the batch queued without error");
	is_int(nftbatch_count(b), 5, "table, set, 450 elements in 3 messages of at most 200");
	nftbatch_number(b, 1000);
	for (i = 0; i < nftbatch_count(b); i++) {
		const struct nlmsghdr *nlh = msg_at(b, i);

		if (nftbatch_msg(b, i)->off != off || nlh->nlmsg_seq != 1000 + i ||
		    nftbatch_msg(b, i)->seq != 1000 + i || !(nlh->nlmsg_flags & NLM_F_ACK) ||
		    nlh->nlmsg_type >> 8 != NFNL_SUBSYS_NFTABLES)
			same = false;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	nftbatch_data(b, &len);
	ok(same && off == len, "messages back to back, numbered, each asking for an ack");

	ok(nft_type(msg_at(b, 0)) == NFT_MSG_NEWTABLE &&
	   nftnl_table_nlmsg_parse(msg_at(b, 0), t) == 0 &&
	   strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "filter") == 0 &&
	   nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET,
	   "message 1 creates table inet filter");
	ok(nft_type(msg_at(b, 1)) == NFT_MSG_NEWSET && nftnl_set_nlmsg_parse(msg_at(b, 1), s) == 0 &&
	   strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), "kvfence4") == 0 &&
	   nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) == nftcodec_key_type(KEY_IPV4_PORT) &&
	   nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) == 8 &&
	   nftnl_set_get_u32(s, NFTNL_SET_FLAGS) == 0 && nftnl_set_is_set(s, NFTNL_SET_USERDATA),
	   "message 2 creates set kvfence4 of ipv4_addr . inet_service, with nft's user data");
	is_str(nftbatch_msg(b, 1)->desc,
	       "set inet filter kvfence4: create (type ipv4_addr . inet_service)", "described");

	p.key = KEY_IPV4_PORT;
	for (i = 2; i < 5; i++)
		ok(nft_type(msg_at(b, i)) == NFT_MSG_NEWSETELEM && parse_elems(b, i, &set4, &p),
		   "message %zu parses as elements of kvfence4", i + 1);
	is_int(p.n, 450, "450 elements parsed back");
	for (i = 0, same = p.n == 450; same && i < 450; i++)
		same = elem_key_cmp(&p.v[i], &v[i]) == 0 && p.flags[i] == 0 &&
		       strcmp(p.comments[i], v[i].comment ? v[i].comment : "") == 0;
	ok(same, "every key and comment is what went in, in order");
	is_str(nftbatch_msg(b, 4)->desc, "set inet filter kvfence4: add 50 elements",
	       "the last message is described by its count");
	nftnl_table_free(t);
	nftnl_set_free(s);
	nftbatch_free(b);
}

static void test_ranges_are_written_as_start_and_end_elements(void)
{
	static struct parsed p;
	struct range v[] = {
		mkrange("2001:db8::", "2001:db8::ffff", "a"),
		mkrange("2001:db8:1::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "open"),
	};
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftbatch *b = nftbatch_new();
	struct elem want;

	nftbatch_add_interval_set(b, &set6r, AF_INET6);
	nftbatch_add_ranges(b, &set6r, AF_INET6, v, 2);
	nftbatch_del_ranges(b, &set6r, AF_INET6, v, 1);
	ok(nftnl_set_nlmsg_parse(msg_at(b, 0), s) == 0 &&
	   nftnl_set_get_u32(s, NFTNL_SET_FLAGS) == NFT_SET_INTERVAL &&
	   nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) == nftcodec_key_type(KEY_IPV6),
	   "the interval set is created with flags interval and ipv6_addr");
	p.key = KEY_IPV6;
	ok(nft_type(msg_at(b, 1)) == NFT_MSG_NEWSETELEM && parse_elems(b, 1, &set6r, &p) &&
	   p.n == 3, "two ranges are three elements: the open one has no end");
	want = mkelem("2001:db8::", 0, NULL);
	ok(p.n == 3 && elem_key_cmp(&p.v[0], &want) == 0 && p.flags[0] == 0 &&
	   strcmp(p.comments[0], "a") == 0, "start 2001:db8:: with the comment");
	want = mkelem("2001:db8::1:0", 0, NULL);
	ok(p.n == 3 && elem_key_cmp(&p.v[1], &want) == 0 &&
	   p.flags[1] == NFT_SET_ELEM_INTERVAL_END && !p.comments[1][0],
	   "its end at hi + 1, flagged, without comment");
	want = mkelem("2001:db8:1::", 0, NULL);
	ok(p.n == 3 && elem_key_cmp(&p.v[2], &want) == 0 && p.flags[2] == 0 &&
	   strcmp(p.comments[2], "open") == 0, "the open range: its start alone");
	p.n = 0;
	ok(nft_type(msg_at(b, 2)) == NFT_MSG_DELSETELEM && parse_elems(b, 2, &set6r, &p) &&
	   p.n == 2 && !p.comments[0][0], "a deletion carries start and end, no comment");
	is_str(nftbatch_msg(b, 2)->desc, "set inet filter kvfence6r: delete 1 range", "described");
	nftnl_set_free(s);
	nftbatch_free(b);
}

static void test_largest_elements_keep_each_message_under_the_u16_nest(void)
{
	static char longest[NFT_USERDATA_MAXLEN - 2];
	static struct elem v[401];
	struct nftbatch *b = nftbatch_new();
	const struct nlattr *a;
	bool fits = true;
	size_t i;

	memset(longest, 'x', sizeof(longest) - 1);
	for (i = 0; i < 401; i++) {
		v[i] = mkelem("2001:db8::", 443, longest);
		v[i].addr.bytes[14] = (uint8_t)(i >> 8);
		v[i].addr.bytes[15] = (uint8_t)i;
	}
	nftbatch_add_elems(b, &set4, KEY_IPV6_PORT, v, 401);
	is_int(nftbatch_count(b), 3, "401 elements with 253-byte comments: 3 messages");
	for (i = 0; i < nftbatch_count(b); i++)
		mnl_attr_for_each(a, msg_at(b, i), sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS &&
			    mnl_attr_get_payload_len(a) > UINT16_MAX - 4)
				fits = false;
	ok(fits, "every element list fits its u16 length");
	nftbatch_free(b);
}

/* b failed with error, its message why; b is freed. */
static void refused(struct nftbatch *b, int error, const char *why, const char *what)
{
	const char *got;

	is_int(nftbatch_error(b, &got), error, "%s is refused", what);
	is_str(got, why, "%s is named", what);
	nftbatch_free(b);
}

static void test_unwritable_elements_fail_the_batch_naming_them(void)
{
	static char too_long[NFT_USERDATA_MAXLEN];
	struct elem v[2] = { mkelem("192.0.2.1", 0, NULL), mkelem("2001:db8::1", 0, NULL) };
	struct range r = mkrange("192.0.2.9", "192.0.2.1", NULL);
	struct nftbatch *b = nftbatch_new();

	nftbatch_add_elems(b, &set4, KEY_IPV4, v, 2);
	refused(b, -EINVAL, "set inet filter kvfence4: element 2001:db8::1 does not match "
		"type ipv4_addr", "an IPv6 element in an IPv4 set");

	b = nftbatch_new();
	memset(too_long, 'y', sizeof(too_long) - 1);
	v[0].comment = too_long;
	nftbatch_add_elems(b, &set4, KEY_IPV4, v, 1);
	refused(b, -ENAMETOOLONG, "set inet filter kvfence4: element 192.0.2.1: comment longer "
		"than 253 bytes", "a comment over 253 bytes");

	b = nftbatch_new();
	nftbatch_add_ranges(b, &set6r, AF_INET, &r, 1);
	refused(b, -EINVAL, "set inet filter kvfence6r: range 192.0.2.9-192.0.2.1 is empty "
		"(start above end)", "an empty range");
}

/* Acks: an NLMSG_ERROR as the kernel writes it with extended acks, the
 * request capped (NETLINK_CAP_ACK) or echoed whole. */
static const struct nlmsghdr *make_ack(char *buf, const struct nlmsghdr *req, uint32_t seq,
				       int error, const char *msg, uint32_t offs, bool capped)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	size_t echo = capped ? 0 : req->nlmsg_len - sizeof(*req);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = (capped ? NLM_F_CAPPED : 0) | (msg || offs ? NLM_F_ACK_TLVS : 0);
	e = mnl_nlmsg_put_extra_header(nlh, MNL_ALIGN(sizeof(*e) + echo));
	e->error = error;
	memcpy(&e->msg, req, sizeof(*req));
	if (!capped)
		memcpy(e + 1, req + 1, echo);
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	if (offs)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, offs);
	return nlh;
}

/* The offset in message i of its n-th element nest (1-based). */
static uint32_t elem_offset(const struct nftbatch *b, size_t i, int n)
{
	const struct nlmsghdr *nlh = msg_at(b, i);
	const struct nlattr *a, *e;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			if (--n == 0)
				return (uint32_t)((const char *)e - (const char *)nlh);
	}
	return 0;
}

static void test_error_ack_pointing_at_element_2_names_that_element(void)
{
	struct elem v[3] = {
		mkelem("192.0.2.1", 443, "a"), mkelem("192.0.2.2", 443, "b"),
		mkelem("192.0.2.3", 8443, "c"),
	};
	struct nftbatch *b = nftbatch_new();
	struct nftcommit_acks st = { .begin_seq = 99 };
	char buf[8192], err[KVF_ERRLEN] = "";
	const struct nftbatch_msg *m;
	uint32_t offs;

	nftbatch_add_table(b, NFPROTO_INET, "filter");
	nftbatch_add_elems(b, &set4, KEY_IPV4_PORT, v, 3);
	nftbatch_number(b, 100);
	m = nftbatch_msg(b, 1);
	offs = elem_offset(b, 1, 2);
	ok(offs > 0, "element 2 is found in the message sent");

	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 0), 100, 0, NULL, 0, true), &st, err,
			   sizeof(err));
	ok(st.got == 1 && st.error == 0 && !err[0], "a success ack is counted, no error");
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), m->seq, -EEXIST, "Set element exists",
				       offs, true), &st, err, sizeof(err));
	is_int(st.error, -EEXIST, "the kernel's errno is kept");
	ok(st.failed == m, "and the message it failed on");
	is_str(err, "set inet filter kvfence4: add 3 elements: File exists (kernel: "
	       "Set element exists, element 192.0.2.2 . 443)",
	       "the error names element 2, not 1 or 3");
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), m->seq, -ENOENT, NULL,
				       elem_offset(b, 1, 3), true), &st, err, sizeof(err));
	ok(st.error == -EEXIST && strstr(err, "192.0.2.2 . 443"), "a later failure does "
	   "not replace the first");

	memset(&st, 0, sizeof(st));
	st.begin_seq = 99;
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), m->seq, -EEXIST, NULL, offs, false),
			   &st, err, sizeof(err));
	is_str(err, "set inet filter kvfence4: add 3 elements: File exists (kernel, "
	       "element 192.0.2.2 . 443)", "an uncapped ack (the request echoed) names it too");

	memset(&st, 0, sizeof(st));
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), m->seq, -EEXIST, NULL, offs + 4, true),
			   &st, err, sizeof(err));
	is_str(err, "set inet filter kvfence4: add 3 elements: File exists (kernel)",
	       "an offset inside an element names none");

	memset(&st, 0, sizeof(st));
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), m->seq, -ENFILE, NULL, offs, true),
			   &st, err, sizeof(err));
	is_str(err, "set inet filter kvfence4: add 3 elements: the set is full (kernel, "
	       "element 192.0.2.2 . 443)", "ENFILE on elements is a full set");

	memset(&st, 0, sizeof(st));
	st.begin_seq = 99;
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 0), 99, -EPERM, NULL, 0, true), &st, err,
			   sizeof(err));
	ok(st.whole && st.error == -EPERM &&
	   strcmp(err, "batch of 2 messages: Operation not permitted (kernel)") == 0,
	   "an error on batch begin refuses the whole batch");

	memset(&st, 0, sizeof(st));
	err[0] = '\0';
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 1), 4242, -EEXIST, NULL, offs, true),
			   &st, err, sizeof(err));
	ok(st.got == 0 && st.error == 0 && !err[0], "an ack of a message not ours is ignored");
	nftbatch_free(b);
}

static void test_error_ack_on_a_range_element_names_its_range(void)
{
	struct range v[] = {
		mkrange("198.51.100.0", "198.51.100.255", "a"),
		mkrange("203.0.113.0", "203.0.113.9", "b"),
	};
	struct nftbatch *b = nftbatch_new();
	struct nftcommit_acks st = { 0 };
	char buf[8192], err[KVF_ERRLEN];

	nftbatch_add_ranges(b, &set6r, AF_INET, v, 2);
	nftbatch_number(b, 7);
	/* Elements: start a, end a, start b, end b. */
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 0), 7, -EEXIST, NULL,
				       elem_offset(b, 0, 4), true), &st, err, sizeof(err));
	is_str(err, "set inet filter kvfence6r: add 2 ranges: File exists (kernel, "
	       "range 203.0.113.0-203.0.113.9)", "an end element names its range");
	memset(&st, 0, sizeof(st));
	nftcommit_take_ack(b, make_ack(buf, msg_at(b, 0), 7, -EEXIST, NULL,
				       elem_offset(b, 0, 1), true), &st, err, sizeof(err));
	is_str(err, "set inet filter kvfence6r: add 2 ranges: File exists (kernel, "
	       "range 198.51.100.0/24)", "a start element names its range");
	nftbatch_free(b);
}

int main(void)
{
	test_every_key_type_round_trips_through_its_bytes();
	test_keys_are_laid_out_as_the_kernel_stores_them();
	test_interval_edges_round_trip_with_the_range_key();
	test_key_types_map_to_nft_types_and_names();
	test_comment_is_read_from_user_data_and_hostile_lengths_are_refused();
	test_range_edges_pair_into_the_ranges_written();
	test_batch_built_in_memory_parses_back_to_what_went_in();
	test_ranges_are_written_as_start_and_end_elements();
	test_largest_elements_keep_each_message_under_the_u16_nest();
	test_unwritable_elements_fail_the_batch_naming_them();
	test_error_ack_pointing_at_element_2_names_that_element();
	test_error_ack_on_a_range_element_names_its_range();
	return done_testing();
}
