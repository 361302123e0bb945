/* Unit tests of the desired state: grace, fail-static, max-stale, and the
 * elements per set. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "tap.h"

static struct kvf_addr A(const char *s)
{
	struct kvf_addr a;

	addr_parse(s, &a);
	return a;
}

/* Feed one answer of the given addresses with statuses st4/st6. */
static size_t answer(struct host_state *h, enum resolve_status st4, enum resolve_status st6,
		     const char *const *addrs, size_t n, int64_t now, unsigned grace)
{
	struct kvf_addr v[16];
	struct host_result r = { .status4 = st4, .status6 = st6, .ttl = 60 };
	struct filtered f = { .addrs = v, .n_addrs = n };
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = A(addrs[i]);
	r.addrs = v;
	r.n_addrs = n;
	return desired_update(h, &r, &f, now, grace);
}

static bool holds(const struct host_state *h, const char *addr)
{
	struct kvf_addr a = A(addr);
	size_t i;

	for (i = 0; i < h->n_addrs; i++)
		if (addr_cmp(&h->addrs[i].addr, &a) == 0)
			return true;
	return false;
}

static void test_a_vanished_address_stays_for_the_grace_period(void)
{
	static const char *const first[] = { "192.0.2.1", "2001:db8::1" };
	static const char *const second[] = { "192.0.2.2", "2001:db8::1" };
	struct host_state h = { 0 };

	is_int(answer(&h, RES_OK, RES_OK, first, 2, 1000, 600), 2, "two new addresses");
	is_int(answer(&h, RES_OK, RES_OK, second, 2, 1100, 600), 1, "one more, none dropped yet");
	ok(holds(&h, "192.0.2.1") && holds(&h, "192.0.2.2"), "old address held within grace");
	answer(&h, RES_OK, RES_OK, second, 2, 1600, 600);
	ok(holds(&h, "192.0.2.1"), "still held at exactly grace");
	answer(&h, RES_OK, RES_OK, second, 2, 1601, 600);
	ok(!holds(&h, "192.0.2.1") && holds(&h, "192.0.2.2"), "dropped after grace");
	is_int(h.last_answer, 1601, "last answer recorded");
	host_state_free(&h);
}

/* The clock counts seconds: an address seen earlier in the same second
 * as the answer that no longer names it is not "older than grace" at
 * grace none, yet none removes it at once (a warm start seeds a host's
 * old generation; its first answer comes within that second). */
static void test_grace_none_removes_an_address_seen_in_the_same_second(void)
{
	static const char *const first[] = { "2001:db8:1::1", "2001:db8:1::2" };
	static const char *const second[] = { "2001:db8:2::1" };
	struct host_state h = { 0 };
	struct kvf_addr old;

	answer(&h, RES_NODATA, RES_OK, first, 2, 1000, 0);
	is_int(answer(&h, RES_NODATA, RES_OK, second, 1, 1000, 0), 3,
	       "one address added, two removed in the same second");
	ok(h.n_addrs == 1 && holds(&h, "2001:db8:2::1"), "only the answer's address is held");
	old = A("2001:db8:1::9");
	desired_seed(&h, &old, 1000);
	answer(&h, RES_NODATA, RES_OK, second, 1, 1000, 0);
	ok(h.n_addrs == 1 && holds(&h, "2001:db8:2::1"), "a seeded address goes too");
	host_state_free(&h);
}

