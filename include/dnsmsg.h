/* kvfence: DNS messages as the proxy (dnsproxy.c) sees them: a client's
 * query validated, a short reply built (an error, or a truncated answer),
 * an upstream answer read for its CNAME chain and addresses. Pure: bytes
 * in, values out; no sockets, no clock. */
#ifndef KVF_DNSMSG_H
#define KVF_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

#define DNSMSG_HEADER		12
#define DNSMSG_UDP_MIN		512	/* RFC 1035: the size without EDNS */
/* What kvfence advertises and what it forwards at most over UDP: the
 * DNS flag day 2020 size, below every path MTU that matters. Larger
 * answers come over TCP. */
#define DNSMSG_UDP_MAX		1232
/* A name as text: labels of letters, digits, '-' and '_' as they are,
 * anything else as \DDD (so no two wire names share a text), lower case,
 * no trailing dot; "." for the root. */
#define DNSMSG_NAME_TEXT	(255 * 4 + 1)
#define DNSMSG_MAX_CHAIN	16	/* CNAME hops followed; c-ares and glibc stop earlier */

#define DNS_TYPE_A		1
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_OPT		41
#define DNS_CLASS_IN		1

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5
#define DNS_RCODE_BADVERS	16	/* extended: needs an OPT */

/* What to do with a client's message. */
enum dnsmsg_verdict {
	DNSMSG_FORWARD,		/* a well-formed standard query */
	DNSMSG_DROP,		/* no answer: shorter than a header, or a response
				 * (answering responses makes reflection loops) */
	DNSMSG_FORMERR,		/* not one question, a broken name, records in
				 * the answer or authority sections, a bad
				 * OPT, trailing bytes */
	DNSMSG_NOTIMP,		/* an opcode other than QUERY */
	DNSMSG_REFUSED,		/* a class other than IN, a meta type (AXFR...) */
	DNSMSG_BADVERS,		/* an EDNS version other than 0 */
};

struct dnsmsg_query {
	uint16_t id;
	uint16_t qtype, qclass;
	size_t question_end;	/* offset after the question; 0 if unparsed */
	bool edns;		/* the query had an OPT record */
	size_t opt_at;		/* its offset */
	uint16_t udp_size;	/* the largest UDP reply the client takes */
};

/* Validate a client's query of len bytes. Fills q as far as it could
 * read (id always when len >= 2). */
enum dnsmsg_verdict dnsmsg_parse_query(const uint8_t *msg, size_t len, struct dnsmsg_query *q);

/* A reply carrying no records, with the query's id, the question of the
 * query when q->question_end says it was read, and an OPT record when the
 * query had one. hdr NULL: an error reply (the query's opcode and RD, RA,
 * rcode, extended bits in the OPT). hdr an answer's header: that answer
 * truncated (its flags and rcode, and TC, so the client asks again over
 * TCP). Returns the length written to out, 0 if outlen is too small. */
size_t dnsmsg_short_reply(const uint8_t *query, const struct dnsmsg_query *q,
			  const uint8_t *hdr, int rcode, uint8_t *out, size_t outlen);

static inline void dnsmsg_set_id(uint8_t *msg, uint16_t id)
{
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
}

static inline uint16_t dnsmsg_get_id(const uint8_t *msg)
{
	return (uint16_t)(msg[0] << 8 | msg[1]);
}

/* An upstream answer to an A or AAAA question, read for what kvfence
 * needs: the question, the chain of CNAMEs from the question name, and
 * the addresses of the chain's last name. Records owned by other names
 * are ignored (a resolver may add anything; only the chain answers the
 * question). */
struct dnsmsg_answer {
	int rcode;
	bool tc;
	uint16_t qtype, qclass;
	/* chain[0] is the question name, chain[k + 1] the target of the
	 * CNAME owned by chain[k]; cname_ttl[k] that record's TTL. */
	char chain[DNSMSG_MAX_CHAIN + 1][DNSMSG_NAME_TEXT];
	uint32_t cname_ttl[DNSMSG_MAX_CHAIN];
	size_t n_chain;
	bool chain_too_long;	/* more hops than DNSMSG_MAX_CHAIN */
	struct kvf_addr *addrs;	/* of qtype, owned by the last chain name */
	size_t n_addrs;
	uint32_t addr_ttl;	/* minimum over addrs; 0 when none */
};

/* Parse an answer; 0, or -EBADMSG for a malformed message (then ans
 * holds nothing to free). Free with dnsmsg_answer_free(). */
int dnsmsg_parse_answer(const uint8_t *msg, size_t len, struct dnsmsg_answer *ans);
void dnsmsg_answer_free(struct dnsmsg_answer *ans);

#endif
