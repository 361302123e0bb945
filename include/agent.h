/* kvfence: `kvfence run`, the resident agent: one thread, one event loop
 * (loop.h) over a signalfd, the c-ares sockets, the nftables monitor
 * socket and timers; and `kvfence sync`, one pass of the same agent. */
#ifndef KVF_AGENT_H
#define KVF_AGENT_H

#include <stdbool.h>
#include "config.h"

/* Runs until SIGTERM or SIGINT; returns a sysexits code. */
int agent_run(const char *conf_path, bool foreground, int verbose);

/* `kvfence sync`: one pass of the agent. Every host is resolved once and
 * the sets are reconciled once (printed, not written, in a dry run);
 * elements of hosts that failed stay as they are, and when no host
 * answers nothing is written. cfg becomes the agent's (it frees it).
 * Returns a sysexits code. */
int agent_sync(struct config *cfg, bool dry_run);

/* The exit code for a netlink error: EX_NOPERM or EX_UNAVAILABLE. */
int agent_nft_exit(int r);

/* Whether an agent holds the lock beside state_file: 1 yes, 0 no (also
 * when there is no lock file), -errno when that cannot be told. */
int agent_lock_held(const char *state_file);

#endif
