/* Unit tests of the address filter (DESIGN §5). */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "addrfilter.h"
#include "tap.h"

static enum addr_class cls(const char *text)
{
	struct kvf_addr a;

	if (addr_parse(text, &a) < 0)
		return (enum addr_class)-1;
	return addrfilter_classify(&a);
}

static void test_each_address_falls_in_its_class(void)
{
	static const struct { const char *a; enum addr_class c; } cases[] = {
		{ "192.0.2.1", ADDR_PUBLIC }, { "198.51.100.7", ADDR_PUBLIC },
		{ "203.0.113.9", ADDR_PUBLIC }, { "20.38.1.2", ADDR_PUBLIC },
		{ "2001:db8::1", ADDR_PUBLIC }, { "2603:1000::1", ADDR_PUBLIC },
		{ "0.0.0.0", ADDR_UNSPECIFIED }, { "::", ADDR_UNSPECIFIED },
		{ "127.0.0.1", ADDR_LOOPBACK }, { "127.255.0.9", ADDR_LOOPBACK },
		{ "::1", ADDR_LOOPBACK },
		{ "169.254.1.1", ADDR_LINKLOCAL }, { "fe80::1", ADDR_LINKLOCAL },
		{ "224.0.0.1", ADDR_MULTICAST }, { "239.1.2.3", ADDR_MULTICAST },
		{ "ff02::1", ADDR_MULTICAST },
		{ "255.255.255.255", ADDR_BROADCAST },
		{ "240.0.0.1", ADDR_RESERVED }, { "0.1.2.3", ADDR_RESERVED },
		{ "192.0.0.8", ADDR_RESERVED }, { "198.18.0.1", ADDR_RESERVED },
		{ "fec0::1", ADDR_RESERVED }, { "100::1", ADDR_RESERVED },
		{ "4000::1", ADDR_RESERVED },
		{ "10.1.2.3", ADDR_PRIVATE }, { "172.16.0.1", ADDR_PRIVATE },
		{ "172.31.255.255", ADDR_PRIVATE }, { "172.32.0.1", ADDR_PUBLIC },
		{ "192.168.1.1", ADDR_PRIVATE }, { "100.64.0.1", ADDR_PRIVATE },
		{ "100.128.0.1", ADDR_PUBLIC }, { "fd00::1", ADDR_PRIVATE },
		{ "fc00::1", ADDR_PRIVATE },
		{ "::ffff:192.0.2.1", ADDR_MAPPED }, { "::192.0.2.1", ADDR_MAPPED },
		{ "64:ff9b::192.0.2.1", ADDR_MAPPED }, { "2002:c000:201::1", ADDR_MAPPED },
		/* Each range's first and last address, and its neighbours. */
		{ "0.255.255.255", ADDR_RESERVED }, { "1.0.0.0", ADDR_PUBLIC },
		{ "9.255.255.255", ADDR_PUBLIC }, { "10.0.0.0", ADDR_PRIVATE },
		{ "10.255.255.255", ADDR_PRIVATE }, { "11.0.0.0", ADDR_PUBLIC },
		{ "100.63.255.255", ADDR_PUBLIC }, { "100.127.255.255", ADDR_PRIVATE },
		{ "126.255.255.255", ADDR_PUBLIC }, { "128.0.0.0", ADDR_PUBLIC },
		{ "169.253.255.255", ADDR_PUBLIC }, { "169.255.0.0", ADDR_PUBLIC },
		{ "172.15.255.255", ADDR_PUBLIC }, { "191.255.255.255", ADDR_PUBLIC },
		{ "192.0.0.0", ADDR_RESERVED }, { "192.0.1.0", ADDR_PUBLIC },
		{ "192.167.255.255", ADDR_PUBLIC }, { "192.169.0.0", ADDR_PUBLIC },
		{ "198.17.255.255", ADDR_PUBLIC }, { "198.19.255.255", ADDR_RESERVED },
		{ "198.20.0.0", ADDR_PUBLIC }, { "223.255.255.255", ADDR_PUBLIC },
		{ "224.0.0.0", ADDR_MULTICAST }, { "239.255.255.255", ADDR_MULTICAST },
		{ "255.255.255.254", ADDR_RESERVED },
		{ "1fff:ffff::1", ADDR_RESERVED }, { "2000::1", ADDR_PUBLIC },
		{ "2001::1", ADDR_MAPPED }, { "2001:1::1", ADDR_PUBLIC },
		{ "2003::1", ADDR_PUBLIC }, { "3fff:ffff::1", ADDR_PUBLIC },
		{ "fbff::1", ADDR_RESERVED }, { "fdff:ffff::1", ADDR_PRIVATE },
		{ "fe00::1", ADDR_RESERVED }, { "febf::1", ADDR_LINKLOCAL },
		{ "fe7f::1", ADDR_RESERVED }, { "feff::1", ADDR_RESERVED },
		{ "100::ffff:1", ADDR_RESERVED }, { "100:0:0:1::1", ADDR_RESERVED },
		{ "64:ff9b::1:0:0", ADDR_RESERVED }, { "::2", ADDR_MAPPED },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(cls(cases[i].a) == cases[i].c, "%s is %s", cases[i].a,
		   addrfilter_class_name(cases[i].c));
}

static void test_privatelink_zones_are_known_in_any_case_and_cloud(void)
{
	char *chain_kv[] = { "contoso.privatelink.vaultcore.azure.net" };
	char *chain_entra[] = { "login.mso.msidentity.com", "ak.privatelink.msidentity.com" };

	ok(addrfilter_privatelink_zone("contoso.privatelink.vaultcore.azure.net"), "vaultcore zone");
	ok(addrfilter_privatelink_zone("CONTOSO.privatelink.vaultcore.azure.net."), "case, root dot");
	ok(addrfilter_privatelink_zone("x.privatelink.vaultcore.usgovcloudapi.net"), "usgov zone");
	ok(addrfilter_privatelink_zone("x.privatelink.vaultcore.azure.cn"), "china zone");
	ok(addrfilter_privatelink_zone("h.privatelink.managedhsm.azure.net"), "hsm zone");
	ok(!addrfilter_privatelink_zone("privatelink.vaultcore.azure.net"), "the zone apex is no host");
	ok(!addrfilter_privatelink_zone("ak.privatelink.msidentity.com"), "Entra's label proves nothing");
	ok(!addrfilter_privatelink_zone("x.privatelink.vaultcore.azure.net.evil.com"), "suffix only");
	ok(!addrfilter_privatelink_zone("xprivatelink.vaultcore.azure.net"), "label boundary");
	ok(addrfilter_chain_privatelink("contoso.vault.azure.net", chain_kv, 1), "vault chain");
	ok(!addrfilter_chain_privatelink("login.microsoftonline.com", chain_entra, 2), "entra chain");
}

static struct host_result result(const char *const *addrs, size_t n, char **cnames, size_t nc)
{
	static struct kvf_addr buf[600];
	struct host_result r = { .status4 = RES_OK, .status6 = RES_OK };
	size_t i;

	for (i = 0; i < n; i++)
		addr_parse(addrs[i], &buf[i]);
	r.addrs = buf;
	r.n_addrs = n;
	r.cnames = cnames;
	r.n_cnames = nc;
	return r;
}

static void test_private_and_special_addresses_are_rejected_unless_allowed(void)
{
	static const char *const mixed[] = {
		"192.0.2.1", "127.0.0.1", "10.1.2.3", "224.0.0.1", "::1", "fe80::1",
		"::ffff:192.0.2.1", "2001:db8::1", "192.0.2.1",
	};
	static const char *const priv[] = { "10.20.30.40" };
	char *kv[] = { "contoso.privatelink.vaultcore.azure.net" };
	char *entra[] = { "x.privatelink.msidentity.com" };
	struct host_result r = result(mixed, 9, NULL, 0);
	struct endpoint h = { .name = "h.example.com", .why = "host" };
	struct endpoint vault = { .name = "contoso.vault.azure.net", .why = "vault",
				  .keyvault = true };
	struct endpoint login = { .name = "login.microsoftonline.com", .why = "auth" };
	struct filtered f;
	char a[KVF_ADDRSTRLEN];

	addrfilter_apply(&h, &r, PRIVATE_YES, 64, &f);
	is_int(f.n_addrs, 3, "public + private kept under yes, duplicate merged");
	is_int(f.n_rejected, 5, "five rejected");
	filtered_free(&f);

	addrfilter_apply(&h, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 2, "auto without privatelink: private rejected");
	is_str(addr_format(&f.addrs[0], a, sizeof(a)), "192.0.2.1", "sorted, v4 first");
	filtered_free(&f);

	r = result(priv, 1, kv, 1);
	addrfilter_apply(&vault, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 1, "auto: private through the vaultcore zone accepted");
	filtered_free(&f);
	addrfilter_apply(&vault, &r, PRIVATE_NO, 64, &f);
	is_int(f.n_addrs, 0, "no: private refused even through the zone");
	filtered_free(&f);

	r = result(priv, 1, entra, 1);
	addrfilter_apply(&login, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 0, "auto: another privatelink. name is not enough");
	filtered_free(&f);
}

/* The chain is the resolver's word; only the config says what a host is.
 * A CNAME into the vault zone in front of a CRL host or a host line must
 * not open the firewall to a private address. */
static void test_only_vaults_take_private_link_addresses(void)
{
	static const char *const priv[] = { "10.0.0.80", "192.168.1.1", "fd00::80" };
	char *kv[] = { "x.privatelink.vaultcore.azure.net" };
	char *hsm[] = { "x.privatelink.managedhsm.azure.net" };
	struct endpoint crl = { .name = "crl3.digicert.com", .why = "crl" };
	struct endpoint host = { .name = "adfs.contoso.com", .why = "host" };
	struct endpoint hosted_vault = { .name = "x.vault.azure.net", .why = "host" };
	struct endpoint vault = { .name = "x.vault.azure.net", .why = "vault",
				  .keyvault = true };
	struct endpoint hsm_ep = { .name = "x.managedhsm.azure.net", .why = "managed-hsm",
				   .keyvault = true };
	struct endpoint in_zone = { .name = "x.privatelink.vaultcore.azure.net", .why = "host" };
	struct host_result r = result(priv, 3, kv, 1);
	struct filtered f;

	addrfilter_apply(&crl, &r, PRIVATE_AUTO, 64, &f);
	ok(f.n_addrs == 0 && f.n_rejected == 3, "auto: a CRL host through the vault zone gets none");
	filtered_free(&f);
	addrfilter_apply(&host, &r, PRIVATE_AUTO, 64, &f);
	ok(f.n_addrs == 0 && f.n_rejected == 3, "auto: a host line through the vault zone gets none");
	filtered_free(&f);
	addrfilter_apply(&hosted_vault, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 0, "auto: a host line is no vault, even with a vault's name");
	filtered_free(&f);
	addrfilter_apply(&in_zone, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 0, "auto: a host line inside the zone itself gets none");
	filtered_free(&f);
	addrfilter_apply(&vault, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 3, "auto: the vault with the same chain gets them");
	filtered_free(&f);
	addrfilter_apply(&crl, &r, PRIVATE_YES, 64, &f);
	is_int(f.n_addrs, 3, "yes: every host gets them");
	filtered_free(&f);
	r.cnames = hsm;
	addrfilter_apply(&hsm_ep, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 3, "auto: a managed HSM through its zone gets them");
	filtered_free(&f);
}

static void test_addresses_beyond_the_cap_are_dropped_and_counted(void)
{
	static char text[500][20];
	const char *ptrs[500];
	struct endpoint big = { .name = "big.example.com", .why = "host" };
	struct host_result r;
	struct filtered f;
	size_t i;

	for (i = 0; i < 500; i++) {
		snprintf(text[i], sizeof(text[i]), "198.51.%zu.%zu", 100 + i / 250, i % 250 + 1);
		ptrs[i] = text[i];
	}
	r = result(ptrs, 500, NULL, 0);
	addrfilter_apply(&big, &r, PRIVATE_AUTO, 64, &f);
	is_int(f.n_addrs, 64, "capped at max-addresses-per-host");
	is_int(f.n_capped, 436, "the rest counted as capped");
	filtered_free(&f);
}

static void test_the_cap_holds_per_family(void)
{
	static char text[200][40];
	const char *ptrs[200];
	struct endpoint both = { .name = "both.example.com", .why = "host" };
	struct host_result r;
	struct filtered f;
	size_t i, n4 = 0;

	for (i = 0; i < 100; i++) {
		snprintf(text[i], sizeof(text[i]), "203.0.113.%zu", i + 1);
		snprintf(text[100 + i], sizeof(text[i]), "2001:db8::%zx", i + 1);
	}
	for (i = 0; i < 200; i++)
		ptrs[i] = text[i];
	r = result(ptrs, 200, NULL, 0);
	addrfilter_apply(&both, &r, PRIVATE_AUTO, 8, &f);
	for (i = 0; i < f.n_addrs; i++)
		n4 += f.addrs[i].family == AF_INET;
	ok(f.n_addrs == 16 && n4 == 8, "the cap holds per family: 8 IPv4 and 8 IPv6");
	is_int(f.n_capped, 184, "the rest counted");
	filtered_free(&f);
}

/* The ranges of DESIGN §5 written out again, most specific first, and
 * matched bit by bit: the classifier's fast path (a table by first byte)
 * must agree on random addresses of every first byte. */
static const struct { const char *prefix; unsigned len; enum addr_class c; } ranges[] = {
	{ "0.0.0.0", 32, ADDR_UNSPECIFIED }, { "255.255.255.255", 32, ADDR_BROADCAST },
	{ "0.0.0.0", 8, ADDR_RESERVED }, { "127.0.0.0", 8, ADDR_LOOPBACK },
	{ "169.254.0.0", 16, ADDR_LINKLOCAL }, { "224.0.0.0", 4, ADDR_MULTICAST },
	{ "240.0.0.0", 4, ADDR_RESERVED }, { "10.0.0.0", 8, ADDR_PRIVATE },
	{ "172.16.0.0", 12, ADDR_PRIVATE }, { "192.168.0.0", 16, ADDR_PRIVATE },
	{ "100.64.0.0", 10, ADDR_PRIVATE }, { "192.0.0.0", 24, ADDR_RESERVED },
	{ "198.18.0.0", 15, ADDR_RESERVED },
	{ "::", 128, ADDR_UNSPECIFIED }, { "::1", 128, ADDR_LOOPBACK },
	{ "::ffff:0.0.0.0", 96, ADDR_MAPPED }, { "::", 96, ADDR_MAPPED },
	{ "64:ff9b::", 96, ADDR_MAPPED }, { "2002::", 16, ADDR_MAPPED },
	{ "2001::", 32, ADDR_MAPPED }, { "::", 8, ADDR_RESERVED },
	{ "100::", 64, ADDR_RESERVED }, { "fe80::", 10, ADDR_LINKLOCAL },
	{ "fec0::", 10, ADDR_RESERVED }, { "ff00::", 8, ADDR_MULTICAST },
	{ "fc00::", 7, ADDR_PRIVATE },
};

static enum addr_class reference_class(const struct kvf_addr *a)
{
	size_t i;
	unsigned b;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct kvf_addr p;

		addr_parse(ranges[i].prefix, &p);
		if (p.family != a->family)
			continue;
		for (b = 0; b < ranges[i].len; b++)
			if (((p.bytes[b / 8] ^ a->bytes[b / 8]) >> (7 - b % 8)) & 1)
				break;
		if (b == ranges[i].len)
			return ranges[i].c;
	}
	if (a->family == AF_INET6 && (a->bytes[0] & 0xe0) != 0x20)
		return ADDR_RESERVED;
	return ADDR_PUBLIC;
}

