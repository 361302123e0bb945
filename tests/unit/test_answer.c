/* Unit tests of the DNS-answer merge (answer.c): c-ares getaddrinfo results,
 * built by hand in the shapes c-ares 1.18.1 was seen to produce, merged
 * into a host_result. No network. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ares.h>

#include "answer.h"
#include "tap.h"

/* Storage for one hand-built answer: up to 8 nodes and 8 CNAMEs. */
struct fake {
	struct ares_addrinfo ai;
	struct ares_addrinfo_node nodes[8];
	struct sockaddr_in6 sa[8];	/* large enough for either family */
	struct ares_addrinfo_cname cnames[8];
	int n_nodes, n_cnames;
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
}

static struct ares_addrinfo_node *add_node(struct fake *f, const char *text, int ttl)
{
	struct ares_addrinfo_node *n = &f->nodes[f->n_nodes];
	struct sockaddr_in6 *s6 = &f->sa[f->n_nodes];
	struct sockaddr_in *s4 = (struct sockaddr_in *)s6;

	if (strchr(text, ':')) {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &s6->sin6_addr);
		n->ai_addrlen = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &s4->sin_addr);
		n->ai_addrlen = sizeof(*s4);
	}
	n->ai_family = s6->sin6_family;
	n->ai_addr = (struct sockaddr *)s6;
	n->ai_ttl = ttl;
	if (f->n_nodes > 0)
		f->nodes[f->n_nodes - 1].ai_next = n;
	f->ai.nodes = &f->nodes[0];
	f->n_nodes++;
	return n;
}

/* alias and name as c-ares gives them: the owner and the target. */
static void add_cname(struct fake *f, const char *alias, const char *name, int ttl)
{
	struct ares_addrinfo_cname *c = &f->cnames[f->n_cnames];

	c->alias = (char *)alias;
	c->name = (char *)name;
	c->ttl = ttl;
	if (f->n_cnames > 0)
		f->cnames[f->n_cnames - 1].next = c;
	f->ai.cnames = &f->cnames[0];
	f->n_cnames++;
}

static bool holds(const struct host_result *r, const char *text)
{
	struct kvf_addr a;
	size_t i;

	if (addr_parse(text, &a) < 0)
		return false;
	for (i = 0; i < r->n_addrs; i++)
		if (addr_cmp(&r->addrs[i], &a) == 0)
			return true;
	return false;
}

static void test_an_a_answer_keeps_each_address_once_with_the_least_ttl(void)
{
	struct host_result r = { 0 };
	struct fake f;

	fake_init(&f);
	add_node(&f, "192.0.2.1", 120);
	add_node(&f, "192.0.2.2", 90);
	add_node(&f, "192.0.2.1", 300);
	answer_merge(&r, AF_INET, ARES_SUCCESS, &f.ai);
	is_int(r.status4, RES_OK, "A answer: ok");
	is_int(r.n_addrs, 2, "A answer: duplicate address kept once");
	ok(holds(&r, "192.0.2.1") && holds(&r, "192.0.2.2"), "A answer: both addresses");
	is_int(r.ttl, 90, "A answer: ttl is the minimum of the records");
	is_int(r.n_cnames, 0, "A answer: no chain");
	result_free(&r);
	ok(!r.addrs && r.n_addrs == 0 && r.ttl == 0, "result_free leaves an empty result");
}

/* The shape of chain.test in 1.18.1: CNAME TTLs only in cnames, the
 * address TTL only in the nodes; owner case echoed from the question. */
