/* kvfence: asynchronous resolution with c-ares 1.18.1. One channel; each
 * host is two getaddrinfo calls (A, AAAA) so that a failure of one family
 * is never hidden by an answer of the other; a bounded number of calls is
 * in flight and the rest wait in FIFO order. */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <ares.h>

#include "resolver.h"
#include "util.h"

/* Per try; c-ares doubles it on each round over the servers, so with
 * TRIES 2 and one server a dead server costs 1.5 + 3 s. */
#define RESOLVER_TIMEOUT_MS	1500
#define RESOLVER_TRIES		2

/* One host being resolved: queued, then in flight as two calls. */
struct lookup {
	struct resolver *r;
	struct lookup *next;		/* in the queue */
	char *name;
	resolver_cb cb;
	void *arg;
	size_t idx;
	int outstanding;		/* getaddrinfo calls not answered yet */
	struct host_result res;
};

/* A socket c-ares asked us to watch. */
struct watched {
	int fd;
	bool readable, writable;
};

struct resolver {
	ares_channel ch;
	struct lookup *head, *tail;	/* queued, not started */
	size_t n_queued;
	size_t n_active;		/* hosts with calls in flight */
	unsigned calls;			/* getaddrinfo calls in flight */
	struct watched *fds;
	size_t n_fds, cap_fds;
	resolver_fd_hook hook;
	void *hook_arg;
	bool pumping;			/* pump() is on the stack */
	bool destroying;		/* in ares_destroy(): no callbacks */
};

static enum resolve_status map_status(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:	return RES_OK;
	case ARES_ENODATA:	return RES_NODATA;
	case ARES_ENOTFOUND:	return RES_NXDOMAIN;
	case ARES_ETIMEOUT:	return RES_TIMEOUT;
	/* c-ares 1.18.1 turns SERVFAIL and REFUSED (and ICMP unreachable)
	 * into ECONNREFUSED once every server was tried: no server gave a
	 * usable answer. Distinct from silence, still not definite. */
	case ARES_ECONNREFUSED:
	case ARES_ESERVFAIL:	return RES_SERVFAIL;
	case ARES_EREFUSED:	return RES_REFUSED;
	default:		return RES_ERROR;
	}
}

/* RFC 2181 section 8: a TTL with the top bit set is read as zero. c-ares
 * stores the unsigned wire value in an int, so such TTLs arrive negative. */
static void note_ttl(struct host_result *res, int ttl)
{
	unsigned t = ttl < 0 ? 0 : (unsigned)ttl;

	/* Called before the record is stored: the first one sets ttl, which
	 * means nothing while no record is held (see result.h). */
	if (res->n_addrs + res->n_cnames == 0 || t < res->ttl)
		res->ttl = t;
}

/* The address of a node of the wanted family, or false for anything else
 * (the other family, a truncated sockaddr, a mismatched one). */
