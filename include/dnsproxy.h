/* kvfence: the DNS proxy (`listen`): answers the host's queries over UDP
 * and TCP by forwarding them to the configured resolver, and holds back
 * an answer for a catalogued name until its addresses are in the sets.
 * It lives in the agent's event loop: its sockets are registered there
 * with the agent's callback, which hands them to dnsproxy_handle_fd. */
#ifndef KVF_DNSPROXY_H
#define KVF_DNSPROXY_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "engine.h"
#include "loop.h"

struct dnsproxy;

/* Bounds (see kvfence.conf(5), listen). */
#define DNSPROXY_MAX_PENDING	1024	/* queries forwarded or held, in all */
#define DNSPROXY_MAX_PER_CLIENT	128	/* of one client address */
#define DNSPROXY_MAX_TCP	64	/* TCP connections */
#define DNSPROXY_TCP_IDLE_MS	10000	/* RFC 7766 6.2.3: seconds, not minutes */
#define DNSPROXY_HOLD_MS	1000	/* an answer waits this long for its batch */

/* Open the listeners of cfg->listens and an upstream channel to the
 * configured resolvers, registered in loop with cb and arg. *out is NULL when
 * cfg has no listen. e (the agent's engine, which stays at that address)
 * is read and updated when a catalogued name is answered. 0 or -errno,
 * logged. */
int dnsproxy_open(struct dnsproxy **out, const struct config *cfg, struct engine *e,
		  struct loop *loop, loop_fd_cb cb, void *arg);
/* Every query still waiting gets SERVFAIL; sockets closed. NULL is fine. */
void dnsproxy_close(struct dnsproxy *px);

/* A reload: a proxy for the new config replaces *px; if it cannot be
 * opened (an address taken), the running one stays, and says so. */
void dnsproxy_reload(struct dnsproxy **px, const struct config *cfg, struct engine *e,
		     struct loop *loop, loop_fd_cb cb, void *arg);

/* If fd is one of the proxy's, handle its readiness and return true. */
bool dnsproxy_handle_fd(struct dnsproxy *px, int fd, uint32_t events);

/* Time-driven work (upstream timeouts, answers held too long, idle TCP
 * connections) at now, in the loop's ms (loop_now_ms, CLOCK_BOOTTIME, the
 * clock its own times are taken on); and when it is next due (INT64_MAX:
 * nothing). */
void dnsproxy_tick(struct dnsproxy *px, int64_t now);
int64_t dnsproxy_deadline(struct dnsproxy *px, int64_t now);

#define DNSPROXY_CHANGED	1u	/* the engine's state changed: reconcile */
#define DNSPROXY_WAITING	2u	/* answers wait for a batch: reconcile now */
/* What the agent must do since the last call (the CHANGED bit is
 * cleared by the call). */
unsigned dnsproxy_take_state(struct dnsproxy *px);

/* The agent's batch after the last take_state was acked (ok), or failed:
 * held answers go out, or become SERVFAIL. */
void dnsproxy_batch_done(struct dnsproxy *px, bool ok);

/* Counters, one log line (SIGUSR1). */
void dnsproxy_log_stats(struct dnsproxy *px);

#endif
