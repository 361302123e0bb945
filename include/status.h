/* kvfence: what the running agent holds, for people and for monitoring:
 * status.json (read back by `kvfence status`) and a Prometheus textfile.
 * Both are written atomically (temporary file, rename). */
#ifndef KVF_STATUS_H
#define KVF_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "engine.h"

struct status_summary {
	int64_t now;			/* wall clock, seconds */
	int64_t clock;			/* clock_now() at the same instant */
	int64_t started;
	int64_t last_reconcile;		/* wall clock of the last good one; 0: none */
	double reconcile_seconds;	/* its duration */
	uint64_t reconciles;
	uint64_t resolve_failures;	/* since start */
	uint64_t refills;		/* reconciles after a foreign change that wrote elements back */
	const int64_t *next_refresh;	/* per host, wall clock seconds */
};

/* status.json's format: raised when a field changes meaning or goes
 * away (adding a field does not raise it). */
#define STATUS_FORMAT 1

int status_write_json(const char *path, const struct engine *e,
		      const struct status_summary *sum);
int status_write_metrics(const char *path, const struct engine *e,
			 const struct status_summary *sum);

/* The pid of the agent that wrote path: 0, or -errno / -EINVAL. */
int status_read_pid(const char *path, long *pid);

/* `kvfence status`: print path as a table (or verbatim when json).
 * 0, or -errno (-ENOENT: no agent has written it). */
int status_print(const char *path, bool json, FILE *out);

#endif
