/* kvfence: files replaced atomically (state, status, metrics), and the
 * directories above them. I/O, so it lives in libkvfio, not in util.c
 * which the pure core links. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "util.h"

#define AFILE_BUF	65536

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
	/* Megabytes go out in 64 KiB writes, not 4 KiB ones. */
	setvbuf(af->f, NULL, _IOFBF, AFILE_BUF);
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

void afile_put(FILE *f, const char *s)
{
	fputs_unlocked(s, f);
}

void afile_put_int(FILE *f, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	fputs_unlocked(p, f);
}
