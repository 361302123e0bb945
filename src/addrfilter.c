/* kvfence: the address filter (DESIGN §5). A DNS answer opens the
 * firewall, so answers are untrusted: only global unicast addresses get
 * in, private ones only where the administrator says so, or (auto) where
 * the CNAME chain runs through a Key Vault / Managed HSM Private Link zone.
 * Documentation ranges count as public: they route nowhere, and tests
 * need them. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrfilter.h"
#include "util.h"

struct prefix {
	uint8_t bytes[16];
	unsigned len;
	enum addr_class class;
};

/* Most specific first where ranges nest. */
static const struct prefix v4_prefixes[] = {
	{ { 0, 0, 0, 0 },	32, ADDR_UNSPECIFIED },
	{ { 255, 255, 255, 255 }, 32, ADDR_BROADCAST },
	{ { 0 },		8,  ADDR_RESERVED },	/* "this network" */
	{ { 127 },		8,  ADDR_LOOPBACK },
	{ { 169, 254 },		16, ADDR_LINKLOCAL },
	{ { 224 },		4,  ADDR_MULTICAST },
	{ { 240 },		4,  ADDR_RESERVED },
	{ { 10 },		8,  ADDR_PRIVATE },
	{ { 172, 16 },		12, ADDR_PRIVATE },
	{ { 192, 168 },		16, ADDR_PRIVATE },
	{ { 100, 64 },		10, ADDR_PRIVATE },	/* shared address space */
	{ { 192, 0, 0 },	24, ADDR_RESERVED },	/* IETF protocol assignments */
	{ { 198, 18 },		15, ADDR_RESERVED },	/* benchmarking */
};

static const struct prefix v6_prefixes[] = {
	{ { 0 },						128, ADDR_UNSPECIFIED },
	{ { [15] = 1 },						128, ADDR_LOOPBACK },
	{ { [10] = 0xff, [11] = 0xff },				96,  ADDR_MAPPED },
	{ { 0 },						96,  ADDR_MAPPED },	/* IPv4-compatible */
	{ { 0x00, 0x64, 0xff, 0x9b },				96,  ADDR_MAPPED },	/* NAT64 */
	{ { 0x20, 0x02 },					16,  ADDR_MAPPED },	/* 6to4 */
	{ { 0x20, 0x01, 0x00, 0x00 },				32,  ADDR_MAPPED },	/* Teredo */
	{ { 0 },						8,   ADDR_RESERVED },
	{ { 0x01, 0x00, 0, 0, 0, 0, 0, 0 },			64,  ADDR_RESERVED },	/* discard */
	{ { 0xfe, 0x80 },					10,  ADDR_LINKLOCAL },
	{ { 0xfe, 0xc0 },					10,  ADDR_RESERVED },	/* site-local */
	{ { 0xff },						8,   ADDR_MULTICAST },
	{ { 0xfc },						7,   ADDR_PRIVATE },
};

static bool prefix_match(const uint8_t *a, const struct prefix *p)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(a, p->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ p->bytes[full]) & (0xff << (8 - rest))) == 0;
}

#define N_V4	(sizeof(v4_prefixes) / sizeof(v4_prefixes[0]))
#define N_V6	(sizeof(v6_prefixes) / sizeof(v6_prefixes[0]))

/* Per first byte, the prefixes (bit k: the k-th of the table) that
 * byte leaves possible: most addresses an answer holds are ruled out
 * of every prefix by one look-up, and the others tried in table order. */
static uint16_t first_byte4[256], first_byte6[256];

static void first_byte_table(uint16_t *t, const struct prefix *v, size_t n)
{
	unsigned b;
	size_t k;

	for (b = 0; b < 256; b++)
		for (k = 0; k < n; k++) {
			unsigned mask = v[k].len >= 8 ? 0xffu : (0xffu << (8 - v[k].len)) & 0xffu;

			if (((b ^ v[k].bytes[0]) & mask) == 0)
				t[b] |= (uint16_t)(1u << k);
		}
}

enum addr_class addrfilter_classify(const struct kvf_addr *a)
{
	static bool tables;
	const struct prefix *v = a->family == AF_INET ? v4_prefixes : v6_prefixes;
	unsigned cand;

	_Static_assert(N_V4 <= 16 && N_V6 <= 16, "first_byte4/6 hold 16 prefixes");
	if (a->family != AF_INET && a->family != AF_INET6)
		return ADDR_RESERVED;
	if (!tables) {
		first_byte_table(first_byte4, v4_prefixes, N_V4);
		first_byte_table(first_byte6, v6_prefixes, N_V6);
		tables = true;
	}
	cand = (a->family == AF_INET ? first_byte4 : first_byte6)[a->bytes[0]];
	for (; cand; cand &= cand - 1) {
		unsigned k = (unsigned)__builtin_ctz(cand);

		if (prefix_match(a->bytes, &v[k]))
			return v[k].class;
	}
	/* Outside 2000::/3 nothing is global unicast today. */
	if (a->family == AF_INET6 && (a->bytes[0] & 0xe0) != 0x20)
		return ADDR_RESERVED;
	return ADDR_PUBLIC;
}

