/* kvfence: allocation helpers. Out of memory is fatal: a daemon that limps
 * on after a failed allocation is worse than one that restarts. */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "log.h"

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		fatalx("out of memory");
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		fatalx("out of memory");
	return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		fatalx("allocation overflow");
	p = realloc(ptr, (nmemb && size) ? nmemb * size : 1);
	if (!p)
		fatalx("out of memory");
	return p;
}

void *xcheck_alloc(void *p)
{
	if (!p)
		fatalx("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		fatalx("out of memory");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatalx("out of memory");
	return p;
}

void array_reserve(void *arrp, size_t *cap, size_t need, size_t elsz)
{
	void **arr = arrp;
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (n < need)
		n *= 2;
	*arr = xreallocarray(*arr, n, elsz);
	*cap = n;
}

void array_reserve_exact(void *arrp, size_t *cap, size_t need, size_t elsz)
{
	void **arr = arrp;

	if (need <= *cap)
		return;
	*arr = xreallocarray(*arr, need, elsz);
	*cap = need;
}

uint32_t fnv1a32(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

void ascii_lower(char *d, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	d[len] = '\0';
}

bool str_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}
