/* kvfence: the desired state. Per host, every address held and when a
 * definite answer last named it; from that, the elements of each set.
 * Fail-static lives here: only a definite answer (addresses, NODATA,
 * NXDOMAIN) can age an address out, and then only after grace. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "desired.h"
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
static bool hold(struct host_state *h, const struct kvf_addr *a, int64_t seen)
{
	bool found;
	long i = find_addr(h, a, &found);

	if (found) {
		if (seen > h->addrs[i].last_seen)
			h->addrs[i].last_seen = seen;
		return false;
	}
	array_reserve(&h->addrs, &h->cap_addrs, h->n_addrs + 1, sizeof(*h->addrs));
	memmove(&h->addrs[i + 1], &h->addrs[i], (h->n_addrs - (size_t)i) * sizeof(*h->addrs));
	h->addrs[i].addr = *a;
	h->addrs[i].last_seen = seen;
	h->n_addrs++;
	return true;
}

void desired_seed(struct host_state *h, const struct kvf_addr *a, int64_t last_seen)
{
	hold(h, a, last_seen);
}

/* Drop addresses of family that pass the test; returns how many. */
static size_t drop_if(struct host_state *h, int family, int64_t before)
{
	size_t i, w = 0, n = h->n_addrs;

	for (i = 0; i < n; i++) {
		if ((family == AF_UNSPEC || h->addrs[i].addr.family == family) &&
		    h->addrs[i].last_seen < before)
			continue;
		h->addrs[w++] = h->addrs[i];
	}
	h->n_addrs = w;
	return n - w;
}

size_t desired_update(struct host_state *h, const struct host_result *res,
		      const struct filtered *f, int64_t now, unsigned grace)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	enum resolve_status st[2] = { res->status4, res->status6 };
	size_t changed = 0, i;
	int k;

	h->last4 = res->status4;
	h->last6 = res->status6;
	for (k = 0; k < 2; k++) {
		if (!resolve_status_definite(st[k]))
			continue;
		for (i = 0; i < f->n_addrs; i++)
			if (f->addrs[i].family == families[k])
				changed += hold(h, &f->addrs[i], now);
		changed += drop_if(h, families[k], now - (int64_t)grace);
	}
	if (resolve_status_definite(res->status4) && resolve_status_definite(res->status6)) {
		h->failures = 0;
		h->last_answer = now;
		h->ttl = res->ttl;
	} else {
		h->failures++;
	}
	return changed;
}

size_t desired_expire_stale(struct host_state *h, int64_t now, unsigned max_stale)
{
	if (max_stale == 0)
		return 0;
	return drop_if(h, AF_UNSPEC, now - (int64_t)max_stale);
}

void desired_elements(const struct endpoint_list *eps, const struct host_state *hs,
		      enum set_keytype key, struct elem_list *out)
{
	int family = keytype_family(key);
	size_t i, j;
	unsigned p;

	for (i = 0; i < eps->n; i++) {
		const struct endpoint *e = &eps->v[i];

		for (j = 0; j < hs[i].n_addrs; j++) {
			struct elem el = {
				.addr = hs[i].addrs[j].addr,
				.comment = e->name,
			};

			if (el.addr.family != family)
				continue;
			if (!keytype_has_port(key)) {
				elem_list_push(out, &el);
				continue;
			}
			for (p = 0; p < e->n_ports; p++) {
				el.port = e->ports[p];
				elem_list_push(out, &el);
			}
		}
	}
	elem_list_sort_unique(out);
}

void host_state_free(struct host_state *h)
{
	free(h->addrs);
	memset(h, 0, sizeof(*h));
}
