/* kvfence: `kvfence run`, the resident agent: one thread, one epoll loop
 * over a timerfd, a signalfd, the c-ares sockets, and the nftables
 * monitor socket. */
#ifndef KVF_AGENT_H
#define KVF_AGENT_H

#include <stdbool.h>

/* Runs until SIGTERM or SIGINT; returns a sysexits code. */
int agent_run(const char *conf_path, bool foreground, int verbose);

/* Whether an agent holds the lock beside state_file: 1 yes, 0 no (also
 * when there is no lock file), -errno when that cannot be told. */
int agent_lock_held(const char *state_file);

#endif
