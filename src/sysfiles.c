/* kvfence: /etc/resolv.conf's name servers and /etc/hosts entries, for
 * the consistency warnings of `kvfence check` (kvfence(8), RESOLVER
 * CONSISTENCY). */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sysfiles.h"
#include "util.h"

#define SYSFILES_MAX_SIZE	(1u << 20)
#define LINE_MAX_WORDS		32

/* Split the line [s, end) into at most max words, comments (# and, in
 * resolv.conf, ;) cut off; the words are copied into buf. */
static int words(const char *s, const char *end, const char *comment, char *buf,
		 size_t buflen, char **w, int max)
{
	size_t o = 0;
	int n = 0;

	while (s < end && n < max) {
		while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s == end || strchr(comment, *s))
			break;
		w[n++] = buf + o;
		while (s < end && *s != ' ' && *s != '\t' && *s != '\r' &&
		       !strchr(comment, *s) && o + 1 < buflen)
			buf[o++] = *s++;
		if (o + 1 >= buflen)
			break;
		buf[o++] = '\0';
	}
	return n;
}

size_t sysfiles_parse_nameservers(const char *buf, size_t len, struct kvf_addr *out,
				  size_t max)
{
	const char *s = buf, *end = buf + len;
	char line[512], *w[2];
	size_t n = 0;

	while (s < end && n < max) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;

		if (words(s, eol, "#;", line, sizeof(line), w, 2) == 2 &&
		    strcmp(w[0], "nameserver") == 0) {
			char *pct = strchr(w[1], '%');

			if (pct)
				*pct = '\0';
			if (addr_parse(w[1], &out[n]) == 0)
				n++;
		}
		s = eol + 1;
	}
	return n;
}

static bool same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	return la == lb && strncasecmp(a, b, lb) == 0;
}

static long find_host(const struct endpoint_list *eps, const char *name)
{
	size_t i;

	for (i = 0; i < eps->n; i++)
		if (same_host(name, eps->v[i].name))
			return (long)i;
	return -1;
}

size_t sysfiles_hosts_hits(const char *buf, size_t len, const struct endpoint_list *eps,
			   struct hosts_hit **out)
{
	const char *s = buf, *end = buf + len;
	char line[4096], *w[LINE_MAX_WORDS];
	unsigned lineno = 0;
	size_t n = 0;

	*out = NULL;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		struct kvf_addr a;
		int k, nw;

		lineno++;
		nw = words(s, eol, "#", line, sizeof(line), w, LINE_MAX_WORDS);
		s = eol + 1;
		if (nw < 2 || addr_parse(w[0], &a) < 0)
			continue;
		for (k = 1; k < nw; k++) {
			long h = find_host(eps, w[k]);

			if (h < 0)
				continue;
			*out = xreallocarray(*out, n + 1, sizeof(**out));
			(*out)[n].line = lineno;
			(*out)[n].addr = a;
			(*out)[n++].host = (size_t)h;
		}
	}
	return n;
}

int sysfiles_read(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return -errno;
	*buf = xmalloc(SYSFILES_MAX_SIZE + 1);
	*len = fread(*buf, 1, SYSFILES_MAX_SIZE, f);
	err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	(*buf)[*len] = '\0';
	return 0;
}
