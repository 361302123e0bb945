/* kvfence: committing a batch: one datagram between batch begin and end,
 * then the kernel's acks read back and mapped to the message (and the
 * element) each is about; EPERM and ENFILE explained by what they mean
 * here (a table owned by another process, a full set). */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>

#include "nftcodec.h"
#include "nftcommit.h"
#include "nftread.h"

#define ACK_WAIT_MS		1000

struct ack {
	int error;		/* 0 or -errno */
	const char *msg;	/* extended ack message, or NULL */
	uint32_t offs;		/* of the offending attribute, or 0 */
};

static int ack_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) <= NLMSGERR_ATTR_OFFS)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void ack_parse(const struct nlmsghdr *nlh, struct ack *ack)
{
	const struct nlattr *tb[NLMSGERR_ATTR_OFFS + 1] = { NULL };
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	memset(ack, 0, sizeof(*ack));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		ack->error = -EPROTO;
		return;
	}
	ack->error = e->error > 0 ? -e->error : e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NETLINK_CAP_ACK the request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (off >= mnl_nlmsg_get_payload_len(nlh) ||
	    mnl_attr_parse(nlh, off, ack_attr_cb, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
		ack->msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
	if (tb[NLMSGERR_ATTR_OFFS] &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_OFFS], MNL_TYPE_U32) == 0)
		ack->offs = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
}

