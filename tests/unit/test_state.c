/* Unit tests of the state file: a round trip, a first start, damaged
 * files (refused whole, naming file:line), grace at load, and hosts the
 * config no longer names. */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvfence.h"
#include "state.h"
#include "tap.h"

#define NOW	1764400000
#define MONO	100000		/* kvfence's clock (boot time) at NOW */
#define GRACE	1800

static const struct state_clock C = { .wall = NOW, .mono = MONO };

static char dir[64], path[128];

/* Sorted by name, as catalogue_build leaves them (catalogue_find
 * searches by bisection). */
static struct endpoint ep_v[] = {
	{ .name = (char *)"contoso-prod.vault.azure.net", .ports = { 443 }, .n_ports = 1 },
	{ .name = (char *)"login.microsoftonline.com", .ports = { 443 }, .n_ports = 1 },
	{ .name = (char *)"management.azure.com", .ports = { 443 }, .n_ports = 1 },
};
static const struct endpoint_list eps = { .v = ep_v, .n = 3, .cap = 3 };

static struct kvf_addr A(const char *s)
{
	struct kvf_addr a;

	addr_parse(s, &a);
	return a;
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	fwrite(text, 1, len, f);
	fclose(f);
}

static void free_all(struct host_state *hs)
{
	size_t i;

	for (i = 0; i < eps.n; i++)
		host_state_free(&hs[i]);
	memset(hs, 0, eps.n * sizeof(*hs));
}

static const struct seen_addr *find(const struct host_state *h, const char *addr)
{
	struct kvf_addr a = A(addr);
	size_t i;

	for (i = 0; i < h->n_addrs; i++)
		if (addr_cmp(&h->addrs[i].addr, &a) == 0)
			return &h->addrs[i];
	return NULL;
}

static void add(struct host_state *h, const char *addr, int64_t seen, bool current)
{
	struct kvf_addr a = A(addr);

	size_t i;

	desired_seed(h, &a, seen);
	for (i = 0; i < h->n_addrs; i++)
		if (addr_cmp(&h->addrs[i].addr, &a) == 0)
			h->addrs[i].current = current;
}

static void test_saved_state_reads_back_the_same(void)
{
	struct host_state hs[3] = { { 0 } }, back[3] = { { 0 } };
	char err[KVF_ERRLEN] = "";
	const struct seen_addr *s;
	struct state_loaded sl;
	struct stat st;
	char tmp[160];
	struct elem_list rec = { 0 };
	struct setref ref = { .family = 1, .table = "filter", .name = "kvfence4" };
	struct elem el = { .addr = A("192.0.2.10"), .port = 443,
			   .comment = "contoso-prod.vault.azure.net" };
	struct state_set_view view = { .ref = &ref, .elems = &rec };

	elem_list_push(&rec, &el);
	add(&hs[0], "192.0.2.9", MONO - 100, false);
	add(&hs[0], "192.0.2.10", MONO - 10, true);
	add(&hs[0], "2001:db8::10", MONO - 10, true);
	hs[0].ttl = 60;
	hs[0].last_answer = MONO - 10;
	hs[0].last4 = RES_OK;
	hs[0].last6 = RES_TIMEOUT;
	hs[2].ttl = 300;		/* answered (NODATA), holds nothing */
	hs[2].last_answer = MONO - 5;
	is_int(state_save(path, &eps, hs, &view, 1, C, true), 0, "state_save writes the file");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the state file is mode 0600");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ok(access(tmp, F_OK) < 0, "no temporary file is left behind");

	is_int(state_load(path, &eps, back, C, GRACE, &sl, err, sizeof(err)), 0,
	       "state_load reads it back");
	is_int(back[0].n_addrs, 3, "all three addresses come back");
	s = find(&back[0], "192.0.2.10");
	ok(s && s->last_seen == MONO - 10 && s->current,
	   "an address keeps its last-seen time and that the last answer named it");
	s = find(&back[0], "192.0.2.9");
	ok(s && s->last_seen == MONO - 100 && !s->current,
	   "an address within grace comes back, as not named");
	ok(find(&back[0], "2001:db8::10") != NULL, "an IPv6 address comes back");
	is_int(back[0].ttl, 60, "the ttl comes back");
	is_int(back[0].last_answer, MONO - 10, "the last answer time comes back");
	is_int(back[1].n_addrs + back[1].last_answer, 0, "a host never answered stays empty");
	is_int(back[2].last_answer, MONO - 5, "a host that answered with nothing keeps its answer time");
	is_int(back[2].ttl, 300, "and its ttl");
	ok(back[0].definite4 && !back[0].definite6,
	   "whether each family's last result was definite comes back (what may age)");
	ok(sl.has_record && sl.record.n == 1 && sl.record.v[0].elems.n == 1 &&
	   sl.record.v[0].family == 1 && strcmp(sl.record.v[0].table, "filter") == 0 &&
	   strcmp(sl.record.v[0].name, "kvfence4") == 0 &&
	   sl.record.v[0].elems.v[0].port == 443 &&
	   strcmp(sl.record.v[0].elems.v[0].comment, "contoso-prod.vault.azure.net") == 0,
	   "the record of what kvfence wrote comes back");
	ok(sl.clock_note[0] == '\0', "no clock note for a plausible file: %s", sl.clock_note);
	state_loaded_free(&sl);
	elem_list_free(&rec);
	free_all(hs);
	free_all(back);
}

