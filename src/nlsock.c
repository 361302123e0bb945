/* kvfence: the netfilter netlink command socket: requests and their
 * answers in order, sequence numbers, and batches sent in one datagram. */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#include "nlsock.h"
#include "util.h"

/* Receive buffer accounting for one ack skb (truesize), generously. */
#define ACK_TRUESIZE		1024

struct nlsock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint64_t msgs_sent;
	uint64_t dumps_disagreed;	/* two dumps of one generation differed */
	bool kernel_err;	/* the last talk() failed on the kernel's word */
	char *buf;		/* NLSOCK_BUFSIZ, for replies and acks */
};

static void sock_opt_flag(struct mnl_socket *nl, int opt)
{
	int one = 1;

	/* Old kernels lack these; the acks are then merely less detailed. */
	mnl_socket_setsockopt(nl, opt, &one, sizeof(one));
}

int nlsock_open(struct nlsock **sockp)
{
	struct nlsock *sock = xcalloc(1, sizeof(*sock));
	int r;

	sock->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!sock->nl)
		goto fail;
	if (mnl_socket_bind(sock->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	sock_opt_flag(sock->nl, NETLINK_EXT_ACK);
	sock_opt_flag(sock->nl, NETLINK_CAP_ACK);
	sock->portid = mnl_socket_get_portid(sock->nl);
	sock->seq = (uint32_t)time(NULL);
	sock->buf = xmalloc(NLSOCK_BUFSIZ);
	*sockp = sock;
	return 0;
fail:
	r = -errno;
	if (sock->nl)
		mnl_socket_close(sock->nl);
	free(sock);
	*sockp = NULL;
	return r;
}

void nlsock_close(struct nlsock *sock)
{
	if (!sock)
		return;
	mnl_socket_close(sock->nl);
	free(sock->buf);
	free(sock);
}

int nlsock_fd(const struct nlsock *sock)
{
	return mnl_socket_get_fd(sock->nl);
}

uint32_t nlsock_portid(const struct nlsock *sock)
{
	return sock->portid;
}

char *nlsock_buf(struct nlsock *sock)
{
	return sock->buf;
}

uint64_t nlsock_msgs_sent(const struct nlsock *sock)
{
	return sock->msgs_sent;
}

void nlsock_count_dump_disagreed(struct nlsock *sock)
{
	sock->dumps_disagreed++;
}

uint64_t nlsock_dumps_disagreed(const struct nlsock *sock)
{
	return sock->dumps_disagreed;
}

bool nlsock_kernel_err(const struct nlsock *sock)
{
	return sock->kernel_err;
}

uint32_t nlsock_next_seq(struct nlsock *sock)
{
	return ++sock->seq;
}

uint32_t nlsock_take_seqs(struct nlsock *sock, uint32_t n)
{
	uint32_t first = sock->seq + 1;

	sock->seq += n;
	return first;
}

/* Leftovers of an earlier request that was abandoned halfway would
 * otherwise be read as the answer to the next one. Reading also lets
 * an unfinished dump run to its end. */
void nlsock_drain(struct nlsock *sock)
{
	while (recv(nlsock_fd(sock), sock->buf, NLSOCK_BUFSIZ, MSG_DONTWAIT) > 0)
		;
}

/* The kernel doubles what it is given. FORCE ignores rmem_max/wmem_max
 * and needs CAP_NET_ADMIN, which kvfence has anyway. */
static void sock_buf_reserve(int fd, int force_opt, int opt, size_t need)
{
	int cur = 0, val;
	socklen_t sl = sizeof(cur);

	if (need > INT_MAX / 2)
		need = INT_MAX / 2;
	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &sl) == 0 && (size_t)cur >= need)
		return;
	val = (int)need;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof(val)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &val, sizeof(val));
}

int nlsock_talk(struct nlsock *sock, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	sock->kernel_err = false;
	nlsock_drain(sock);
	if (mnl_socket_sendto(sock->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	sock->msgs_sent++;
	for (;;) {
		n = mnl_socket_recvfrom(sock->nl, sock->buf, NLSOCK_BUFSIZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = mnl_cb_run(sock->buf, n, seq, sock->portid, cb, data);
		if (r <= 0) {
			/* An error ack, or a dump the kernel flagged. */
			sock->kernel_err = r < 0;
			return r < 0 ? -errno : 0;
		}
	}
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = xcheck_alloc(nftnl_gen_alloc());

	if (nftnl_gen_nlmsg_parse(nlh, g) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

int nlsock_get_genid(struct nlsock *sock, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK,
				    nlsock_next_seq(sock));
	return nlsock_talk(sock, nlh, gen_cb, genid);
}

int nlsock_send_batch(struct nlsock *sock, const struct iovec *iov, size_t iovcnt,
		      size_t n_msgs)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr mh = {
		.msg_name = &snl, .msg_namelen = sizeof(snl),
		.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt,
	};
	size_t i, total = 0;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	/* netlink_sendmsg() refuses a message larger than the send buffer. */
	sock_buf_reserve(nlsock_fd(sock), SO_SNDBUFFORCE, SO_SNDBUF, total + 64);
	sock_buf_reserve(nlsock_fd(sock), SO_RCVBUFFORCE, SO_RCVBUF,
			 n_msgs * ACK_TRUESIZE + NLSOCK_BUFSIZ);
	if (sendmsg(nlsock_fd(sock), &mh, 0) < 0)
		return -errno;
	sock->msgs_sent += n_msgs;
	return 0;
}
