/* kvfence: allocation that never returns NULL (out of memory is fatal),
 * and small string helpers shared by all modules. */
#ifndef KVF_UTIL_H
#define KVF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p, from an allocator that returns NULL when out of memory (libnftnl's):
 * fatal then, as in xmalloc. */
void *xcheck_alloc(void *p);

/* Grow *arr (of element size elsz) so that it holds at least need elements;
 * capacity doubles. */
void array_reserve(void *arrp, size_t *cap, size_t need, size_t elsz);
/* The same, growing to exactly need: for arrays whose final size is
 * known, where doubling would leave up to half of them unused. */
void array_reserve_exact(void *arrp, size_t *cap, size_t need, size_t elsz);

bool str_endswith(const char *s, const char *suffix);
/* The first len bytes of s, ASCII upper case lowered (the C locale's
 * tolower; DNS names fold only ASCII), into d, then a NUL; d may be s. */
void ascii_lower(char *d, const char *s, size_t len);

/* FNV-1a of n bytes, continuing from h (the basis to start; a seed
 * mixed into it keeps outsiders from aiming collisions). */
#define FNV1A32_BASIS 2166136261u
#define FNV1A64_BASIS 0xcbf29ce484222325ULL
uint32_t fnv1a32(uint32_t h, const void *p, size_t n);
uint64_t fnv1a64(uint64_t h, const void *p, size_t n);

#endif
