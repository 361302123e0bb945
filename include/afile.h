/* kvfence: atomic file replacement (I/O library). */
#ifndef KVF_AFILE_H
#define KVF_AFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

/* Into .f, which is the writer's alone (no stdio locking), for files of
 * 50k hosts written every few seconds: a string; a decimal. */
void afile_put(FILE *f, const char *s);
void afile_put_int(FILE *f, int64_t v);

#endif
