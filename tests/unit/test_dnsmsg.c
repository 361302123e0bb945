/* Unit tests of the DNS proxy's pure part: query validation, short
 * replies, answers read for their chain and addresses; and the fold of
 * one family of a proxied answer into a host's state. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "dnsmsg.h"
#include "tap.h"

/* A message under construction. */
struct msg {
	uint8_t b[4096];
	size_t n;
};

static void u8(struct msg *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u16(struct msg *m, unsigned v) { u8(m, v >> 8); u8(m, v & 0xff); }
static void u32(struct msg *m, unsigned v) { u16(m, v >> 16); u16(m, v & 0xffff); }

static void name(struct msg *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		u8(m, (unsigned)l);
		memcpy(m->b + m->n, s, l);
		m->n += l;
		s += l + (dot ? 1 : 0);
	}
	u8(m, 0);
}

static void header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
		   unsigned ns, unsigned ar)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, ns);
	u16(m, ar);
}

static void question(struct msg *m, const char *n, unsigned type)
{
	name(m, n);
	u16(m, type);
	u16(m, 1);
}

static void opt(struct msg *m, unsigned size, unsigned version)
{
	u8(m, 0);
	u16(m, 41);
	u16(m, size);
	u8(m, 0);
	u8(m, version);
	u16(m, 0);
	u16(m, 0);
}

static void rr_cname(struct msg *m, const char *owner, unsigned ttl, const char *target)
{
	size_t at;

	name(m, owner);
	u16(m, 5);
	u16(m, 1);
	u32(m, ttl);
	at = m->n;
	u16(m, 0);
	name(m, target);
	m->b[at] = (uint8_t)((m->n - at - 2) >> 8);
	m->b[at + 1] = (uint8_t)(m->n - at - 2);
}

static void rr_a(struct msg *m, const char *owner, unsigned ttl, unsigned a, unsigned b,
		 unsigned c, unsigned d)
{
	name(m, owner);
	u16(m, 1);
	u16(m, 1);
	u32(m, ttl);
	u16(m, 4);
	u8(m, a); u8(m, b); u8(m, c); u8(m, d);
}

static enum dnsmsg_verdict parse(struct msg *m, struct dnsmsg_query *q)
{
	return dnsmsg_parse_query(m->b, m->n, q);
}

static void test_queries(void)
{
	struct dnsmsg_query q;
	struct msg m;

	header(&m, 0x1234, 0x0100, 1, 0, 0, 0);
	question(&m, "contoso.vault.azure.net", 1);
	is_int(parse(&m, &q), DNSMSG_FORWARD, "a plain A query is forwarded");
	is_int(q.id, 0x1234, "its id is read");
	is_int(q.qtype, 1, "its type");
	is_int(q.udp_size, 512, "no EDNS: 512 bytes over UDP");
	ok(!q.edns, "no OPT");

	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "contoso.vault.azure.net", 28);
	opt(&m, 4096, 0);
	is_int(parse(&m, &q), DNSMSG_FORWARD, "an EDNS query is forwarded");
	ok(q.edns, "the OPT is seen");
	is_int(q.udp_size, 4096, "the client's UDP size is read");

	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "x.example", 1);
	opt(&m, 100, 0);
	parse(&m, &q);
	is_int(q.udp_size, 512, "a UDP size below 512 counts as 512");

	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "x.example", 1);
	opt(&m, 1232, 1);
	is_int(parse(&m, &q), DNSMSG_BADVERS, "EDNS version 1: BADVERS");

	header(&m, 1, 0x0100, 2, 0, 0, 0);
	question(&m, "a.example", 1);
	question(&m, "b.example", 1);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "two questions: FORMERR");

	header(&m, 1, 0x0100, 0, 0, 0, 0);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "no question: FORMERR");

	header(&m, 1, 0x2100, 1, 0, 0, 0);	/* opcode 4, NOTIFY */
	question(&m, "a.example", 6);
	is_int(parse(&m, &q), DNSMSG_NOTIMP, "NOTIFY: NOTIMP");

	header(&m, 1, 0x2900, 1, 0, 0, 0);	/* opcode 5, UPDATE */
	question(&m, "a.example", 6);
	is_int(parse(&m, &q), DNSMSG_NOTIMP, "UPDATE: NOTIMP");

	header(&m, 1, 0x8100, 1, 0, 0, 0);
	question(&m, "a.example", 1);
	is_int(parse(&m, &q), DNSMSG_DROP, "a response is dropped (no reflection)");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	m.n = 7;
	is_int(parse(&m, &q), DNSMSG_DROP, "shorter than a header: dropped");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	question(&m, "a.example", 252);
	is_int(parse(&m, &q), DNSMSG_REFUSED, "AXFR: REFUSED");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	name(&m, "version.bind");
	u16(&m, 16);
	u16(&m, 3);
	is_int(parse(&m, &q), DNSMSG_REFUSED, "class CHAOS: REFUSED");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	question(&m, "a.example", 255);
	is_int(parse(&m, &q), DNSMSG_FORWARD, "ANY is forwarded");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	question(&m, "a.example", 1);
	u8(&m, 0);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "a trailing byte: FORMERR");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	u8(&m, 0xc0);
	u8(&m, 0x0c);	/* a pointer to itself */
	u16(&m, 1);
	u16(&m, 1);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "a compression pointer in a query: FORMERR");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	u8(&m, 40);
	memset(m.b + m.n, 'a', 10);
	m.n += 10;
	is_int(parse(&m, &q), DNSMSG_FORMERR, "a label past the end: FORMERR");

	header(&m, 1, 0x0100, 1, 0, 0, 0);
	u8(&m, 0x40);
	u8(&m, 0);
	u16(&m, 1);
	u16(&m, 1);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "an extended label type: FORMERR");

	header(&m, 1, 0x0100, 1, 1, 0, 0);
	question(&m, "a.example", 1);
	rr_a(&m, "a.example", 60, 192, 0, 2, 1);
	is_int(parse(&m, &q), DNSMSG_FORMERR, "a query with an answer record: FORMERR");

	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "a.example", 1);
	opt(&m, 1232, 0);
	m.b[m.n - 1] = 8;	/* rdlen past the end */
	is_int(parse(&m, &q), DNSMSG_FORMERR, "an OPT longer than the message: FORMERR");
}