static void test_a_missing_state_file_is_a_first_start(void)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN] = "", missing[160];
	struct state_loaded sl;

	snprintf(missing, sizeof(missing), "%s/none", dir);
	is_int(state_load(missing, &eps, hs, C, GRACE, &sl, err, sizeof(err)), -ENOENT,
	       "no state file: -ENOENT (a first start)");
	ok(strstr(err, missing) != NULL, "the error names the file: %s", err);
	is_int(hs[0].n_addrs, 0, "nothing is seeded");
}

static void test_a_failed_save_reports_its_errno(void)
{
	struct host_state hs[3] = { { 0 } };
	char deep[160];

	hs[0].last_answer = NOW;
	/* Missing directories are created (kvfence.conf(5)); a level that
	 * is a regular file cannot be. */
	snprintf(deep, sizeof(deep), "%s/plainfile", dir);
	fclose(fopen(deep, "w"));
	snprintf(deep, sizeof(deep), "%s/plainfile/dir/state", dir);
	is_int(state_save(deep, &eps, hs, NULL, 0, C, true), -ENOTDIR, "state_save reports -errno");
	snprintf(deep, sizeof(deep), "%s/plainfile", dir);
	unlink(deep);
}

#define HDR "# kvfence state v1\n"
#define HOST "host contoso-prod.vault.azure.net ttl 60 answer 1764399000\n"
#define ADDR "addr 192.0.2.10 1764399000 current\n"

struct damaged {
	const char *text;
	size_t len;		/* 0: strlen */
	const char *where;	/* ":line: reason" expected in the error */
};

static const struct damaged damaged[] = {
	{ "", 0, ":1: empty file" },
	{ "garbage\n", 0, ":1: not a kvfence state file" },
	{ "# kvfence state v3\n" HOST "end\n", 0, ":1: unsupported state file version" },
	{ "\x7f" "ELF\2\1\1\0\0\0", 10, ":1: not a kvfence state file" },
	{ "[{\"json\": true}]", 0, ":1: not a kvfence state file" },
	{ "# kvfence state v2\n" HOST "end\n", 0, ":2: expected" },
	{ "# kvfence state v2\nend\n", 0, ":2: no \"saved\" record" },
	{ "# kvfence state v2\nsaved 1\nelem 192.0.2.1 443 a.example.com\nend\n", 0,
	  ":3: element before any set line" },
	{ "# kvfence state v2\nsaved 1\nset inet6 filter s\nend\n", 0, ":3: bad table family" },
	{ "# kvfence state v2\nsaved 1\nset inet filter s\nelem 192.0.2.1 65536 a.example.com\n"
	  "end\n", 0, ":4: bad port" },
	{ HDR "set inet filter s\nend\n", 0, ":2: unknown record \"set\"" },
	{ HDR HOST ADDR, 0, ":3: truncated: no end record" },
	{ HDR HOST "addr 192.0.2.10 17643", 0, ":3: truncated line" },
	{ HDR HOST ADDR "end\n" ADDR, 0, ":5: data after the end record" },
	{ HDR ADDR HOST "end\n", 0, ":2: address outside a host record" },
	{ HDR "host bad!name.example ttl 60 answer 1\nend\n", 0, ":2: host name" },
	{ HDR "host contoso-prod.vault.azure.net ttl -1 answer 1\nend\n", 0, ":2: bad ttl" },
	{ HDR "host contoso-prod.vault.azure.net ttl 60 answer +1\nend\n", 0,
	  ":2: bad answer time" },
	{ HDR "host contoso-prod.vault.azure.net ttl 4294967296 answer 1\nend\n", 0,
	  ":2: bad ttl" },
	{ HDR "host contoso-prod.vault.azure.net ttl 60\nend\n", 0, ":2: expected" },
	{ HDR HOST ADDR "addr 192.0.2.300 1 current\nend\n", 0, ":4: bad address" },
	{ HDR HOST "addr 192.0.2.11 99999999999999999999 current\nend\n", 0, ":3: bad time" },
	{ HDR HOST "addr 192.0.2.11 1 maybe\nend\n", 0, ":3: expected" },
	{ HDR HOST "addr 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\nend\n", 0, ":3: too many fields" },
	{ HDR HOST "vault 192.0.2.1\nend\n", 0, ":3: unknown record" },
	{ HDR HOST "end now\n", 0, ":3: expected \"end\"" },
	{ HDR HOST "addr 192.0.2.10\0 1 current\nend\n", sizeof(HDR HOST) - 1 + 31, ":3: truncated line" },
};

