/* kvfence: a classic BPF filter for the notification socket. The kernel
 * coalesces a transaction's notifications into datagrams of about a
 * page, one netlink message after the other, and sends NFT_MSG_NEWGEN in
 * a datagram of its own. Classic BPF has no loops, so the program walks
 * the messages of a datagram unrolled, up to a count, and keeps a
 * datagram with more.
 *
 * Every message is checked as monitor.c would (less the set name, which
 * it is left to judge), and every doubt keeps the datagram. A load past
 * the end of the data would make the kernel drop it: each load is
 * guarded by a length checked before. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "monfilter.h"

#define KEEP	0xffffffffu	/* the whole datagram */
#define DROP	0u

/* Where the fields are, from the start of a message. */
#define OFF_LEN		0	/* nlmsg_len, u32 host order */
#define OFF_TYPE	4	/* nlmsg_type, u16 host order */
#define OFF_FAMILY	NLMSG_HDRLEN	/* nfgen_family, u8 */
#define OFF_ATTR	(NLMSG_HDRLEN + 4)	/* the first attribute */
#define OFF_NAME	(OFF_ATTR + NLA_HDRLEN)
#define MSG_MIN		OFF_NAME	/* what a message must hold to be read */

/* Table, set and set element messages all name the table in attribute
 * 1, and the kernel puts it first. */
_Static_assert(NFTA_TABLE_NAME == 1 && NFTA_SET_TABLE == 1 &&
	       NFTA_SET_ELEM_LIST_TABLE == 1, "the table is attribute 1");

/* Scratch memory: M[CUR] is the offset of the message being read, which
 * X also holds between steps. */
enum { CUR, LEFT, TMP, MSGLEN, ATTRLEN };

#define TYPE(t)		((NFNL_SUBSYS_NFTABLES << 8) | (t))

/* What the monitor reads (msg_relevant() in monitor.c): these are kept
 * when about our tables. */
static const uint16_t read_types[] = {
	NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWSET, NFT_MSG_DELSET,
	NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM,
};

/* What the monitor ignores whatever the table; other types are kept. */
static const uint16_t ignored_types[] = {
	NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, NFT_MSG_NEWRULE, NFT_MSG_DELRULE,
	NFT_MSG_NEWGEN, NFT_MSG_NEWOBJ, NFT_MSG_DELOBJ, NFT_MSG_NEWFLOWTABLE,
	NFT_MSG_DELFLOWTABLE,
};

#define N_READ		(sizeof(read_types) / sizeof(read_types[0]))
#define N_IGNORED	(sizeof(ignored_types) / sizeof(ignored_types[0]))

struct prog {
	struct sock_filter *v;
	size_t n, cap;		/* n may pass cap: then it does not fit */
};

static size_t op(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n < p->cap)
		p->v[p->n] = (struct sock_filter){ code, jt, jf, k };
	return p->n++;
}

static void ret(struct prog *p, uint32_t v)
{
	op(p, BPF_RET | BPF_K, v, 0, 0);
}

/* Keep the datagram unless A <cmp> k holds. */
static void keep_unless(struct prog *p, uint16_t cmp, uint32_t k)
{
	op(p, BPF_JMP | cmp, k, 1, 0);
	ret(p, KEEP);
}

/* Keep the datagram if A <cmp> k holds. */
static void keep_if(struct prog *p, uint16_t cmp, uint32_t k)
{
	op(p, BPF_JMP | cmp, k, 0, 1);
	ret(p, KEEP);
}

/* The BPF_JA at i goes here: it reaches any distance, a conditional
 * jump only 255 instructions. */
static void land(struct prog *p, size_t i)
{
	if (i < p->cap)
		p->v[i].k = (uint32_t)(p->n - i - 1);
}

/* The conditional jump at i goes here if false (i and here are less
 * than 256 apart: a table's block is). */
static void land_false(struct prog *p, size_t i)
{
	if (i < p->cap)
		p->v[i].jf = (uint8_t)(p->n - i - 1);
}

static void load_byte(struct prog *p, uint32_t off)
{
	op(p, BPF_LD | BPF_B | BPF_IND, off, 0, 0);
}

