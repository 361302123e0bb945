/* kvfence: the result of resolving one host, as the resolver hands it to
 * the pure core: freeing it, and naming its statuses for logs and
 * status.json. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "result.h"

void result_free(struct host_result *r)
{
	size_t i;

	for (i = 0; i < r->n_cnames; i++)
		free(r->cnames[i]);
	free(r->cnames);
	free(r->addrs);
	memset(r, 0, sizeof(*r));
}

void result_clear(struct host_result *r)
{
	struct host_result keep = { .addrs = r->addrs, .cap_addrs = r->cap_addrs,
				    .cnames = r->cnames, .cap_cnames = r->cap_cnames };
	size_t i;

	for (i = 0; i < r->n_cnames; i++)
		free(r->cnames[i]);
	*r = keep;
}

const char *resolve_status_name(enum resolve_status s)
{
	switch (s) {
	case RES_OK:		return "ok";
	case RES_NODATA:	return "nodata";
	case RES_NXDOMAIN:	return "nxdomain";
	case RES_TIMEOUT:	return "timeout";
	case RES_SERVFAIL:	return "servfail/refused/unreachable";
	case RES_REFUSED:	return "refused";
	case RES_ERROR:		return "error";
	}
	/* Not an enum value: a state file from a newer version, or a bug. */
	return "unknown";
}