static void test_a_damaged_state_file_seeds_nothing(void)
{
	char err[KVF_ERRLEN], want[192], big[700];
	struct state_loaded sl;
	size_t i;

	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		const struct damaged *d = &damaged[i];
		struct host_state hs[3] = { { 0 } };
		int r;

		write_file(d->text, d->len ? d->len : strlen(d->text));
		err[0] = '\0';
		r = state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", path, d->where);
		is_int(r, -EINVAL, "damaged file %zu is refused", i);
		ok(strncmp(err, want, strlen(want)) == 0, "with \"%s\"", err);
		ok(hs[0].n_addrs == 0 && hs[0].last_answer == 0,
		   "and seeds nothing, not even the lines before the damage");
		free_all(hs);
	}
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "host ", 5);
	{
		struct host_state hs[3] = { { 0 } };
		char text[800];

		snprintf(text, sizeof(text), HDR "%s" "end\n", big);
		write_file(text, strlen(text));
		is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), -EINVAL,
		       "an overlong line is refused");
		ok(strstr(err, ":2: line too long") != NULL, "as \"%s\"", err);
		/* Overlong too, but a NUL comes first: damage, as ever. */
		big[10] = '\0';
		snprintf(text, sizeof(text), HDR "%s", "");
		memcpy(text + strlen(HDR), big, sizeof(big) - 1);
		memcpy(text + strlen(HDR) + sizeof(big) - 1, "end\n", 4);
		write_file(text, strlen(HDR) + sizeof(big) - 1 + 4);
		is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), -EINVAL,
		       "an overlong line with a NUL byte is refused");
		ok(strstr(err, ":2: truncated line") != NULL, "as \"%s\"", err);
	}
}

#define HDR2 "# kvfence state v2\nsaved 1764400000\n"
#define HOST2 "host contoso-prod.vault.azure.net ttl 60 answer 1764399000 a ok aaaa ok " \
	"privatelink no\n"

static void test_addresses_age_by_their_last_answer(void)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN] = "";
	const struct seen_addr *s;
	struct state_loaded sl;
	static const char text[] = HDR2 HOST2
		"addr 192.0.2.1 1764398100 grace\n"	/* NOW - 1900: past grace */
		"addr 192.0.2.2 1764398300 grace\n"	/* NOW - 1700: within */
		"addr 192.0.2.3 1764300000 current\n"	/* old, but the last answer named it */
		"addr 192.0.2.4 1764500000 current\n"	/* after the file was saved */
		"\n# a comment\n"
		"end\n";

	write_file(text, strlen(text));
	is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), 0,
	       "a file with blank and comment lines loads: %s", err);
	ok(!find(&hs[0], "192.0.2.1"), "an address no longer answered and past grace is dropped");
	ok(find(&hs[0], "192.0.2.2") != NULL, "one within grace is kept");
	s = find(&hs[0], "192.0.2.3");
	ok(s && s->current && s->last_seen == MONO - 100000,
	   "one the last answer named is kept however old, with its age (fail-static)");
	s = find(&hs[0], "192.0.2.4");
	ok(s && s->last_seen == MONO, "a time after the file's own is taken as its time");
	free_all(hs);
}

