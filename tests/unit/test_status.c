/* Unit tests of status.json: the hosts, written by hand for speed, are
 * exactly what jansson writes for the same values (a status reader or a
 * diff of two files must not see the difference). */
#include "autoconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"
#include "tap.h"

#define NOW	1764400000
#define CLOCK	100000		/* kvfence's clock at NOW */

static char dir[64], path[128];

/* A name no config accepts, to see the escapes: status.c must not rely
 * on the config's check. */
static struct endpoint ep_v[] = {
	{ .name = (char *)"a\"b\\c\x01\x1f\t\n/\x7f\xc3\xa9.example", .ports = { 443 },
	  .n_ports = 1, .why = "host" },
	{ .name = (char *)"contoso.vault.azure.net", .ports = { 443, 8443 }, .n_ports = 2,
	  .why = "vault", .private_link = true, .keyvault = true },
	{ .name = (char *)"login.microsoftonline.com", .ports = { 443 }, .n_ports = 1,
	  .why = "auth" },
};

static struct kvf_addr A(const char *s)
{
	struct kvf_addr a;

	addr_parse(s, &a);
	return a;
}

static void hold(struct host_state *h, const char *addr, int64_t seen, bool current)
{
	struct kvf_addr a = A(addr);

	desired_hold(h, &a, seen, current);
}

/* The three hosts both tests write: one of everything status.c prints. */
struct fixture {
	struct engine e;
	struct host_state hs[3];
	struct engine_host pl[3];
	struct kvf_addr refused[2];
	int64_t next[3];
	struct status_summary sum;
};

/* Fill f and write it to status.json (one assertion). */
static void write_fixture(struct fixture *f)
{
	struct engine *e = &f->e;
	struct host_state *hs = f->hs;
	struct engine_host *pl = f->pl;

	memset(f, 0, sizeof(*f));
	e->eps.v = ep_v;
	e->eps.n = e->eps.cap = 3;
	e->hs = hs;
	e->hosts = pl;
	hold(&hs[0], "192.0.2.1", CLOCK - 10, true);
	hold(&hs[0], "2001:db8::1", CLOCK - 700, false);
	hs[0].ttl = 300;
	hs[0].last_answer = CLOCK - 10;
	hs[0].last4 = hs[0].last6 = RES_OK;
	hold(&hs[1], "10.1.2.3", CLOCK - 5, true);
	hs[1].ttl = 60;
	hs[1].last_answer = CLOCK - 5;
	hs[1].last4 = RES_OK;
	hs[1].last6 = RES_NODATA;
	f->refused[0] = A("203.0.113.9");
	f->refused[1] = A("2001:db8:ffff::9");
	pl[1].pl_public.v = f->refused;
	pl[1].pl_public.n = 2;
	/* Failing since long ago, holding an address seen before the
	 * clock's start (wall 0, not negative). */
	hold(&hs[2], "198.51.100.7", -CLOCK * 20000, true);
	hs[2].last4 = RES_TIMEOUT;
	hs[2].last6 = RES_SERVFAIL;
	hs[2].failures = 3;
	hs[2].failing_since = CLOCK - 90;
	f->next[0] = NOW + 290;
	f->next[1] = NOW + 55;
	f->next[2] = NOW + 240;
	f->sum = (struct status_summary){ .now = NOW, .clock = CLOCK, .started = NOW - 3600,
					  .next_refresh = f->next };
	is_int(status_write_json(path, e, &f->sum), 0, "status.json written");
}

static void free_fixture(struct fixture *f)
{
	int i;

	for (i = 0; i < 3; i++)
		host_state_free(&f->hs[i]);
}

static char *slurp(const char *p)
{
	FILE *f = fopen(p, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n = f ? fread(buf, 1, (1 << 16) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void each_host_is_written_in_the_bytes_jansson_writes(void)
{
	struct fixture f;
	char *text, *line, *save = NULL;
	int n = 0;

	write_fixture(&f);
	text = slurp(path);
	/* Line 1 is the head, then one host a line, then "]}". */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *v;
		char *again;
		size_t len = strlen(line);

		if (line[0] != '{' || n++ == 0)
			continue;	/* the head (jansson's own) and the end */
		if (line[len - 1] == ',')
			line[--len] = '\0';
		v = json_loads(line, 0, &err);
		ok(v != NULL, "host line %d is JSON%s%s", n - 1, v ? "" : ": ", v ? "" : err.text);
		again = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		is_str(again, line, "host line %d: as jansson writes it", n - 1);
		free(again);
		json_decref(v);
	}
	is_int(n - 1, 3, "three host lines");
	free(text);
	free_fixture(&f);
}

static void the_values_read_back_as_written(void)
{
	struct fixture f;
	json_error_t err;
	json_t *root, *h;

	write_fixture(&f);
	root = json_load_file(path, 0, &err);
	ok(root != NULL, "the whole file is JSON");
	h = json_object_get(root, "hosts");
	is_int(json_array_size(h), 3, "three hosts");
	is_str(json_string_value(json_object_get(json_array_get(h, 0), "name")), ep_v[0].name,
	       "an escaped name reads back as it was");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(
	       json_array_get(h, 0), "addresses"), 1), "last_seen_unix")), NOW - 700,
	       "last_seen_unix in wall time");
	ok(json_is_false(json_object_get(json_array_get(json_object_get(json_array_get(h, 0),
	   "addresses"), 1), "current")), "a non-current address says so");
	is_int(json_integer_value(json_array_get(json_object_get(json_array_get(h, 1), "ports"),
	       1)), 8443, "the second port");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(
	       json_array_get(h, 1), "private_link"), "public_refused"), 1)), "2001:db8:ffff::9",
	       "the refused public addresses of a Private Link host");
	ok(json_object_get(json_array_get(h, 0), "private_link") == NULL,
	   "no private_link for another host");
	is_str(json_string_value(json_object_get(json_array_get(h, 1), "aaaa")), "nodata",
	       "a family's status");
	is_int(json_integer_value(json_object_get(json_array_get(h, 2), "failures")), 3,
	       "failures");
	is_int(json_integer_value(json_object_get(json_array_get(h, 2), "failing_since_unix")),
	       NOW - 90, "failing since, in wall time");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(
	       json_array_get(h, 2), "addresses"), 0), "last_seen_unix")), 0,
	       "seen before the clock's start: 0");
	is_int(json_integer_value(json_object_get(json_array_get(h, 2), "last_answer_unix")), 0,
	       "never answered: 0");
	is_int(json_integer_value(json_object_get(json_array_get(h, 1), "next_refresh_unix")),
	       NOW + 55, "next refresh");
	json_decref(root);
	free_fixture(&f);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kvf-test-status.XXXXXX");
	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof(path), "%s/status.json", dir);
	each_host_is_written_in_the_bytes_jansson_writes();
	the_values_read_back_as_written();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
