/* kvfence: allocation helpers. Out of memory is fatal: a daemon that limps
 * on after a failed allocation is worse than one that restarts. */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

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

bool str_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

int mkdir_parents(const char *file, unsigned mode)
{
	char *dir = xstrdup(file), *p;
	struct stat st;
	int r = 0;

	p = strrchr(dir, '/');
	if (!p || p == dir)
		goto out;
	*p = '\0';
	if (stat(dir, &st) == 0) {
		r = S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		goto out;
	}
	/* Top down: each missing level in turn, the file's own directory
	 * last. chmod, since the umask (UMask=0077 in the unit) must not
	 * decide who may read the status file. */
	for (p = dir + 1; r == 0; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, last ? mode : 0755) == 0) {
			if (chmod(dir, last ? mode : 0755) < 0)
				r = -errno;
		} else if (errno != EEXIST) {
			r = -errno;
		}
		if (last)
			break;
		*p = '/';
	}
out:
	free(dir);
	return r;
}

static int sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd, r = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) < 0)
			r = -errno;
		close(fd);
	}
	free(copy);
	return r;
}

static void afile_free(struct afile *af)
{
	free(af->path);
	free(af->tmp);
	memset(af, 0, sizeof(*af));
}

int afile_open(struct afile *af, const char *path, unsigned mode)
{
	int fd, r;

	memset(af, 0, sizeof(*af));
	af->path = xstrdup(path);
	af->tmp = xasprintf("%s.tmp", path);
	/* Built with the default prefix, /usr/local/var/run may not exist. */
	r = mkdir_parents(path, 0755);
	if (r < 0)
		goto fail;
	fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	/* The umask (UMask=0077 in the unit) must not hide status and
	 * metrics from their readers: the mode is the caller's choice. */
	if (fchmod(fd, mode) < 0 || !(af->f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		unlink(af->tmp);
		goto fail;
	}
	return 0;
fail:
	afile_free(af);
	return r;
}

void afile_abort(struct afile *af)
{
	fclose(af->f);
	unlink(af->tmp);
	afile_free(af);
}

int afile_commit(struct afile *af)
{
	int r = 0;

	if (fflush(af->f) == EOF)
		r = -errno;
	else if (ferror(af->f))
		r = -EIO;	/* an earlier write failed; its errno is gone */
	if (r == 0 && !af->nosync && fsync(fileno(af->f)) < 0)
		r = -errno;
	if (fclose(af->f) == EOF && r == 0)
		r = -errno;
	if (r == 0 && rename(af->tmp, af->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(af->tmp);
	else if (!af->nosync)
		sync_dir(af->path);
	afile_free(af);
	return r;
}