/* Ages survive a reboot by the wall clock, trusted only when plausible. */
static void test_ages_survive_a_reboot_by_a_plausible_wall_clock(void)
{
	static const char text[] = HDR2 HOST2 "addr 192.0.2.2 1764399000 grace\n"
		"addr 192.0.2.3 1764399000 current\nend\n";
	struct state_clock later = { .wall = NOW + 600, .mono = 50 };
	struct state_clock past = { .wall = NOW - 86400, .mono = 50 };
	struct state_clock unset = { .wall = 946684800, .mono = 50 };	/* 2000 */
	struct state_clock much_later = { .wall = NOW + 3600, .mono = 50 };
	struct host_state hs[3] = { { 0 } };
	const struct seen_addr *s;
	struct state_loaded sl;
	char err[KVF_ERRLEN] = "";

	write_file(text, strlen(text));
	is_int(state_load(path, &eps, hs, later, GRACE, &sl, err, sizeof(err)), 0, "loads");
	s = find(&hs[0], "192.0.2.2");
	ok(s && s->last_seen == 50 - 600 - 1000, "age at save plus the time since, on the boot clock");
	ok(sl.clock_note[0] == '\0', "no note");
	free_all(hs);

	is_int(state_load(path, &eps, hs, much_later, GRACE, &sl, err, sizeof(err)), 0, "loads");
	ok(!find(&hs[0], "192.0.2.2"), "the time since counts towards grace");
	ok(find(&hs[0], "192.0.2.3") != NULL, "but not against an address the answer named");
	free_all(hs);

	is_int(state_load(path, &eps, hs, past, GRACE, &sl, err, sizeof(err)), 0, "loads");
	s = find(&hs[0], "192.0.2.2");
	ok(s && s->last_seen == 50 - 1000,
	   "a file from the future: ages as when written, grace not stretched by a day");
	ok(strstr(sl.clock_note, "in the future") != NULL, "and a note: %s", sl.clock_note);
	free_all(hs);

	is_int(state_load(path, &eps, hs, unset, GRACE, &sl, err, sizeof(err)), 0, "loads");
	s = find(&hs[0], "192.0.2.2");
	ok(s && s->last_seen == 50 - 1000, "a clock before 2025: ages as when written");
	ok(strstr(sl.clock_note, "before 2025") != NULL, "and a note: %s", sl.clock_note);
	free_all(hs);
}

static void test_a_directory_in_place_of_the_state_file_is_refused(void)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN] = "", d[160];
	struct state_loaded sl;

	snprintf(d, sizeof(d), "%s/adir", dir);
	mkdir(d, 0700);
	is_int(state_load(d, &eps, hs, C, GRACE, &sl, err, sizeof(err)), -EINVAL,
	       "a directory in place of the state file is refused");
	ok(strstr(err, "not a regular file (a directory)") != NULL, "as \"%s\"", err);
	rmdir(d);
}

static void test_hosts_no_longer_configured_do_not_fail_the_load(void)
{
	struct state_loaded sl;
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN] = "";
	static const char text[] = HDR
		"host gone.vault.azure.net ttl 30 answer 1764399000\n"
		"addr 192.0.2.50 1764399000 current\n"
		HOST ADDR
		"host zzz.example.com ttl 30 answer 1764399000\n"
		"addr 192.0.2.51 1764399000 current\n"
		"end\n";

	write_file(text, strlen(text));
	is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), 0,
	       "hosts the config no longer names do not fail the load");
	is_int(hs[0].n_addrs, 1, "the configured host gets only its own address");
	ok(find(&hs[0], "192.0.2.10") && !find(&hs[0], "192.0.2.50") &&
	   !find(&hs[0], "192.0.2.51"), "addresses of other hosts are ignored");
	is_int(hs[1].n_addrs + hs[2].n_addrs, 0, "other configured hosts stay empty");
	free_all(hs);
}

/* kvfence clear deletes only what kvfence created: the record says so,
 * also for a set that holds nothing of kvfence's any more. */
static void test_the_sets_kvfence_created_are_recorded(void)
{
	struct host_state hs[3] = { { 0 } };
	struct elem_list none = { 0 };
	struct setref r4 = { .family = 1, .table = "filter", .name = "kvfence4" };
	struct setref r6 = { .family = 1, .table = "filter", .name = "kvfence6" };
	struct state_set_view views[2] = {
		{ .ref = &r4, .elems = &none, .created = true, .table_created = true },
		{ .ref = &r6, .elems = &none, .created = true },
	};
	struct state_loaded sl;
	char err[KVF_ERRLEN] = "";

	is_int(state_save(path, &eps, hs, views, 2, C, false), 0, "sets kvfence created are saved");
	is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), 0, "and read back");
	ok(sl.record.n == 2 && sl.record.v[0].created && sl.record.v[0].table_created &&
	   sl.record.v[1].created && !sl.record.v[1].table_created,
	   "which set kvfence created, and with its table");
	state_loaded_free(&sl);
	free_all(hs);
}

/* Load text as the state file; err: KVF_ERRLEN bytes. */
static int load_text(const char *text, struct host_state *hs, struct state_loaded *sl,
		     char *err)
{
	write_file(text, strlen(text));
	err[0] = '\0';
	return state_load(path, &eps, hs, C, GRACE, sl, err, KVF_ERRLEN);
}