static void test_failures_keep_every_address(void)
{
	static const char *const one[] = { "192.0.2.1", "2001:db8::1" };
	static const char *const v4[] = { "192.0.2.7" };
	struct host_state h = { 0 };

	answer(&h, RES_OK, RES_OK, one, 2, 1000, 60);
	answer(&h, RES_TIMEOUT, RES_TIMEOUT, NULL, 0, 1000000, 60);
	ok(holds(&h, "192.0.2.1") && holds(&h, "2001:db8::1"), "timeout keeps everything");
	answer(&h, RES_SERVFAIL, RES_REFUSED, NULL, 0, 2000000, 60);
	ok(h.n_addrs == 2 && h.failures == 2, "servfail, refused keep everything");
	is_int(h.last_answer, 1000, "failures are not answers");
	/* A good A answer with a failed AAAA query: only IPv4 may age. */
	answer(&h, RES_OK, RES_SERVFAIL, v4, 1, 3000000, 60);
	ok(!holds(&h, "192.0.2.1") && holds(&h, "192.0.2.7") && holds(&h, "2001:db8::1"),
	   "a failed AAAA keeps IPv6 while IPv4 follows its answer");
	answer(&h, RES_NXDOMAIN, RES_NXDOMAIN, NULL, 0, 3000001, 60);
	ok(holds(&h, "192.0.2.7") && !holds(&h, "2001:db8::1"),
	   "NXDOMAIN: a fresh address not at once, one older than grace at once");
	answer(&h, RES_NXDOMAIN, RES_NXDOMAIN, NULL, 0, 4000000, 60);
	is_int(h.n_addrs, 0, "NXDOMAIN: gone after grace");
	host_state_free(&h);
}

static void test_nodata_ages_out_only_its_family(void)
{
	static const char *const both[] = { "192.0.2.1", "2001:db8::1" };
	static const char *const v4[] = { "192.0.2.1" };
	struct host_state h = { 0 };

	answer(&h, RES_OK, RES_OK, both, 2, 10, 0);
	answer(&h, RES_OK, RES_NODATA, v4, 1, 20, 0);
	ok(holds(&h, "192.0.2.1") && !holds(&h, "2001:db8::1"), "NODATA for AAAA ages IPv6");
	host_state_free(&h);
}

static void test_seeded_addresses_expire_by_max_stale_unless_confirmed(void)
{
	struct host_state h = { 0 };
	struct kvf_addr a = A("203.0.113.5");

	desired_seed(&h, &a, 0);
	answer(&h, RES_TIMEOUT, RES_TIMEOUT, NULL, 0, 5000, 1800);
	ok(holds(&h, "203.0.113.5"), "seeded address kept while DNS fails");
	is_int(desired_expire_stale(&h, 5000, 0), 0, "max-stale none keeps it");
	is_int(desired_expire_stale(&h, 5000, 4000), 1, "max-stale drops it when unconfirmed");
	host_state_free(&h);
}

static void test_each_address_becomes_one_element_per_port(void)
{
	static const char *const a1[] = { "192.0.2.1", "2001:db8::1" };
	static const char *const a2[] = { "192.0.2.1" };
	struct endpoint ep[2] = {
		{ .name = "a.example.com", .ports = { 80, 443 }, .n_ports = 2 },
		{ .name = "b.example.com", .ports = { 443 }, .n_ports = 1 },
	};
	struct endpoint_list eps = { .v = ep, .n = 2 };
	struct host_state hs[2] = { { 0 } };
	struct elem_list l = { 0 };
	char buf[64];

	answer(&hs[0], RES_OK, RES_OK, a1, 2, 1, 60);
	answer(&hs[1], RES_OK, RES_OK, a2, 1, 1, 60);
	desired_elements(&eps, hs, KEY_IPV4_PORT, &l);
	is_int(l.n, 2, "v4 concat: . 80 and . 443, the key a and b share once");
	is_str(elem_format(&l.v[0], buf, sizeof(buf)), "192.0.2.1 . 80", "first element");
	is_str(elem_format(&l.v[1], buf, sizeof(buf)), "192.0.2.1 . 443", "second element");
	ok(strcmp(l.v[1].comment, "a.example.com") == 0,
	   "a shared key: the first host's comment (host order)");
	elem_list_free(&l);
	desired_elements(&eps, hs, KEY_IPV4, &l);
	ok(l.n == 1 && strcmp(l.v[0].comment, "a.example.com") == 0,
	   "plain v4 set: the shared address once, under the first host");
	elem_list_free(&l);
	desired_elements(&eps, hs, KEY_IPV6_PORT, &l);
	ok(l.n == 2 && l.v[0].port == 80, "v6 concat: two ports");
	elem_list_free(&l);
	host_state_free(&hs[0]);
	host_state_free(&hs[1]);
}

