/* kvfence: what the host's own name resolution files say, for `kvfence
 * check`: the name servers of /etc/resolv.conf and the entries of
 * /etc/hosts. Clients on the host use both; kvfence resolves through DNS
 * only, so a difference means the sets may not hold what clients reach.
 * The parsers are pure (buffers in, values out); sysfiles_read reads. */
#ifndef KVF_SYSFILES_H
#define KVF_SYSFILES_H

#include <stddef.h>
#include "addr.h"
#include "catalogue.h"

#define SYSFILES_RESOLV_CONF	"/etc/resolv.conf"
#define SYSFILES_HOSTS		"/etc/hosts"
#define SYSFILES_MAX_NAMESERVERS 8

/* The addresses of resolv.conf's "nameserver" lines, in order, at most
 * max (a zone index such as %eth0 is dropped). Returns how many. */
size_t sysfiles_parse_nameservers(const char *buf, size_t len, struct kvf_addr *out,
				  size_t max);

/* An /etc/hosts line naming one of the catalogue's hosts. */
struct hosts_hit {
	unsigned line;
	struct kvf_addr addr;
	size_t host;		/* index into the endpoint list */
};

/* The /etc/hosts entries in buf whose canonical name or alias is a host
 * of eps (case-insensitive, a trailing dot ignored). *out is allocated
 * (free() it); returns how many. */
size_t sysfiles_hosts_hits(const char *buf, size_t len, const struct endpoint_list *eps,
			   struct hosts_hit **out);

/* Read a whole small text file; *buf is allocated and NUL-terminated.
 * 0 or -errno. */
int sysfiles_read(const char *path, char **buf, size_t *len);

#endif
