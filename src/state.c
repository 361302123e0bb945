/* kvfence: the state file. Per host the addresses held and when an answer
 * last named each, so that a restart, or a boot before DNS is reachable,
 * fills the sets at once. Plain text, one record per line:
 *
 *	# kvfence state v1
 *	host contoso-prod.vault.azure.net ttl 60 answer 1764400000
 *	addr 192.0.2.10 1764400000 current
 *	addr 192.0.2.9 1764399000 grace
 *	end
 *
 * "current": named by the host's latest answer; "grace": no longer named,
 * held for grace. The end record tells a whole file from a cut one. */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrfilter.h"
#include "config.h"
#include "state.h"
#include "util.h"

#define STATE_MAGIC	"# kvfence state v1"
#define STATE_MAGIC_ANY	"# kvfence state v"
/* The longest valid line is a host line of a 127-character name. */
#define STATE_LINE_MAX	512
#define STATE_WORDS_MAX	8

static void save_host(FILE *f, const char *name, const struct host_state *h)
{
	char a[KVF_ADDRSTRLEN];
	size_t j;

	fprintf(f, "host %s ttl %u answer %" PRId64 "\n", name, h->ttl, h->last_answer);
	for (j = 0; j < h->n_addrs; j++)
		fprintf(f, "addr %s %" PRId64 " %s\n",
			addr_format(&h->addrs[j].addr, a, sizeof(a)),
			h->addrs[j].last_seen, h->addrs[j].current ? "current" : "grace");
}

int state_save(const char *path, const struct endpoint_list *eps,
	       const struct host_state *hs)
{
	struct afile af;
	size_t i;
	int r;

	/* Addresses and host names are no secret, but nobody else writes
	 * this file, nor needs to read it. */
	r = afile_open(&af, path, 0600);
	if (r < 0)
		return r;
	fprintf(af.f, "%s\n", STATE_MAGIC);
	for (i = 0; i < eps->n; i++) {
		if (hs[i].n_addrs == 0 && hs[i].last_answer == 0)
			continue;
		/* A name the loader would refuse would cost the whole file. */
		if (config_check_hostname(eps->v[i].name))
			continue;
		save_host(af.f, eps->v[i].name, &hs[i]);
	}
	fprintf(af.f, "end\n");
	return afile_commit(&af);
}

struct loader {
	const char *path;
	unsigned line;
	const struct endpoint_list *eps;
	struct host_state *tmp;	/* one per eps entry; applied on success */
	bool in_host;		/* a host line was read */
	long host;		/* its index in eps; -1: not configured */
	bool ended;		/* the end record was read */
	int64_t now, oldest;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3))) lerr(struct loader *l, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s", l->path, l->line, why);
	return -EINVAL;
}

/* Plain decimal, no sign, no spaces: strtoll would take " +7". */
static int parse_i64(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static int load_host(struct loader *l, char **w, int n)
{
	int64_t ttl, answer;
	const char *why;

	if (n != 6 || strcmp(w[2], "ttl") != 0 || strcmp(w[4], "answer") != 0)
		return lerr(l, "expected \"host NAME ttl SECONDS answer TIME\"");
	if ((why = config_check_hostname(w[1])))
		return lerr(l, "host name \"%.128s\" %s", w[1], why);
	if (parse_i64(w[3], UINT32_MAX, &ttl) < 0)
		return lerr(l, "bad ttl \"%.32s\"", w[3]);
	if (parse_i64(w[5], INT64_MAX, &answer) < 0)
		return lerr(l, "bad answer time \"%.32s\"", w[5]);
	l->in_host = true;
	l->host = catalogue_find(l->eps, w[1]);
	if (l->host >= 0) {
		/* A repeated host merges; its last line sets ttl and answer. */
		l->tmp[l->host].ttl = (unsigned)ttl;
		l->tmp[l->host].last_answer = answer;
	}
	return 0;
}

/* Only addresses that once passed the filter can be in the file; one
 * that never could is damage (or tampering), not something to let in. */
static int check_addr(struct loader *l, const char *text, struct kvf_addr *a)
{
	enum addr_class c;

	if (addr_parse(text, a) < 0)
		return lerr(l, "bad address \"%.64s\"", text);
	c = addrfilter_classify(a);
	if (c != ADDR_PUBLIC && c != ADDR_PRIVATE)
		return lerr(l, "address %s is never let in (%s)", text,
			    addrfilter_class_name(c));
	return 0;
}

static int load_addr(struct loader *l, char **w, int n)
{
	struct kvf_addr a;
	int64_t seen;
	bool current;
	int r;

	if (!l->in_host)
		return lerr(l, "address before any host line");
	if (n != 4 || (strcmp(w[3], "current") != 0 && strcmp(w[3], "grace") != 0))
		return lerr(l, "expected \"addr ADDRESS TIME current|grace\"");
	if ((r = check_addr(l, w[1], &a)) < 0)
		return r;
	if (parse_i64(w[2], INT64_MAX, &seen) < 0)
		return lerr(l, "bad time \"%.32s\"", w[2]);
	current = strcmp(w[3], "current") == 0;
	/* Before NTP the clock may lag the file: never let a time from the
	 * future stretch grace or max-stale. */
	if (seen > l->now)
		seen = l->now;
	/* What the latest answer named stays until an answer says otherwise
	 * (fail-static); the rest had only grace left, as in a running agent. */
	if (l->host >= 0 && (current || seen >= l->oldest))
		desired_seed(&l->tmp[l->host], &a, seen);
	return 0;
}

static int split(char *line, char **w)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == STATE_WORDS_MAX)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int load_magic(struct loader *l, const char *line)
{
	if (strcmp(line, STATE_MAGIC) == 0)
		return 0;
	if (strncmp(line, STATE_MAGIC_ANY, strlen(STATE_MAGIC_ANY)) == 0)
		return lerr(l, "unsupported state file version (this kvfence reads v1)");
	return lerr(l, "not a kvfence state file (no \"%s\" header)", STATE_MAGIC);
}