static void test_a_cname_chain_is_lowercased_and_bounds_the_ttl(void)
{
	struct host_result r = { 0 };
	struct fake f4, f6;

	fake_init(&f4);
	add_cname(&f4, "Chain.TEST", "mid.Chain.TEST", 50);
	add_cname(&f4, "mid.Chain.TEST", "end.Chain.TEST.", 40);
	add_node(&f4, "198.51.100.7", 95);
	add_node(&f4, "198.51.100.8", 95);
	fake_init(&f6);
	add_cname(&f6, "Chain.TEST", "mid.Chain.TEST", 50);
	add_cname(&f6, "mid.Chain.TEST", "end.Chain.TEST", 40);
	add_node(&f6, "2001:db8::7", 30);

	answer_merge(&r, AF_INET, ARES_SUCCESS, &f4.ai);
	is_int(r.ttl, 40, "chain: a CNAME's TTL bounds the result");
	answer_merge(&r, AF_INET6, ARES_SUCCESS, &f6.ai);
	is_int(r.status4, RES_OK, "chain: A ok");
	is_int(r.status6, RES_OK, "chain: AAAA ok");
	is_int(r.n_addrs, 3, "chain: addresses of both families");
	ok(holds(&r, "198.51.100.8") && holds(&r, "2001:db8::7"), "chain: the end's addresses");
	is_int(r.n_cnames, 2, "chain: targets once, though both families saw them");
	if (r.n_cnames == 2) {
		is_str(r.cnames[0], "mid.chain.test", "chain: first target, lower case");
		is_str(r.cnames[1], "end.chain.test", "chain: second target, no trailing dot");
	}
	is_int(r.ttl, 30, "chain: ttl is the minimum over both families");
	result_free(&r);
}

static void test_each_c_ares_status_maps_to_one_result_status(void)
{
	static const struct {
		int ares;
		enum resolve_status want;
	} map[] = {
		{ ARES_SUCCESS, RES_NODATA },	/* success, but no address */
		{ ARES_ENODATA, RES_NODATA },
		{ ARES_ENOTFOUND, RES_NXDOMAIN },
		{ ARES_ETIMEOUT, RES_TIMEOUT },
		{ ARES_ECONNREFUSED, RES_SERVFAIL },	/* SERVFAIL/REFUSED in 1.18.1 */
		{ ARES_ESERVFAIL, RES_SERVFAIL },
		{ ARES_EREFUSED, RES_REFUSED },
		{ ARES_EFORMERR, RES_ERROR },
		{ ARES_EBADRESP, RES_ERROR },
		{ ARES_ENOMEM, RES_ERROR },
		{ ARES_EDESTRUCTION, RES_ERROR },
		{ -1, RES_ERROR },
		{ 12345, RES_ERROR },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct host_result r = { .status4 = RES_OK, .status6 = RES_OK };

		answer_merge(&r, AF_INET6, map[i].ares, NULL);
		is_int(r.status6, map[i].want, "c-ares status %d -> %s", map[i].ares,
		       resolve_status_name(map[i].want));
		is_int(r.status4, RES_OK, "c-ares status %d leaves the A status alone",
		       map[i].ares);
		ok(r.n_addrs == 0 && r.n_cnames == 0 && r.ttl == 0,
		   "c-ares status %d without addrinfo: no records, ttl 0", map[i].ares);
		result_free(&r);
	}
}

/* Seen in 1.18.1: an IPv4 literal asked as AF_INET6 comes back SUCCESS
 * with an AF_INET node; an AAAA record in an A answer comes back as an
 * AF_INET6 node. Neither is an address of the family asked. */
static void test_an_address_of_the_other_family_is_nodata(void)
{
	struct host_result r = { 0 };
	struct fake f;

	fake_init(&f);
	add_node(&f, "192.0.2.3", 0);
	answer_merge(&r, AF_INET6, ARES_SUCCESS, &f.ai);
	is_int(r.status6, RES_NODATA, "AF_INET node for AAAA: nodata");
	is_int(r.n_addrs, 0, "AF_INET node for AAAA: not taken");
	fake_init(&f);
	add_node(&f, "2001:db8::99", 60);
	add_node(&f, "192.0.2.4", 60);
	answer_merge(&r, AF_INET, ARES_SUCCESS, &f.ai);
	is_int(r.status4, RES_OK, "mixed nodes for A: ok");
	ok(r.n_addrs == 1 && holds(&r, "192.0.2.4"), "mixed nodes for A: only the IPv4 one");
	result_free(&r);
}

static void test_a_failed_answer_contributes_no_records(void)
{
	struct host_result r = { 0 };
	struct fake f;

	fake_init(&f);
	add_cname(&f, "a.test", "b.test", 10);
	add_node(&f, "192.0.2.9", 10);
	answer_merge(&r, AF_INET, ARES_ETIMEOUT, &f.ai);
	is_int(r.status4, RES_TIMEOUT, "records with a failure: status kept");
	ok(r.n_addrs == 0 && r.n_cnames == 0 && r.ttl == 0,
	   "records with a failure: none taken");
	result_free(&r);
}

