/* kvfence benchmark: the write floor. The least a libnftnl/libmnl program
 * can do to put the same elements (key address . port, comment as element
 * user data, as kvfence writes them) into existing concatenated sets: one
 * batch, messages packed up to the u16 nest limit, one sendmsg, an ack
 * asked only of the last message (acks are delivered after the commit).
 *
 * usage: write-floor ELEMS_FILE FAMILY TABLE SET4 SET6
 *   ELEMS_FILE lines: "4 192.0.2.1 443 host.name" or "6 2001:db8::1 443 host.name"
 *   FAMILY: inet | ip | ip6
 * prints: elems4=A elems6=B messages=M bytes=B ms=T */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#define NEST_BUDGET	60000	/* NFTA_SET_ELEM_LIST_ELEMENTS is a u16 nest */

struct el {
	int v6;
	unsigned char key[20];	/* address, then the port padded to 4 bytes */
	char *comment;
};

static struct el *els;
static size_t n_els;

static void read_elems(const char *path)
{
	FILE *f = fopen(path, "r");
	char fam[4], addr[64], comment[256];
	unsigned port;
	size_t cap = 0;
	uint16_t p;

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fscanf(f, "%3s %63s %u %255s", fam, addr, &port, comment) == 4) {
		struct el *e;

		if (n_els == cap) {
			cap = cap ? cap * 2 : 4096;
			els = realloc(els, cap * sizeof(*els));
		}
		e = &els[n_els++];
		memset(e, 0, sizeof(*e));
		e->v6 = fam[0] == '6';
		if (inet_pton(e->v6 ? AF_INET6 : AF_INET, addr, e->key) != 1) {
			fprintf(stderr, "write-floor: bad address %s\n", addr);
			exit(1);
		}
		p = htons((uint16_t)port);
		memcpy(e->key + (e->v6 ? 16 : 4), &p, 2);
		e->comment = strdup(comment);
	}
	fclose(f);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *buf;
static size_t len, cap;
static uint32_t seq;
static unsigned messages;

static char *tail(void)
{
	if (len + 70000 > cap) {
		cap = (len + 70000) * 2;
		buf = realloc(buf, cap);
	}
	return buf + len;
}

/* One NEWSETELEM message with els[from..) of one family; returns the index
 * past the last element it took. */
static size_t put_msg(int family, const char *table, const char *set, int v6, size_t from,
		      int last_family)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	size_t i, budget = 0;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (i = from; i < n_els; i++) {
		struct nftnl_set_elem *e;
		struct nftnl_udata_buf *ud;

		if (els[i].v6 != v6)
			continue;
		budget += 48 + strlen(els[i].comment);
		if (budget > NEST_BUDGET)
			break;
		e = nftnl_set_elem_alloc();
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, els[i].key, v6 ? 20 : 8);
		ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, els[i].comment);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
		nftnl_set_elem_add(s, e);
	}
	/* The ack of the very last message tells the batch committed. */
	nlh = nftnl_nlmsg_build_hdr(tail(), NFT_MSG_NEWSETELEM, (uint16_t)family,
				    NLM_F_CREATE | (last_family && i >= n_els ? NLM_F_ACK : 0),
				    ++seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	messages++;
	return i;
}

static int family_of(const char *s)
{
	if (strcmp(s, "ip") == 0)
		return NFPROTO_IPV4;
	if (strcmp(s, "ip6") == 0)
		return NFPROTO_IPV6;
	return NFPROTO_INET;
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl;
	size_t i, n4 = 0, n6 = 0;
	uint32_t ack_seq;
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	int family, big = 64 << 20, r, v6;
	double t0;
	ssize_t n;

	if (argc != 6) {
		fprintf(stderr, "usage: write-floor ELEMS_FILE FAMILY TABLE SET4 SET6\n");
		return 2;
	}
	read_elems(argv[1]);
	family = family_of(argv[2]);
	for (i = 0; i < n_els; i++)
		els[i].v6 ? n6++ : n4++;
	t0 = now_ms();
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("write-floor: netlink");
		return 1;
	}
	seq = (uint32_t)time(NULL);
	nftnl_batch_begin(tail(), ++seq);
	len += NLMSG_ALIGN(((struct nlmsghdr *)buf)->nlmsg_len);
	for (v6 = 0; v6 <= 1; v6++) {
		int last_family = v6 ? 1 : n6 == 0;

		if ((v6 ? n6 : n4) == 0)
			continue;
		for (i = 0; i < n_els && els[i].v6 != v6; i++)
			;
		while (i < n_els)
			i = put_msg(family, argv[3], v6 ? argv[5] : argv[4], v6, i, last_family);
	}
	ack_seq = seq;
	{
		struct nlmsghdr *end = nftnl_batch_end(tail(), ++seq);

		len += NLMSG_ALIGN(end->nlmsg_len);
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (mnl_socket_sendto(nl, buf, len) < 0) {
		perror("write-floor: sendmsg");
		return 1;
	}
	/* Errors of any message come as acks too; the last one's ack ends it. */
	for (;;) {
		n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		if (n < 0) {
			perror("write-floor: recv");
			return 1;
		}
		r = mnl_cb_run(rbuf, n, 0, mnl_socket_get_portid(nl), NULL, NULL);
		if (r < 0) {
			fprintf(stderr, "write-floor: kernel: %s\n", strerror(errno));
			return 1;
		}
		{
			const struct nlmsghdr *h = (const void *)rbuf;
			int left = (int)n, got = 0;

			for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
				if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == ack_seq)
					got = 1;
			if (got)
				break;
		}
	}
	mnl_socket_close(nl);
	printf("elems4=%zu elems6=%zu messages=%u bytes=%zu ms=%.3f\n", n4, n6, messages, len,
	       now_ms() - t0);
	return 0;
}
