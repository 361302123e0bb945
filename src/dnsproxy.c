/* kvfence: the DNS proxy. Queries from the host (UDP, and TCP framed as
 * RFC 7766 says) are validated (dnsmsg.c), forwarded with c-ares'
 * ares_send on a channel of their own (c-ares checks the id, question
 * and source of every reply), and answered with the client's id. An
 * answer that names a catalogued host, itself or along its CNAME chain,
 * is folded into that host's state like a polled answer; if one of its
 * accepted addresses is not in the sets yet, the answer is held until
 * the agent's next batch is acked by the kernel. Everything else passes
 * through unchanged, at once. Memory is bounded: pending queries in all
 * and per client address, TCP connections and their buffers. */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ares.h>

#include "addrfilter.h"
#include "dnsmsg.h"
#include "dnsproxy.h"
#include "log.h"
#include "loop.h"
#include "util.h"

/* Per try; doubled on the second round: a dead resolver is a SERVFAIL
 * after 0.6 + 1.2 s, before a stub resolver's own timeout (5 s in glibc,
 * 2 s in kdig) gives up on us. */
#define UPSTREAM_TIMEOUT_MS	600
#define UPSTREAM_TRIES		2
#define QUERY_MAX		4096	/* a larger query is no stub's */
#define UDP_BURST		64	/* datagrams read per readiness event */
#define CLIENT_BUCKETS		4096	/* per-client counters, hashed */
#define TCP_MAX_INFLIGHT	32	/* pipelined queries of one connection */
#define TCP_OUT_MAX		(256 * 1024)	/* unread answers; then closed */
#define STATS_LOG_MS		10000	/* one "dropped" line per 10 s at most */
#define NEVER			INT64_MAX

struct listener {
	int fd;
	bool tcp;
};

struct conn {
	int fd;
	struct conn *next;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint32_t bucket;
	uint8_t *in;		/* 2 + 65535: one framed message at most */
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_cap;
	unsigned inflight;
	bool eof;		/* the client closed its side */
	bool want_out;		/* EPOLLOUT registered */
	bool dead;		/* closed; freed by conn_reap() */
	int64_t idle_since;
};

struct pquery {
	struct dnsproxy *px;
	struct pquery *prev, *next;	/* pending: forwarded or held */
	int udp_fd;			/* -1: TCP */
	struct conn *conn;		/* TCP; NULL once it closed */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint32_t bucket;
	struct dnsmsg_query q;
	uint8_t *msg;			/* the client's query */
	size_t len;
	uint8_t *reply;			/* held answer, client's id in place */
	size_t reply_len;
	bool held;
	int64_t held_at;
	int64_t t_in, t_fwd, t_up;	/* ns: received, forwarded, answered */
};

/* The proxy's own time per query, in ns: from the query's arrival to its
 * forwarding, plus from the upstream answer to the reply (the batch, if
 * one was waited for, included); the upstream's time is not counted.
 * The last SAMPLES of each kind. */
#define SAMPLES 4096
struct samples {
	uint32_t v[SAMPLES];
	size_t n, next;
};

struct stats {
	uint64_t queries, answered, passed, catalogued, held, servfail, refused,
		 malformed, dropped, hold_timeouts, truncated, tcp_refused;
};

