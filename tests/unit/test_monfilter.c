/* Unit tests of the monitor's socket filter, run by the kernel without
 * netlink: the program is attached to one end of an AF_UNIX datagram
 * socket pair, hand-made notification datagrams are sent from the other
 * end, and what arrives is what the filter kept. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>

#include "monfilter.h"
#include "tap.h"

#define BUFSZ	65536

static const struct setref kvfence[] = {
	{ NFPROTO_INET, "filter", "kvfence4" },
	{ NFPROTO_INET, "filter", "kvfence6" },
};

static char dgram[BUFSZ];
static size_t dlen;
/* Messages the program reads: fewer where net.core.optmem_max is small
 * (20 KiB on Debian 12), as in monitor_watch(). */
static size_t max_msgs = MONFILTER_MAX_MSGS;

/* Append a message (type of subsystem nftables) naming table and set as
 * the kernel does: table attribute 1 first, set attribute 2. */
static struct nlmsghdr *add_msg(uint16_t type, uint8_t family, const char *table, const char *set)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(dgram + dlen);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nlh->nlmsg_pid = 4242;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	if (table)
		mnl_attr_put_strz(nlh, 1, table);
	if (set)
		mnl_attr_put_strz(nlh, 2, set);
	dlen += NLMSG_ALIGN(nlh->nlmsg_len);
	return nlh;
}

static struct nlmsghdr *add_elem(uint8_t family, const char *table)
{
	return add_msg(NFT_MSG_NEWSETELEM, family, table, "s");
}

/* Send what was added as one datagram through a socket filtered for
 * refs: was it kept? */
static bool kept_by(const struct setref *refs, size_t n)
{
	struct sock_filter prog[BPF_MAXINSNS];
	struct sock_fprog fp;
	char buf[BUFSZ];
	int sv[2], len;
	ssize_t r;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) {
		printf("# socketpair: %s\n", strerror(errno));
		exit(1);
	}
	for (;;) {
		len = monfilter_build(refs, n, max_msgs, prog, BPF_MAXINSNS);
		if (len <= 0) {
			printf("# monfilter_build: %d\n", len);
			exit(1);
		}
		fp.len = (unsigned short)len;
		fp.filter = prog;
		if (setsockopt(sv[1], SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) == 0)
			break;
		if (errno != ENOMEM || max_msgs == 1) {
			printf("# SO_ATTACH_FILTER: %s\n", strerror(errno));
			exit(1);
		}
		max_msgs /= 2;
		printf("# optmem_max: the program reads %zu messages\n", max_msgs);
	}
	if (send(sv[0], dgram, dlen, 0) != (ssize_t)dlen) {
		printf("# send: %s\n", strerror(errno));
		exit(1);
	}
	r = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	close(sv[0]);
	close(sv[1]);
	dlen = 0;
	return r > 0;
}

static bool kept(void)
{
	return kept_by(kvfence, 2);
}

static void changes_to_our_table_are_kept(void)
{
	static const uint16_t types[] = {
		NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWSET, NFT_MSG_DELSET,
		NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM,
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		add_msg(types[i], NFPROTO_INET, "filter", "kvfence4");
		ok(kept(), "message type %u about inet filter is kept", types[i]);
	}
	/* The set name is the monitor's to judge. */
	add_elem(NFPROTO_INET, "filter");
	ok(kept(), "an element of another set of inet filter is kept");
}

static void changes_to_another_table_are_dropped(void)
{
	add_elem(NFPROTO_IPV4, "neighbour");
	ok(!kept(), "an element of ip neighbour is dropped");
	add_msg(NFT_MSG_DELSETELEM, NFPROTO_INET, "f2b-table", "addr-set-sshd");
	ok(!kept(), "an element deleted from inet f2b-table is dropped");
	add_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, "filte", NULL);
	ok(!kept(), "a table named by a prefix of ours is dropped");
	add_msg(NFT_MSG_NEWSET, NFPROTO_INET, "filterx", "kvfence4");
	ok(!kept(), "a table named by our name and more is dropped");
	add_elem(NFPROTO_IPV4, "filter");
	ok(!kept(), "our table's name in family ip (docker's ip filter) is dropped");
	add_elem(NFPROTO_IPV6, "filter");
	ok(!kept(), "our table's name in family ip6 is dropped");
}

