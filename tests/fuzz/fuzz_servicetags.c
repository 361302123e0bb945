/* libFuzzer target: range mode's streaming Service Tags parser
 * (servicetags_parse) on arbitrary bytes. Every input must load or fail
 * with a message; and the stream must be as strict as jansson reading
 * the whole document: what jansson refuses (bad syntax, duplicate keys,
 * trailing bytes) the stream must refuse too. */
#include "autoconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "servicetags.h"

static struct config cfg;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static int ready;
	char err[1024];
	json_error_t jerr;
	json_t *whole;
	size_t n4, n6;
	FILE *f;
	int r;

	if (!ready) {
		if (config_parse_buffer("fuzz.conf", "cloud public\n", 13, &cfg, err,
					sizeof(err)) < 0)
			abort();
		ready = 1;
	}
	if (size == 0)
		return 0;	/* fmemopen refuses a size of 0 */
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	err[0] = '\0';
	r = servicetags_parse(f, &cfg, "AzureKeyVault", &n4, &n6, err, sizeof(err));
	fclose(f);
	if (r < 0 && err[0] == '\0')
		abort();	/* a refusal without a reason */
	whole = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	/* Nesting deeper than jansson's limit counts from each value's own
	 * start in the stream: not a difference in strictness that matters. */
	if (r == 0 && !whole && !strstr(jerr.text, "depth"))
		abort();	/* the stream accepted what jansson refuses */
	json_decref(whole);
	return 0;
}
