/* kvfence: the endpoint catalogue: from a config to the list of hosts a
 * Key Vault client needs, each with its ports. Pure. */
#ifndef KVF_CATALOGUE_H
#define KVF_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "nameindex.h"

#define HOST_MAX_PORTS 8

struct endpoint {
	char *name;			/* lower case, no trailing dot; first */
	uint16_t ports[HOST_MAX_PORTS];	/* ascending */
	unsigned n_ports;
	const char *why;		/* "auth", "vault", "host", ... (static) */
	bool private_link;		/* "vault NAME private": public answers refused */
	/* A vault or managed HSM of the config (not a host line): the only
	 * hosts that may take private addresses under allow-private auto
	 * (DESIGN §5). */
	bool keyvault;
};

struct endpoint_list {
	struct endpoint *v;
	size_t n, cap;
	/* catalogue_build's name index. A list made by hand has none and
	 * is searched by bisection. */
	struct name_index index;
	char *names;		/* catalogue_build's names, one block */
};

/* Fills list (sorted by name, one entry per name, ports merged).
 * The caller frees with catalogue_free(). */
void catalogue_build(const struct config *cfg, struct endpoint_list *list);
void catalogue_free(struct endpoint_list *list);

/* Index of name in list, or -1. */
long catalogue_find(const struct endpoint_list *list, const char *name);

/* A host the catalogue knows but the config leaves out, for `check`. */
struct left_out {
	const char *name;		/* static */
	const char *because;		/* the directive that leaves it out */
	const char *needed_by;		/* "needed by ...": which clients contact it */
};

/* Fills *out (static strings; free the array with free()) with the hosts
 * of this cloud that the config leaves out, and returns how many. */
size_t catalogue_left_out(const struct config *cfg, struct left_out **out);

/* True if the cloud is retired (germany): callers warn. */
bool catalogue_cloud_retired(enum cloud c);

#endif
