/* kvfence: reading configuration files for the parser (config.c): the
 * checks a file passes before its text is trusted, include patterns, and
 * the nesting of includes. Each failure is a reason naming the file, as
 * "path: reason", without a location: the parser prefixes file:line. */
#ifndef KVF_CONFFILE_H
#define KVF_CONFFILE_H

#include <glob.h>
#include <stddef.h>

#define CONFFILE_MAX_DEPTH	8
#define CONFFILE_MAX_SIZE	(16u << 20)	/* a config is never this big */

/* The files being read, outermost first, by real path: an include of
 * one of them is a loop. */
struct conffile_stack {
	char *real[CONFFILE_MAX_DEPTH];
	int depth;
};

/* Open path for reading: it must resolve, not be open already (an
 * include loop), not nest deeper than CONFFILE_MAX_DEPTH, and pass the
 * checks of a file that can open the firewall (a regular file, at most
 * CONFFILE_MAX_SIZE, writable by no other user, owned by root or this
 * user). 0 with its text in *buf (*len bytes, caller frees) and path
 * pushed on s, to be left with conffile_leave(); -1 with the reason in
 * msg. */
int conffile_enter(struct conffile_stack *s, const char *path, char **buf, size_t *len,
		   char *msg, size_t msglen);
void conffile_leave(struct conffile_stack *s);

/* The files an include argument names, relative to the directory of
 * the including file from: 0 with the matches in *g (sorted; caller
 * globfree()s), 1 for a pattern that matches nothing (fine: an empty or
 * absent conf.d), -1 with the reason in msg (a plain name that does not
 * exist, a directory that cannot be read). */
int conffile_glob(const char *from, const char *arg, glob_t *g, char *msg, size_t msglen);

#endif