/* RFC 2181 section 8: a TTL with the top bit set means zero; c-ares
 * 1.18.1 hands 0x80000001 over as a negative int. */
static void test_a_ttl_with_the_top_bit_set_reads_as_zero(void)
{
	struct host_result r = { 0 };
	struct fake f;

	fake_init(&f);
	add_node(&f, "192.0.2.77", -2147483647);
	add_node(&f, "192.0.2.78", 60);
	answer_merge(&r, AF_INET, ARES_SUCCESS, &f.ai);
	is_int(r.ttl, 0, "negative TTL reads as 0");
	is_int(r.n_addrs, 2, "negative TTL: addresses still taken");
	result_free(&r);
}

/* Only a CNAME: the chain counts, the family has no address. c-ares
 * reports this as ENODATA without addrinfo, but a fuzzer may not. */
static void test_a_cname_without_addresses_is_nodata(void)
{
	struct host_result r = { 0 };
	struct fake f;

	fake_init(&f);
	add_cname(&f, "x.test", "y.test", 70);
	answer_merge(&r, AF_INET6, ARES_SUCCESS, &f.ai);
	is_int(r.status6, RES_NODATA, "CNAME only: nodata");
	ok(r.n_cnames == 1 && strcmp(r.cnames[0], "y.test") == 0, "CNAME only: chain kept");
	is_int(r.ttl, 70, "CNAME only: its TTL");
	result_free(&r);
}

static void test_broken_nodes_and_names_are_skipped(void)
{
	struct host_result r = { .status6 = RES_ERROR };
	struct ares_addrinfo empty = { 0 };
	struct ares_addrinfo_node *n;
	struct fake f;

	answer_merge(&r, AF_INET, ARES_SUCCESS, &empty);
	is_int(r.status4, RES_NODATA, "empty addrinfo: nodata");

	fake_init(&f);
	n = add_node(&f, "192.0.2.1", 5);
	n->ai_addr = NULL;
	n = add_node(&f, "192.0.2.2", 5);
	n->ai_addrlen = 2;
	n = add_node(&f, "192.0.2.3", 5);
	n->ai_addr->sa_family = AF_INET6;	/* node says inet, sockaddr inet6 */
	add_cname(&f, "a.test", NULL, 1);
	add_cname(&f, "a.test", "", 1);
	add_cname(&f, "a.test", "...", 1);
	add_cname(&f, NULL, "Z.\xc3\xa9\x01.TEST..", 80);
	add_node(&f, "192.0.2.4", 100);
	answer_merge(&r, AF_INET, ARES_SUCCESS, &f.ai);
	is_int(r.status4, RES_OK, "broken nodes skipped, a good one remains: ok");
	ok(r.n_addrs == 1 && holds(&r, "192.0.2.4"), "broken nodes: not taken");
	is_int(r.n_cnames, 1, "unusable CNAME targets skipped");
	if (r.n_cnames == 1)
		is_str(r.cnames[0], "z.\xc3\xa9\x01.test", "odd bytes kept, ASCII lowered");
	is_int(r.ttl, 80, "skipped records do not bound the ttl");

	answer_merge(&r, AF_UNIX, ARES_ENOTFOUND, &f.ai);
	ok(r.status4 == RES_OK && r.status6 == RES_ERROR && r.n_addrs == 1,
	   "unknown family: nothing changes");
	result_free(&r);
}

static void test_every_status_has_a_name(void)
{
	is_str(resolve_status_name(RES_OK), "ok", "name of RES_OK");
	is_str(resolve_status_name(RES_NXDOMAIN), "nxdomain", "name of RES_NXDOMAIN");
	is_str(resolve_status_name(RES_TIMEOUT), "timeout", "name of RES_TIMEOUT");
	is_str(resolve_status_name((enum resolve_status)99), "unknown", "name out of range");
}

int main(void)
{
	test_an_a_answer_keeps_each_address_once_with_the_least_ttl();
	test_a_cname_chain_is_lowercased_and_bounds_the_ttl();
	test_each_c_ares_status_maps_to_one_result_status();
	test_an_address_of_the_other_family_is_nodata();
	test_a_failed_answer_contributes_no_records();
	test_a_ttl_with_the_top_bit_set_reads_as_zero();
	test_a_cname_without_addresses_is_nodata();
	test_broken_nodes_and_names_are_skipped();
	test_every_status_has_a_name();
	return done_testing();
}
