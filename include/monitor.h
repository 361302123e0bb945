/* kvfence: nftables change notifications (NFNLGRP_NFTABLES, as `nft
 * monitor` reads them), reduced to one question: did somebody else touch
 * what kvfence owns? */
#ifndef KVF_MONITOR_H
#define KVF_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include "nftcodec.h"

struct monitor;

/* Open and subscribe a netlink socket; receive buffer raised with
 * SO_RCVBUFFORCE (SO_RCVBUF as fallback). 0 or -errno. */
int monitor_open(struct monitor **m);
void monitor_close(struct monitor *m);
int monitor_fd(const struct monitor *m);

enum monitor_event {
	MON_NONE	= 0,
	/* A transaction by another process touched the table of one of the
	 * sets (table or set created, deleted or flushed, elements deleted,
	 * ruleset flushed or reloaded). */
	MON_CHANGED	= 1 << 0,
	/* The socket overran (ENOBUFS): events were lost, resynchronise. */
	MON_RESYNC	= 1 << 1,
};

/* Read every pending notification without blocking and return the OR of
 * enum monitor_event. refs are the sets kvfence maintains (their family
 * and table decide relevance). */
unsigned monitor_read(struct monitor *m, const struct setref *refs, size_t n);

/* Have the kernel drop the notifications monitor_read would judge
 * irrelevant to refs (a socket filter, monfilter.h), so that changes to
 * other tables wake nobody up. Call it before the sets are read, and
 * again whenever refs change: notifications about tables of refs not
 * passed here are dropped. 0, or -errno when no filter could be
 * attached: then every notification is delivered, as without one. */
int monitor_watch(struct monitor *m, const struct setref *refs, size_t n);

/* Transactions committed through the netlink socket with this port id
 * are ours: each of their notifications carries it in its header. */
void monitor_ignore_portid(struct monitor *m, uint32_t portid);

#endif
