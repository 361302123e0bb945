/* kvfence: asynchronous resolution with c-ares 1.18.1. Each host is two
 * getaddrinfo calls (A, AAAA) so that a failure of one family is never
 * hidden by an answer of the other; a bounded number of calls is in
 * flight and the rest wait in FIFO order.
 *
 * c-ares 1.18.1 can neither change the servers of a channel with queries
 * in flight nor re-read resolv.conf (no ares_reinit), and it does not
 * remember which server answers. So the servers live here: new queries go
 * to the current channel, and a channel whose servers changed (resolv.conf
 * rewritten, a reload, a dead first server moved back) is retired: it
 * keeps its queries until they end, then is destroyed. */
#include "autoconfig.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <ares.h>

#include "kvfence.h"
#include "answer.h"
#include "log.h"
#include "resolver.h"
#include "util.h"

/* Per try; c-ares doubles it on each round over the servers, so with
 * TRIES 2 and one server a dead server costs 1.5 + 3 s. */
#define RESOLVER_TIMEOUT_MS	1500
#define RESOLVER_TRIES		2
/* A server passed over because it did not answer is put back in its
 * place after this long: servers come back, and resolv.conf's order is
 * the administrator's preference. */
#define RESOLVER_REPROBE_MS	(5 * 60 * 1000)
/* Where c-ares 1.18.1 reads the servers (its PATH_RESOLV_CONF). */
#define RESOLV_CONF		"/etc/resolv.conf"

struct server {
	struct kvf_addr addr;
	uint16_t port;			/* 0: the default, 53 */
};

struct channel {
	struct resolver *r;
	ares_channel ch;
	struct channel *next;		/* in the retired list */
	unsigned calls;			/* getaddrinfo calls in flight */
	bool retired;
	/* Retired because the servers themselves changed: a lookup that
	 * failed there is asked again of the new ones. */
	bool superseded;
};

/* One host being resolved: queued, then in flight as two calls. */
struct lookup {
	struct resolver *r;
	struct lookup *next;		/* in the queue */
	struct lookup *aprev, *anext;	/* in the active list */
	struct channel *chan;		/* while in flight */
	char *name;
	resolver_cb cb;
	void *arg;
	size_t idx;
	int outstanding;		/* getaddrinfo calls not answered yet */
	bool dropped;			/* its host is gone: no callback */
	unsigned timeouts;		/* of both calls */
	struct host_result res;
	size_t room;			/* for the name, after the struct */
};

/* A descriptor to watch: a c-ares socket (chan set) or the resolv.conf
 * watch (chan NULL). */
struct watched {
	int fd;
	struct channel *chan;
	bool readable, writable;
};

struct resolver {
	struct channel *cur;		/* new queries go here */
	struct channel *retired;	/* draining */
	struct server *servers;		/* configured order */
	size_t n_servers;
	struct server *order;		/* the current channel's order */
	int64_t reprobe_at;		/* 0: order is the configured one */
	bool system;			/* servers from resolv.conf */
	unsigned generation;		/* bumped when the servers change */
	struct lookup *head, *tail;	/* queued, not started */
	size_t n_queued;
	struct lookup *active;		/* started, not yet reported */
	size_t n_active;
	struct lookup *spare;		/* done, kept for the next (lookup_free) */
	size_t n_spare;
	unsigned calls;			/* getaddrinfo calls in flight, all channels */
	struct watched *fds;
	size_t n_fds, cap_fds;
	resolver_fd_hook hook;
	void *hook_arg;
	int answer_fd;			/* the socket being read, or -1 */
	int in_ares;			/* c-ares calls on the stack */
	bool pumping;			/* pump() is on the stack */
	bool destroying;		/* in resolver_free(): no callbacks */
	bool watching;			/* the owner wants resolv.conf followed */
	int ifd, wd_dir, wd_target;	/* the inotify watch of resolv.conf */
	char *target;			/* resolv.conf's symlink target, if any */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The fd table: what is currently watched, for replaying to a hook
 * installed late, and to find a socket's channel. */
static struct watched *fd_find(struct resolver *r, int fd)
{
	size_t i;

