/* kvfence: `kvfence run`, the resident agent: one thread, one epoll loop
 * over a timerfd, a signalfd, the c-ares sockets, and the nftables
 * monitor socket. */
#ifndef KVF_AGENT_H
#define KVF_AGENT_H

#include <stdbool.h>

/* Runs until SIGTERM or SIGINT; returns a sysexits code. */
int agent_run(const char *conf_path, bool foreground, int verbose);

#endif
