/* kvfence: `kvfence rules`: a complete nftables file declaring the table,
 * the sets and an egress chain that uses them, every line commented with
 * why it is there. Pure text generation: names of imds-users and
 * imds-groups are resolved by the caller. */
#ifndef KVF_RULES_H
#define KVF_RULES_H

#include <stdio.h>
#include "config.h"
#include "catalogue.h"

enum rules_hook {
	HOOK_OUTPUT,
	HOOK_FORWARD,
};

/* imds-users or imds-groups, resolved: ids[i] is the id of names[i]. */
struct rules_ids {
	char *const *names;
	const unsigned *ids;
	size_t n;
};

/* The IMDS and WireServer addresses and ports the platform lines allow. */
#define RULES_IMDS_ADDR		"169.254.169.254"
#define RULES_WIRESERVER_ADDR	"168.63.129.16"

void rules_print(FILE *out, const struct config *cfg, const struct endpoint_list *eps,
		 enum rules_hook hook, const struct rules_ids *users,
		 const struct rules_ids *groups);

#endif