static bool node_addr(const struct ares_addrinfo_node *n, int family, struct kvf_addr *out)
{
	const struct sockaddr *sa = n->ai_addr;

	memset(out, 0, sizeof(*out));
	if (n->ai_family != family || !sa || sa->sa_family != family)
		return false;
	out->family = (uint8_t)family;
	if (family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (family == AF_INET6 && n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
		memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool holds_addr(const struct host_result *res, const struct kvf_addr *a)
{
	size_t i;

	for (i = 0; i < res->n_addrs; i++)
		if (addr_cmp(&res->addrs[i], a) == 0)
			return true;
	return false;
}

/* Addresses of family from nodes; returns how many nodes carried one
 * (duplicates included), so the caller can tell NODATA from OK. */
static size_t merge_nodes(struct host_result *res, int family,
			  const struct ares_addrinfo_node *nodes)
{
	const struct ares_addrinfo_node *n;
	struct kvf_addr a;
	size_t count = 0, seen = 0;

	for (n = nodes; n; n = n->ai_next)
		count++;
	if (count == 0)
		return 0;
	/* One allocation per answer, not per address. */
	res->addrs = xreallocarray(res->addrs, res->n_addrs + count, sizeof(*res->addrs));
	for (n = nodes; n; n = n->ai_next) {
		if (!node_addr(n, family, &a))
			continue;
		seen++;
		note_ttl(res, n->ai_ttl);
		if (!holds_addr(res, &a))
			res->addrs[res->n_addrs++] = a;
	}
	return seen;
}

/* A chain target as the rest of kvfence compares names: lower case, no
 * trailing dot. NULL for nothing usable (NULL, "", "."). Returns memory
 * the caller frees. */
static char *normalise_name(const char *name)
{
	size_t len, i;
	char *s;

	if (!name)
		return NULL;
	len = strlen(name);
	while (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return NULL;
	s = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)name[i]);
	s[len] = '\0';
	return s;
}

static bool holds_cname(const struct host_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->n_cnames; i++)
		if (strcmp(res->cnames[i], name) == 0)
			return true;
	return false;
}

static void merge_cnames(struct host_result *res, const struct ares_addrinfo_cname *cnames)
{
	const struct ares_addrinfo_cname *c;
	size_t count = 0;
	char *name;

	for (c = cnames; c; c = c->next)
		count++;
	if (count == 0)
		return;
	res->cnames = xreallocarray(res->cnames, res->n_cnames + count, sizeof(*res->cnames));
	for (c = cnames; c; c = c->next) {
		name = normalise_name(c->name);
		if (!name)
			continue;
		note_ttl(res, c->ttl);
		if (holds_cname(res, name))
			free(name);
		else
			res->cnames[res->n_cnames++] = name;
	}
}

/* Records are taken only from a successful answer: c-ares hands no
 * addrinfo with an error, and anything that did arrive with one is not
 * an answer to trust. */
void resolver_merge_answer(struct host_result *res, int family, int ares_status,
			   const struct ares_addrinfo *ai)
{
	enum resolve_status st = map_status(ares_status);
	size_t got = 0;

	if (family != AF_INET && family != AF_INET6)
		return;
	if (st == RES_OK && ai) {
		merge_cnames(res, ai->cnames);
		got = merge_nodes(res, family, ai->nodes);
	}
	/* Success without an address of the family (a CNAME to nothing, or
	 * only records of the other family) is NODATA for this family. */
	if (st == RES_OK && got == 0)
		st = RES_NODATA;
	if (family == AF_INET)
		res->status4 = st;
	else
		res->status6 = st;
}

/* The fd table: what c-ares currently wants watched, for resolver_wait()
 * and for replaying to a hook installed late. */
static struct watched *fd_find(struct resolver *r, int fd)
{
	size_t i;

	for (i = 0; i < r->n_fds; i++)
		if (r->fds[i].fd == fd)
			return &r->fds[i];
	return NULL;
}

static void fd_track(struct resolver *r, int fd, bool readable, bool writable)
{
	struct watched *w = fd_find(r, fd);

	if (!readable && !writable) {
		if (w)
			*w = r->fds[--r->n_fds];
		return;
	}
	if (!w) {
		array_reserve(&r->fds, &r->cap_fds, r->n_fds + 1, sizeof(*r->fds));
		w = &r->fds[r->n_fds++];
		w->fd = fd;
	}
	w->readable = readable;
	w->writable = writable;
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;

	fd_track(r, fd, readable, writable);
	if (r->hook)
		r->hook(r->hook_arg, fd, readable, writable);
}

static void lookup_free(struct lookup *l)
{
	result_free(&l->res);
	free(l->name);
	free(l);
}

static void pump(struct resolver *r);

/* One family of l answered. The host is reported once both have. */
static void answered(struct lookup *l, int family, int status, struct ares_addrinfo *ai)
{
	struct resolver *r = l->r;

	if (!r->destroying)
		resolver_merge_answer(&l->res, family, status, ai);
	if (ai)
		ares_freeaddrinfo(ai);
	r->calls--;
	if (--l->outstanding > 0)
		return;
	r->n_active--;
	if (!r->destroying)
		l->cb(l->arg, l->idx, &l->res);
	lookup_free(l);
	if (!r->destroying)
		pump(r);
}

static void answered4(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	answered(arg, AF_INET, status, ai);
}

static void answered6(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	answered(arg, AF_INET6, status, ai);
}

/* NOSORT: RFC 6724 sorting connects a UDP socket per address, work
 * wasted on addresses that all go into a set anyway. No CANONNAME: the
 * chain arrives in ai->cnames without it. */
static void start(struct resolver *r, struct lookup *l)
{
	struct ares_addrinfo_hints h4 = { .ai_family = AF_INET, .ai_flags = ARES_AI_NOSORT };
	struct ares_addrinfo_hints h6 = { .ai_family = AF_INET6, .ai_flags = ARES_AI_NOSORT };

	/* Both counted before either call: c-ares may answer at once. */
	l->outstanding = 2;
	r->calls += 2;
	r->n_active++;
	ares_getaddrinfo(r->ch, l->name, NULL, &h4, answered4, l);
	ares_getaddrinfo(r->ch, l->name, NULL, &h6, answered6, l);
}

static struct lookup *dequeue(struct resolver *r)
{
	struct lookup *l = r->head;

	r->head = l->next;
	if (!r->head)
		r->tail = NULL;
	l->next = NULL;
	r->n_queued--;
	return l;
}

/* Start queued hosts while there is room. Answers can arrive inside
 * ares_getaddrinfo() and call back here: the outer loop does the work. */
static void pump(struct resolver *r)
{
	if (r->pumping)
		return;
	r->pumping = true;
	while (r->head && r->calls + 2 <= RESOLVER_MAX_INFLIGHT)
		start(r, dequeue(r));
	r->pumping = false;
}

void resolver_resolve(struct resolver *r, const char *name,
		      resolver_cb cb, void *arg, size_t idx)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->r = r;
	l->name = xstrdup(name);
	l->cb = cb;
	l->arg = arg;
	l->idx = idx;
	l->res.status4 = l->res.status6 = RES_ERROR;
	if (r->tail)
		r->tail->next = l;
	else
		r->head = l;
	r->tail = l;
	r->n_queued++;
	pump(r);
}

