/* libFuzzer target: the DNS proxy's parser (dnsmsg.c), fed what a hostile
 * local client or a broken resolver can send. The input is read both as a
 * client's query (and, when it is answered, the short replies built from
 * it) and as an upstream answer. Invariants: nothing is read or written
 * outside the buffers (ASan), a reply never exceeds its buffer, a chain
 * holds at least the question and at most DNSMSG_MAX_CHAIN + 1 names,
 * every address has the question's family. */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsmsg_answer ans;
	struct dnsmsg_query q;
	uint8_t out[DNSMSG_HEADER + 300 + 11];
	uint8_t *copy = malloc(size ? size : 1);
	enum dnsmsg_verdict v;
	size_t n, i;

	/* A copy of exactly size bytes: ASan sees any read past the end. */
	memcpy(copy, data, size);
	v = dnsmsg_parse_query(copy, size, &q);
	if (v != DNSMSG_DROP) {
		n = dnsmsg_short_reply(copy, &q, NULL, DNS_RCODE_FORMERR, out, sizeof(out));
		if (n > sizeof(out))
			abort();
		if (size >= DNSMSG_HEADER)
			dnsmsg_short_reply(copy, &q, copy, 0, out, sizeof(out));
	}
	if (dnsmsg_parse_answer(copy, size, &ans) == 0) {
		if (ans.n_chain < 1 || ans.n_chain > DNSMSG_MAX_CHAIN + 1)
			abort();
		for (i = 0; i < ans.n_addrs; i++)
			if (ans.addrs[i].family != (ans.qtype == DNS_TYPE_A ? AF_INET : AF_INET6))
				abort();
		for (i = 0; i < ans.n_chain; i++)
			if (strlen(ans.chain[i]) >= DNSMSG_NAME_TEXT)
				abort();
		dnsmsg_answer_free(&ans);
	}
	free(copy);
	return 0;
}