static void test_short_replies(void)
{
	struct dnsmsg_query q;
	struct msg m, ans;
	uint8_t out[600];
	size_t n;

	header(&m, 0xbeef, 0x0100, 1, 0, 0, 1);
	question(&m, "a.example", 1);
	opt(&m, 4096, 0);
	parse(&m, &q);
	n = dnsmsg_short_reply(m.b, &q, NULL, DNS_RCODE_SERVFAIL, out, sizeof(out));
	is_int(n, m.n, "an error reply is the question and an OPT");
	is_int(dnsmsg_get_id(out), 0xbeef, "with the client's id");
	is_int(out[2], 0x81, "QR and the query's RD");
	is_int(out[3] & 0x0f, DNS_RCODE_SERVFAIL, "SERVFAIL");
	is_int(out[3] & 0x80, 0x80, "RA");
	ok(memcmp(out + 12, m.b + 12, q.question_end - 12) == 0, "the question echoed");

	n = dnsmsg_short_reply(m.b, &q, NULL, DNS_RCODE_BADVERS, out, sizeof(out));
	is_int(out[3] & 0x0f, 0, "BADVERS: 0 in the header");
	is_int(out[n - 6], 1, "and 1 in the OPT's extended rcode");

	header(&ans, 0xbeef, 0x8580, 1, 1, 0, 0);
	question(&ans, "a.example", 1);
	rr_a(&ans, "a.example", 60, 192, 0, 2, 1);
	n = dnsmsg_short_reply(m.b, &q, ans.b, 0, out, sizeof(out));
	is_int(out[2], 0x87, "a truncated answer keeps AA and RD, and gets TC");
	is_int(out[3], 0x80, "its RA and rcode");
	is_int(out[7], 0, "no answer records");

	header(&m, 1, 0x0100, 2, 0, 0, 0);
	question(&m, "a.example", 1);
	question(&m, "b.example", 1);
	parse(&m, &q);
	n = dnsmsg_short_reply(m.b, &q, NULL, DNS_RCODE_FORMERR, out, sizeof(out));
	is_int(n, 12, "FORMERR to an unreadable question: a header alone");
	is_int(out[5], 0, "with no question");
}