/* BPF loads are big-endian, netlink headers in host order: a u16 field
 * equals v when a BPF_H load of it equals htons(v). */
static void load_half(struct prog *p, uint32_t off)
{
	op(p, BPF_LD | BPF_H | BPF_IND, off, 0, 0);
}

/* A = the u16 in host order at X + off; X is kept. */
static void load_u16(struct prog *p, uint32_t off)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	load_byte(p, off + 1);
	op(p, BPF_ALU | BPF_LSH | BPF_K, 8, 0, 0);
	op(p, BPF_ST, TMP, 0, 0);
	load_byte(p, off);
	op(p, BPF_LDX | BPF_MEM, TMP, 0, 0);
	op(p, BPF_ALU | BPF_OR | BPF_X, 0, 0, 0);
	op(p, BPF_LDX | BPF_MEM, CUR, 0, 0);
#else
	load_half(p, off);
#endif
}

/* nlmsg_len; the datagram is kept unless it is below 64 KiB (a
 * notification is about a page). */
static void load_msglen(struct prog *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	load_half(p, OFF_LEN + 2);
	keep_unless(p, BPF_JEQ | BPF_K, 0);
	load_u16(p, OFF_LEN);
#else
	load_half(p, OFF_LEN);
	keep_unless(p, BPF_JEQ | BPF_K, 0);
	load_half(p, OFF_LEN + 2);
#endif
}

/* Is the message about t's family and table? Falls through to KEEP if
 * so; a mismatch jumps past it. */
static void match_table(struct prog *p, const struct setref *t)
{
	const unsigned char *s = (const unsigned char *)t->table;
	size_t len = strlen(t->table) + 1, i = 0, nj = 0;
	size_t jumps[2 + (NFT_NAME_MAXLEN + 3) / 4 + 2];

	load_byte(p, OFF_FAMILY);
	jumps[nj++] = op(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)t->family, 0, 0);
	op(p, BPF_LD | BPF_MEM, ATTRLEN, 0, 0);
	jumps[nj++] = op(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(NLA_HDRLEN + len), 0, 0);
	for (; len - i >= 4; i += 4) {
		op(p, BPF_LD | BPF_W | BPF_IND, OFF_NAME + (uint32_t)i, 0, 0);
		jumps[nj++] = op(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)s[i] << 24 |
				 (uint32_t)s[i + 1] << 16 | (uint32_t)s[i + 2] << 8 | s[i + 3], 0, 0);
	}
	if (len - i >= 2) {
		load_half(p, OFF_NAME + (uint32_t)i);
		jumps[nj++] = op(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)s[i] << 8 | s[i + 1], 0, 0);
		i += 2;
	}
	if (len - i == 1) {
		load_byte(p, OFF_NAME + (uint32_t)i);
		jumps[nj++] = op(p, BPF_JMP | BPF_JEQ | BPF_K, s[i], 0, 0);
	}
	ret(p, KEEP);
	while (nj)
		land_false(p, jumps[--nj]);
}

/* Is refs[i]'s (family, table) also an earlier one's? */
static bool seen_before(const struct setref *refs, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (refs[j].family == refs[i].family && strcmp(refs[j].table, refs[i].table) == 0)
			return true;
	return false;
}

/* One message at X (and M[CUR]): keep the datagram, or go on to the
 * next message with X at it. */
