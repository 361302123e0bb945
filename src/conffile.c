/* kvfence: reading configuration files (see conffile.h). The parser in
 * config.c sees only text; everything about files is here. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "util.h"

/* A config that someone else may write can open the firewall: refuse it. */
static int check_owner(const char *path, const struct stat *st, char *msg, size_t msglen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(msg, msglen, "%s: not a regular file", path);
		return -1;
	}
	if (st->st_mode & S_IWOTH) {
		snprintf(msg, msglen, "%s: writable by any user (mode %03o); refusing it",
			 path, (unsigned)(st->st_mode & 0777));
		return -1;
	}
	/* Group-writable is as bad when the group holds other users: only
	 * root's group or the process's own group may write. */
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && st->st_gid != getegid()) {
		snprintf(msg, msglen, "%s: writable by group %u (mode %03o), which other users "
			 "may be in; refusing it", path, (unsigned)st->st_gid,
			 (unsigned)(st->st_mode & 0777));
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(msg, msglen, "%s: owned by uid %u, neither root nor this user; refusing it",
			 path, (unsigned)st->st_uid);
		return -1;
	}
	return 0;
}

static int read_file(const char *path, char **buf, size_t *len, char *msg, size_t msglen)
{
	struct stat st;
	FILE *f;
	int fd, ret = -1;

	/* O_NONBLOCK: a FIFO matched by an include glob must be refused
	 * below, not wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fstat(fileno(f), &st) < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (check_owner(path, &st, msg, msglen))
		goto out;
	if ((unsigned long long)st.st_size > CONFFILE_MAX_SIZE) {
		snprintf(msg, msglen, "%s: larger than %u MiB; not a configuration file", path,
			 CONFFILE_MAX_SIZE >> 20);
		goto out;
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		free(*buf);
		goto out;
	}
	ret = 0;
out:
	fclose(f);
	return ret;
}

int conffile_enter(struct conffile_stack *s, const char *path, char **buf, size_t *len,
		   char *msg, size_t msglen)
{
	char real[PATH_MAX];
	int i;

	if (!realpath(path, real)) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < s->depth; i++)
		if (strcmp(s->real[i], real) == 0) {
			snprintf(msg, msglen, "include loop: %s includes itself", path);
			return -1;
		}
	if (s->depth == CONFFILE_MAX_DEPTH) {
		snprintf(msg, msglen, "includes nested deeper than %d", CONFFILE_MAX_DEPTH);
		return -1;
	}
	if (read_file(path, buf, len, msg, msglen))
		return -1;
	s->real[s->depth++] = xstrdup(real);
	return 0;
}

void conffile_leave(struct conffile_stack *s)
{
	free(s->real[--s->depth]);
}

/* glob(3)'s error callback has no user pointer: the first directory that
 * could not be read for a reason other than its absence. */
static int glob_errno;
static char glob_errpath[PATH_MAX];

static int glob_error(const char *path, int err)
{
	/* A directory that does not exist matches nothing, like an empty
	 * one (a conf.d never created); one that cannot be read is an error. */
	if (err == ENOENT || err == ENOTDIR)
		return 0;
	glob_errno = err;
	snprintf(glob_errpath, sizeof(glob_errpath), "%s", path);
	return 1;
}

int conffile_glob(const char *from, const char *arg, glob_t *g, char *msg, size_t msglen)
{
	char *pattern;
	int r, ret = 0;

	if (arg[0] == '/') {
		pattern = xstrdup(arg);
	} else {
		const char *slash = strrchr(from, '/');
		int dirlen = slash ? (int)(slash - from) : 1;

		pattern = xasprintf("%.*s/%s", dirlen, slash ? from : ".", arg);
	}
	glob_errno = 0;
	r = glob(pattern, 0, glob_error, g);
	if (r == GLOB_NOMATCH && !glob_errno) {
		ret = 1;
		if (!strpbrk(arg, "*?[")) {
			snprintf(msg, msglen, "%s: No such file or directory", pattern);
			ret = -1;
		}
	} else if (r != 0) {
		if (glob_errno)
			snprintf(msg, msglen, "%s: %s: %s", pattern, glob_errpath,
				 strerror(glob_errno));
		else
			snprintf(msg, msglen, "%s: cannot read", pattern);
		ret = -1;
	}
	free(pattern);
	return ret;
}
