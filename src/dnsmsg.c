/* kvfence: DNS messages for the proxy: queries validated before they
 * are forwarded, short replies (errors, truncation), answers read for
 * their CNAME chain and addresses. Every length is checked against the
 * message: the bytes come from any local process and from the network. */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "util.h"

#define NAME_WIRE_MAX	255
#define MAX_POINTERS	64	/* more than any honest name needs */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 2181 section 8: a TTL with the top bit set means zero. */
static uint32_t ttl_value(uint32_t t)
{
	return t & 0x80000000u ? 0 : t;
}

static size_t put_label_text(char *text, size_t tl, const uint8_t *label, size_t n)
{
	size_t i;

	if (tl)
		text[tl++] = '.';
	for (i = 0; i < n; i++) {
		unsigned char c = label[i];

		if (isalnum(c) || c == '-' || c == '_')
			text[tl++] = (char)tolower(c);
		else
			tl += (size_t)sprintf(text + tl, "\\%03u", c);
	}
	return tl;
}

/* Read the name at *pos; advance *pos past it (past the first pointer,
 * if any). text (DNSMSG_NAME_TEXT bytes) gets its text form, or may be
 * NULL. Pointers are refused when !compress (a query's question).
 * 0 or -EBADMSG. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, char *text, bool compress)
{
	size_t p = *pos, wire = 0, tl = 0;
	bool jumped = false;
	int pointers = 0;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -EBADMSG;
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (!compress || p + 1 >= len || ++pointers > MAX_POINTERS)
				return -EBADMSG;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = (size_t)(l & 0x3f) << 8 | msg[p + 1];
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG;	/* the 0x40 and 0x80 label types */
		wire += (size_t)l + 1;
		if (wire > NAME_WIRE_MAX || p + 1 + l > len)
			return -EBADMSG;
		if (l == 0)
			break;
		if (text)
			tl = put_label_text(text, tl, msg + p + 1, l);
		p += (size_t)l + 1;
	}
	if (!jumped)
		*pos = p + 1;
	if (text) {
		if (tl == 0)
			text[tl++] = '.';
		text[tl] = '\0';
	}
	return 0;
}

/* The OPT record of a query, at *pos: owner root, type OPT, the rest
 * inside the message. */
static enum dnsmsg_verdict read_opt(const uint8_t *msg, size_t len, size_t *pos,
				    struct dnsmsg_query *q)
{
	size_t p = *pos;
	uint16_t rdlen;

	if (p + 11 > len || msg[p] != 0 || get16(msg + p + 1) != DNS_TYPE_OPT)
		return DNSMSG_FORMERR;
	rdlen = get16(msg + p + 9);
	if (p + 11 + rdlen > len)
		return DNSMSG_FORMERR;
	q->edns = true;
	q->opt_at = p;
	q->udp_size = get16(msg + p + 3);
	if (q->udp_size < DNSMSG_UDP_MIN)
		q->udp_size = DNSMSG_UDP_MIN;
	*pos = p + 11 + rdlen;
	/* RFC 6891 6.1.3: a version kvfence does not speak. */
	return msg[p + 6] != 0 ? DNSMSG_BADVERS : DNSMSG_FORWARD;
}

/* Meta types a forwarder has no business passing on: zone transfers,
 * TSIG/TKEY, MAILA/MAILB (RFC 6895: 128-255 less ANY). */
static bool qtype_refused(uint16_t t)
{
	return t >= 128 && t <= 254;
}

enum dnsmsg_verdict dnsmsg_parse_query(const uint8_t *msg, size_t len, struct dnsmsg_query *q)
{
	size_t pos = DNSMSG_HEADER;
	enum dnsmsg_verdict v;