static struct elem R(const char *lo, const char *hi, const char *comment)
{
	struct elem el = { .addr = A(lo), .hi = A(hi), .comment = comment };

	return el;
}

/* Range sets are recorded as host sets are: each range kvfence wrote with
 * its comment, and a range set with nothing of kvfence's still says that
 * its record is kept (an empty record is not a missing one). */
static void test_range_records_read_back_the_same(void)
{
	static const char tag[] = "servicetag AzureKeyVault change 42";
	struct host_state hs[3] = { { 0 } };
	struct elem_list r4 = { 0 }, none = { 0 };
	struct setref ref4 = { .family = 1, .table = "filter", .name = "kvfence4r" };
	struct setref ref6 = { .family = 1, .table = "filter", .name = "kvfence6r" };
	struct state_set_view views[2] = {
		{ .ref = &ref4, .elems = &r4, .ranges = true },
		{ .ref = &ref6, .elems = &none, .ranges = true },
	};
	struct elem el[3] = { R("192.0.2.0", "192.0.2.15", tag),
			      R("198.51.100.64", "198.51.100.95", tag),
			      R("203.0.113.0", "203.0.113.9", "two  spaces") };
	const struct owned_set *o;
	struct state_loaded sl;
	char err[KVF_ERRLEN] = "", text[1024] = "";
	FILE *f;
	size_t i;

	for (i = 0; i < 3; i++)
		elem_list_push(&r4, &el[i]);
	is_int(state_save(path, &eps, hs, views, 2, C, false), 0, "range records are saved");
	f = fopen(path, "r");
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	ok(strstr(text, "\nset inet filter kvfence4r ranges\n"
			"range 192.0.2.0 192.0.2.15 servicetag AzureKeyVault change 42\n"
			"range 198.51.100.64 198.51.100.95 servicetag AzureKeyVault change 42\n"
			"set inet filter kvfence6r ranges\n") != NULL,
	   "as a range set line and a line per range, first and last address and comment");
	ok(strncmp(text, "# kvfence state v2\n# ranges recorded\n", 37) == 0,
	   "the file says it records ranges, in a comment below the v2 header");
	is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), 0, "and read back");
	ok(sl.record.ranges_recorded, "read back: ranges are recorded");
	is_int(sl.record.n, 2, "both range sets, the empty one too");
	o = &sl.record.v[0];
	ok(o->ranges && strcmp(o->name, "kvfence4r") == 0 && o->elems.n == 2,
	   "kvfence4r: a range set with two ranges (a comment no line can hold is left out)");
	for (i = 0; i < 2 && o->elems.n == 2; i++)
		ok(elem_key_cmp(&o->elems.v[i], &el[i]) == 0 && elem_is_range(&o->elems.v[i]) &&
		   strcmp(o->elems.v[i].comment, tag) == 0, "range %zu: bounds and comment", i);
	ok(sl.record.v[1].ranges && sl.record.v[1].elems.n == 0,
	   "kvfence6r: a range set whose record is empty");
	state_loaded_free(&sl);
	elem_list_free(&r4);
	free_all(hs);
}

/* A file written before range records: the range sets have no record,
 * which the engine takes as "claim the tagged ranges once". */
static void test_a_file_from_before_range_records_records_no_range_set(void)
{
	struct host_state hs[3] = { { 0 } };
	struct state_loaded sl;
	char err[KVF_ERRLEN] = "";
	static const char text[] = "# kvfence state v2\nsaved 1764400000\n"
		"set inet filter kvfence4 created\n"
		"elem 192.0.2.10 443 contoso-prod.vault.azure.net\n"
		"end\n";

	is_int(load_text(text, hs, &sl, err), 0, "a file without range records loads");
	ok(sl.has_record && sl.record.n == 1 && !sl.record.v[0].ranges &&
	   sl.record.v[0].created && sl.record.v[0].elems.n == 1,
	   "its host set record, and no range set's");
	ok(!sl.record.ranges_recorded, "and it does not say that it records ranges");
	state_loaded_free(&sl);
	free_all(hs);
}

/* A file this kvfence writes without range sets still says it records
 * ranges (range mode enabled later must claim nothing by comment), and
 * only in a comment, which the builds before range records skip: no
 * " ranges" token on a host set's line, nothing they would refuse. */
