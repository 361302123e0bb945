/* libFuzzer target: the DNS-answer path, end to end. The input becomes the
 * reply of a DNS server to the A and then the AAAA query of
 * ares_getaddrinfo() (c-ares 1.18.1), delivered through
 * ares_set_socket_functions(), so c-ares's own parser builds the
 * ares_addrinfo exactly as it does for kvfence; the result goes through
 * resolver_merge_answer() and addrfilter_apply() with a cap.
 *
 * Input: byte 0 chooses allow-private (bits 0-1: no, auto for a vault,
 * yes, auto for a host that is no vault) and the cap (bits 2-7, 1 + value); the rest is a reply without its ID and question: flags
 * (2 bytes), QD/AN/NS/AR counts (8 bytes), then the sections after the
 * question. The harness puts in the query's ID and question, so the reply
 * passes c-ares's checks and compression pointers keep fixed offsets.
 * Over TCP (after a reply with TC set) the same bytes answer again. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <ares.h>

#include "addrfilter.h"
#include "resolver.h"

#define FUZZ_HOST	"contoso-prod.vault.azure.net"
#define MAX_SOCKS	8
#define MAX_ROUNDS	16
#define MAX_REPLIES	8	/* c-ares retries; answer each, then go quiet */
#define BUF_MAX		70000

struct fake_sock {
	int fd;			/* a real descriptor, so numbers stay unique */
	int type;		/* SOCK_DGRAM or SOCK_STREAM */
	unsigned char out[BUF_MAX];	/* what c-ares will read */
	size_t out_len, out_pos;
	unsigned char in[BUF_MAX];	/* TCP: what c-ares wrote */
	size_t in_len;
};

static struct fake_sock socks[MAX_SOCKS];
static const uint8_t *fuzz_data;
static size_t fuzz_size;
static unsigned replies;
static ares_channel channel;

static struct fake_sock *find_sock(ares_socket_t fd)
{
	int i;

	for (i = 0; i < MAX_SOCKS; i++)
		if (socks[i].fd == fd && fd >= 0)
			return &socks[i];
	return NULL;
}

static ares_socket_t f_socket(int domain, int type, int protocol, void *arg)
{
	int i;

	for (i = 0; i < MAX_SOCKS; i++) {
		if (socks[i].fd < 0) {
			socks[i].fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			socks[i].type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
			socks[i].out_len = socks[i].out_pos = socks[i].in_len = 0;
			return socks[i].fd;
		}
	}
	errno = EMFILE;
	return ARES_SOCKET_BAD;
}

static int f_close(ares_socket_t fd, void *arg)
{
	struct fake_sock *s = find_sock(fd);

	if (!s)
		return -1;
	close(s->fd);
	s->fd = -1;
	return 0;
}

static int f_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *arg)
{
	return find_sock(fd) ? 0 : -1;
}

/* The reply to query q (a DNS message without TCP framing): its ID and
 * question, then the fuzzer's bytes. */
static void make_reply(struct fake_sock *s, const unsigned char *q, size_t qlen)
{
	size_t pos = 12, n;
	unsigned char *o;
	size_t hdr = s->type == SOCK_STREAM ? 2 : 0;
	size_t room = sizeof(s->out) - (hdr ? s->out_len : 0), need;

	if (qlen < 12 || replies >= MAX_REPLIES)
		return;
	/* The question: one name, then type and class. */
	while (pos < qlen && q[pos] != 0)
		pos += (size_t)q[pos] + 1;
	pos += 1 + 4;
	if (pos > qlen)
		return;
	n = fuzz_size < 10 ? fuzz_size : 10;
	need = hdr + 2 + 10 + (pos - 12) + (fuzz_size - n);
	if (need > room || need - hdr > 65535)
		return;
	replies++;
	if (!hdr)
		s->out_len = s->out_pos = 0;	/* one datagram waits at most */
	o = s->out + s->out_len;
	if (hdr) {
		o[0] = (unsigned char)((need - 2) >> 8);
		o[1] = (unsigned char)(need - 2);
	}
	o += hdr;
	memcpy(o, q, 2);			/* ID */
	memset(o + 2, 0, 10);
	memcpy(o + 2, fuzz_data, n);		/* flags, counts */
	memcpy(o + 12, q + 12, pos - 12);	/* the question */
	memcpy(o + pos, fuzz_data + n, fuzz_size - n);
	s->out_len += need;
}