	memset(q, 0, sizeof(*q));
	q->udp_size = DNSMSG_UDP_MIN;
	if (len >= 2)
		q->id = get16(msg);
	if (len < DNSMSG_HEADER || (msg[2] & 0x80))
		return DNSMSG_DROP;
	if ((msg[2] >> 3 & 0x0f) != 0)
		return DNSMSG_NOTIMP;
	if (get16(msg + 4) != 1 || get16(msg + 6) != 0 || get16(msg + 8) != 0 ||
	    get16(msg + 10) > 1)
		return DNSMSG_FORMERR;
	if (read_name(msg, len, &pos, NULL, false) < 0 || pos + 4 > len)
		return DNSMSG_FORMERR;
	q->qtype = get16(msg + pos);
	q->qclass = get16(msg + pos + 2);
	pos += 4;
	q->question_end = pos;
	v = DNSMSG_FORWARD;
	if (get16(msg + 10) == 1)
		v = read_opt(msg, len, &pos, q);
	if (v != DNSMSG_FORWARD)
		return v;
	if (pos != len)
		return DNSMSG_FORMERR;	/* trailing bytes */
	if (q->qclass != DNS_CLASS_IN || qtype_refused(q->qtype))
		return DNSMSG_REFUSED;
	return DNSMSG_FORWARD;
}

size_t dnsmsg_short_reply(const uint8_t *query, const struct dnsmsg_query *q,
			  const uint8_t *hdr, int rcode, uint8_t *out, size_t outlen)
{
	size_t qlen = q->question_end ? q->question_end - DNSMSG_HEADER : 0;
	size_t n = DNSMSG_HEADER + qlen + (q->edns ? 11 : 0);

	if (outlen < n)
		return 0;
	memset(out, 0, DNSMSG_HEADER);
	put16(out, q->id);
	if (hdr) {
		/* A truncated answer: its own flags and rcode, and TC. */
		out[2] = hdr[2] | 0x82;
		out[3] = hdr[3];
	} else {
		/* An error: the query's opcode and RD, recursion available. */
		out[2] = (uint8_t)(0x80 | (query[2] & 0x79));
		out[3] = (uint8_t)(0x80 | (rcode & 0x0f));
	}
	put16(out + 4, qlen ? 1 : 0);
	put16(out + 10, q->edns ? 1 : 0);
	memcpy(out + DNSMSG_HEADER, query + DNSMSG_HEADER, qlen);
	if (q->edns) {
		uint8_t *o = out + DNSMSG_HEADER + qlen;

		memset(o, 0, 11);
		put16(o + 1, DNS_TYPE_OPT);
		put16(o + 3, DNSMSG_UDP_MAX);
		o[5] = hdr ? 0 : (uint8_t)(rcode >> 4);	/* extended rcode */
	}
	return n;
}

/* One resource record's fixed part, after its owner name. */
struct rr {
	size_t owner;		/* offset of the owner name */
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata;		/* offset */
	uint16_t rdlen;
};

static int read_rr(const uint8_t *msg, size_t len, size_t *pos, struct rr *rr)
{
	size_t p = *pos;

	rr->owner = p;
	if (read_name(msg, len, &p, NULL, true) < 0 || p + 10 > len)
		return -EBADMSG;
	rr->type = get16(msg + p);
	rr->class = get16(msg + p + 2);
	rr->ttl = ttl_value(get32(msg + p + 4));
	rr->rdlen = get16(msg + p + 8);
	rr->rdata = p + 10;
	if (rr->rdata + rr->rdlen > len)
		return -EBADMSG;
	*pos = rr->rdata + rr->rdlen;
	return 0;
}

static bool owner_is(const uint8_t *msg, size_t len, const struct rr *rr, const char *name,
		     char *scratch)
{
	size_t p = rr->owner;

	return read_name(msg, len, &p, scratch, true) == 0 && strcmp(scratch, name) == 0;
}

/* The CNAME owned by the chain's last name, appended; false if none. */
static int follow(const uint8_t *msg, size_t len, const struct rr *rrs, size_t n,
		  struct dnsmsg_answer *ans, char *scratch)
{
	const char *tail = ans->chain[ans->n_chain - 1];
	size_t i, p;