	for (i = 0; i < r->n_fds; i++)
		if (r->fds[i].fd == fd)
			return &r->fds[i];
	return NULL;
}

static void fd_track(struct resolver *r, struct channel *c, int fd, bool readable,
		     bool writable)
{
	struct watched *w = fd_find(r, fd);

	if (!readable && !writable) {
		if (w)
			*w = r->fds[--r->n_fds];
	} else {
		if (!w) {
			array_reserve(&r->fds, &r->cap_fds, r->n_fds + 1, sizeof(*r->fds));
			w = &r->fds[r->n_fds++];
			w->fd = fd;
		}
		w->chan = c;
		w->readable = readable;
		w->writable = writable;
	}
	if (r->hook)
		r->hook(r->hook_arg, fd, readable, writable);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct channel *c = data;

	fd_track(c->r, c, fd, readable, writable);
}

/* Room for any DNS name (253 bytes): a lookup done serves the next one. */
#define LOOKUP_NAME_ROOM	256

/* A lookup done is kept for the next, its result's arrays with it, as
 * many as can be in flight: a 10k-host sync made and freed 30k blocks
 * for them. */
static void lookup_free(struct lookup *l)
{
	struct resolver *r = l->r;

	if (!r->destroying && r->n_spare < RESOLVER_MAX_INFLIGHT &&
	    l->room >= LOOKUP_NAME_ROOM) {
		result_clear(&l->res);
		l->next = r->spare;
		r->spare = l;
		r->n_spare++;
		return;
	}
	result_free(&l->res);
	free(l);
}

static struct lookup *lookup_new(struct resolver *r, size_t len)
{
	struct lookup *l = r->spare;
	struct host_result res = { 0 };
	size_t room;

	if (l && len <= l->room) {
		r->spare = l->next;
		r->n_spare--;
		res = l->res;
		room = l->room;
	} else {
		room = len > LOOKUP_NAME_ROOM ? len : LOOKUP_NAME_ROOM;
		l = xmalloc(sizeof(*l) + room);
	}
	memset(l, 0, sizeof(*l));
	l->r = r;
	l->room = room;
	l->res = res;
	return l;
}

static void pump(struct resolver *r);
static void promote(struct resolver *r, int fd);

static void active_remove(struct resolver *r, struct lookup *l)
{
	if (l->aprev)
		l->aprev->anext = l->anext;
	else
		r->active = l->anext;
	if (l->anext)
		l->anext->aprev = l->aprev;
	l->aprev = l->anext = NULL;
	r->n_active--;
}

static void enqueue(struct resolver *r, struct lookup *l, bool front)
{
	l->next = NULL;
	if (front) {
		l->next = r->head;
		r->head = l;
		if (!r->tail)
			r->tail = l;
	} else {
		if (r->tail)
			r->tail->next = l;
		else
			r->head = l;
		r->tail = l;
	}
	r->n_queued++;
}

/* The servers of a retired channel were replaced (resolv.conf changed, a
 * reload): a lookup that got no definite answer there is asked of the new
 * ones instead of being reported as a failure. Only a change of servers
 * supersedes a channel, so this cannot loop by itself. */
static bool ask_again(const struct lookup *l)
{
	return l->chan->superseded &&
	       !(resolve_status_definite(l->res.status4) &&
		 resolve_status_definite(l->res.status6));
}

/* One family of l answered. The host is reported once both have. */
static void answered(struct lookup *l, int family, int status, int timeouts,
		     struct ares_addrinfo *ai)
{
	struct resolver *r = l->r;
	struct channel *c = l->chan;

