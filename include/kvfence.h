/* kvfence: shared constants and exit codes (sysexits.h values). */
#ifndef KVFENCE_H
#define KVFENCE_H

#define KVF_EX_OK		0
#define KVF_EX_USAGE		64
#define KVF_EX_DATAERR		65
#define KVF_EX_UNAVAILABLE	69
#define KVF_EX_SOFTWARE		70
#define KVF_EX_OSERR		71
#define KVF_EX_CANTCREAT	73
#define KVF_EX_TEMPFAIL		75
#define KVF_EX_NOPERM		77
#define KVF_EX_CONFIG		78

#define KVF_DEFAULT_CONFIG	SYSCONFDIR "/kvfence/kvfence.conf"

#endif
