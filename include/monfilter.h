/* kvfence: the monitor's socket filter. A classic BPF program, attached
 * to the notification socket (SO_ATTACH_FILTER), that drops in the kernel
 * what the monitor would judge irrelevant anyway: changes to other
 * tables, chains and rules, generation messages. A busy neighbour
 * (fail2ban, docker) then wakes kvfence up no more. Pure. */
#ifndef KVF_MONFILTER_H
#define KVF_MONFILTER_H

#include <stddef.h>
#include <linux/filter.h>

#include "nftcodec.h"

/* The filter keeps every datagram holding a message about the table of
 * one of refs (any message type the monitor reads: table, set, set
 * element), of family NFPROTO_UNSPEC, or that it cannot parse or does
 * not know: it fails open, never losing a relevant event. It drops a
 * datagram only when every message in it is about another (family,
 * table), or is a chain, rule, object, flowtable or NFT_MSG_NEWGEN
 * message, which the monitor ignores.
 *
 * Classic BPF has no loops: the program reads the first max_msgs
 * messages of a datagram (fewer if it would not fit in cap
 * instructions, about 100 a message), and keeps a datagram of more.
 *
 * Writes the program to prog[0..cap) and returns its length, or -E2BIG
 * when it does not fit (the caller then attaches none). */
int monfilter_build(const struct setref *refs, size_t n, size_t max_msgs,
		    struct sock_filter *prog, size_t cap);

/* A transaction of up to this many changes is dropped by one run. */
#define MONFILTER_MAX_MSGS	32

#endif