static void test_answers(void)
{
	struct dnsmsg_answer *a = malloc(sizeof(*a));
	struct msg m;
	size_t len;

	header(&m, 7, 0x8180, 1, 4, 0, 0);
	question(&m, "Contoso-Prod.vault.azure.net", 1);
	rr_cname(&m, "contoso-prod.vault.azure.net", 60, "data-prod-weu.vaultcore.azure.net");
	rr_a(&m, "other.example", 5, 203, 0, 113, 9);	/* not on the chain */
	rr_cname(&m, "data-prod-weu.vaultcore.azure.net", 30, "tm.trafficmanager.net");
	rr_a(&m, "tm.trafficmanager.net", 20, 192, 0, 2, 10);
	m.b[7] = 4;
	is_int(dnsmsg_parse_answer(m.b, m.n, a), 0, "an answer with a chain is read");
	is_int(a->n_chain, 3, "three names on the chain");
	is_str(a->chain[0], "contoso-prod.vault.azure.net", "the question, in lower case");
	is_str(a->chain[2], "tm.trafficmanager.net", "the last target");
	is_int(a->cname_ttl[1], 30, "the second hop's TTL");
	is_int(a->n_addrs, 1, "only the chain's own address");
	is_int(a->addrs[0].bytes[3], 10, "192.0.2.10");
	is_int(a->addr_ttl, 20, "its TTL");
	dnsmsg_answer_free(a);

	/* Compression: the A record's owner points at the question. */
	header(&m, 7, 0x8180, 1, 1, 0, 0);
	question(&m, "x.example", 1);
	u16(&m, 0xc00c);
	u16(&m, 1);
	u16(&m, 1);
	u32(&m, 0x80000000u);	/* RFC 2181: the top bit means 0 */
	u16(&m, 4);
	u32(&m, 0xc0000201u);
	is_int(dnsmsg_parse_answer(m.b, m.n, a), 0, "a compressed owner is read");
	is_int(a->n_addrs, 1, "its address is taken");
	is_int(a->addr_ttl, 0, "a TTL with the top bit is 0");
	dnsmsg_answer_free(a);

	/* A pointer loop. */
	header(&m, 7, 0x8180, 1, 1, 0, 0);
	question(&m, "x.example", 1);
	len = m.n;
	u16(&m, 0xc000 | (unsigned)len);
	u16(&m, 1);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 4);
	u32(&m, 0xc0000201u);
	is_int(dnsmsg_parse_answer(m.b, m.n, a), -EBADMSG, "a compression loop is refused");

	/* A CNAME loop ends at DNSMSG_MAX_CHAIN. */
	header(&m, 7, 0x8180, 1, 2, 0, 0);
	question(&m, "a.example", 1);
	rr_cname(&m, "a.example", 60, "b.example");
	rr_cname(&m, "b.example", 60, "a.example");
	is_int(dnsmsg_parse_answer(m.b, m.n, a), 0, "a CNAME loop is read");
	ok(a->chain_too_long, "and marked too long");
	dnsmsg_answer_free(a);

	/* An A record of the wrong length. */
	header(&m, 7, 0x8180, 1, 1, 0, 0);
	question(&m, "x.example", 1);
	name(&m, "x.example");
	u16(&m, 1);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 3);
	u8(&m, 1); u8(&m, 2); u8(&m, 3);
	is_int(dnsmsg_parse_answer(m.b, m.n, a), -EBADMSG, "a 3-byte A record is refused");

	/* Truncated mid-record, and counts beyond the records. */
	header(&m, 7, 0x8180, 1, 1, 0, 0);
	question(&m, "x.example", 1);
	rr_a(&m, "x.example", 60, 192, 0, 2, 1);
	is_int(dnsmsg_parse_answer(m.b, m.n - 2, a), -EBADMSG, "a cut record is refused");
	m.b[7] = 2;
	is_int(dnsmsg_parse_answer(m.b, m.n, a), -EBADMSG, "a count past the records is refused");

	/* Every prefix of a good answer parses or is refused, never more. */
	header(&m, 7, 0x8180, 1, 2, 0, 0);
	question(&m, "x.example", 1);
	rr_cname(&m, "x.example", 60, "y.example");
	rr_a(&m, "y.example", 60, 192, 0, 2, 1);
	for (len = 0; len < m.n; len++)
		if (dnsmsg_parse_answer(m.b, len, a) == 0)
			break;
	is_int(len, m.n, "no prefix of an answer is read as an answer");
	free(a);
}

static struct kvf_addr A(const char *s)
{
	struct kvf_addr a;

	addr_parse(s, &a);
	return a;
}

static void test_fold(void)
{
	struct host_state h = { 0 };
	struct kvf_addr v[2] = { A("192.0.2.1"), A("2001:db8::1") };
	struct kvf_addr w[1] = { A("192.0.2.2") };
	struct filtered f = { .addrs = v, .n_addrs = 2 };
	struct filtered g = { .addrs = w, .n_addrs = 1 };

	h.failures = 2;
	h.ttl = 77;
	is_int(desired_update_family(&h, AF_INET, RES_OK, &f, 1000, 60), 1,
	       "an A answer adds its IPv4 address only");
	is_int(h.n_addrs, 1, "the AAAA in the filter list is not taken");
	is_int(h.failures, 2, "the polling failures are untouched");
	is_int(h.ttl, 77, "and the TTL");
	is_int(desired_update_family(&h, AF_INET, RES_TIMEOUT, &g, 1010, 60), 0,
	       "a failed answer changes nothing");
	is_int(desired_update_family(&h, AF_INET, RES_OK, &g, 1020, 60), 1,
	       "a rotated answer adds the new address");
	is_int(h.n_addrs, 2, "and keeps the old one for grace");
	ok(!h.addrs[0].current && h.addrs[1].current, "the old one is no longer current");
	is_int(desired_update_family(&h, AF_INET, RES_OK, &g, 1061, 60), 1,
	       "after grace, a definite answer drops the old one");
	host_state_free(&h);
}

int main(void)
{
	test_queries();
	test_short_replies();
	test_answers();
	test_fold();
	return done_testing();
}