static void test_the_classifier_agrees_with_the_ranges_bit_by_bit(void)
{
	size_t i, n = 0, bad = 0;
	unsigned k;

	tap_seed(11);
	for (i = 0; i < 200000; i++) {
		struct kvf_addr a = { .family = i % 2 ? AF_INET6 : AF_INET };

		for (k = 0; k < 16; k++)
			a.bytes[k] = (uint8_t)tap_random();
		if (a.family == AF_INET)
			memset(a.bytes + 4, 0, 12);
		a.bytes[0] = (uint8_t)(i / 2 % 256);	/* every first byte */
		/* Now and then a range's own start, then bits flipped after
		 * its prefix: the edges of the 96- and 128-bit ones too. */
		if (i % 7 == 0) {
			size_t r = tap_random() % (sizeof(ranges) / sizeof(ranges[0]));
			struct kvf_addr p;

			addr_parse(ranges[r].prefix, &p);
			if (p.family == a.family) {
				unsigned bit = ranges[r].len + tap_random() % 8;

				a = p;
				if (bit < (a.family == AF_INET ? 32u : 128u))
					a.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			}
		}
		n++;
		if (addrfilter_classify(&a) != reference_class(&a))
			bad++;
	}
	ok(bad == 0, "%zu random addresses, every first byte: %zu classified otherwise "
	   "than bit by bit", n, bad);
}

int main(void)
{
	test_each_address_falls_in_its_class();
	test_the_classifier_agrees_with_the_ranges_bit_by_bit();
	test_privatelink_zones_are_known_in_any_case_and_cloud();
	test_private_and_special_addresses_are_rejected_unless_allowed();
	test_only_vaults_take_private_link_addresses();
	test_addresses_beyond_the_cap_are_dropped_and_counted();
	test_the_cap_holds_per_family();
	return done_testing();
}
