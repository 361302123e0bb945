/* kvfence: nftables change notifications. kvfence only needs to know
 * that another process changed a table that holds its sets; the reaction
 * (re-read, refill) is the same whatever the change. Transactions end in
 * NFT_MSG_NEWGEN, which names the committing process: our own batches
 * are recognised by pid and ignored (as nftables' src/monitor.c does). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "monitor.h"
#include "util.h"

#define MONITOR_RCVBUF	(8 << 20)

struct monitor {
	struct mnl_socket *nl;
	uint32_t pid;
	bool relevant;		/* the open transaction touched our tables */
	/* For the callback: */
	const struct setref *refs;
	size_t n_refs;
	unsigned events;
};

int monitor_open(struct monitor **out)
{
	struct monitor *m = xcalloc(1, sizeof(*m));
	int group = NFNLGRP_NFTABLES, size = MONITOR_RCVBUF, err;

	m->pid = (uint32_t)getpid();
	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl)
		goto fail;
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		goto fail;
	/* A burst of foreign changes (a ruleset reload) must not overrun the
	 * socket; if it does anyway, ENOBUFS says so and we re-read all. */
	if (setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
		       sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	*out = m;
	return 0;
fail:
	err = errno;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m);
	return -err;
}

void monitor_close(struct monitor *m)
{
	mnl_socket_close(m->nl);
	free(m);
}

int monitor_fd(const struct monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* The first attribute of table, set and element-list messages is the
 * table name (NFTA_TABLE_NAME, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE
 * are all 1). */
static const char *table_of(const struct nlmsghdr *nlh)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == NFTA_TABLE_NAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

static bool concerns_us(const struct monitor *m, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const char *table = table_of(nlh);
	size_t i;

	/* A table message without a name or family: the whole ruleset. */
	if (!table || nfg->nfgen_family == NFPROTO_UNSPEC)
		return true;
	for (i = 0; i < m->n_refs; i++)
		if (m->refs[i].family == nfg->nfgen_family &&
		    strcmp(m->refs[i].table, table) == 0)
			return true;
	return false;
}

static uint32_t gen_pid(const struct nlmsghdr *nlh)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == NFTA_GEN_PROC_PID &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			return ntohl(mnl_attr_get_u32(attr));
	}
	return 0;
}

static int on_event(const struct nlmsghdr *nlh, void *data)
{
	struct monitor *m = data;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
		return MNL_CB_OK;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		m->relevant |= concerns_us(m, nlh);
		break;
	case NFT_MSG_NEWGEN:
		if (m->relevant && gen_pid(nlh) != m->pid)
			m->events |= MON_CHANGED;
		m->relevant = false;
		break;
	}
	return MNL_CB_OK;
}

unsigned monitor_read(struct monitor *m, const struct setref *refs, size_t n)
{
	static char buf[1 << 16];
	ssize_t len;

	m->refs = refs;
	m->n_refs = n;
	m->events = MON_NONE;
	for (;;) {
		len = recv(monitor_fd(m), buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* ENOBUFS: the kernel dropped events. Whatever the
			 * open transaction was, only a full re-read is safe. */
			m->events |= MON_RESYNC;
			m->relevant = false;
			if (errno == ENOBUFS)
				continue;
			break;
		}
		if (mnl_cb_run(buf, (size_t)len, 0, 0, on_event, m) < 0)
			m->events |= MON_RESYNC;
	}
	return m->events;
}
