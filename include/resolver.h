/* kvfence: asynchronous resolution of many hosts at once with c-ares
 * (a bounded number of queries in flight). A and AAAA are asked
 * separately so that each family has its own verdict. The name servers
 * can change under running queries (a reload, resolv.conf rewritten, a
 * dead first server passed over): queries in flight finish where they
 * started, new ones go to the new servers. */
#ifndef KVF_RESOLVER_H
#define KVF_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "result.h"

struct resolver;

/* Called once per resolve() when both families are done. res is only
 * valid during the call. */
typedef void (*resolver_cb)(void *arg, size_t idx, const struct host_result *res);

/* Called when c-ares opens, changes interest in, or closes a socket
 * (readable=writable=false: stop watching fd). */
typedef void (*resolver_fd_hook)(void *arg, int fd, bool readable, bool writable);

/* Servers from cfg (resolver ADDR...) or resolv.conf (resolver system).
 * 0, or -1 with err filled. */
int resolver_new(struct resolver **r, const struct config *cfg,
		 char *err, size_t errlen);
void resolver_free(struct resolver *r);

/* Take the name servers of cfg (a reload). Queries in flight are kept.
 * 1 if the servers changed, 0 if not, -1 with err filled (then nothing
 * changed). */
int resolver_configure(struct resolver *r, const struct config *cfg,
		       char *err, size_t errlen);

/* Follow /etc/resolv.conf while the servers come from it (resolver
 * system): a rewrite in place or by rename takes effect at once, and a
 * lookup that failed on the old servers is asked of the new ones. The
 * watch is one more descriptor handed to the fd hook. */
void resolver_watch_resolv_conf(struct resolver *r, bool on);

/* Bumped whenever the set of name servers changes (not their order). */
unsigned resolver_generation(const struct resolver *r);

void resolver_set_fd_hook(struct resolver *r, resolver_fd_hook hook, void *arg);

/* Queue resolution of name (A and AAAA). At most RESOLVER_MAX_INFLIGHT
 * queries are outstanding; the rest wait in a queue. */
#define RESOLVER_MAX_INFLIGHT 64
void resolver_resolve(struct resolver *r, const char *name,
		      resolver_cb cb, void *arg, size_t idx);

/* Hosts queued or in flight. */
size_t resolver_pending(const struct resolver *r);

/* After the owner renumbered its hosts (a reload): fn returns the new
 * index of each queued or in-flight host, or RESOLVER_DROP for one that is
 * gone, whose answer is then never reported. */
#define RESOLVER_DROP SIZE_MAX
typedef size_t (*resolver_remap_fn)(void *arg, const char *name, size_t old_idx);
void resolver_remap(struct resolver *r, resolver_remap_fn fn, void *arg);

/* Event-loop integration: handle readiness of one descriptor the fd hook
 * named, or the expiry of the timeout resolver_timeout_ms() returned. */
void resolver_process_fd(struct resolver *r, int fd, bool readable, bool writable);
void resolver_process_timeout(struct resolver *r);
/* Milliseconds until c-ares needs resolver_process_timeout(); -1 if idle. */
int resolver_timeout_ms(struct resolver *r);

#endif