static void test_a_file_without_range_sets_says_it_records_ranges(void)
{
	struct host_state hs[3] = { { 0 } };
	struct elem_list r = { 0 };
	struct setref ref = { .family = 1, .table = "filter", .name = "kvfence4" };
	struct state_set_view view = { .ref = &ref, .elems = &r, .created = true };
	struct elem el = { .port = 443, .comment = "contoso-prod.vault.azure.net" };
	struct state_loaded sl;
	char err[KVF_ERRLEN] = "", text[1024] = "";
	FILE *f;

	addr_parse("192.0.2.10", &el.addr);
	elem_list_push(&r, &el);
	is_int(state_save(path, &eps, hs, &view, 1, C, false), 0, "a host set's record is saved");
	f = fopen(path, "r");
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	ok(strstr(text, "\nset inet filter kvfence4 created\n"
			"elem 192.0.2.10 443 contoso-prod.vault.azure.net\n") != NULL &&
	   !strstr(text, " ranges\n"), "a host set's line has no ranges token");
	ok(strstr(text, "\n# ranges recorded\n") != NULL, "the file says it records ranges");
	is_int(state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err)), 0, "and is read back");
	ok(sl.record.ranges_recorded && sl.record.n == 1 && !sl.record.v[0].ranges,
	   "ranges recorded, none of them: a range set enabled later claims nothing");
	state_loaded_free(&sl);
	elem_list_free(&r);
	free_all(hs);
}

static const struct damaged damaged_ranges[] = {
	{ "range 192.0.2.0 192.0.2.15 servicetag X\n", 0, ":3: range outside a range set" },
	{ "set inet filter s\nrange 192.0.2.0 192.0.2.15 servicetag X\n", 0,
	  ":4: range outside a range set" },
	{ "set inet filter s ranges\nelem 192.0.2.1 0 a.example.com\n", 0,
	  ":4: element in a range set" },
	{ "set inet filter s ranges\nrange 192.0.2.15 192.0.2.0 servicetag X\n", 0,
	  ":4: bad range" },
	{ "set inet filter s ranges\nrange 192.0.2.0 2001:db8:: servicetag X\n", 0,
	  ":4: bad range" },
	{ "set inet filter s ranges\nrange 192.0.2.0 192.0.2.15\n", 0, ":4: expected" },
	{ "set inet filter s ranges\nrange 192.0.2.0 192.0.2.15 servicetag \x01\n", 0,
	  ":4: comment" },
	{ "set inet filter s ranges maybe\n", 0, ":3: expected \"set FAMILY" },
};

static void test_a_damaged_range_record_is_refused(void)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN], text[512];
	struct state_loaded sl;
	size_t i;

	for (i = 0; i < sizeof(damaged_ranges) / sizeof(damaged_ranges[0]); i++) {
		snprintf(text, sizeof(text), "# kvfence state v2\nsaved 1\n%send\n",
			 damaged_ranges[i].text);
		is_int(load_text(text, hs, &sl, err), -EINVAL, "damaged range record %zu is refused",
		       i);
		ok(strstr(err, damaged_ranges[i].where) != NULL, "with \"%s\"", err);
		free_all(hs);
	}
}

/* The loader reads the file in pieces: lines cut across them, a file
 * many times their size, and the longest line it takes (638 characters,
 * as ever) against one character more. */
static void lines_across_read_pieces_and_the_longest_line(void)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN] = "", line[700];
	struct state_loaded sl;
	size_t len = 0, cap = 600000, i;
	char *text = malloc(cap);
	int r;

	len += (size_t)snprintf(text + len, cap - len, HDR);
	for (i = 0; len < cap - 1000 && i < 8000; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"host other-%zu.example.com ttl %zu answer 1764399000\n"
					"addr 192.0.2.%zu 1764399000 current\n", i, 60 + i % 7, 1 + i % 200);
	len += (size_t)snprintf(text + len, cap - len, HOST "addr 198.51.100.%zu 1764399000 current\n"
				"end\n", i % 200);
	write_file(text, len);
	r = state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err));
	is_int(r, 0, "a %zu-byte file of %zu hosts loads: %s", len, i + 1, err);
	snprintf(line, sizeof(line), "198.51.100.%zu", i % 200);
	ok(r == 0 && hs[0].n_addrs == 1 && find(&hs[0], line) != NULL,
	   "the last host's address, past %zu read pieces", len / 65536);
	if (r == 0)
		state_loaded_free(&sl);
	free_all(hs);
	for (i = 638; i <= 639; i++) {
		memset(line, 'x', i);
		memcpy(line, "# ", 2);
		line[i] = '\0';
		len = (size_t)snprintf(text, cap, HDR "%s\n" HOST "end\n", line);
		write_file(text, len);
		r = state_load(path, &eps, hs, C, GRACE, &sl, err, sizeof(err));
		if (i == 638)
			is_int(r, 0, "a line of 638 characters is taken: %s", err);
		else
			ok(r == -EINVAL && strstr(err, ":2: line too long"),
			   "a line of 639 is too long: %s", err);
		if (r == 0)
			state_loaded_free(&sl);
		free_all(hs);
	}
	free(text);
}