static void test_the_expiry_timer_waits_for_a_definite_answer(void)
{
	static const char *const first[] = { "192.0.2.1" };
	static const char *const second[] = { "192.0.2.2" };
	struct host_state h = { 0 };
	struct kvf_addr a = A("198.51.100.1");

	/* Seeded before any answer: no grace timer runs (fail-static). */
	desired_seed(&h, &a, 100);
	ok(desired_next_expiry(&h, 60, 0) == INT64_MAX, "no expiry before a definite answer");
	is_int(desired_expire(&h, 100000, 60), 0, "nothing expires before a definite answer");
	host_state_free(&h);

	answer(&h, RES_OK, RES_NODATA, first, 1, 1000, 60);
	ok(desired_next_expiry(&h, 60, 0) == INT64_MAX, "a current address never expires by grace");
	ok(desired_next_expiry(&h, 60, 500) == 1501, "but by max-stale");
	answer(&h, RES_OK, RES_NODATA, second, 1, 1010, 60);
	is_int(desired_next_expiry(&h, 60, 0), 1061, "the old address leaves one second after grace");
	is_int(desired_expire(&h, 1060, 60), 0, "not at grace");
	is_int(desired_expire(&h, 1061, 60), 1, "after grace");
	ok(holds(&h, "192.0.2.2"), "the current address stays");
	/* A failure after that: fail-static again, even past grace. */
	answer(&h, RES_OK, RES_NODATA, first, 1, 2000, 60);
	answer(&h, RES_TIMEOUT, RES_TIMEOUT, NULL, 0, 2001, 60);
	is_int(desired_expire(&h, 99999, 60), 0, "DNS down: nothing ages out");
	host_state_free(&h);
}

/* The cap keeps what the latest answer named, then the newest. */
static void test_the_cap_keeps_the_latest_answer_then_the_newest(void)
{
	struct host_state h = { 0 };
	struct kvf_addr a;
	char text[32];
	int i;

	for (i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		a = A(text);
		desired_hold(&h, &a, 100 + i, i == 2);
	}
	a = A("2001:db8::1");
	desired_hold(&h, &a, 1, false);
	is_int(desired_cap(&h, 3), 7, "10 IPv4 addresses capped at 3: 7 dropped");
	is_int(h.n_addrs, 4, "the IPv6 address counts apart");
	ok(holds(&h, "198.51.100.2"), "the one the answer named stays, though old");
	ok(holds(&h, "198.51.100.10") && holds(&h, "198.51.100.9"), "then the newest");
	ok(!holds(&h, "198.51.100.8"), "the rest go");
	is_int(desired_cap(&h, 3), 0, "under the cap nothing goes");
	{
		struct kvf_addr keep[2] = { A("198.51.100.9"), A("2001:db8::1") };

		is_int(desired_keep_only(&h, keep, 2), 2, "keep_only drops the others");
		ok(holds(&h, "198.51.100.9") && holds(&h, "2001:db8::1") && h.n_addrs == 2,
		   "and keeps those named");
	}
	host_state_free(&h);
}

/* The list desired_elements makes is the one every host's every key
 * would make, sorted, each key once under the first host that wants it:
 * 3,000 hosts over a small pool of addresses and ports. */
