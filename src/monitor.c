/* kvfence: nftables change notifications. The kernel announces every
 * committed transaction on NFNLGRP_NFTABLES, object by object, each
 * message carrying the committing socket's port id, and ends it with
 * NFT_MSG_NEWGEN; we only need to know whether someone else's
 * transaction touched our tables or sets. A socket filter (monfilter.c)
 * drops the rest in the kernel, so that a busy neighbour does not wake
 * us up. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "log.h"
#include "monfilter.h"
#include "monitor.h"
#include "util.h"

/* A flush ruleset of a large ruleset is thousands of events in a burst;
 * 8 MiB holds them while the loop is busy elsewhere (nft monitor and
 * conntrack use the same order of magnitude). */
#define MON_RCVBUF	(8 * 1024 * 1024)

/* The kernel coalesces notifications into skbs of about a page, but a
 * single message (a large rule or set) can approach 64 KiB: larger
 * datagrams are detected with MSG_TRUNC and treated as lost events. */
#define MON_BUFSZ	(64 * 1024 + 4096)

/* Table and set names of one notification; any may be NULL. */
struct mon_names {
	const char *table;
	const char *set;
};

struct monitor {
	struct mnl_socket *nl;
	uint32_t own_portid;	/* the command socket's; 0: unknown */
	char *buf;
};

static void raise_rcvbuf(int fd)
{
	int size = MON_RCVBUF;

	/* SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN,
	 * which the agent has; SO_RCVBUF is capped at rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_debug("monitor: SO_RCVBUF: %s", strerror(errno));
}

int monitor_open(struct monitor **mp)
{
	struct monitor *m = xcalloc(1, sizeof(*m));
	unsigned group = NFNLGRP_NFTABLES;
	int r;

	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl)
		goto fail;
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	if (mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		goto fail;
	raise_rcvbuf(mnl_socket_get_fd(m->nl));
	m->buf = xmalloc(MON_BUFSZ);
	*mp = m;
	return 0;
fail:
	r = errno ? -errno : -EIO;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m);
	return r;
}

void monitor_close(struct monitor *m)
{
	if (!m)
		return;
	mnl_socket_close(m->nl);
	free(m->buf);
	free(m);
}

int monitor_fd(const struct monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* Table, set and set element messages all carry the table name as
 * attribute 1 (NFTA_TABLE_NAME, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE)
 * and the set name as attribute 2 (NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET). */
static int names_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= 2 && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void parse_names(const struct nlmsghdr *nlh, bool has_set, struct mon_names *nm)
{
	const struct nlattr *tb[3] = { NULL };

	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), names_cb, tb);
	nm->table = tb[1] ? mnl_attr_get_str(tb[1]) : NULL;
	/* In a table message, attribute 2 is NFTA_TABLE_FLAGS. */
	nm->set = has_set && tb[2] ? mnl_attr_get_str(tb[2]) : NULL;
}

/* Does an event on (family, table, set) concern ref? A missing name or
 * an NFPROTO_UNSPEC family is read as "all": the kernel expands flushes
 * into per-object events today, but matching wide costs one re-read. */
static bool ref_match(const struct setref *ref, int family, const struct mon_names *nm)
{
	if (family != NFPROTO_UNSPEC && family != ref->family)
		return false;
	if (nm->table && strcmp(nm->table, ref->table) != 0)
		return false;
	return !nm->set || strcmp(nm->set, ref->name) == 0;
}

static bool msg_relevant(const struct nlmsghdr *nlh, int type,
			 const struct setref *refs, size_t n)
{
	const struct nfgenmsg *nfg;
	struct mon_names nm;
	size_t i;

	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		break;
	default:
		/* Chains, rules, objects, flowtables: not what the sets hold.
		 * The socket filter (monfilter.c) drops them in the kernel:
		 * a type read here must be read there too. */
		return false;
	}
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nfg)))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	parse_names(nlh, type != NFT_MSG_NEWTABLE && type != NFT_MSG_DELTABLE, &nm);
	for (i = 0; i < n; i++)
		if (ref_match(&refs[i], nfg->nfgen_family, &nm))
			return true;
	return false;
}

/* Our own batches are sent on the command socket, whose port id every
 * notification of them carries in its header (in a pid namespace too). */
static bool ours(const struct monitor *m, const struct nlmsghdr *nlh)
{
	return m->own_portid && nlh->nlmsg_pid == m->own_portid;
}

static unsigned read_datagram(struct monitor *m, size_t len,
			      const struct setref *refs, size_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)m->buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		int type = NFNL_MSG_TYPE(nlh->nlmsg_type);

		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || ours(m, nlh))
			continue;
		if (msg_relevant(nlh, type, refs, n)) {
			log_debug("monitor: message %d by netlink port %u", type, nlh->nlmsg_pid);
			return MON_CHANGED;
		}
	}
	return MON_NONE;
}

unsigned monitor_read(struct monitor *m, const struct setref *refs, size_t n)
{
	int fd = mnl_socket_get_fd(m->nl);
	unsigned ev = MON_NONE;

	for (;;) {
		/* MSG_TRUNC: the real length, to catch a datagram too big. */
		ssize_t len = recv(fd, m->buf, MON_BUFSZ, MSG_DONTWAIT | MSG_TRUNC);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == ENOBUFS) {
			/* The overrun is reported once; what follows is
			 * intact and still to be drained. */
			ev |= MON_RESYNC;
			continue;
		}
		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (len <= 0) {
			/* Unexpected: assume the worst rather than spin. */
			log_debug("monitor: recv: %s", len < 0 ? strerror(errno) : "EOF");
			ev |= MON_RESYNC;
			break;
		}
		if ((size_t)len > MON_BUFSZ)
			ev |= MON_RESYNC;
		else
			ev |= read_datagram(m, (size_t)len, refs, n);
	}
	return ev;
}

void monitor_ignore_portid(struct monitor *m, uint32_t portid)
{
	m->own_portid = portid;
}

/* The kernel takes no option shorter than an int, even one it does not
 * read: SO_DETACH_FILTER with a NULL value fails with EINVAL. */
static void detach_filter(int fd)
{
	int unused = 0;

	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 &&
	    errno != ENOENT)
		log_warn("monitor: SO_DETACH_FILTER");
}

int monitor_watch(struct monitor *m, const struct setref *refs, size_t n)
{
	struct sock_filter *prog = xcalloc(BPF_MAXINSNS, sizeof(*prog));
	int fd = mnl_socket_get_fd(m->nl), len, r;
	size_t msgs = MONFILTER_MAX_MSGS;
	struct sock_fprog fp;

	/* The kernel charges the program to net.core.optmem_max, 20 KiB
	 * on Debian 12 (Linux 6.1), where 8 messages fit for one table:
	 * unrolled over fewer messages, it fits. A filter replaced in
	 * place is charged beside the old one until the swap, which would
	 * halve the count at every reload: the old one goes first (until
	 * the new one is on, every change wakes kvfence, as on failure). */
	detach_filter(fd);
	do {
		len = monfilter_build(refs, n, msgs, prog, BPF_MAXINSNS);
		if (len < 0) {
			r = len;
			break;
		}
		fp.len = (unsigned short)len;
		fp.filter = prog;
		r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0 ? -errno : 0;
		msgs /= 2;
	} while (r == -ENOMEM && msgs > 0);
	if (r == 0)
		log_debug("monitor: socket filter on, reading up to %zu messages a datagram",
			  msgs * 2);
	/* Fail open: a filter for other tables would hide changes to ours. */
	if (r < 0)
		detach_filter(fd);
	free(prog);
	return r;
}
