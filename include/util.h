/* kvfence: allocation that never returns NULL (out of memory is fatal),
 * and small string helpers shared by all modules. */
#ifndef KVF_UTIL_H
#define KVF_UTIL_H

#include <stddef.h>
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

/* Create the missing directories above file: its own directory with
 * mode, the levels above it 0755; existing ones are left as they are.
 * 0 or -errno. */
int mkdir_parents(const char *file, unsigned mode);

/* A file replaced atomically, written as a stream: afile_open creates
 * path.tmp beside path (and the directory, 0755, if missing), the caller
 * writes to .f with stdio, afile_commit flushes, fsyncs, renames over
 * path and fsyncs the directory. A 10k-host status.json (2 MB) goes out
 * through the stdio buffer instead of being held whole in memory. */
struct afile {
	FILE *f;
	char *path, *tmp;
	/* Set before afile_commit: rename without the fsyncs. The file
	 * then survives the process, not the machine. */
	bool nosync;
};

/* 0 or -errno; on success the caller must afile_commit. mode is applied
 * whatever the umask. */
int afile_open(struct afile *af, const char *path, unsigned mode);
/* Publish what was written, or, if anything failed (a write error is
 * kept by stdio until here), remove path.tmp and leave path as it was.
 * Frees af either way. 0 or -errno. */
int afile_commit(struct afile *af);
/* Give up: remove path.tmp, leave path as it was, free af. */
void afile_abort(struct afile *af);

#endif
