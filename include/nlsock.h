/* kvfence: the netfilter netlink command socket: sequence numbers, one
 * request and its answer, the ruleset generation id, sending a batch. */
#ifndef KVF_NLSOCK_H
#define KVF_NLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

struct nlsock;

/* The receive buffer's size (nlsock_buf), enough for any one read. */
#define NLSOCK_BUFSIZ	65536

/* Open the socket (extended acks asked for). 0, or -errno (-EPERM without
 * CAP_NET_ADMIN is reported at the first request). */
int nlsock_open(struct nlsock **sock);
void nlsock_close(struct nlsock *sock);
int nlsock_fd(const struct nlsock *sock);
/* The socket's netlink port id. */
uint32_t nlsock_portid(const struct nlsock *sock);
/* NLSOCK_BUFSIZ bytes for replies, reused by every read. */
char *nlsock_buf(struct nlsock *sock);

/* The next sequence number; nlsock_take_seqs: n consecutive ones, the
 * first returned. */
uint32_t nlsock_next_seq(struct nlsock *sock);
uint32_t nlsock_take_seqs(struct nlsock *sock, uint32_t n);

/* Discard whatever an abandoned request left to read. */
void nlsock_drain(struct nlsock *sock);

/* Send one request and run cb over the answer until its ack or the end
 * of the dump. 0 or -errno; nlsock_kernel_err() then says whether the
 * kernel refused the request (rather than the socket failing). */
int nlsock_talk(struct nlsock *sock, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
bool nlsock_kernel_err(const struct nlsock *sock);

/* The ruleset generation id. 0 or -errno. */
int nlsock_get_genid(struct nlsock *sock, uint32_t *genid);

/* Send iovcnt buffers as one datagram (a batch), n_msgs netlink messages
 * not counting begin and end, with room in the receive buffer for n_msgs
 * acks. 0 or -errno. */
int nlsock_send_batch(struct nlsock *sock, const struct iovec *iov, size_t iovcnt,
		      size_t n_msgs);

/* Netlink messages written so far (batch begin and end excluded). */
uint64_t nlsock_msgs_sent(const struct nlsock *sock);

/* Reads whose two dumps of one generation disagreed (see nftread.h):
 * counted per socket, as the reads are. */
void nlsock_count_dump_disagreed(struct nlsock *sock);
uint64_t nlsock_dumps_disagreed(const struct nlsock *sock);

#endif
