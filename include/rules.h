/* kvfence: `kvfence rules`: a complete nftables file declaring the table,
 * the sets and an egress chain that uses them. Pure text generation. */
#ifndef KVF_RULES_H
#define KVF_RULES_H

#include <stdio.h>
#include "config.h"
#include "catalogue.h"

enum rules_hook {
	HOOK_OUTPUT,
	HOOK_FORWARD,
};

void rules_print(FILE *out, const struct config *cfg, const struct endpoint_list *eps,
		 enum rules_hook hook);

#endif