const char *addrfilter_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_PUBLIC:	return "public";
	case ADDR_PRIVATE:	return "private";
	case ADDR_UNSPECIFIED:	return "unspecified";
	case ADDR_LOOPBACK:	return "loopback";
	case ADDR_LINKLOCAL:	return "link-local";
	case ADDR_MULTICAST:	return "multicast";
	case ADDR_BROADCAST:	return "broadcast";
	case ADDR_RESERVED:	return "reserved";
	case ADDR_MAPPED:	return "IPv4-embedding IPv6";
	}
	return "?";
}

/* The Private Link zones of Key Vault and Managed HSM (ENDPOINTS.md).
 * Entra's public chain passes through ak.privatelink.msidentity.com: a
 * "privatelink." label alone proves nothing. */
#define ZONE(z)	{ z, sizeof(z) - 1 }
static const struct { const char *name; size_t len; } privatelink_zones[] = {
	ZONE("privatelink.vaultcore.azure.net"),
	ZONE("privatelink.vaultcore.usgovcloudapi.net"),
	ZONE("privatelink.vaultcore.azure.cn"),
	ZONE("privatelink.managedhsm.azure.net"),
};
#undef ZONE

bool addrfilter_privatelink_zone(const char *name)
{
	size_t i, len = strlen(name);

	/* A trailing root dot is the same name. */
	if (len && name[len - 1] == '.')
		len--;
	for (i = 0; i < sizeof(privatelink_zones) / sizeof(privatelink_zones[0]); i++) {
		const char *z = privatelink_zones[i].name;
		size_t lz = privatelink_zones[i].len;

		if (len < lz + 2 || name[len - lz - 1] != '.')
			continue;
		if (strncasecmp(name + len - lz, z, lz) == 0)
			return true;
	}
	return false;
}

bool addrfilter_chain_privatelink(const char *host, char *const *cnames, size_t n)
{
	size_t i;

	if (addrfilter_privatelink_zone(host))
		return true;
	for (i = 0; i < n; i++)
		if (addrfilter_privatelink_zone(cnames[i]))
			return true;
	return false;
}

static int cmp_addr(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

/* An answer holds a few addresses: insertion sort, without qsort's
 * setup; a flood of them still goes to qsort. */
static void sort_addrs(struct kvf_addr *v, size_t n)
{
	size_t i, j;

	if (n > 16) {
		qsort(v, n, sizeof(*v), cmp_addr);
		return;
	}
	for (i = 1; i < n; i++) {
		struct kvf_addr a = v[i];

		for (j = i; j > 0 && addr_cmp(&a, &v[j - 1]) < 0; j--)
			v[j] = v[j - 1];
		v[j] = a;
	}
}

static bool admissible(enum addr_class c, enum allow_private mode, bool via_pl)
{
	if (c == ADDR_PUBLIC)
		return true;
	if (c != ADDR_PRIVATE)
		return false;
	return mode == PRIVATE_YES || (mode == PRIVATE_AUTO && via_pl);
}

/* Sorted unique, at most max addresses of each family: a flood of AAAA
 * records must not push out every IPv4 address, nor the reverse. */
static void cap_per_family(struct filtered *out, unsigned max)
{
	size_t i, w = 0, n4 = 0, n6 = 0;

	for (i = 0; i < out->n_addrs; i++) {
		size_t *n = out->addrs[i].family == AF_INET ? &n4 : &n6;

		if (w && addr_cmp(&out->addrs[w - 1], &out->addrs[i]) == 0)
			continue;
		if (*n >= max) {
			out->n_capped++;
			continue;
		}
		(*n)++;
		out->addrs[w++] = out->addrs[i];
	}
	out->n_addrs = w;
}

void addrfilter_apply(const struct endpoint *ep, const struct host_result *res,
		      enum allow_private mode, unsigned max_addresses,
		      struct filtered *out)
{
	bool via_pl = ep->keyvault &&
		      addrfilter_chain_privatelink(ep->name, res->cnames, res->n_cnames);
	size_t i;

	memset(out, 0, sizeof(*out));
	out->addrs = xcalloc(res->n_addrs, sizeof(*out->addrs));
	for (i = 0; i < res->n_addrs; i++) {
		enum addr_class c = addrfilter_classify(&res->addrs[i]);

		if (admissible(c, mode, via_pl)) {
			out->addrs[out->n_addrs++] = res->addrs[i];
			continue;
		}
		/* Rejections are rare: their list is made at the first. */
		if (!out->rejected)
			out->rejected = xcalloc(res->n_addrs, sizeof(*out->rejected));
		out->rejected[out->n_rejected].addr = res->addrs[i];
		out->rejected[out->n_rejected++].why = c;
	}
	sort_addrs(out->addrs, out->n_addrs);
	cap_per_family(out, max_addresses);
}

void filtered_free(struct filtered *f)
{
	free(f->addrs);
	free(f->rejected);
	memset(f, 0, sizeof(*f));
}