struct dnsproxy {
	const struct config *cfg;
	struct engine *e;
	struct loop *loop;
	loop_fd_cb fd_cb;	/* the agent's: back to dnsproxy_handle_fd */
	void *fd_arg;
	ares_channel ch;
	bool ch_ok;
	int *ares_fds;
	size_t n_ares_fds, cap_ares_fds;
	struct listener *ls;
	size_t n_ls;
	struct conn *conns;
	size_t n_conns;
	struct pquery *head;		/* pending, oldest first */
	struct pquery *tail;
	size_t n_pending;
	size_t n_held;
	uint16_t per_client[CLIENT_BUCKETS];
	uint32_t seed;
	bool changed;
	bool closing;
	struct stats st;
	struct samples own_pass, own_held;	/* released at once / after a batch */
	uint64_t dropped_logged;
	int64_t drop_log_at;
	uint8_t buf[65536];
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sample_add(struct samples *s, int64_t ns)
{
	s->v[s->next] = ns > UINT32_MAX ? UINT32_MAX : ns < 0 ? 0 : (uint32_t)ns;
	s->next = (s->next + 1) % SAMPLES;
	if (s->n < SAMPLES)
		s->n++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* "p50=..us p99=..us max=..us" of s, into buf. */
static const char *sample_format(const struct samples *s, char *buf, size_t len)
{
	uint32_t *v;

	if (s->n == 0)
		return "none";
	v = xmalloc(s->n * sizeof(*v));
	memcpy(v, s->v, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), cmp_u32);
	snprintf(buf, len, "n=%zu p50=%uus p99=%uus max=%uus", s->n, v[s->n / 2] / 1000,
		 v[s->n * 99 / 100] / 1000, v[s->n - 1] / 1000);
	free(v);
	return buf;
}

static void note_own_time(struct dnsproxy *px, const struct pquery *pq)
{
	if (!pq->t_up)
		return;	/* an error reply: not a forwarded answer */
	sample_add(pq->held ? &px->own_held : &px->own_pass,
		   (pq->t_fwd - pq->t_in) + (mono_ns() - pq->t_up));
}

static void ep_set(struct dnsproxy *px, int fd, uint32_t events, int op)
{
	int r;

	if (op == EPOLL_CTL_DEL) {
		loop_del_fd(px->loop, fd);
		return;
	}
	r = loop_mod_fd(px->loop, fd, events, px->fd_cb, px->fd_arg);
	if (r < 0) {
		errno = -r;
		log_warn("dns proxy: epoll on socket %d", fd);
	}
}

/* ---- per-client accounting ------------------------------------------ */

static uint32_t client_bucket(const struct dnsproxy *px, const struct sockaddr_storage *ss)
{
	uint32_t h = FNV1A32_BASIS ^ px->seed;	/* seeded: no aimed collisions */

	if (ss->ss_family == AF_INET6)
		h = fnv1a32(h, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	else
		h = fnv1a32(h, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return h % CLIENT_BUCKETS;
}

static void note_drop(struct dnsproxy *px, const char *why)
{
	int64_t now = loop_now_ms();

	px->st.dropped++;
	if (now < px->drop_log_at)
		return;
	log_warnx("dns proxy: dropping queries (%s); %llu dropped in all",
		  why, (unsigned long long)px->st.dropped);
	px->drop_log_at = now + STATS_LOG_MS;
}

/* ---- sending ---------------------------------------------------------- */

static void conn_close(struct dnsproxy *px, struct conn *c);

static void conn_want_out(struct dnsproxy *px, struct conn *c, bool want)
{
	if (c->want_out == want)
		return;
	c->want_out = want;
	ep_set(px, c->fd, (c->eof ? 0 : EPOLLIN) | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
}

/* 0, or -1 when the connection was closed (broken, or not reading). */
static int conn_flush(struct dnsproxy *px, struct conn *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(px, c);
			return -1;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	conn_want_out(px, c, c->out_len > 0);
	if (c->eof && c->out_len == 0 && c->inflight == 0) {
		conn_close(px, c);
		return -1;
	}
	return 0;
}

static void conn_send(struct dnsproxy *px, struct conn *c, const uint8_t *msg, size_t len)
{
	/* A client that does not read its answers gets no more of them. */
	if (c->out_len + 2 + len > TCP_OUT_MAX) {
		note_drop(px, "a TCP client does not read its answers");
		conn_close(px, c);
		return;
	}
	array_reserve(&c->out, &c->out_cap, c->out_len + 2 + len, 1);
	c->out[c->out_len] = (uint8_t)(len >> 8);
	c->out[c->out_len + 1] = (uint8_t)len;
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	conn_flush(px, c);
}

/* msg carries the client's id already. Over UDP, an answer larger than
 * the client takes goes out truncated (TC): it asks again over TCP. */
static void reply(struct dnsproxy *px, struct pquery *pq, const uint8_t *msg, size_t len)
{
	uint8_t tc[DNSMSG_HEADER + 260 + 11];

	px->st.answered++;
	if (pq->udp_fd < 0) {
		if (pq->conn)
			conn_send(px, pq->conn, msg, len);
		return;
	}
	if (len > pq->q.udp_size) {
		len = dnsmsg_short_reply(pq->msg, &pq->q, msg, 0, tc, sizeof(tc));
		msg = tc;
		px->st.truncated++;
	}
	if (len)
		sendto(pq->udp_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		       (const struct sockaddr *)&pq->peer, pq->peerlen);
}

static void reply_error(struct dnsproxy *px, struct pquery *pq, int rcode)
{
	uint8_t out[DNSMSG_HEADER + 260 + 11];
	size_t n = dnsmsg_short_reply(pq->msg, &pq->q, NULL, rcode, out, sizeof(out));

	if (rcode == DNS_RCODE_SERVFAIL)
		px->st.servfail++;
	if (n)
		reply(px, pq, out, n);
}

/* ---- pending queries -------------------------------------------------- */

static void pending_unlink(struct dnsproxy *px, struct pquery *pq)
{
	if (pq->prev)
		pq->prev->next = pq->next;
	else
		px->head = pq->next;
	if (pq->next)
		pq->next->prev = pq->prev;
	else
		px->tail = pq->prev;
	px->n_pending--;
	px->per_client[pq->bucket]--;
	if (pq->held)
		px->n_held--;
}

/* The query is answered (or given up): forget it. A TCP connection that
 * waited only for it may now close. */
static void finish(struct dnsproxy *px, struct pquery *pq)
{
	struct conn *c = pq->conn;

	pending_unlink(px, pq);
	free(pq->msg);
	free(pq->reply);
	free(pq);
	if (c) {
		c->inflight--;
		if (c->inflight == 0)
			c->idle_since = loop_now_ms();
		if (c->eof && c->inflight == 0 && c->out_len == 0)
			conn_close(px, c);
	}
}

static struct pquery *pending_new(struct dnsproxy *px, const uint8_t *msg, size_t len,
				  const struct dnsmsg_query *q, uint32_t bucket)
{
	struct pquery *pq = xcalloc(1, sizeof(*pq));

	pq->px = px;
	pq->q = *q;
	pq->msg = xmalloc(len);
	memcpy(pq->msg, msg, len);
	pq->len = len;
	pq->bucket = bucket;
	pq->udp_fd = -1;
	pq->prev = px->tail;
	if (px->tail)
		px->tail->next = pq;
	else
		px->head = pq;
	px->tail = pq;
	px->n_pending++;
	px->per_client[bucket]++;
	return pq;
}

/* ---- catalogued answers ------------------------------------------------ */

static enum resolve_status answer_status(const struct dnsmsg_answer *a)
{
	if (a->rcode == DNS_RCODE_NXDOMAIN)
		return RES_NXDOMAIN;
	if (a->rcode != DNS_RCODE_NOERROR)
		return RES_ERROR;
	return a->n_addrs ? RES_OK : RES_NODATA;
}

/* Fold the answer into every catalogued host on its chain. True when all
 * their accepted addresses are in the sets already. Only definite, whole
 * answers to A/AAAA IN questions are taken: a truncated answer or a
 * chain past DNSMSG_MAX_CHAIN says nothing definite. */
static bool fold(struct dnsproxy *px, const struct dnsmsg_answer *a)
{
	char *cnames[DNSMSG_MAX_CHAIN + 1];
	int family = a->qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
	enum resolve_status st = answer_status(a);
	bool all_in = true, in;
	size_t k, j;
	uint32_t ttl;

	if (a->qclass != DNS_CLASS_IN || (a->qtype != DNS_TYPE_A && a->qtype != DNS_TYPE_AAAA) ||
	    a->tc || a->chain_too_long || !resolve_status_definite(st))
		return true;
	for (k = 0; k < a->n_chain; k++) {
		long i = catalogue_find(&px->e->eps, a->chain[k]);
		struct host_result res = { 0 };

		if (i < 0)
			continue;
		/* The TTL of the host's part of the chain, as polling counts it. */
		ttl = a->n_addrs ? a->addr_ttl : UINT32_MAX;
		for (j = k; j + 1 < a->n_chain; j++) {
			cnames[j - k] = (char *)a->chain[j + 1];
			if (a->cname_ttl[j] < ttl)
				ttl = a->cname_ttl[j];
		}
		if (ttl == UINT32_MAX)
			ttl = 0;
		res.addrs = a->addrs;
		res.n_addrs = a->n_addrs;
		res.cnames = cnames;
		res.n_cnames = a->n_chain - 1 - k;
		res.ttl = ttl;
		*(family == AF_INET ? &res.status4 : &res.status6) = st;
		*(family == AF_INET ? &res.status6 : &res.status4) = RES_ERROR;
		if (engine_apply_proxied(px->e, (size_t)i, family, st, &res, time(NULL), &in))
			px->changed = true;
		all_in &= in;
		px->st.catalogued++;
	}
	return all_in;
}

static void on_upstream(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct pquery *pq = arg;
	struct dnsproxy *px = pq->px;
	struct dnsmsg_answer *a;
	bool ready;

	(void)timeouts;
	pq->t_up = mono_ns();
	if (status != ARES_SUCCESS || !abuf || alen < DNSMSG_HEADER) {
		reply_error(px, pq, status == ARES_EREFUSED ? DNS_RCODE_REFUSED : DNS_RCODE_SERVFAIL);
		finish(px, pq);
		return;
	}
	a = xmalloc(sizeof(*a));
	if (dnsmsg_parse_answer(abuf, (size_t)alen, a) < 0) {
		/* c-ares took it, but it cannot be read: nothing to hand on. */
		free(a);
		reply_error(px, pq, DNS_RCODE_SERVFAIL);
		finish(px, pq);
		return;
	}
	ready = px->closing || fold(px, a);
	dnsmsg_answer_free(a);
	free(a);
	dnsmsg_set_id(abuf, pq->q.id);
	if (ready) {
		px->st.passed++;
		reply(px, pq, abuf, (size_t)alen);
		note_own_time(px, pq);
		finish(px, pq);
		return;
	}
	pq->reply = xmalloc((size_t)alen);
	memcpy(pq->reply, abuf, (size_t)alen);
	pq->reply_len = (size_t)alen;
	pq->held = true;
	pq->held_at = loop_now_ms();
	px->n_held++;
	px->st.held++;
}

/* ---- queries in ------------------------------------------------------ */

static int verdict_rcode(enum dnsmsg_verdict v)
{
	switch (v) {
	case DNSMSG_NOTIMP:	return DNS_RCODE_NOTIMP;
	case DNSMSG_REFUSED:	return DNS_RCODE_REFUSED;
	case DNSMSG_BADVERS:	return DNS_RCODE_BADVERS;
	default:		return DNS_RCODE_FORMERR;
	}
}

/* Forward with the client's OPT, its UDP size capped to what kvfence
 * reads in one datagram: larger answers come over TCP (c-ares retries a
 * truncated one there by itself). */
static void forward(struct dnsproxy *px, struct pquery *pq)
{
	uint8_t *fwd = xmalloc(pq->len);

	memcpy(fwd, pq->msg, pq->len);
	if (pq->q.edns && pq->q.opt_at && pq->q.udp_size > DNSMSG_UDP_MAX) {
		fwd[pq->q.opt_at + 3] = DNSMSG_UDP_MAX >> 8;
		fwd[pq->q.opt_at + 4] = DNSMSG_UDP_MAX & 0xff;
	}
	pq->t_fwd = mono_ns();
	ares_send(px->ch, fwd, (int)pq->len, on_upstream, pq);
	free(fwd);
}

static void handle_query(struct dnsproxy *px, const uint8_t *msg, size_t len, int udp_fd,
			 struct conn *c, const struct sockaddr_storage *peer, socklen_t peerlen)
{
	int64_t t_in = mono_ns();
	struct dnsmsg_query q;
	enum dnsmsg_verdict v = dnsmsg_parse_query(msg, len, &q);
	uint32_t bucket = c ? c->bucket : client_bucket(px, peer);
	struct pquery *pq;

	px->st.queries++;
	if (v == DNSMSG_DROP) {
		px->st.malformed++;
		return;
	}
	if (px->n_pending >= DNSPROXY_MAX_PENDING) {
		note_drop(px, "too many queries pending");
		return;
	}
	if (px->per_client[bucket] >= DNSPROXY_MAX_PER_CLIENT) {
		note_drop(px, "too many queries pending from one client");
		return;
	}
	if (c && c->inflight >= TCP_MAX_INFLIGHT) {
		note_drop(px, "too many queries pending on one TCP connection");
		return;
	}
	pq = pending_new(px, msg, len, &q, bucket);
	pq->t_in = t_in;
	pq->udp_fd = udp_fd;
	pq->conn = c;
	memcpy(&pq->peer, peer, peerlen);
	pq->peerlen = peerlen;
	if (c)
		c->inflight++;
	if (v != DNSMSG_FORWARD) {
		if (v == DNSMSG_REFUSED)
			px->st.refused++;
		else
			px->st.malformed++;
		reply_error(px, pq, verdict_rcode(v));
		finish(px, pq);
		return;
	}
	forward(px, pq);
}

static void on_udp(struct dnsproxy *px, int fd)
{
	struct sockaddr_storage peer;
	socklen_t peerlen;
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BURST; i++) {
		peerlen = sizeof(peer);
		n = recvfrom(fd, px->buf, sizeof(px->buf), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&peer, &peerlen);
		if (n < 0)
			return;
		if ((size_t)n > QUERY_MAX) {
			px->st.queries++;
			px->st.malformed++;
			continue;
		}
		handle_query(px, px->buf, (size_t)n, fd, NULL, &peer, peerlen);
	}
}

/* ---- TCP ------------------------------------------------------------- */

/* Closed at once, freed later (conn_reap): the connection may be on the
 * stack of the caller (a send failing inside the parse loop). */
static void conn_close(struct dnsproxy *px, struct conn *c)
{
	struct pquery *pq;

	if (c->dead)
		return;
	for (pq = px->head; pq; pq = pq->next)
		if (pq->conn == c)
			pq->conn = NULL;
	c->dead = true;
	ep_set(px, c->fd, 0, EPOLL_CTL_DEL);
	close(c->fd);
	c->fd = -1;
	px->n_conns--;
}

static void conn_reap(struct dnsproxy *px)
{
	struct conn **pp = &px->conns, *c;

	while ((c = *pp)) {
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

static void on_accept(struct dnsproxy *px, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t peerlen = sizeof(peer);
	struct conn *c;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (px->n_conns >= DNSPROXY_MAX_TCP) {
		px->st.tcp_refused++;
		note_drop(px, "too many TCP connections");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->peer = peer;
	c->peerlen = peerlen;
	c->bucket = client_bucket(px, &peer);
	c->in = xmalloc(2 + 65535);
	c->idle_since = loop_now_ms();
	c->next = px->conns;
	px->conns = c;
	px->n_conns++;
	ep_set(px, fd, EPOLLIN, EPOLL_CTL_ADD);
}

/* Every complete framed message in the buffer; a zero length is no DNS
 * message, and a length over QUERY_MAX no query: the connection goes. */
static int conn_parse(struct dnsproxy *px, struct conn *c)
{
	size_t off = 0;

	while (c->in_len - off >= 2 && !c->dead) {
		size_t mlen = (size_t)c->in[off] << 8 | c->in[off + 1];

		/* No stub sends a query this large: a client filling memory
		 * with pipelined 64 kB messages loses its connection. */
		if (mlen == 0 || mlen > QUERY_MAX) {
			px->st.malformed++;
			conn_close(px, c);
			return -1;
		}
		if (c->in_len - off < 2 + mlen)
			break;
		handle_query(px, c->in + off + 2, mlen, -1, c, &c->peer, c->peerlen);
		off += 2 + mlen;
	}
	if (c->dead)
		return -1;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

static void on_conn(struct dnsproxy *px, struct conn *c, uint32_t events)
{
	ssize_t n;

	if ((events & EPOLLOUT) && conn_flush(px, c) < 0)
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->eof)
		return;
	n = recv(c->fd, c->in + c->in_len, 2 + 65535 - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* Answers still owed go out before the close. */
		c->eof = true;
		if (n < 0 || (c->inflight == 0 && c->out_len == 0)) {
			conn_close(px, c);
			return;
		}
		ep_set(px, c->fd, c->want_out ? EPOLLOUT : 0, EPOLL_CTL_MOD);
		return;
	}
	c->in_len += (size_t)n;
	c->idle_since = loop_now_ms();
	conn_parse(px, c);
}

/* ---- c-ares ------------------------------------------------------------ */

static bool ares_fd_known(struct dnsproxy *px, int fd, size_t *at)
{
	size_t i;

	for (i = 0; i < px->n_ares_fds; i++)
		if (px->ares_fds[i] == fd) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dnsproxy *px = data;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	size_t at;

	if (!ares_fd_known(px, fd, &at)) {
		if (!ev)
			return;
		array_reserve(&px->ares_fds, &px->cap_ares_fds, px->n_ares_fds + 1,
			      sizeof(*px->ares_fds));
		px->ares_fds[px->n_ares_fds++] = fd;
		ep_set(px, fd, ev, EPOLL_CTL_ADD);
		return;
	}
	if (!ev) {
		px->ares_fds[at] = px->ares_fds[--px->n_ares_fds];
		ep_set(px, fd, 0, EPOLL_CTL_DEL);
		return;
	}
	ep_set(px, fd, ev, EPOLL_CTL_MOD);
}

static int set_servers(struct dnsproxy *px, const struct config *cfg)
{
	struct ares_addr_port_node *v;
	size_t i;
	int st;

	if (cfg->resolver_system || cfg->n_resolvers == 0)
		return ARES_SUCCESS;
	v = xcalloc(cfg->n_resolvers, sizeof(*v));
	for (i = 0; i < cfg->n_resolvers; i++) {
		v[i].next = i + 1 < cfg->n_resolvers ? &v[i + 1] : NULL;
		v[i].family = cfg->resolvers[i].family;
		memcpy(&v[i].addr, cfg->resolvers[i].bytes, addr_len(&cfg->resolvers[i]));
		v[i].udp_port = v[i].tcp_port = 53;
	}
	st = ares_set_servers_ports(px->ch, v);
	free(v);
	return st;
}

/* resolver system reads resolv.conf: it must not name the proxy itself
 * (then every query would go round until it timed out). */
static int check_loop(struct dnsproxy *px, const struct config *cfg)
{
	struct ares_addr_port_node *servers = NULL, *s;
	char buf[KVF_ADDRSTRLEN];
	size_t i;
	int r = 0;

	if (ares_get_servers_ports(px->ch, &servers) != ARES_SUCCESS)
		return 0;
	for (s = servers; s && r == 0; s = s->next)
		for (i = 0; i < cfg->n_listens; i++) {
			const struct config_listen *l = &cfg->listens[i];

			if (l->addr.family != s->family || (unsigned)l->port !=
			    (unsigned)(s->udp_port ? s->udp_port : 53) ||
			    memcmp(l->addr.bytes, &s->addr, addr_len(&l->addr)) != 0)
				continue;
			log_msg(LOG_ERR, "dns proxy: the resolver %s is kvfence's own listen "
				"address: it would forward queries to itself; name the real "
				"resolver with \"resolver\"", addr_format(&l->addr, buf, sizeof(buf)));
			r = -ELOOP;
			break;
		}
	ares_free_data(servers);
	return r;
}

static int channel_open(struct dnsproxy *px, const struct config *cfg)
{
	struct ares_options o;
	int st;

	memset(&o, 0, sizeof(o));
	o.timeout = UPSTREAM_TIMEOUT_MS;
	o.tries = UPSTREAM_TRIES;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = px;
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st == ARES_SUCCESS)
		st = ares_init_options(&px->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				       ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE);
	if (st != ARES_SUCCESS) {
		log_msg(LOG_ERR, "dns proxy: c-ares: %s", ares_strerror(st));
		return -ENOMEM;
	}
	px->ch_ok = true;
	st = set_servers(px, cfg);
	if (st != ARES_SUCCESS) {
		log_msg(LOG_ERR, "dns proxy: c-ares: setting servers: %s", ares_strerror(st));
		return -EINVAL;
	}
	return check_loop(px, cfg);
}

/* ---- listeners -------------------------------------------------------- */

static socklen_t make_sockaddr(const struct config_listen *l, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (l->addr.family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(l->port);
		memcpy(&s->sin_addr, l->addr.bytes, 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(l->port);
	memcpy(&s6->sin6_addr, l->addr.bytes, 16);
	return sizeof(*s6);
}

/* FREEBIND: a gateway's inside address may come up after kvfence.
 * REUSEPORT: a reload opens the new listeners before closing the old. */
static int open_socket(const struct config_listen *l, bool tcp)
{
	struct sockaddr_storage ss;
	socklen_t sl = make_sockaddr(l, &ss);
	int one = 1, rcv = 1 << 20;
	int fd = socket(l->addr.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (l->addr.family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (!tcp)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (tcp && listen(fd, 64) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static const char *listen_format(const struct config_listen *l, char *buf, size_t len)
{
	char a[KVF_ADDRSTRLEN];

	addr_format(&l->addr, a, sizeof(a));
	snprintf(buf, len, l->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, l->port);
	return buf;
}

static bool is_loopback(const struct kvf_addr *a)
{
	return addrfilter_classify(a) == ADDR_LOOPBACK;
}

static int open_listeners(struct dnsproxy *px, const struct config *cfg)
{
	char where[KVF_ADDRSTRLEN + 10];
	size_t i;
	int k, fd;

	px->ls = xcalloc(2 * cfg->n_listens, sizeof(*px->ls));
	for (i = 0; i < cfg->n_listens; i++) {
		listen_format(&cfg->listens[i], where, sizeof(where));
		for (k = 0; k < 2; k++) {
			fd = open_socket(&cfg->listens[i], k == 1);
			if (fd < 0) {
				log_msg(LOG_ERR, "dns proxy: listen %s (%s): %s", where,
					k ? "TCP" : "UDP", strerror(-fd));
				return fd;
			}
			px->ls[px->n_ls].fd = fd;
			px->ls[px->n_ls++].tcp = k == 1;
			ep_set(px, fd, EPOLLIN, EPOLL_CTL_ADD);
		}
		if (!is_loopback(&cfg->listens[i].addr))
			log_warnx("dns proxy: listening on %s, not a loopback address: every "
				  "machine that reaches it may use kvfence as its resolver", where);
		log_info("dns proxy: answering on %s (UDP and TCP)", where);
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

int dnsproxy_open(struct dnsproxy **out, const struct config *cfg, struct engine *e,
		  struct loop *loop, loop_fd_cb cb, void *arg)
{
	struct dnsproxy *px;
	int r;

	*out = NULL;
	if (cfg->n_listens == 0)
		return 0;
	px = xcalloc(1, sizeof(*px));
	px->cfg = cfg;
	px->e = e;
	px->loop = loop;
	px->fd_cb = cb;
	px->fd_arg = arg;
	if (getrandom(&px->seed, sizeof(px->seed), GRND_NONBLOCK) != sizeof(px->seed))
		px->seed = (uint32_t)getpid();
	r = channel_open(px, cfg);
	if (r == 0)
		r = open_listeners(px, cfg);
	if (r < 0) {
		dnsproxy_close(px);
		return r;
	}
	*out = px;
	return 0;
}

void dnsproxy_close(struct dnsproxy *px)
{
	struct conn *c;
	size_t i;

	if (!px)
		return;
	px->closing = true;
	/* Answers every forwarded query with ARES_EDESTRUCTION: SERVFAIL. */
	if (px->ch_ok) {
		ares_destroy(px->ch);
		ares_library_cleanup();
	}
	while (px->head) {
		reply_error(px, px->head, DNS_RCODE_SERVFAIL);
		finish(px, px->head);
	}
	for (c = px->conns; c; c = c->next)
		conn_close(px, c);
	conn_reap(px);
	for (i = 0; i < px->n_ls; i++) {
		ep_set(px, px->ls[i].fd, 0, EPOLL_CTL_DEL);
		close(px->ls[i].fd);
	}
	free(px->ls);
	free(px->ares_fds);
	free(px);
}

void dnsproxy_reload(struct dnsproxy **px, const struct config *cfg, struct engine *e,
		     struct loop *loop, loop_fd_cb cb, void *arg)
{
	struct dnsproxy *n;

	if (dnsproxy_open(&n, cfg, e, loop, cb, arg) < 0) {
		if (*px) {
			(*px)->cfg = cfg;
			log_msg(LOG_ERR, "dns proxy: keeping the running listeners and resolvers");
		}
		return;
	}
	dnsproxy_close(*px);
	*px = n;
}

bool dnsproxy_handle_fd(struct dnsproxy *px, int fd, uint32_t events)
{
	struct conn *c;
	size_t i;

	if (!px)
		return false;
	for (i = 0; i < px->n_ls; i++)
		if (px->ls[i].fd == fd) {
			if (px->ls[i].tcp)
				on_accept(px, fd);
			else
				on_udp(px, fd);
			goto handled;
		}
	for (c = px->conns; c; c = c->next)
		if (!c->dead && c->fd == fd) {
			on_conn(px, c, events);
			goto handled;
		}
	if (ares_fd_known(px, fd, NULL)) {
		ares_process_fd(px->ch, events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
				events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
		goto handled;
	}
	return false;
handled:
	conn_reap(px);
	return true;
}

void dnsproxy_tick(struct dnsproxy *px, int64_t now)
{
	struct pquery *pq, *next;
	struct conn *c, *cn;

	if (!px)
		return;
	ares_process_fd(px->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	/* The batch never came (a kernel error, a set that may not be
	 * created): the client is told to try again, never given an answer
	 * whose addresses the sets lack. */
	for (pq = px->head; pq; pq = next) {
		next = pq->next;
		if (pq->held && now - pq->held_at >= DNSPROXY_HOLD_MS) {
			px->st.hold_timeouts++;
			reply_error(px, pq, DNS_RCODE_SERVFAIL);
			finish(px, pq);
		}
	}
	for (c = px->conns; c; c = cn) {
		cn = c->next;
		if (!c->dead && c->inflight == 0 && now - c->idle_since >= DNSPROXY_TCP_IDLE_MS)
			conn_close(px, c);
	}
	conn_reap(px);
}

int64_t dnsproxy_deadline(struct dnsproxy *px, int64_t now)
{
	struct timeval tv, *t;
	struct pquery *pq;
	struct conn *c;
	int64_t d = NEVER;

	if (!px)
		return NEVER;
	t = ares_timeout(px->ch, NULL, &tv);
	if (t)
		d = now + (int64_t)t->tv_sec * 1000 + (t->tv_usec + 999) / 1000;
	for (pq = px->head; pq && px->n_held; pq = pq->next)
		if (pq->held && pq->held_at + DNSPROXY_HOLD_MS < d)
			d = pq->held_at + DNSPROXY_HOLD_MS;
	for (c = px->conns; c; c = c->next)
		if (!c->dead && c->inflight == 0 && c->idle_since + DNSPROXY_TCP_IDLE_MS < d)
			d = c->idle_since + DNSPROXY_TCP_IDLE_MS;
	return d;
}

unsigned dnsproxy_take_state(struct dnsproxy *px)
{
	unsigned r;

	if (!px)
		return 0;
	r = (px->changed ? DNSPROXY_CHANGED : 0) | (px->n_held ? DNSPROXY_WAITING : 0);
	px->changed = false;
	return r;
}

void dnsproxy_batch_done(struct dnsproxy *px, bool ok)
{
	struct pquery *pq, *next;

	if (!px || px->n_held == 0)
		return;
	for (pq = px->head; pq; pq = next) {
		next = pq->next;
		if (!pq->held)
			continue;
		if (ok) {
			reply(px, pq, pq->reply, pq->reply_len);
			note_own_time(px, pq);
		} else
			reply_error(px, pq, DNS_RCODE_SERVFAIL);
		finish(px, pq);
	}
	conn_reap(px);
}

void dnsproxy_log_stats(struct dnsproxy *px)
{
	char b1[100], b2[100];

	if (!px)
		return;
	log_info("dns proxy: own time per answer, released at once: %s; held for a batch: %s",
		 sample_format(&px->own_pass, b1, sizeof(b1)),
		 sample_format(&px->own_held, b2, sizeof(b2)));
	log_info("dns proxy: queries=%llu answered=%llu catalogued=%llu held=%llu "
		 "hold_timeouts=%llu servfail=%llu refused=%llu malformed=%llu dropped=%llu "
		 "truncated=%llu pending=%zu tcp=%zu",
		 (unsigned long long)px->st.queries, (unsigned long long)px->st.answered,
		 (unsigned long long)px->st.catalogued, (unsigned long long)px->st.held,
		 (unsigned long long)px->st.hold_timeouts, (unsigned long long)px->st.servfail,
		 (unsigned long long)px->st.refused, (unsigned long long)px->st.malformed,
		 (unsigned long long)px->st.dropped, (unsigned long long)px->st.truncated,
		 px->n_pending, px->n_conns);
}