static void chains_rules_and_generations_are_dropped_whatever_the_table(void)
{
	struct nlmsghdr *nlh;

	add_msg(NFT_MSG_NEWRULE, NFPROTO_INET, "filter", NULL);
	ok(!kept(), "a rule of our own table is dropped");
	add_msg(NFT_MSG_DELCHAIN, NFPROTO_INET, "filter", NULL);
	ok(!kept(), "a chain of our own table is dropped");
	add_msg(NFT_MSG_NEWOBJ, NFPROTO_IPV4, "neighbour", NULL);
	ok(!kept(), "an object is dropped");
	nlh = add_msg(NFT_MSG_NEWGEN, NFPROTO_UNSPEC, NULL, NULL);
	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(7));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(4242));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, "nft");
	dlen = NLMSG_ALIGN(nlh->nlmsg_len);
	ok(!kept(), "a new generation is dropped");
	add_msg(NFT_MSG_NEWGEN, NFPROTO_UNSPEC, NULL, NULL);
	ok(!kept(), "a new generation without attributes is dropped");
}

static void what_the_filter_cannot_judge_is_kept(void)
{
	struct nlmsghdr *nlh;

	add_elem(NFPROTO_UNSPEC, "neighbour");
	ok(kept(), "family unspec (every family) is kept");
	add_msg(NFT_MSG_GETGEN, NFPROTO_INET, "neighbour", NULL);
	ok(kept(), "a message type the monitor does not read is kept");
	add_msg(NFT_MSG_DELFLOWTABLE + 10, NFPROTO_INET, "neighbour", NULL);
	ok(kept(), "a message type of a later kernel is kept");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | NFT_MSG_NEWSETELEM;
	ok(kept(), "a message of another subsystem is kept");
	add_msg(NFT_MSG_NEWSETELEM, NFPROTO_IPV4, NULL, "s");
	ok(kept(), "a message whose first attribute is not the table is kept");
	add_msg(NFT_MSG_NEWSETELEM, NFPROTO_IPV4, NULL, NULL);
	ok(kept(), "a message without attributes is kept");
}

static void malformed_datagrams_are_kept(void)
{
	struct nlmsghdr *nlh;
	struct nlattr *attr;

	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	dlen -= 4;
	ok(kept(), "a message cut short by the datagram is kept");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	nlh->nlmsg_len = 16;
	ok(kept(), "a message shorter than its headers is kept");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	nlh->nlmsg_len = 70000;
	ok(kept(), "a message longer than the datagram is kept");
	memset(dgram, 0, 10);
	dlen = 10;
	ok(kept(), "a datagram shorter than a header is kept");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	attr = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	attr->nla_len = 200;
	ok(kept(), "a table attribute longer than its message is kept");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	attr = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	attr->nla_len = 3;
	ok(kept(), "a table attribute shorter than its header is kept");
	nlh = add_elem(NFPROTO_INET, "filter");
	attr = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	attr->nla_len = NLA_HDRLEN + 6;	/* "filter" without its NUL */
	ok(kept(), "a table name without its NUL is kept (the monitor reads it as any table)");
	nlh = add_elem(NFPROTO_IPV4, "neighbour");
	attr = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	attr->nla_type |= NLA_F_NESTED;
	ok(kept(), "a table attribute with flags is kept");
}

