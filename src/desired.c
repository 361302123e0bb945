/* kvfence: the desired state. Per host, every address held and when a
 * definite answer last named it; from that, the elements of each set.
 * Fail-static lives here: only a definite answer (addresses, NODATA,
 * NXDOMAIN) can age an address out, and then only after grace. */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "log.h"
#include "util.h"

static long find_addr(const struct host_state *h, const struct kvf_addr *a, bool *found)
{
	size_t lo = 0, hi = h->n_addrs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = addr_cmp(&h->addrs[mid].addr, a);

		if (c == 0) {
			*found = true;
			return (long)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return (long)lo;
}

/* Insert or refresh a; returns true if it was new. */
static bool hold(struct host_state *h, const struct kvf_addr *a, int64_t seen, bool current)
{
	bool found;
	long i = find_addr(h, a, &found);

	if (found) {
		if (seen > h->addrs[i].last_seen)
			h->addrs[i].last_seen = seen;
		h->addrs[i].current |= current;
		return false;
	}
	array_reserve(&h->addrs, &h->cap_addrs, h->n_addrs + 1, sizeof(*h->addrs));
	memmove(&h->addrs[i + 1], &h->addrs[i], (h->n_addrs - (size_t)i) * sizeof(*h->addrs));
	h->addrs[i].addr = *a;
	h->addrs[i].last_seen = seen;
	h->addrs[i].current = current;
	h->n_addrs++;
	return true;
}

void desired_seed(struct host_state *h, const struct kvf_addr *a, int64_t last_seen)
{
	hold(h, a, last_seen, false);
}

void desired_hold(struct host_state *h, const struct kvf_addr *a, int64_t last_seen,
		  bool current)
{
	hold(h, a, last_seen, current);
}

size_t desired_keep_only(struct host_state *h, const struct kvf_addr *keep, size_t n)
{
	size_t i, j = 0, w = 0, before = h->n_addrs;

	/* Both sorted by address: one merge walk. */
	for (i = 0; i < h->n_addrs; i++) {
		while (j < n && addr_cmp(&keep[j], &h->addrs[i].addr) < 0)
			j++;
		if (j < n && addr_cmp(&keep[j], &h->addrs[i].addr) == 0)
			h->addrs[w++] = h->addrs[i];
	}
	h->n_addrs = w;
	return before - w;
}

/* Rank for the cap: current before not, then newer before older. */
static bool ranks_before(const struct seen_addr *x, const struct seen_addr *y)
{
	if (x->current != y->current)
		return x->current;
	return x->last_seen > y->last_seen;
}

static size_t cap_family(struct host_state *h, int family, unsigned max)
{
	size_t i, j, n = 0, w = 0, dropped = 0;
	bool *drop;

	for (i = 0; i < h->n_addrs; i++)
		n += h->addrs[i].addr.family == family;
	if (n <= max)
		return 0;
	/* Drop an address if max others of its family rank before it (ties
	 * by position). Quadratic, but only past the cap, which is at most
	 * 4096 and met only by a state file or a config change. */
	drop = xcalloc(h->n_addrs, sizeof(*drop));
	for (i = 0; i < h->n_addrs; i++) {
		size_t better = 0;

		if (h->addrs[i].addr.family != family)
			continue;
		for (j = 0; j < h->n_addrs; j++)
			if (j != i && h->addrs[j].addr.family == family &&
			    (ranks_before(&h->addrs[j], &h->addrs[i]) ||
			     (j < i && !ranks_before(&h->addrs[i], &h->addrs[j]))))
				better++;
		drop[i] = better >= max;
	}
	for (i = 0; i < h->n_addrs; i++) {
		if (drop[i]) {
			dropped++;
			continue;
		}
		h->addrs[w++] = h->addrs[i];
	}
	h->n_addrs = w;
	free(drop);
	return dropped;
}

size_t desired_cap(struct host_state *h, unsigned max)
{
	return cap_family(h, AF_INET, max) + cap_family(h, AF_INET6, max);
}

/* Drop addresses of family (AF_UNSPEC: any) last seen before "before",
 * sparing current ones unless all is set; returns how many. */
static size_t drop_old(struct host_state *h, int family, int64_t before, bool all)
{
	size_t i, w = 0, n = h->n_addrs;

	for (i = 0; i < n; i++) {
		const struct seen_addr *s = &h->addrs[i];

		if ((family == AF_UNSPEC || s->addr.family == family) &&
		    (all || !s->current) && s->last_seen < before)
			continue;
		h->addrs[w++] = h->addrs[i];
	}
	h->n_addrs = w;
	return n - w;
}

/* Exactly what may be needed: doubling from 8 would cost a 10k-host
 * agent a third of its heap. */
static void reserve_exact(struct host_state *h, size_t need)
{
	array_reserve_exact(&h->addrs, &h->cap_addrs, need, sizeof(*h->addrs));
}

/* Before when an address not in the answer leaves: grace seconds after
 * it was last seen. The clock counts seconds, so at grace none an
 * address seen earlier in the same second would stay until the next
 * one: none removes it at once. */
static int64_t grace_before(int64_t now, unsigned grace)
{
	return grace ? now - (int64_t)grace : INT64_MAX;
}

static void forget_current(struct host_state *h, int family)
{
	size_t i;

	for (i = 0; i < h->n_addrs; i++)
		if (h->addrs[i].addr.family == family)
			h->addrs[i].current = false;
}

size_t desired_update(struct host_state *h, const struct host_result *res,
		      const struct filtered *f, int64_t now, unsigned grace)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	enum resolve_status st[2] = { res->status4, res->status6 };
	bool *definite[2] = { &h->definite4, &h->definite6 };
	size_t changed = 0, i;
	int k;

	h->last4 = res->status4;
	h->last6 = res->status6;
	/* Once for both families: room for every answered address beside
	 * those held (reserving per family would count the first family's
	 * new addresses twice). */
	reserve_exact(h, h->n_addrs + f->n_addrs);
	for (k = 0; k < 2; k++) {
		*definite[k] = resolve_status_definite(st[k]);
		if (!*definite[k])
			continue;
		forget_current(h, families[k]);
		for (i = 0; i < f->n_addrs; i++)
			if (f->addrs[i].family == families[k])
				changed += hold(h, &f->addrs[i], now, true);
		changed += drop_old(h, families[k], grace_before(now, grace), false);
	}
	if (h->definite4 && h->definite6) {
		h->failures = 0;
		h->failing_since = 0;
		h->last_answer = now;
		h->ttl = res->ttl;
	} else {
		if (h->failures++ == 0)
			h->failing_since = now;
	}
	return changed;
}