	if (!r->destroying)
		answer_merge(&l->res, family, status, ai);
	if (ai)
		ares_freeaddrinfo(ai);
	l->timeouts += timeouts > 0 ? (unsigned)timeouts : 0;
	/* A server that answered after another one timed out goes first. */
	if (!r->destroying && timeouts > 0 && c == r->cur && r->answer_fd >= 0 &&
	    (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND))
		promote(r, r->answer_fd);
	c->calls--;
	r->calls--;
	if (--l->outstanding > 0)
		return;
	active_remove(r, l);
	if (!r->destroying && !l->dropped && ask_again(l)) {
		result_clear(&l->res);
		l->res.status4 = l->res.status6 = RES_ERROR;
		l->chan = NULL;
		enqueue(r, l, true);
	} else {
		if (!r->destroying && !l->dropped)
			l->cb(l->arg, l->idx, &l->res);
		lookup_free(l);
	}
	if (!r->destroying)
		pump(r);
}

static void answered4(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	answered(arg, AF_INET, status, timeouts, ai);
}

static void answered6(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	answered(arg, AF_INET6, status, timeouts, ai);
}

/* NOSORT: RFC 6724 sorting connects a UDP socket per address, work
 * wasted on addresses that all go into a set anyway. No CANONNAME: the
 * chain arrives in ai->cnames without it. */
static void start(struct resolver *r, struct lookup *l)
{
	struct ares_addrinfo_hints h4 = { .ai_family = AF_INET, .ai_flags = ARES_AI_NOSORT };
	struct ares_addrinfo_hints h6 = { .ai_family = AF_INET6, .ai_flags = ARES_AI_NOSORT };
	struct channel *c = r->cur;

	/* Both counted before either call: c-ares may answer at once. */
	l->outstanding = 2;
	l->chan = c;
	c->calls += 2;
	r->calls += 2;
	l->anext = r->active;
	if (r->active)
		r->active->aprev = l;
	r->active = l;
	r->n_active++;
	r->in_ares++;
	ares_getaddrinfo(c->ch, l->name, NULL, &h4, answered4, l);
	ares_getaddrinfo(c->ch, l->name, NULL, &h6, answered6, l);
	r->in_ares--;
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

static int switch_channel(struct resolver *r, const struct server *order, bool superseded);

/* Start queued hosts while there is room. Answers can arrive inside
 * ares_getaddrinfo() and call back here: the outer loop does the work. */
static void pump(struct resolver *r)
{
	if (r->pumping || !r->head)
		return;
	r->pumping = true;
	/* Time to ask the passed-over server again, in its place. */
	if (r->reprobe_at && mono_ms() >= r->reprobe_at &&
	    switch_channel(r, r->servers, false) == 0) {
		log_debug("resolver: asking the name servers in their configured order again");
		r->reprobe_at = 0;
	}
	while (r->head && r->calls + 2 <= RESOLVER_MAX_INFLIGHT)
		start(r, dequeue(r));
	r->pumping = false;
}

void resolver_resolve(struct resolver *r, const char *name,
		      resolver_cb cb, void *arg, size_t idx)
{
	size_t len = strlen(name) + 1;
	/* The name lives in the same block, after the lookup. */
	struct lookup *l = lookup_new(r, len);

	l->name = memcpy(l + 1, name, len);
	l->cb = cb;
	l->arg = arg;
	l->idx = idx;
	l->res.status4 = l->res.status6 = RES_ERROR;
	enqueue(r, l, false);
	pump(r);
}

size_t resolver_pending(const struct resolver *r)
{
	return r->n_queued + r->n_active;
}

void resolver_remap(struct resolver *r, resolver_remap_fn fn, void *arg)
{
	struct lookup *l, **pp;
	size_t idx;

	for (l = r->active; l; l = l->anext) {
		if (l->dropped)
			continue;
		idx = fn(arg, l->name, l->idx);
		l->dropped = idx == RESOLVER_DROP;
		l->idx = idx;
	}
	r->tail = NULL;
	for (pp = &r->head; *pp;) {
		l = *pp;
		idx = fn(arg, l->name, l->idx);
		if (idx == RESOLVER_DROP) {
			*pp = l->next;
			r->n_queued--;
			lookup_free(l);
			continue;
		}
		l->idx = idx;
		r->tail = l;
		pp = &l->next;
	}
}

void resolver_set_fd_hook(struct resolver *r, resolver_fd_hook hook, void *arg)
{
	size_t i;

	r->hook = hook;
	r->hook_arg = arg;
	for (i = 0; hook && i < r->n_fds; i++)
		hook(arg, r->fds[i].fd, r->fds[i].readable, r->fds[i].writable);
}

/* Retired channels whose queries have all ended are destroyed, never
 * from inside one of their own callbacks. */
static void reap(struct resolver *r)
{
	struct channel **pp = &r->retired, *c;

	if (r->in_ares)
		return;
	while ((c = *pp)) {
		if (c->calls) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		ares_destroy(c->ch);
		free(c);
	}
}

static void after_ares(struct resolver *r)
{
	reap(r);
	pump(r);
}

static void watch_read(struct resolver *r);

void resolver_process_fd(struct resolver *r, int fd, bool readable, bool writable)
{
	struct watched *w = fd_find(r, fd);
	struct channel *c;

	if (!w)
		return;		/* closed since the event was queued */
	if (!w->chan) {
		watch_read(r);
		return;
	}
	c = w->chan;
	r->in_ares++;
	r->answer_fd = readable ? fd : -1;
	ares_process_fd(c->ch, readable ? fd : ARES_SOCKET_BAD,
			writable ? fd : ARES_SOCKET_BAD);
	r->answer_fd = -1;
	r->in_ares--;
	after_ares(r);
}

void resolver_process_timeout(struct resolver *r)
{
	struct channel *c, *next;

	/* With no socket, ares_process_fd() only expires timed-out queries. */
	r->in_ares++;
	for (c = r->retired; c; c = next) {
		next = c->next;
		ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	ares_process_fd(r->cur->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	r->in_ares--;
	after_ares(r);
}

static int channel_timeout_ms(struct channel *c)
{
	struct timeval tv, *t;
	long long ms;

	t = ares_timeout(c->ch, NULL, &tv);
	if (!t)
		return -1;
	/* Round up: waking a fraction of a millisecond early finds nothing
	 * expired and asks again for 0 ms, a busy loop. */
	ms = (long long)t->tv_sec * 1000 + (t->tv_usec + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int resolver_timeout_ms(struct resolver *r)
{
	struct channel *c;
	int ms = channel_timeout_ms(r->cur), t;

	for (c = r->retired; c; c = c->next) {
		t = channel_timeout_ms(c);
		if (t >= 0 && (ms < 0 || t < ms))
			ms = t;
	}
	return ms;
}

/* DNS only ("b"): /etc/hosts must not decide what a firewall lets out.
 * No search domains and ndots 1: every name is fully qualified, and a
 * search suffix would turn an NXDOMAIN into a question about another
 * name. No rotation: the first server is the preferred one, and which one
 * is first is decided here (promote()). These options win over
 * resolv.conf's own (c-ares 1.18.1 reads its ndots:, retrans:, retry: and
 * rotate, not glibc's timeout: and attempts:). */
static int channel_open(struct resolver *r, const struct server *order, size_t n,
			struct channel **out)
{
	static char lookups[] = "b";
	struct channel *c = xcalloc(1, sizeof(*c));
	struct ares_addr_port_node *v = NULL;
	struct ares_options o;
	size_t i;
	int st, mask;

	c->r = r;
	memset(&o, 0, sizeof(o));
	o.timeout = RESOLVER_TIMEOUT_MS;
	o.tries = RESOLVER_TRIES;
	o.ndots = 1;
	o.lookups = lookups;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = c;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_DOMAINS |
	       ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE;
	st = ares_init_options(&c->ch, &o, mask);
	if (st != ARES_SUCCESS) {
		free(c);
		return st;
	}
	if (order && n > 0) {
		v = xcalloc(n, sizeof(*v));
		for (i = 0; i < n; i++) {
			v[i].next = i + 1 < n ? &v[i + 1] : NULL;
			v[i].family = order[i].addr.family;
			memcpy(&v[i].addr, order[i].addr.bytes, addr_len(&order[i].addr));
			v[i].udp_port = v[i].tcp_port = order[i].port;
		}
		st = ares_set_servers_ports(c->ch, v);
		free(v);
		if (st != ARES_SUCCESS) {
			ares_destroy(c->ch);
			free(c);
			return st;
		}
	}
	*out = c;
	return ARES_SUCCESS;
}

/* The servers a channel uses, allocated (the caller frees). */
static int channel_servers(struct channel *c, struct server **out, size_t *n)
{
	struct ares_addr_port_node *list = NULL, *p;
	struct server *v = NULL;
	size_t k = 0;
	int st;

	st = ares_get_servers_ports(c->ch, &list);
	if (st != ARES_SUCCESS)
		return st;
	for (p = list; p; p = p->next) {
		v = xreallocarray(v, k + 1, sizeof(*v));
		memset(&v[k], 0, sizeof(v[k]));
		v[k].addr.family = (uint8_t)p->family;
		memcpy(v[k].addr.bytes, &p->addr, p->family == AF_INET ? 4 : 16);
		v[k].port = (uint16_t)p->udp_port;
		k++;
	}
	ares_free_data(list);
	*out = v;
	*n = k;
	return ARES_SUCCESS;
}

static bool server_eq(const struct server *a, const struct server *b)
{
	return addr_cmp(&a->addr, &b->addr) == 0 &&
	       (a->port ? a->port : 53) == (b->port ? b->port : 53);
}

static bool servers_eq(const struct server *a, size_t na, const struct server *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!server_eq(&a[i], &b[i]))
			return false;
	return true;
}

static const char *servers_text(const struct server *v, size_t n, char *buf, size_t len)
{
	char a[KVF_ADDRSTRLEN];
	size_t i, l = 0;

	buf[0] = '\0';
	for (i = 0; i < n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, "%s%s", i ? " " : "",
				      addr_format(&v[i].addr, a, sizeof(a)));
	return buf;
}

/* The current channel gives way to c: it keeps its queries until they
 * end and is destroyed then. */
static void install(struct resolver *r, struct channel *c, bool superseded)
{
	struct channel *old = r->cur;

	r->cur = c;
	if (!old)
		return;
	old->retired = true;
	old->superseded = superseded;
	old->next = r->retired;
	r->retired = old;
	reap(r);
}

/* A new current channel asking the servers in this order. */
static int switch_channel(struct resolver *r, const struct server *order, bool superseded)
{
	struct channel *c;
	int st;

	st = channel_open(r, order, r->n_servers, &c);
	if (st != ARES_SUCCESS) {
		log_warnx("resolver: c-ares: %s", ares_strerror(st));
		return -1;
	}
	memcpy(r->order, order, r->n_servers * sizeof(*order));
	install(r, c, superseded);
	return 0;
}

/* The server behind socket fd answered a query that timed out on the
 * servers before it: ask it first from now on, and the ones passed over
 * again after RESOLVER_REPROBE_MS. c-ares 1.18.1 remembers nothing of the
 * kind, so without this every query pays the dead server's timeout. */
static void promote(struct resolver *r, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct server s, *order;
	char a[KVF_ADDRSTRLEN], b[KVF_ADDRSTRLEN];
	size_t i, k;

	memset(&s, 0, sizeof(s));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		s.addr.family = AF_INET;
		memcpy(s.addr.bytes, &sin->sin_addr, 4);
		s.port = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		s.addr.family = AF_INET6;
		memcpy(s.addr.bytes, &sin6->sin6_addr, 16);
		s.port = ntohs(sin6->sin6_port);
	} else {
		return;
	}
	for (k = 0; k < r->n_servers && !server_eq(&r->order[k], &s); k++)
		;
	if (k == 0 || k == r->n_servers)
		return;		/* already first, or not one of ours */
	order = xcalloc(r->n_servers, sizeof(*order));
	order[0] = r->order[k];
	for (i = 0; i < k; i++)
		order[i + 1] = r->order[i];
	for (i = k + 1; i < r->n_servers; i++)
		order[i] = r->order[i];
	log_warnx("resolver: name server %s did not answer in time and %s did: asking %s "
		  "first, %s again in %d s", addr_format(&r->order[0].addr, a, sizeof(a)),
		  addr_format(&s.addr, b, sizeof(b)), b, a, RESOLVER_REPROBE_MS / 1000);
	if (switch_channel(r, order, false) == 0)
		r->reprobe_at = mono_ms() + RESOLVER_REPROBE_MS;
	free(order);
}

/* The servers a config names, in its order; for resolver system those of
 * resolv.conf, read by a fresh channel (returned in *probe for reuse). */
static int config_servers(const struct config *cfg, struct resolver *r,
			  struct server **out, size_t *n, struct channel **probe)
{
	size_t i;
	int st;

	*probe = NULL;
	if (cfg->resolver_system || cfg->n_resolvers == 0) {
		st = channel_open(r, NULL, 0, probe);
		if (st == ARES_SUCCESS)
			st = channel_servers(*probe, out, n);
		if (st != ARES_SUCCESS && *probe) {
			ares_destroy((*probe)->ch);
			free(*probe);
			*probe = NULL;
		}
		return st;
	}
	*out = xcalloc(cfg->n_resolvers, sizeof(**out));
	for (i = 0; i < cfg->n_resolvers; i++) {
		(*out)[i].addr = cfg->resolvers[i];
		(*out)[i].port = 53;
	}
	*n = cfg->n_resolvers;
	return ARES_SUCCESS;
}

/* Take the servers of cfg: 1 if they changed (a new channel asks them,
 * the old one finishes its queries), 0 if not, -1 with err filled (then
 * nothing changed). */
static int configure(struct resolver *r, const struct config *cfg, char *err, size_t errlen)
{
	struct channel *probe, *c, *old;
	struct server *v;
	size_t n;
	int st;

	st = config_servers(cfg, r, &v, &n, &probe);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return -1;
	}
	if (r->cur && servers_eq(v, n, r->servers, r->n_servers)) {
		if (probe) {
			ares_destroy(probe->ch);
			free(probe);
		}
		free(v);
		r->system = cfg->resolver_system || cfg->n_resolvers == 0;
		return 0;
	}
	c = probe;
	if (!c) {
		st = channel_open(r, v, n, &c);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: setting servers: %s", ares_strerror(st));
			free(v);
			return -1;
		}
	}
	free(r->servers);
	free(r->order);
	r->servers = v;
	r->n_servers = n;
	r->order = xcalloc(n ? n : 1, sizeof(*r->order));
	memcpy(r->order, v, n * sizeof(*v));
	r->reprobe_at = 0;
	r->system = cfg->resolver_system || cfg->n_resolvers == 0;
	r->generation++;
	/* The old servers may be dead (that is often why the file changed):
	 * their queries end now and are asked of the new ones (ask_again)
	 * rather than wait out their timeouts. The old channel is reaped only
	 * after that. */
	old = r->cur;
	r->in_ares++;
	install(r, c, true);
	if (old)
		ares_cancel(old->ch);
	r->in_ares--;
	reap(r);
	return 1;
}

static void watch_close(struct resolver *r)
{
	if (r->ifd < 0)
		return;
	fd_track(r, NULL, r->ifd, false, false);
	close(r->ifd);
	r->ifd = r->wd_dir = r->wd_target = -1;
	free(r->target);
	r->target = NULL;
}

/* Watch the directory of resolv.conf, and of its target when it is a
 * symlink (systemd-resolved, NetworkManager), for the file being written
 * and closed or renamed into place: DHCP clients, NetworkManager and
 * cloud-init do one or the other. */
static void watch_open(struct resolver *r)
{
	char *dir, *target;

	watch_close(r);
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd < 0) {
		log_warn("inotify: %s is read at reload only", RESOLV_CONF);
		return;
	}
	dir = xstrdup(RESOLV_CONF);
	r->wd_dir = inotify_add_watch(r->ifd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO);
	if (r->wd_dir < 0)
		log_warn("inotify: %s: %s is read at reload only", dir, RESOLV_CONF);
	free(dir);
	target = realpath(RESOLV_CONF, NULL);
	if (target && strcmp(target, RESOLV_CONF) != 0) {
		r->target = target;
		dir = xstrdup(target);
		r->wd_target = inotify_add_watch(r->ifd, dirname(dir),
						 IN_CLOSE_WRITE | IN_MOVED_TO);
		free(dir);
	} else {
		free(target);
	}
	fd_track(r, NULL, r->ifd, true, false);
}

static bool names(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');

	return strcmp(base ? base + 1 : path, name) == 0;
}

/* Is this event about resolv.conf (or the file it points to)? */
static bool event_matters(const struct resolver *r, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return true;
	if (!ev->len)
		return false;
	if (ev->wd == r->wd_dir && names(RESOLV_CONF, ev->name))
		return true;
	return ev->wd == r->wd_target && r->target && names(r->target, ev->name);
}

static void reread_resolv_conf(struct resolver *r)
{
	struct config cfg;
	char err[KVF_ERRLEN], was[512], now[512];
	struct server *old;
	size_t n_old;
	int st;

	memset(&cfg, 0, sizeof(cfg));
	cfg.resolver_system = true;
	old = xcalloc(r->n_servers ? r->n_servers : 1, sizeof(*old));
	memcpy(old, r->servers, r->n_servers * sizeof(*old));
	n_old = r->n_servers;
	st = configure(r, &cfg, err, sizeof(err));
	if (st < 0)
		log_warnx("resolver: %s changed but cannot be read (%s); keeping the name "
			  "servers %s", RESOLV_CONF, err, servers_text(old, n_old, was, sizeof(was)));
	else if (st > 0)
		log_info("resolver: %s changed: name servers %s (were %s)", RESOLV_CONF,
			 servers_text(r->servers, r->n_servers, now, sizeof(now)),
			 servers_text(old, n_old, was, sizeof(was)));
	free(old);
}

static void watch_read(struct resolver *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool changed = false;
	ssize_t n;
	char *p;

	while ((n = read(r->ifd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			changed |= event_matters(r, ev);
		}
	if (!changed || !r->system)
		return;
	/* The symlink may point elsewhere now. */
	watch_open(r);
	reread_resolv_conf(r);
	after_ares(r);
}

void resolver_watch_resolv_conf(struct resolver *r, bool on)
{
	r->watching = on;
	if (on && r->system && r->ifd < 0)
		watch_open(r);
	else if ((!on || !r->system) && r->ifd >= 0)
		watch_close(r);
}

int resolver_configure(struct resolver *r, const struct config *cfg, char *err, size_t errlen)
{
	int st = configure(r, cfg, err, errlen);

	if (st >= 0)
		resolver_watch_resolv_conf(r, r->watching);
	if (!r->in_ares)
		after_ares(r);
	return st;
}

unsigned resolver_generation(const struct resolver *r)
{
	return r->generation;
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
	r->answer_fd = r->ifd = r->wd_dir = r->wd_target = -1;
	if (configure(r, cfg, err, errlen) < 0) {
		free(r);
		ares_library_cleanup();
		return -1;
	}
	*out = r;
	return 0;
}

/* Hosts still queued or in flight are dropped without a callback: the
 * owner is going away, and their answers would be for a world it left. */
void resolver_free(struct resolver *r)
{
	struct channel *c;

	if (!r)
		return;
	r->destroying = true;
	watch_close(r);
	/* ares_destroy() answers in-flight calls with EDESTRUCTION. */
	while ((c = r->retired)) {
		r->retired = c->next;
		ares_destroy(c->ch);
		free(c);
	}
	ares_destroy(r->cur->ch);
	free(r->cur);
	while (r->head)
		lookup_free(dequeue(r));
	while (r->spare) {
		struct lookup *l = r->spare;

		r->spare = l->next;
		result_free(&l->res);
		free(l);
	}
	free(r->servers);
	free(r->order);
	free(r->fds);
	free(r);
	ares_library_cleanup();
}