static ares_ssize_t f_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt, void *arg)
{
	struct fake_sock *s = find_sock(fd);
	size_t total = 0, len;
	int i;

	if (!s)
		return -1;
	for (i = 0; i < iovcnt; i++) {
		len = iov[i].iov_len;
		if (s->type == SOCK_STREAM && s->in_len + len <= sizeof(s->in))
			memcpy(s->in + s->in_len, iov[i].iov_base, len);
		else if (s->type != SOCK_STREAM && total + len <= sizeof(s->in))
			memcpy(s->in + total, iov[i].iov_base, len);
		total += len;
	}
	if (s->type != SOCK_STREAM) {
		make_reply(s, s->in, total < sizeof(s->in) ? total : sizeof(s->in));
		return (ares_ssize_t)total;
	}
	s->in_len += total;
	/* Whole framed queries: answer each. */
	while (s->in_len >= 2) {
		size_t ql = ((size_t)s->in[0] << 8) | s->in[1];

		if (s->in_len < ql + 2)
			break;
		make_reply(s, s->in + 2, ql);
		memmove(s->in, s->in + 2 + ql, s->in_len - 2 - ql);
		s->in_len -= 2 + ql;
	}
	return (ares_ssize_t)total;
}

static ares_ssize_t f_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
			       struct sockaddr *from, ares_socklen_t *from_len, void *arg)
{
	struct fake_sock *s = find_sock(fd);
	size_t n;

	if (!s) {
		errno = EBADF;
		return -1;
	}
	if (s->out_pos >= s->out_len) {
		errno = EAGAIN;
		return -1;
	}
	if (s->type == SOCK_STREAM) {
		n = s->out_len - s->out_pos;
		if (n > len)
			n = len;
	} else {
		/* The one waiting datagram, truncated to len as recvfrom does. */
		n = s->out_len - s->out_pos;
		if (n > len)
			n = len;
		if (from && from_len && *from_len >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in *sin = (struct sockaddr_in *)from;

			memset(sin, 0, sizeof(*sin));
			sin->sin_family = AF_INET;
			sin->sin_port = htons(53);
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			*from_len = sizeof(*sin);
		}
	}
	memcpy(buf, s->out + s->out_pos, n);
	s->out_pos += n;
	if (s->type != SOCK_STREAM)
		s->out_pos = s->out_len;	/* the rest of a datagram is lost */
	return (ares_ssize_t)n;
}

static const struct ares_socket_functions fake_funcs = {
	f_socket, f_close, f_connect, f_recvfrom, f_sendv,
};

struct answer {
	int done, status;
	struct ares_addrinfo *ai;
};

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct answer *a = arg;

	a->done = 1;
	a->status = status;
	a->ai = ai;
}

/* The options of resolver.c's channel_init(), with one server. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char lookups[] = "b";
	struct ares_options o;
	struct ares_addr_port_node server;
	int i;

	for (i = 0; i < MAX_SOCKS; i++)
		socks[i].fd = -1;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		abort();
	memset(&o, 0, sizeof(o));
	o.timeout = 1500;
	o.tries = 2;
	o.ndots = 1;
	o.lookups = lookups;
	if (ares_init_options(&channel, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			      ARES_OPT_NDOTS | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS |
			      ARES_OPT_NOROTATE) != ARES_SUCCESS)
		abort();
	memset(&server, 0, sizeof(server));
	server.family = AF_INET;
	server.addr.addr4.s_addr = htonl(INADDR_LOOPBACK);
	server.udp_port = server.tcp_port = 53;
	if (ares_set_servers_ports(channel, &server) != ARES_SUCCESS)
		abort();
	ares_set_socket_functions(channel, &fake_funcs, NULL);
	return 0;
}

/* Drive c-ares until it answers; whatever it still waits for (a reply it
 * rejected, a retry) is cancelled rather than waited out. */
static void resolve(int family, struct answer *a)
{
	struct ares_addrinfo_hints h = { .ai_family = family, .ai_flags = ARES_AI_NOSORT };
	int round, i;

	memset(a, 0, sizeof(*a));
	replies = 0;
	ares_getaddrinfo(channel, FUZZ_HOST, NULL, &h, on_answer, a);
	for (round = 0; round < MAX_ROUNDS && !a->done; round++)
		for (i = 0; i < MAX_SOCKS && !a->done; i++)
			if (socks[i].fd >= 0)
				ares_process_fd(channel, socks[i].fd, socks[i].fd);
	if (!a->done)
		ares_cancel(channel);
	if (!a->done)
		abort();	/* c-ares must always call back */
}

