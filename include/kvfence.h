/* kvfence: shared constants and exit codes. */
#ifndef KVFENCE_H
#define KVFENCE_H

#include <sysexits.h>

/* Exit codes: the C library's <sysexits.h>, under the names the sources
 * use, one to one. kvfence(8) documents the numbers. */
#define KVF_EX_OK		EX_OK
#define KVF_EX_USAGE		EX_USAGE
#define KVF_EX_DATAERR		EX_DATAERR
#define KVF_EX_UNAVAILABLE	EX_UNAVAILABLE
#define KVF_EX_SOFTWARE		EX_SOFTWARE
#define KVF_EX_OSERR		EX_OSERR
#define KVF_EX_CANTCREAT	EX_CANTCREAT
#define KVF_EX_TEMPFAIL		EX_TEMPFAIL
#define KVF_EX_NOPERM		EX_NOPERM
#define KVF_EX_CONFIG		EX_CONFIG

/* The one size of the buffers that carry an error message up to the
 * layer that logs it (the err, errlen pairs). Room for a path, a line
 * number and a message quoting a nested error. */
#define KVF_ERRLEN		1024

#define KVF_DEFAULT_CONFIG	SYSCONFDIR "/kvfence/kvfence.conf"

#endif