static void a_datagram_is_dropped_only_if_every_message_is(void)
{
	size_t i;

	add_elem(NFPROTO_IPV4, "neighbour");
	add_msg(NFT_MSG_NEWRULE, NFPROTO_INET, "filter", NULL);
	add_elem(NFPROTO_IPV4, "neighbour");
	ok(!kept(), "three messages about other things are dropped");
	add_elem(NFPROTO_IPV4, "neighbour");
	add_elem(NFPROTO_IPV4, "neighbour");
	add_msg(NFT_MSG_DELSETELEM, NFPROTO_INET, "filter", "kvfence6");
	ok(kept(), "ours after two others is kept");
	add_msg(NFT_MSG_DELSETELEM, NFPROTO_INET, "filter", "kvfence6");
	add_elem(NFPROTO_IPV4, "neighbour");
	ok(kept(), "ours before another is kept");
	add_elem(NFPROTO_IPV4, "neighbour");
	add_elem(NFPROTO_UNSPEC, "neighbour");
	ok(kept(), "one the filter cannot judge among others is kept");
	for (i = 0; i < max_msgs; i++)
		add_elem(NFPROTO_IPV4, "neighbour");
	ok(!kept(), "%zu other messages in a datagram are dropped", max_msgs);
	for (i = 0; i < max_msgs + 1; i++)
		add_elem(NFPROTO_IPV4, "neighbour");
	ok(kept(), "more messages than the filter reads are kept");
}

/* Names of every length modulo 4, the last byte different or not, test
 * each way the program compares the tail of a name. */
static void table_names_of_every_length_compare_exactly(void)
{
	char name[300], other[300];
	struct setref ref = { NFPROTO_IPV6, name, "s" };
	size_t len, bad = 0;

	for (len = 1; len < 256; len++) {
		memset(name, 'a', len);
		name[len] = '\0';
		name[0] = (char)('a' + len % 26);
		add_elem(NFPROTO_IPV6, name);
		if (!kept_by(&ref, 1))
			bad++;
		memcpy(other, name, len + 1);
		other[len - 1] = 'Z';
		add_elem(NFPROTO_IPV6, other);
		if (kept_by(&ref, 1))
			bad++;
		other[len - 1] = name[len - 1];
		other[len] = 'a';
		other[len + 1] = '\0';
		add_elem(NFPROTO_IPV6, other);
		if (kept_by(&ref, 1))
			bad++;
	}
	is_int(bad, 0, "names of 1 to 255 bytes match themselves only");
}

static void every_table_of_the_sets_is_kept(void)
{
	static const struct setref refs[] = {
		{ NFPROTO_INET, "filter", "kvfence4" },
		{ NFPROTO_IPV6, "kv6", "kvfence6" },
		{ NFPROTO_IPV4, "ranges", "kvfence4r" },
		{ NFPROTO_INET, "filter", "kvfence6" },
	};

	add_elem(NFPROTO_INET, "filter");
	ok(kept_by(refs, 4), "the first table is kept");
	add_elem(NFPROTO_IPV6, "kv6");
	ok(kept_by(refs, 4), "the second table is kept");
	add_elem(NFPROTO_IPV4, "ranges");
	ok(kept_by(refs, 4), "the third table is kept");
	add_elem(NFPROTO_IPV4, "kv6");
	ok(!kept_by(refs, 4), "a table of that name in another family is dropped");
}

static void a_name_nftables_cannot_hold_builds_no_filter(void)
{
	static struct sock_filter prog[BPF_MAXINSNS];
	char name[300];
	struct setref ref = { NFPROTO_INET, name, "s" };

	memset(name, 'x', 256);
	name[256] = '\0';
	is_int(monfilter_build(&ref, 1, 1, prog, BPF_MAXINSNS), -E2BIG, "a table name of 256 bytes");
	is_int(monfilter_build(kvfence, 2, 1, prog, 20), -E2BIG, "no room for one message");
}

int main(void)
{
	changes_to_our_table_are_kept();
	changes_to_another_table_are_dropped();
	chains_rules_and_generations_are_dropped_whatever_the_table();
	what_the_filter_cannot_judge_is_kept();
	malformed_datagrams_are_kept();
	a_datagram_is_dropped_only_if_every_message_is();
	table_names_of_every_length_compare_exactly();
	every_table_of_the_sets_is_kept();
	a_name_nftables_cannot_hold_builds_no_filter();
	return done_testing();
}