/* What a load gave, as text: the result or error, each host's state,
 * and the record. */
static const char *describe(int r, const char *err, const struct host_state *hs,
			    const struct state_loaded *sl, char *buf, size_t len)
{
	char a[KVF_ADDRSTRLEN], b[KVF_ADDRSTRLEN];
	size_t i, j, at = 0;

#define PUT(...) (at += (size_t)snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__))
	PUT("%d %s|", r, r ? err : "");
	for (i = 0; i < eps.n; i++) {
		const struct host_state *h = &hs[i];

		PUT("h%zu %u %" PRId64 " %d %d %d %d %d:", i, h->ttl, h->last_answer, h->last4,
		    h->last6, h->definite4, h->definite6, h->privatelink);
		for (j = 0; j < h->n_addrs; j++)
			PUT(" %s %" PRId64 " %d", addr_format(&h->addrs[j].addr, a, sizeof(a)),
			    h->addrs[j].last_seen, h->addrs[j].current);
		PUT("|");
	}
	for (i = 0; r == 0 && i < sl->record.n; i++) {
		const struct owned_set *o = &sl->record.v[i];

		PUT("set %d %s %s %d %d %d:", o->family, o->table, o->name, o->ranges, o->created,
		    o->table_created);
		for (j = 0; j < o->elems.n; j++)
			PUT(" %s-%s %u %d %s", addr_format(&o->elems.v[j].addr, a, sizeof(a)),
			    addr_format(&o->elems.v[j].hi, b, sizeof(b)), o->elems.v[j].port,
			    o->elems.v[j].owned, o->elems.v[j].comment);
		PUT("|");
	}
	if (r == 0)
		PUT("v%d %d %d", sl->version, sl->has_record, sl->record.ranges_recorded);
#undef PUT
	return buf;
}

/* text with the data lines respelled: 1, two spaces for one; 2, tabs
 * for spaces; 3, a tab before and a space after each. Header and
 * comment lines are left as they are. */
static void respell(const char *text, int how, char *out, size_t len)
{
	size_t at = 0;
	bool comment = false, start = true;

	for (; *text && at + 3 < len; text++) {
		if (start) {
			comment = *text == '#';
			if (how == 3 && !comment)
				out[at++] = '\t';
		}
		start = *text == '\n';
		if (!comment && how == 3 && *text == '\n')
			out[at++] = ' ';
		if (!comment && *text == ' ' && how != 3) {
			out[at++] = how == 1 ? ' ' : '\t';
			if (how == 2)
				continue;
		}
		out[at++] = *text;
	}
	out[at] = '\0';
}

static const char *load_described(const char *text, char *buf, size_t len)
{
	struct host_state hs[3] = { { 0 } };
	char err[KVF_ERRLEN];
	struct state_loaded sl;
	int r = load_text(text, hs, &sl, err);

	describe(r, err, hs, &sl, buf, len);
	if (r == 0)
		state_loaded_free(&sl);
	free_all(hs);
	return buf;
}

#define WRITTEN_V2 "# kvfence state v2\n# ranges recorded\nsaved 1764400000\n"
#define CONTOSO "host contoso-prod.vault.azure.net ttl 60 answer 1764399000 a ok aaaa ok " \
	"privatelink no\n"