static int load_line(struct loader *l, char *line)
{
	char *w[STATE_WORDS_MAX];
	int n;

	if (l->line == 1)
		return load_magic(l, line);
	n = split(line, w);
	if (n < 0)
		return lerr(l, "too many fields");
	if (n == 0 || w[0][0] == '#')
		return 0;
	if (l->ended)
		return lerr(l, "data after the end record");
	if (strcmp(w[0], "host") == 0)
		return load_host(l, w, n);
	if (strcmp(w[0], "addr") == 0)
		return load_addr(l, w, n);
	if (strcmp(w[0], "end") == 0) {
		l->ended = true;
		return n == 1 ? 0 : lerr(l, "expected \"end\"");
	}
	return lerr(l, "unknown record \"%.32s\"", w[0]);
}

/* Read one line into buf without its newline. 1: a line; 0: end of
 * file; <0: error (a line too long, or the last one cut short). */
static int read_line(struct loader *l, FILE *f, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, f))
		return ferror(f) ? -EIO : 0;
	l->line++;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		return 1;
	}
	if (n == len - 1)
		return lerr(l, "line too long");
	/* A NUL byte also ends fgets' count early: damage either way. */
	return lerr(l, "truncated line");
}

static int load_file(struct loader *l, FILE *f)
{
	char buf[STATE_LINE_MAX];
	int r;

	while ((r = read_line(l, f, buf, sizeof(buf))) > 0)
		if ((r = load_line(l, buf)) < 0)
			return r;
	if (r == -EIO)
		snprintf(l->err, l->errlen, "%s: %s", l->path, strerror(EIO));
	if (r < 0)
		return r;
	if (l->line == 0) {
		l->line = 1;
		return lerr(l, "empty file");
	}
	if (!l->ended)
		return lerr(l, "truncated: no end record");
	return 0;
}

static void apply(const struct endpoint_list *eps, struct host_state *hs,
		  const struct host_state *tmp)
{
	size_t i, j;

	for (i = 0; i < eps->n; i++) {
		for (j = 0; j < tmp[i].n_addrs; j++)
			desired_seed(&hs[i], &tmp[i].addrs[j].addr, tmp[i].addrs[j].last_seen);
		if (tmp[i].last_answer) {
			hs[i].ttl = tmp[i].ttl;
			hs[i].last_answer = tmp[i].last_answer;
		}
	}
}

/* Seeds go to a scratch copy first: a damaged file seeds nothing rather
 * than the half before the damage. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, int64_t now, unsigned grace,
	       char *err, size_t errlen)
{
	struct loader l = {
		.path = path, .eps = eps, .host = -1, .now = now,
		.oldest = now - (int64_t)grace, .err = err, .errlen = errlen,
	};
	size_t i;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	l.tmp = xcalloc(eps->n ? eps->n : 1, sizeof(*l.tmp));
	r = load_file(&l, f);
	fclose(f);
	if (r == 0)
		apply(eps, hs, l.tmp);
	for (i = 0; i < eps->n; i++)
		host_state_free(&l.tmp[i]);
	free(l.tmp);
	return r;
}