static void message(struct prog *p, const struct setref *refs, size_t n, bool first)
{
	size_t next, i;

	op(p, BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);
	if (!first) {
		/* Every message before was dropped, and none is left. */
		op(p, BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1);
		ret(p, DROP);
	}
	keep_unless(p, BPF_JGT | BPF_X, 0);
	op(p, BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0);
	op(p, BPF_ST, LEFT, 0, 0);
	keep_unless(p, BPF_JGE | BPF_K, NLMSG_HDRLEN);
	load_msglen(p);
	keep_unless(p, BPF_JGE | BPF_K, NLMSG_HDRLEN);
	op(p, BPF_ST, MSGLEN, 0, 0);
	op(p, BPF_LDX | BPF_MEM, LEFT, 0, 0);
	keep_if(p, BPF_JGT | BPF_X, 0);
	op(p, BPF_LDX | BPF_MEM, CUR, 0, 0);

	/* Ignored types go to the next message, types read below, other
	 * types keep the datagram. */
	load_half(p, OFF_TYPE);
	for (i = 0; i < N_IGNORED; i++)
		op(p, BPF_JMP | BPF_JEQ | BPF_K, htons(TYPE(ignored_types[i])),
		   (uint8_t)(N_IGNORED - 1 - i), i == N_IGNORED - 1);
	next = op(p, BPF_JMP | BPF_JA, 0, 0, 0);
	for (i = 0; i < N_READ; i++)
		op(p, BPF_JMP | BPF_JEQ | BPF_K, htons(TYPE(read_types[i])),
		   (uint8_t)(N_READ - i), 0);
	ret(p, KEEP);
	op(p, BPF_LD | BPF_MEM, MSGLEN, 0, 0);
	keep_unless(p, BPF_JGE | BPF_K, MSG_MIN);

	/* NFPROTO_UNSPEC is every family to the monitor. */
	load_byte(p, OFF_FAMILY);
	keep_if(p, BPF_JEQ | BPF_K, NFPROTO_UNSPEC);
	/* The first attribute is the table's name, a string ending in NUL
	 * within the message; anything else is kept. */
	load_half(p, OFF_ATTR + 2);
	keep_unless(p, BPF_JEQ | BPF_K, htons(NFTA_TABLE_NAME));
	load_u16(p, OFF_ATTR);
	keep_unless(p, BPF_JGE | BPF_K, NLA_HDRLEN + 1);
	op(p, BPF_ST, ATTRLEN, 0, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_K, OFF_ATTR, 0, 0);
	op(p, BPF_LDX | BPF_MEM, MSGLEN, 0, 0);
	keep_if(p, BPF_JGT | BPF_X, 0);
	op(p, BPF_LD | BPF_MEM, ATTRLEN, 0, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_K, OFF_ATTR - 1, 0, 0);
	op(p, BPF_LDX | BPF_MEM, CUR, 0, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
	op(p, BPF_MISC | BPF_TAX, 0, 0, 0);
	load_byte(p, 0);
	op(p, BPF_LDX | BPF_MEM, CUR, 0, 0);
	keep_unless(p, BPF_JEQ | BPF_K, 0);
	for (i = 0; i < n; i++)
		if (!seen_before(refs, i))
			match_table(p, &refs[i]);

	/* Not ours: on to the next message, at NLMSG_ALIGN(nlmsg_len). */
	land(p, next);
	op(p, BPF_LD | BPF_MEM, MSGLEN, 0, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_K, NLMSG_ALIGNTO - 1, 0, 0);
	op(p, BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)(NLMSG_ALIGNTO - 1), 0, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
	op(p, BPF_ST, CUR, 0, 0);
	op(p, BPF_MISC | BPF_TAX, 0, 0, 0);
}

int monfilter_build(const struct setref *refs, size_t n, size_t max_msgs,
		    struct sock_filter *prog, size_t cap)
{
	struct prog p = { prog, 0, cap };
	size_t i, msgs, mark;

	for (i = 0; i < n; i++)
		if (strlen(refs[i].table) >= NFT_NAME_MAXLEN)
			return -E2BIG;
	op(&p, BPF_LDX | BPF_IMM, 0, 0, 0);
	op(&p, BPF_ST, CUR, 0, 0);
	for (msgs = 0; msgs < max_msgs; msgs++) {
		mark = p.n;
		message(&p, refs, n, msgs == 0);
		/* Room for the end below? */
		if (p.n + 4 > cap) {
			p.n = mark;
			break;
		}
	}
	if (msgs == 0)
		return -E2BIG;
	/* Every message read was dropped: drop the datagram if that was all. */
	op(&p, BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);
	op(&p, BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1);
	ret(&p, DROP);
	ret(&p, KEEP);
	return (int)p.n;
}