size_t desired_update_family(struct host_state *h, int family, enum resolve_status st,
			     const struct filtered *f, int64_t now, unsigned grace)
{
	size_t changed = 0, i;

	if (!resolve_status_definite(st))
		return 0;
	*(family == AF_INET ? &h->definite4 : &h->definite6) = true;
	reserve_exact(h, h->n_addrs + f->n_addrs);
	forget_current(h, family);
	for (i = 0; i < f->n_addrs; i++)
		if (f->addrs[i].family == family)
			changed += hold(h, &f->addrs[i], now, true);
	return changed + drop_old(h, family, grace_before(now, grace), false);
}

size_t desired_expire(struct host_state *h, int64_t now, unsigned grace)
{
	size_t n = 0;

	if (h->definite4)
		n += drop_old(h, AF_INET, grace_before(now, grace), false);
	if (h->definite6)
		n += drop_old(h, AF_INET6, grace_before(now, grace), false);
	return n;
}

int64_t desired_next_expiry(const struct host_state *h, unsigned grace, unsigned max_stale)
{
	int64_t next = INT64_MAX;
	size_t i;

	for (i = 0; i < h->n_addrs; i++) {
		const struct seen_addr *s = &h->addrs[i];
		bool definite = s->addr.family == AF_INET ? h->definite4 : h->definite6;

		/* Dropped once last_seen < now - grace, i.e. one second on. */
		if (definite && !s->current && s->last_seen + (int64_t)grace + 1 < next)
			next = s->last_seen + (int64_t)grace + 1;
		if (max_stale && s->last_seen + (int64_t)max_stale + 1 < next)
			next = s->last_seen + (int64_t)max_stale + 1;
	}
	return next;
}