static const struct nlattr *nest_find(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

/* The key of an element nest we built, and whether it ends an interval. */
static bool nest_elem(const struct nftbatch_msg *m, const struct nlattr *nest,
		      struct elem *el, bool *end)
{
	const struct nlattr *k = nest_find(nest, NFTA_SET_ELEM_KEY);
	const struct nlattr *f = nest_find(nest, NFTA_SET_ELEM_FLAGS);

	k = k ? nest_find(k, NFTA_DATA_VALUE) : NULL;
	*end = f && (ntohl(mnl_attr_get_u32(f)) & NFT_SET_ELEM_INTERVAL_END);
	return k && nftcodec_key_decode(m->key, mnl_attr_get_payload(k),
					mnl_attr_get_payload_len(k), el) == 0;
}

/* A range message holds start, end, start, start, end...: the range of
 * an element is a start and the end right after it, or an end and the
 * start right before it. */
static bool elem_range(const struct nftbatch_msg *m, const struct nlattr *prev,
		       const struct nlattr *next, const struct elem *el, bool end,
		       struct range *rg)
{
	struct elem other;
	bool other_end = false;

	rg->lo = rg->hi = el->addr;
	if (end) {
		if (!prev || !nest_elem(m, prev, &other, &other_end) || other_end)
			return false;
		rg->lo = other.addr;
		return range_addr_step(&rg->hi, false);
	}
	if (next && nest_elem(m, next, &other, &other_end) && other_end) {
		rg->hi = other.addr;
		return range_addr_step(&rg->hi, false);
	}
	memset(rg->hi.bytes, 0xff, addr_len(&rg->hi));
	return true;
}

/* The kernel points the extended ack at the element it refused; find it
 * in the message we sent, to name it (in range messages, its range) in
 * where. */
static bool offending_elem(const struct nftbatch *b, const struct nftbatch_msg *m,
			   uint32_t offs, char *where, size_t len)
{
	size_t blen;
	const char *data = nftbatch_data(b, &blen);
	const struct nlmsghdr *nlh = (const void *)(data + m->off);
	const struct nlattr *a, *list = NULL, *prev = NULL, *next;
	char buf[2 * KVF_ADDRSTRLEN + 16];
	struct range rg;
	struct elem el;
	bool end;
	int rest;

	if (m->kind == NFTBATCH_OTHER || offs == 0 || offs >= nlh->nlmsg_len)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return false;
	mnl_attr_for_each_nested(a, list) {
		if ((size_t)((const char *)a - (const char *)nlh) != offs) {
			prev = a;
			continue;
		}
		if (!nest_elem(m, a, &el, &end))
			return false;
		if (m->kind == NFTBATCH_ELEMS) {
			snprintf(where, len, ", element %s", elem_format(&el, buf, sizeof(buf)));
			return true;
		}
		next = mnl_attr_next(a);
		rest = (int)((const char *)mnl_attr_get_payload(list) +
			     mnl_attr_get_payload_len(list) - (const char *)next);
		if (!elem_range(m, prev, mnl_attr_ok(next, rest) ? next : NULL,
				&el, end, &rg))
			return false;
		snprintf(where, len, ", range %s", range_format(&rg, buf, sizeof(buf)));
		return true;
	}
	return false;
}

static void describe_error(const struct nftbatch *b, const struct nftbatch_msg *m,
			   const struct ack *ack, char *err, size_t errlen)
{
	char where[2 * KVF_ADDRSTRLEN + 32] = "";
	/* ENFILE on an element is the set's declared size reached, not a
	 * process out of file descriptors. */
	bool full = ack->error == -ENFILE && m->kind != NFTBATCH_OTHER;

	offending_elem(b, m, ack->offs, where, sizeof(where));
	snprintf(err, errlen, "%s: %s (kernel%s%s%s)", m->desc,
		 full ? "the set is full" : strerror(-ack->error),
		 ack->msg ? ": " : "", ack->msg ? ack->msg : "", where);
}

/* Acks come in batch order; fall back to a search all the same. */
static const struct nftbatch_msg *find_msg(const struct nftbatch *b, uint32_t seq,
					   struct nftcommit_acks *st)
{
	size_t i, n = nftbatch_count(b);

	if (st->next < n && nftbatch_msg(b, st->next)->seq == seq)
		return nftbatch_msg(b, st->next++);
	for (i = 0; i < n; i++)
		if (nftbatch_msg(b, i)->seq == seq)
			return nftbatch_msg(b, i);
	return NULL;
}

void nftcommit_take_ack(const struct nftbatch *b, const struct nlmsghdr *nlh,
			struct nftcommit_acks *st, char *err, size_t errlen)
{
	const struct nftbatch_msg *m;
	struct ack ack;

	if (nlh->nlmsg_type != NLMSG_ERROR)
		return;
	ack_parse(nlh, &ack);
	if (nlh->nlmsg_seq == st->begin_seq && ack.error) {
		st->whole = true;
		if (!st->error) {
			st->error = ack.error;
			snprintf(err, errlen, "batch of %zu messages: %s (kernel%s%s)",
				 nftbatch_count(b), strerror(-ack.error), ack.msg ? ": " : "",
				 ack.msg ? ack.msg : "");
		}
		return;
	}
	m = find_msg(b, nlh->nlmsg_seq, st);
	if (!m)
		return;
	st->got++;
	if (ack.error && !st->error) {
		st->error = ack.error;
		st->failed = m;
		describe_error(b, m, &ack, err, errlen);
	}
}

/* The kernel handles a batch inside sendmsg() and queues every ack
 * before it returns, so they are all readable at once. Waiting is only
 * a safety net; a lost ack leaves the outcome unknown, never "done". */
static int recv_acks(struct nlsock *sock, const struct nftbatch *b,
		     struct nftcommit_acks *st, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = nlsock_fd(sock), .events = POLLIN };
	const struct nlmsghdr *nlh;
	ssize_t n;
	int len;

	n = recv(pfd.fd, nlsock_buf(sock), NLSOCK_BUFSIZ, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN && poll(&pfd, 1, ACK_WAIT_MS) == 0)
		errno = ETIMEDOUT;
	if (n < 0) {
		int e = errno;

		if (e == EINTR || e == EAGAIN)
			return 0;
		snprintf(err, errlen, "batch of %zu messages: %s after %zu of %zu "
			 "acknowledgements; outcome unknown", nftbatch_count(b), strerror(e),
			 st->got, nftbatch_count(b));
		return -e;
	}
	len = (int)n;
	for (nlh = (const void *)nlsock_buf(sock); mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len))
		nftcommit_take_ack(b, nlh, st, err, errlen);
	return 0;
}

static int read_acks(struct nlsock *sock, const struct nftbatch *b, uint32_t begin_seq,
		     const struct nftbatch_msg **failed, char *err, size_t errlen)
{
	struct nftcommit_acks st = { .begin_seq = begin_seq };
	int r;

	while (st.got < nftbatch_count(b) && !st.whole) {
		r = recv_acks(sock, b, &st, err, errlen);
		if (r < 0) {
			*failed = st.failed;
			return st.error ? st.error : r;
		}
	}
	*failed = st.failed;
	return st.error;
}