static void test_shared_keys_come_once_under_the_first_host(void)
{
	enum { HOSTS = 3000 };
	static const enum set_keytype keys[] = { KEY_IPV4_PORT, KEY_IPV6, KEY_IPV6_PORT,
						  KEY_IPV4 };
	struct endpoint *ep = calloc(HOSTS, sizeof(*ep));
	struct host_state *hs = calloc(HOSTS, sizeof(*hs));
	struct endpoint_list eps = { .v = ep, .n = HOSTS };
	char (*names)[32] = calloc(HOSTS, sizeof(*names));
	size_t i, k, bad = 0, n = 0;
	char text[64];

	tap_seed(7);
	for (i = 0; i < HOSTS; i++) {
		unsigned j, na = 1 + tap_random() % 4;

		snprintf(names[i], sizeof(names[i]), "h%zu.example.com", i);
		ep[i].name = names[i];
		ep[i].n_ports = 1 + tap_random() % 2;
		ep[i].ports[0] = 443;
		ep[i].ports[1] = 80;
		for (j = 0; j < na; j++) {
			struct kvf_addr a;

			if (tap_random() % 2)
				snprintf(text, sizeof(text), "198.51.100.%u", tap_random() % 200);
			else
				snprintf(text, sizeof(text), "2001:db8::%x", tap_random() % 300);
			a = A(text);
			desired_hold(&hs[i], &a, 1, true);
		}
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		struct elem_list got = { 0 }, want = { 0 };
		bool ports = keytype_has_port(keys[k]);

		for (i = 0; i < HOSTS; i++) {
			size_t j;
			unsigned p;

			for (j = 0; j < hs[i].n_addrs; j++)
				for (p = 0; p < (ports ? ep[i].n_ports : 1); p++) {
					struct elem el = { .addr = hs[i].addrs[j].addr,
							   .port = ports ? ep[i].ports[p] : 0,
							   .comment = ep[i].name };

					if (el.addr.family == keytype_family(keys[k]))
						elem_list_push(&want, &el);
				}
		}
		elem_list_sort_unique(&want);
		desired_elements(&eps, hs, keys[k], &got);
		n += got.n;
		if (got.n != want.n)
			bad++;
		for (i = 0; i < got.n && i < want.n; i++)
			if (elem_key_cmp(&got.v[i], &want.v[i]) != 0 ||
			    got.v[i].comment != want.v[i].comment)
				bad++;
		elem_list_free(&got);
		elem_list_free(&want);
	}
	ok(n > 1000 && bad == 0, "%zu elements of 4 set types: each key once, the first "
	   "host's, sorted (%zu differ)", n, bad);
	for (i = 0; i < HOSTS; i++)
		host_state_free(&hs[i]);
	free(hs);
	free(ep);
	free(names);
}

static void test_a_host_wants_its_addresses_with_its_own_ports(void)
{
	static const char *const addrs[] = { "192.0.2.1", "2001:db8::1" };
	struct endpoint ep = { .name = "a.example.com", .ports = { 443 }, .n_ports = 1 };
	struct host_state h = { 0 };
	struct elem el = { .addr = A("192.0.2.1"), .port = 443 };

	answer(&h, RES_OK, RES_OK, addrs, 2, 1, 60);
	ok(desired_host_wants(&ep, &h, KEY_IPV4_PORT, &el), "its address with its port");
	el.port = 80;
	ok(!desired_host_wants(&ep, &h, KEY_IPV4_PORT, &el), "not with another port");
	el.port = 0;
	ok(desired_host_wants(&ep, &h, KEY_IPV4, &el), "in a plain set, the address alone");
	ok(!desired_host_wants(&ep, &h, KEY_IPV6, &el), "not in a set of the other family");
	el.addr = A("192.0.2.2");
	ok(!desired_host_wants(&ep, &h, KEY_IPV4, &el), "not an address it does not hold");
	el.addr = A("2001:db8::1");
	el.port = 443;
	ok(desired_host_wants(&ep, &h, KEY_IPV6_PORT, &el), "its IPv6 address with its port");
	host_state_free(&h);
}

int main(void)
{
	test_the_cap_keeps_the_latest_answer_then_the_newest();
	test_the_expiry_timer_waits_for_a_definite_answer();
	test_a_vanished_address_stays_for_the_grace_period();
	test_grace_none_removes_an_address_seen_in_the_same_second();
	test_failures_keep_every_address();
	test_nodata_ages_out_only_its_family();
	test_seeded_addresses_expire_by_max_stale_unless_confirmed();
	test_each_address_becomes_one_element_per_port();
	test_shared_keys_come_once_under_the_first_host();
	test_a_host_wants_its_addresses_with_its_own_ports();
	return done_testing();
}