size_t desired_expire_stale(struct host_state *h, int64_t now, unsigned max_stale)
{
	if (max_stale == 0)
		return 0;
	return drop_old(h, AF_UNSPEC, now - (int64_t)max_stale, true);
}

/* Keys seen while desired_elements builds its list: open addressing over
 * indices into the list (0: empty slot, else index + 1). Hosts that share
 * addresses (every vault of a region behind the same front ends) then
 * cost one element per key, and the sort sees only distinct keys. */
struct key_index {
	uint32_t *slot;
	size_t mask;
};

/* The address a 32-bit word at a time, the port first: a multiplicative
 * mix is enough for keys that differ in a few bits. */
static uint32_t key_hash(const struct elem *e)
{
	size_t k, len = addr_len(&e->addr);
	uint64_t h = e->port;
	uint32_t w;

	for (k = 0; k < len; k += 4) {
		memcpy(&w, e->addr.bytes + k, 4);
		h = (h ^ w) * 0x9e3779b97f4a7c15u;
	}
	return (uint32_t)(h >> 32);
}

/* e is pushed unless out holds its key already. */
static void push_new_key(struct key_index *x, struct elem_list *out, const struct elem *e)
{
	size_t i;

	for (i = key_hash(e) & x->mask; x->slot[i]; i = (i + 1) & x->mask)
		if (elem_key_cmp(&out->v[x->slot[i] - 1], e) == 0)
			return;
	elem_list_push(out, e);
	x->slot[i] = (uint32_t)out->n;
}

void desired_elements(const struct endpoint_list *eps, const struct host_state *hs,
		      enum set_keytype key, struct elem_list *out)
{
	int family = keytype_family(key);
	bool ports = keytype_has_port(key);
	struct key_index x = { 0 };
	size_t i, j, need = out->n, slots = 16;
	unsigned p;

	/* Counted first: the list and the index are made once, for the
	 * most the hosts could ask (at most 2/3 full). */
	for (i = 0; i < eps->n; i++)
		for (j = 0; j < hs[i].n_addrs; j++)
			if (hs[i].addrs[j].addr.family == family)
				need += ports ? eps->v[i].n_ports : 1;
	if (need > UINT32_MAX - 1)
		fatalx("allocation overflow");
	elem_list_reserve(out, need);
	while (slots < need + need / 2)
		slots *= 2;
	x.slot = xcalloc(slots, sizeof(*x.slot));
	x.mask = slots - 1;
	/* What out held goes through the index first, pushed back in
	 * place (the room reserved above: nothing moves). */
	for (i = 0, j = out->n, out->n = 0; i < j; i++)
		push_new_key(&x, out, &out->v[i]);
	for (i = 0; i < eps->n; i++) {
		const struct endpoint *e = &eps->v[i];

		for (j = 0; j < hs[i].n_addrs; j++) {
			struct elem el = {
				.addr = hs[i].addrs[j].addr,
				.comment = e->name,
			};

			if (el.addr.family != family)
				continue;
			for (p = 0; p < (ports ? e->n_ports : 1); p++) {
				el.port = ports ? e->ports[p] : 0;
				push_new_key(&x, out, &el);
			}
		}
	}
	free(x.slot);
	elem_list_sort(out);
}

bool desired_host_wants(const struct endpoint *ep, const struct host_state *h,
			enum set_keytype key, const struct elem *el)
{
	bool found;
	unsigned p;

	if (el->addr.family != keytype_family(key))
		return false;
	find_addr(h, &el->addr, &found);
	if (!found || !keytype_has_port(key))
		return found;
	for (p = 0; p < ep->n_ports; p++)
		if (ep->ports[p] == el->port)
			return true;
	return false;
}

void host_state_free(struct host_state *h)
{
	free(h->addrs);
	memset(h, 0, sizeof(*h));
}
