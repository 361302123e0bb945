/* kvfence: committing an nftables batch over the command socket, and
 * mapping each of the kernel's acks back to the message (and the element)
 * it is about. */
#ifndef KVF_NFTCOMMIT_H
#define KVF_NFTCOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include "nftbatch.h"
#include "nlsock.h"

/* Send the batch and read the kernel's verdict. 0 when it committed;
 * otherwise -errno of the first failing message, with err naming the
 * object and the kernel's reason, e.g.
 * "set inet filter kvfence4: add 3 elements: No such file or directory
 * (kernel)"; nothing of the batch is then applied. An empty batch sends
 * nothing and returns 0. -EBUSY (not the kernel's -EPERM) when the table
 * is owned by another process's netlink socket ("flags owner"). */
int nftcommit_batch(struct nlsock *sock, struct nftbatch *b, char *err, size_t errlen);

/* The acks of one sent batch, as they are read. */
struct nftcommit_acks {
	uint32_t begin_seq;	/* of the batch begin message */
	size_t got, next;	/* acks of b's messages read; next expected */
	int error;		/* first failure, in batch order */
	const struct nftbatch_msg *failed;	/* the message of that failure */
	bool whole;		/* the batch was refused as a whole */
};

/* Take one message of the kernel's answer to b: an ack (NLMSG_ERROR) of
 * one of b's messages is counted, and the first failure is kept in st
 * and described in err, naming the message and, where the extended ack
 * points at one, its element (or its range). */
void nftcommit_take_ack(const struct nftbatch *b, const struct nlmsghdr *nlh,
			struct nftcommit_acks *st, char *err, size_t errlen);

#endif
