/* kvfence: asynchronous resolution of many hosts at once with c-ares
 * (one channel, a bounded number of queries in flight). A and AAAA are
 * asked separately so that each family has its own verdict. */
#ifndef KVF_RESOLVER_H
#define KVF_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
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

void resolver_set_fd_hook(struct resolver *r, resolver_fd_hook hook, void *arg);

/* Queue resolution of name (A and AAAA). At most RESOLVER_MAX_INFLIGHT
 * queries are outstanding; the rest wait in a queue. */
#define RESOLVER_MAX_INFLIGHT 64
void resolver_resolve(struct resolver *r, const char *name,
		      resolver_cb cb, void *arg, size_t idx);

/* Hosts queued or in flight. */
size_t resolver_pending(const struct resolver *r);

/* Event-loop integration: handle readiness of one c-ares socket, or the
 * expiry of the timeout resolver_timeout_ms() returned. */
void resolver_process_fd(struct resolver *r, int fd, bool readable, bool writable);
void resolver_process_timeout(struct resolver *r);
/* Milliseconds until c-ares needs resolver_process_timeout(); -1 if idle. */
int resolver_timeout_ms(struct resolver *r);

/* Run a private poll() loop until nothing is pending (the sync command). */
void resolver_wait(struct resolver *r);

/* The pure answer path: turn a c-ares getaddrinfo result for one family
 * into status, addresses, chain and TTL, merged into *res. Exposed for
 * unit tests and fuzzing. */
struct ares_addrinfo;
void resolver_merge_answer(struct host_result *res, int family, int ares_status,
			   const struct ares_addrinfo *ai);

#endif
