/* kvfence: the state file. Per host the addresses held and when a
 * definite answer last named each, so that a restart, or a boot before
 * DNS is reachable, fills the sets at once. Plain text, one record per
 * line, written atomically. */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "state.h"
#include "util.h"

#define STATE_MAGIC "# kvfence state v1"

int state_save(const char *path, const struct endpoint_list *eps,
	       const struct host_state *hs)
{
	struct strbuf b = { 0 };
	char a[KVF_ADDRSTRLEN];
	size_t i, j;
	int r;

	strbuf_printf(&b, "%s\n", STATE_MAGIC);
	for (i = 0; i < eps->n; i++) {
		if (hs[i].n_addrs == 0 && hs[i].last_answer == 0)
			continue;
		strbuf_printf(&b, "host %s ttl %u answer %" PRId64 "\n", eps->v[i].name, hs[i].ttl,
		       hs[i].last_answer);
		for (j = 0; j < hs[i].n_addrs; j++)
			strbuf_printf(&b, "addr %s %" PRId64 "\n",
			       addr_format(&hs[i].addrs[j].addr, a, sizeof(a)),
			       hs[i].addrs[j].last_seen);
	}
	r = atomic_write(path, b.p, b.len, 0600);
	free(b.p);
	return r;
}

struct loader {
	const char *path;
	unsigned line;
	const struct endpoint_list *eps;
	struct host_state *hs;
	long host;		/* index in eps of the current host; -1: skip */
	bool in_host;
	int64_t oldest;		/* addresses last seen before this are dropped */
	char *err;
	size_t errlen;
};

static int lerr(struct loader *l, const char *why)
{
	snprintf(l->err, l->errlen, "%s:%u: %s", l->path, l->line, why);
	return -EINVAL;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int load_host(struct loader *l, char **w, int n)
{
	int64_t ttl, answer;

	if (n != 6 || strcmp(w[2], "ttl") || strcmp(w[4], "answer") ||
	    parse_i64(w[3], &ttl) || ttl > UINT32_MAX || parse_i64(w[5], &answer))
		return lerr(l, "malformed host line");
	if (config_check_hostname(w[1]))
		return lerr(l, "bad host name");
	l->in_host = true;
	l->host = catalogue_find(l->eps, w[1]);
	if (l->host >= 0) {
		l->hs[l->host].ttl = (unsigned)ttl;
		l->hs[l->host].last_answer = answer;
	}
	return 0;
}

static int load_addr(struct loader *l, char **w, int n)
{
	struct kvf_addr a;
	int64_t seen;

	if (!l->in_host)
		return lerr(l, "address before any host line");
	if (n != 3 || addr_parse(w[1], &a) < 0 || parse_i64(w[2], &seen))
		return lerr(l, "malformed addr line");
	if (l->host >= 0 && seen >= l->oldest)
		desired_seed(&l->hs[l->host], &a, seen);
	return 0;
}

static int load_line(struct loader *l, char *line)
{
	char *w[8], *save = NULL, *tok;
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	if (l->line == 1)
		return strcmp(line, STATE_MAGIC) == 0 ? 0 : lerr(l, "not a kvfence state file (v1)");
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	for (tok = strtok_r(line, " ", &save); tok && n < 8; tok = strtok_r(NULL, " ", &save))
		w[n++] = tok;
	if (n > 0 && strcmp(w[0], "host") == 0)
		return load_host(l, w, n);
	if (n > 0 && strcmp(w[0], "addr") == 0)
		return load_addr(l, w, n);
	return lerr(l, "unknown record");
}

/* Seeds are applied only if the whole file is good: a damaged file
 * gives nothing rather than half. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, int64_t now, unsigned grace,
	       char *err, size_t errlen)
{
	struct host_state *tmp = xcalloc(eps->n ? eps->n : 1, sizeof(*tmp));
	struct loader l = { .path = path, .eps = eps, .hs = tmp, .host = -1,
			    .oldest = now - (int64_t)grace, .err = err, .errlen = errlen };
	char line[512];
	size_t i, j;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		l.line++;
		r = load_line(&l, line);
	}
	if (r == 0 && l.line == 0)
		r = lerr(&l, "empty file");
	fclose(f);
	for (i = 0; r == 0 && i < eps->n; i++) {
		for (j = 0; j < tmp[i].n_addrs; j++)
			desired_seed(&hs[i], &tmp[i].addrs[j].addr, tmp[i].addrs[j].last_seen);
		if (tmp[i].last_answer) {
			hs[i].ttl = tmp[i].ttl;
			hs[i].last_answer = tmp[i].last_answer;
		}
	}
out:
	for (i = 0; i < eps->n; i++)
		host_state_free(&tmp[i]);
	free(tmp);
	return r;
}