static void check(const struct host_result *res, const struct filtered *f, unsigned cap)
{
	size_t i, n4 = 0;

	/* The cap holds per family. */
	for (i = 0; i < f->n_addrs; i++)
		n4 += f->addrs[i].family == AF_INET;
	if (n4 > cap || f->n_addrs - n4 > cap || f->n_addrs + f->n_rejected > res->n_addrs)
		abort();
	for (i = 0; i < f->n_addrs; i++) {
		enum addr_class c = addrfilter_classify(&f->addrs[i]);

		if (c != ADDR_PUBLIC && c != ADDR_PRIVATE)
			abort();
		if (i > 0 && addr_cmp(&f->addrs[i - 1], &f->addrs[i]) >= 0)
			abort();
	}
	for (i = 0; i < res->n_addrs; i++) {
		int fam = res->addrs[i].family;

		if ((fam == AF_INET && res->status4 != RES_OK) ||
		    (fam == AF_INET6 && res->status6 != RES_OK) ||
		    (fam != AF_INET && fam != AF_INET6))
			abort();	/* an address without a successful answer */
	}
	for (i = 0; i < res->n_cnames; i++)
		if (res->cnames[i][0] == '\0')
			abort();
}

/* KVF_FUZZ_VERBOSE=1 ./fuzz_answer SEED: what the seed turns into. */
static void show(const struct host_result *res, const struct filtered *f)
{
	char buf[KVF_ADDRSTRLEN];
	size_t i;

	fprintf(stderr, "A %s, AAAA %s, ttl %u, %zu addresses, %zu cnames:",
		resolve_status_name(res->status4), resolve_status_name(res->status6),
		res->ttl, res->n_addrs, res->n_cnames);
	for (i = 0; i < res->n_cnames; i++)
		fprintf(stderr, " %s", res->cnames[i]);
	fprintf(stderr, "\n accepted %zu (capped %zu):", f->n_addrs, f->n_capped);
	for (i = 0; i < f->n_addrs; i++)
		fprintf(stderr, " %s", addr_format(&f->addrs[i], buf, sizeof(buf)));
	fprintf(stderr, "\n rejected %zu:", f->n_rejected);
	for (i = 0; i < f->n_rejected; i++)
		fprintf(stderr, " %s(%s)", addr_format(&f->rejected[i].addr, buf, sizeof(buf)),
			addrfilter_class_name(f->rejected[i].why));
	fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum allow_private modes[] = { PRIVATE_NO, PRIVATE_AUTO, PRIVATE_YES, PRIVATE_AUTO };
	struct endpoint ep = { .name = FUZZ_HOST };
	struct host_result res;
	struct filtered f;
	struct answer a;
	unsigned cap;
	size_t i;

	if (size < 1 || size > 65000)
		return 0;
	cap = 1u + (data[0] >> 2);
	fuzz_data = data + 1;
	fuzz_size = size - 1;
	memset(&res, 0, sizeof(res));
	res.status4 = res.status6 = RES_ERROR;

	resolve(AF_INET, &a);
	resolver_merge_answer(&res, AF_INET, a.status, a.ai);
	if (a.ai)
		ares_freeaddrinfo(a.ai);
	resolve(AF_INET6, &a);
	resolver_merge_answer(&res, AF_INET6, a.status, a.ai);
	if (a.ai)
		ares_freeaddrinfo(a.ai);

	ep.keyvault = (data[0] & 3) != 3;
	addrfilter_apply(&ep, &res, modes[data[0] & 3], cap, &f);
	/* Only a vault may take a private address under auto. */
	for (i = 0; (data[0] & 3) == 3 && i < f.n_addrs; i++)
		if (addrfilter_classify(&f.addrs[i]) != ADDR_PUBLIC)
			abort();
	if (getenv("KVF_FUZZ_VERBOSE"))
		show(&res, &f);
	check(&res, &f, cap);
	filtered_free(&f);
	result_free(&res);
	return 0;
}
