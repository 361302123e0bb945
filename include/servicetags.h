/* kvfence: range mode. Microsoft's Service Tags files (weekly JSON, one
 * per cloud) to merged address ranges for interval sets. */
#ifndef KVF_SERVICETAGS_H
#define KVF_SERVICETAGS_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "range.h"

/* Comments of the ranges kvfence writes start with this: for people
 * reading `nft list`. Not ownership (an administrator can write it too):
 * the engine's record decides (engine.h); the prefix only marks what a
 * state file from before range records claims once, and look-alikes. */
#define SERVICETAGS_COMMENT_PREFIX "servicetag "

struct tag_summary {
	char *tag;
	char *file;		/* the file it came from (newest match) */
	char *date;		/* YYYYMMDD from the file name, or "" */
	long long file_change;	/* the file's changeNumber */
	long long tag_change;	/* the tag's own changeNumber */
	size_t n4, n6;		/* prefixes as listed, before merging */
};

struct servicetags {
	struct range_list v4, v6;	/* merged */
	struct tag_summary *tags;
	size_t n_tags;
};

/* Load every service-tags directive of cfg. All or nothing: on error
 * returns -1 with err naming the file (and line, or tag and prefix) and
 * *out is empty. */
int servicetags_load(const struct config *cfg, struct servicetags *out,
		     char *err, size_t errlen);
void servicetags_free(struct servicetags *st);

/* One document from f, as servicetags_load reads each file (a stream:
 * one element of "values" in memory at a time), with cfg's cloud; the
 * prefix counts of tag. 0, or -1 with err. For the fuzzer. */
int servicetags_parse(FILE *f, const struct config *cfg, const char *tag, size_t *n4,
		      size_t *n6, char *err, size_t errlen);

/* The file a service-tags pattern means now: of the matches, the one with
 * the latest YYYYMMDD in its name (then the last in name order). NULL if
 * none; the caller frees. */
char *servicetags_pick(const char *pattern);

#endif