/* The name of the process behind a netlink port: nft does the same for
 * "# progname", since a process's first netlink socket gets its pid. */
static void port_process(uint32_t port, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", port);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* EPERM with CAP_NET_ADMIN: a table with "flags owner" (firewalld and
 * other daemons hold theirs that way) may be changed only through its
 * owner's netlink socket. Name the owner instead of a missing capability;
 * -EBUSY then, so that nobody is told to grant a capability. */
static int explain_owner(struct nlsock *sock, const struct nftbatch_msg *m, char *err,
			 size_t errlen)
{
	char comm[64], reason[256];
	uint32_t owner;

	if (!m->ref.table)
		return -EPERM;
	owner = nftread_table_owner(sock, m->ref.family, m->ref.table);
	if (!owner || owner == nlsock_portid(sock))
		return -EPERM;
	port_process(owner, comm, sizeof(comm));
	snprintf(reason, sizeof(reason), "table %s %s is owned by another process (flags "
		 "owner, netlink port %u%s%s%s): only that process may change it",
		 nftcodec_family_name(m->ref.family), m->ref.table, owner,
		 comm[0] ? ", \"" : "", comm, comm[0] ? "\"" : "");
	snprintf(err, errlen, "%s: %s", m->desc, reason);
	return -EBUSY;
}

/* A full set: say how full it may get, and what to change. */
static void explain_full(struct nlsock *sock, const struct nftbatch_msg *m, char *err,
			 size_t errlen)
{
	uint32_t size = nftread_set_size(sock, &m->ref);
	size_t l = strlen(err);

	if (!size)
		return;
	snprintf(err + l, errlen - l, "; it is declared with size %u: raise the size, or lower "
		 "max-addresses-per-host", size);
}

union batch_hdr {
	struct nlmsghdr nlh;
	char buf[64];
};

/* Number the batch's messages between its begin and end, and send the
 * three as one datagram. */
static int batch_send(struct nlsock *sock, struct nftbatch *b, uint32_t *begin_seq,
		      char *err, size_t errlen)
{
	size_t n = nftbatch_count(b), len;
	union batch_hdr begin, end;
	struct iovec iov[3];
	const void *data;
	uint32_t seq;
	int r;

	nlsock_drain(sock);
	seq = nlsock_take_seqs(sock, (uint32_t)n + 2);
	*begin_seq = nftnl_batch_begin(begin.buf, seq)->nlmsg_seq;
	nftbatch_number(b, seq + 1);
	nftnl_batch_end(end.buf, seq + 1 + (uint32_t)n);
	data = nftbatch_data(b, &len);
	iov[0] = (struct iovec){ begin.buf, begin.nlh.nlmsg_len };
	iov[1] = (struct iovec){ (void *)data, len };
	iov[2] = (struct iovec){ end.buf, end.nlh.nlmsg_len };
	r = nlsock_send_batch(sock, iov, 3, n);
	if (r < 0)
		snprintf(err, errlen, "batch of %zu messages (%zu bytes): %s%s", n,
			 iov[0].iov_len + iov[1].iov_len + iov[2].iov_len, strerror(-r),
			 r == -EMSGSIZE ?
			 " (socket send buffer too small: raise net.core.wmem_max)" : "");
	return r;
}

int nftcommit_batch(struct nlsock *sock, struct nftbatch *b, char *err, size_t errlen)
{
	const struct nftbatch_msg *failed = NULL;
	const char *why;
	uint32_t begin_seq;
	int r = nftbatch_error(b, &why);

	if (r < 0) {
		snprintf(err, errlen, "%s", why);
		return r;
	}
	if (nftbatch_count(b) == 0)
		return 0;
	r = batch_send(sock, b, &begin_seq, err, errlen);
	if (r < 0)
		return r;
	r = read_acks(sock, b, begin_seq, &failed, err, errlen);
	if (r == -ENFILE && failed && failed->kind != NFTBATCH_OTHER)
		explain_full(sock, failed, err, errlen);
	if (r == -EPERM && failed)
		r = explain_owner(sock, failed, err, errlen);
	return r;
}