static const char *const spellings[] = {
	WRITTEN_V2
	"host contoso-prod.vault.azure.net ttl 60 answer 1764399000 a ok aaaa timeout "
	"privatelink yes\n"
	"addr 192.0.2.10 1764399000 current\naddr 192.0.2.9 1764398000 grace\n"
	"addr 2001:db8::10 1764399000 current\naddr ::ffff:192.0.2.7 1764399000 grace\n"
	"host other.example.com ttl 30 answer 1764399000 a nxdomain aaaa "
	"servfail/refused/unreachable privatelink no\naddr 192.0.2.50 1764399000 current\n"
	"host management.azure.com ttl 300 answer 1764399900 a nodata aaaa ok privatelink yes\n"
	"addr 2001:db8:a::1f40 1764399900 current\n"
	"host contoso-prod.vault.azure.net ttl 61 answer 1764399001 a error aaaa refused "
	"privatelink no\naddr 198.51.100.1 1764399001 current\n"
	"set inet filter kvfence4\nelem 192.0.2.10 443 contoso-prod.vault.azure.net\n"
	"elem 192.0.2.50 0 other.example.com\nset ip6 filter kvfence6 created\n"
	"elem 2001:db8::10 443 contoso-prod.vault.azure.net\n"
	"elem ::ffff:192.0.2.7 8443 management.azure.com\nend\n",
	"# kvfence state v1\nhost contoso-prod.vault.azure.net ttl 60 answer 1764399000\n"
	"addr 192.0.2.10 1764399000 current\nhost login.microsoftonline.com ttl 5 answer 0\n"
	"addr 2001:db8::1 1764399000 grace\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 0000000000000004294967295 answer "
	"01764399000 a ok aaaa ok privatelink no\naddr 192.0.2.1 000000001764399999 current\n"
	"addr 0.0.0.0 9223372036854775807 grace\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 4294967296 answer 1 a ok aaaa ok "
	"privatelink no\nend\n",
	WRITTEN_V2 "host bad!name.example ttl 60 answer 1 a ok aaaa ok privatelink no\nend\n",
	WRITTEN_V2 "host bad!name.example ttl x answer 1 a ok aaaa ok privatelink no\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 60 answer 1 a okay aaaa ok "
	"privatelink no\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 60 answer 1 a ok aaaa ok "
	"privatelink maybe\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 60 answer 1 a okXaaaa ok "
	"privatelink no\nend\n",
	WRITTEN_V2 "host contoso-prod.vault.azure.net ttl 60 answer 1\nend\n",
	"# kvfence state v1\nhost contoso-prod.vault.azure.net ttl 60 answer 1 a ok\nend\n",
	WRITTEN_V2 CONTOSO "addr 192.0.2.300 1 current\nend\n",
	WRITTEN_V2 CONTOSO "addr 192.0.2.1 1 currently\nend\n",
	WRITTEN_V2 CONTOSO "addr 192.0.2.1 99999999999999999999 current\nend\n",
	WRITTEN_V2 CONTOSO "addr 192.0.2.1 9223372036854775808 current\nend\n",
	WRITTEN_V2 "set inet filter s\naddr 192.0.2.1 1 current\nend\n",
	WRITTEN_V2 "set inet filter s\nelem 192.0.2.1 65536 contoso-prod.vault.azure.net\nend\n",
	WRITTEN_V2 "set inet filter s\nelem 192.0.2.1 443 bad!name\nend\n",
	WRITTEN_V2 "set inet filter s\nelem 192.0.2.1 443\nend\n",
	WRITTEN_V2 "set inet filter s\nelem 192.0.2.1 443 a.example.com b\nend\n",
	WRITTEN_V2 "set inet filter s ranges\nelem 192.0.2.1 443 a.example.com\nend\n",
	WRITTEN_V2 CONTOSO "elem 192.0.2.1 443 a.example.com\nend\n",
	WRITTEN_V2 "end\n" CONTOSO,
};

/* The lines state_save writes are read without splitting them into
 * words; any other spelling of the same records (more spaces, tabs)
 * goes the general way. Both must load the same, or fail with the same
 * message. */
static void every_spelling_of_a_record_loads_the_same(void)
{
	static char text[4096], want[4096], got[4096];
	size_t i;
	int how, same;

	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		load_described(spellings[i], want, sizeof(want));
		if (i < 3)
			ok(strncmp(want, "0 |", 3) == 0, "file %zu as written loads: %.80s", i, want);
		else
			ok(strncmp(want, "-22 ", 4) == 0, "file %zu as written is refused: %.80s", i,
			   want);
		for (same = 0, how = 1; how <= 3; how++) {
			respell(spellings[i], how, text, sizeof(text));
			load_described(text, got, sizeof(got));
			if (strcmp(got, want) == 0)
				same++;
			else
				printf("# file %zu respelled %d:\n#  %s\n# as written:\n#  %s\n", i, how,
				       got, want);
		}
		is_int(same, 3, "file %zu loads the same in three other spellings", i);
	}
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/kvf-state-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 99;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	test_saved_state_reads_back_the_same();
	test_a_missing_state_file_is_a_first_start();
	test_a_failed_save_reports_its_errno();
	test_a_damaged_state_file_seeds_nothing();
	test_addresses_age_by_their_last_answer();
	test_ages_survive_a_reboot_by_a_plausible_wall_clock();
	test_a_directory_in_place_of_the_state_file_is_refused();
	test_hosts_no_longer_configured_do_not_fail_the_load();
	test_the_sets_kvfence_created_are_recorded();
	test_range_records_read_back_the_same();
	test_a_file_from_before_range_records_records_no_range_set();
	test_a_file_without_range_sets_says_it_records_ranges();
	test_a_damaged_range_record_is_refused();
	lines_across_read_pieces_and_the_longest_line();
	every_spelling_of_a_record_loads_the_same();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