size_t resolver_pending(const struct resolver *r)
{
	return r->n_queued + r->n_active;
}

void resolver_set_fd_hook(struct resolver *r, resolver_fd_hook hook, void *arg)
{
	size_t i;

	r->hook = hook;
	r->hook_arg = arg;
	for (i = 0; hook && i < r->n_fds; i++)
		hook(arg, r->fds[i].fd, r->fds[i].readable, r->fds[i].writable);
}

void resolver_process_fd(struct resolver *r, int fd, bool readable, bool writable)
{
	ares_process_fd(r->ch, readable ? fd : ARES_SOCKET_BAD,
			writable ? fd : ARES_SOCKET_BAD);
}

void resolver_process_timeout(struct resolver *r)
{
	/* With no socket, ares_process_fd() only expires timed-out queries. */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

int resolver_timeout_ms(struct resolver *r)
{
	struct timeval tv, *t;
	long long ms;

	t = ares_timeout(r->ch, NULL, &tv);
	if (!t)
		return -1;
	/* Round up: waking a fraction of a millisecond early finds nothing
	 * expired and asks again for 0 ms, a busy loop. */
	ms = (long long)t->tv_sec * 1000 + (t->tv_usec + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* One poll() over the tracked sockets, then hand c-ares what happened. */
static void wait_once(struct resolver *r, struct pollfd **pfds, size_t *cap)
{
	size_t i, n = r->n_fds;
	int ms, k;

	array_reserve(pfds, cap, n, sizeof(**pfds));
	for (i = 0; i < n; i++) {
		(*pfds)[i].fd = r->fds[i].fd;
		(*pfds)[i].events = (short)((r->fds[i].readable ? POLLIN : 0) |
					    (r->fds[i].writable ? POLLOUT : 0));
		(*pfds)[i].revents = 0;
	}
	ms = resolver_timeout_ms(r);
	if (ms < 0)
		ms = 1000;	/* cannot happen with calls in flight; never hang */
	k = poll(*pfds, n, ms);
	if (k <= 0) {
		/* Timeout, or EINTR: either way let c-ares expire what is due. */
		resolver_process_timeout(r);
		return;
	}
	/* From the copy: processing one socket may close or open others. */
	for (i = 0; i < n; i++) {
		short ev = (*pfds)[i].revents;

		if (ev)
			resolver_process_fd(r, (*pfds)[i].fd, ev & (POLLIN | POLLERR | POLLHUP),
					    ev & POLLOUT);
	}
}

void resolver_wait(struct resolver *r)
{
	struct pollfd *pfds = NULL;
	size_t cap = 0;

	while (resolver_pending(r) > 0)
		wait_once(r, &pfds, &cap);
	free(pfds);
}

static int set_servers(struct resolver *r, const struct config *cfg)
{
	struct ares_addr_port_node *v;
	size_t i;
	int st;

	v = xcalloc(cfg->n_resolvers, sizeof(*v));
	for (i = 0; i < cfg->n_resolvers; i++) {
		const struct kvf_addr *a = &cfg->resolvers[i];

		v[i].next = i + 1 < cfg->n_resolvers ? &v[i + 1] : NULL;
		v[i].family = a->family;
		memcpy(&v[i].addr, a->bytes, addr_len(a));
		v[i].udp_port = v[i].tcp_port = 53;
	}
	st = ares_set_servers_ports(r->ch, v);
	free(v);
	return st;
}

/* DNS only ("b"): /etc/hosts must not decide what a firewall lets out.
 * No search domains and ndots 1: every name is fully qualified, and a
 * search suffix would turn an NXDOMAIN into a question about another
 * name. No rotation: the first server is the preferred one. */
static int channel_init(struct resolver *r)
{
	static char lookups[] = "b";
	struct ares_options o;
	int mask;

	memset(&o, 0, sizeof(o));
	o.timeout = RESOLVER_TIMEOUT_MS;
	o.tries = RESOLVER_TRIES;
	o.ndots = 1;
	o.domains = NULL;
	o.ndomains = 0;
	o.lookups = lookups;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_DOMAINS |
	       ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE;
	return ares_init_options(&r->ch, &o, mask);
}

int resolver_new(struct resolver **out, const struct config *cfg,
		 char *err, size_t errlen)
{
	struct resolver *r;
	int st;

	*out = NULL;
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	st = channel_init(r);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		goto fail;
	}
	if (!cfg->resolver_system && cfg->n_resolvers > 0) {
		st = set_servers(r, cfg);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: setting servers: %s", ares_strerror(st));
			ares_destroy(r->ch);
			goto fail;
		}
	}
	*out = r;
	return 0;
fail:
	free(r->fds);
	free(r);
	ares_library_cleanup();
	return -1;
}

/* Hosts still queued or in flight are dropped without a callback: the
 * owner is going away, and their answers would be for a world it left. */
void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->destroying = true;
	ares_destroy(r->ch);	/* answers in-flight calls with EDESTRUCTION */
	while (r->head)
		lookup_free(dequeue(r));
	free(r->fds);
	free(r);
	ares_library_cleanup();
}