	for (i = 0; i < n; i++) {
		if (rrs[i].type != DNS_TYPE_CNAME || rrs[i].class != DNS_CLASS_IN ||
		    !owner_is(msg, len, &rrs[i], tail, scratch))
			continue;
		if (ans->n_chain > DNSMSG_MAX_CHAIN) {
			ans->chain_too_long = true;
			return 0;
		}
		p = rrs[i].rdata;
		if (read_name(msg, len, &p, ans->chain[ans->n_chain], true) < 0 ||
		    p != rrs[i].rdata + rrs[i].rdlen)
			return -EBADMSG;
		ans->cname_ttl[ans->n_chain - 1] = rrs[i].ttl;
		ans->n_chain++;
		return 1;
	}
	return 0;
}

static int collect_addrs(const uint8_t *msg, size_t len, const struct rr *rrs, size_t n,
			 struct dnsmsg_answer *ans, char *scratch)
{
	const char *tail = ans->chain[ans->n_chain - 1];
	size_t i, alen = ans->qtype == DNS_TYPE_A ? 4 : 16;

	ans->addrs = xcalloc(n ? n : 1, sizeof(*ans->addrs));
	for (i = 0; i < n; i++) {
		struct kvf_addr *a = &ans->addrs[ans->n_addrs];

		if (rrs[i].type != ans->qtype || rrs[i].class != DNS_CLASS_IN ||
		    !owner_is(msg, len, &rrs[i], tail, scratch))
			continue;
		if (rrs[i].rdlen != alen)
			return -EBADMSG;
		a->family = alen == 4 ? AF_INET : AF_INET6;
		memcpy(a->bytes, msg + rrs[i].rdata, alen);
		if (ans->n_addrs == 0 || rrs[i].ttl < ans->addr_ttl)
			ans->addr_ttl = rrs[i].ttl;
		ans->n_addrs++;
	}
	return 0;
}

static int parse_records(const uint8_t *msg, size_t len, size_t pos, struct dnsmsg_answer *ans)
{
	size_t n = get16(msg + 6), total = n + get16(msg + 8) + get16(msg + 10), i;
	char *scratch = xmalloc(DNSMSG_NAME_TEXT);
	struct rr *rrs = xcalloc(n ? n : 1, sizeof(*rrs));
	struct rr other;
	int r = 0;

	/* Every section must be well formed, not only the answers. */
	for (i = 0; i < total && r == 0; i++)
		r = read_rr(msg, len, &pos, i < n ? &rrs[i] : &other);
	if (r == 0 && pos != len)
		r = -EBADMSG;
	if (r == 0)
		while ((r = follow(msg, len, rrs, n, ans, scratch)) == 1)
			;
	if (r == 0 && (ans->qtype == DNS_TYPE_A || ans->qtype == DNS_TYPE_AAAA))
		r = collect_addrs(msg, len, rrs, n, ans, scratch);
	free(rrs);
	free(scratch);
	return r;
}

int dnsmsg_parse_answer(const uint8_t *msg, size_t len, struct dnsmsg_answer *ans)
{
	size_t pos = DNSMSG_HEADER;
	int r;

	ans->addrs = NULL;
	ans->n_addrs = 0;
	ans->n_chain = 0;
	ans->chain_too_long = false;
	ans->addr_ttl = 0;
	if (len < DNSMSG_HEADER || !(msg[2] & 0x80) || get16(msg + 4) != 1)
		return -EBADMSG;
	ans->rcode = msg[3] & 0x0f;
	ans->tc = msg[2] & 0x02;
	if (read_name(msg, len, &pos, ans->chain[0], true) < 0 || pos + 4 > len)
		return -EBADMSG;
	ans->qtype = get16(msg + pos);
	ans->qclass = get16(msg + pos + 2);
	ans->n_chain = 1;
	r = parse_records(msg, len, pos + 4, ans);
	if (r < 0)
		dnsmsg_answer_free(ans);
	return r;
}

void dnsmsg_answer_free(struct dnsmsg_answer *ans)
{
	free(ans->addrs);
	ans->addrs = NULL;
	ans->n_addrs = 0;
}
