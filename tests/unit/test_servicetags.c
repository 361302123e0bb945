/* Unit tests of range mode's loader: real Service Tags files (US
 * Government, China, the frozen CRLF Germany file, a small public one),
 * strict validation, merging, newest file by date. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "servicetags.h"
#include "tap.h"

static char data[512], tmp[] = "/tmp/kvf-test-tags-XXXXXX";

/* conf has one %s: the data directory. */
static int load(const char *conf, struct servicetags *st, char *err, size_t errlen)
{
	char text[2048], cerr[CONFIG_ERRLEN];
	const char *mark = strstr(conf, "%s");
	struct config cfg;
	int r;

	snprintf(text, sizeof(text), "%.*s%s%s", (int)(mark - conf), conf, data, mark + 2);
	if (config_parse_buffer("t.conf", text, strlen(text), &cfg, cerr, sizeof(cerr)) < 0) {
		snprintf(err, errlen, "config: %s", cerr);
		return -2;
	}
	r = servicetags_load(&cfg, st, err, errlen);
	config_free(&cfg);
	return r;
}

static void test_usgov(void)
{
	struct servicetags st;
	char err[1024];

	if (!ok(load("cloud usgov\nservice-tags %s/ServiceTags_AzureGovernment_*.json "
		     "AzureKeyVault AzureActiveDirectory AzureResourceManager\n", &st, err,
		     sizeof(err)) == 0, "usgov: three tags load"))
		printf("# %s\n", err);
	is_int(st.n_tags, 3, "three tag summaries");
	ok(st.n_tags == 3 && st.tags[0].n4 == 20 && st.tags[0].n6 == 26, "AzureKeyVault 20 v4, 26 v6");
	ok(st.n_tags == 3 && st.tags[1].n4 == 34 && st.tags[1].n6 == 3, "AzureActiveDirectory 34/3");
	ok(st.n_tags == 3 && st.tags[0].file_change == 402 && strcmp(st.tags[0].date, "20260720") == 0,
	   "changeNumber and date");
	ok(st.v4.n > 0 && st.v4.n <= 73 && st.v6.n > 0 && st.v6.n <= 44, "merged: no more than listed");
	ok(st.v4.n && strncmp(st.v4.v[0].comment, "servicetag ", 11) == 0, "owner comment");
	servicetags_free(&st);
}

static void test_merge_public(void)
{
	struct servicetags st;
	char err[1024], buf[100];

	if (!ok(load("service-tags %s/ServiceTags_Public_*.json AzureKeyVault AzureActiveDirectory\n",
		     &st, err, sizeof(err)) == 0, "public test file loads"))
		printf("# %s\n", err);
	/* 192.0.2.0/28; 198.51.100.0/26 + 198.51.100.64/27 are adjacent. */
	is_int(st.v4.n, 2, "adjacent prefixes of two tags merged");
	is_str(st.v4.n == 2 ? range_format(&st.v4.v[1], buf, sizeof(buf)) : "",
	       "198.51.100.0-198.51.100.95", "merged range");
	is_int(st.v6.n, 2, "v6 apart");
	ok(st.v4.n == 2 && strstr(st.v4.v[0].comment, "AzureKeyVault change 42"),
	   "comment names tag and changeNumber: %s", st.v4.n ? st.v4.v[0].comment : "");
	servicetags_free(&st);
}

static void test_errors(void)
{
	struct servicetags st;
	char err[1024], path[600];
	FILE *f;

	ok(load("cloud usgov\nservice-tags %s/ServiceTags_AzureGovernment_*.json NoSuchTag\n", &st, err,
		sizeof(err)) == -1 && strstr(err, "t.conf:2:") && strstr(err, "NoSuchTag"),
	   "missing tag: where and which (%s)", err);
	ok(load("cloud public\nservice-tags %s/ServiceTags_China_*.json AzureKeyVault\n", &st, err,
		sizeof(err)) == -1 && strstr(err, "cloud China"), "wrong cloud (%s)", err);
	ok(load("service-tags %s/nothing-*.json AzureKeyVault\n", &st, err, sizeof(err)) == -1 &&
	   strstr(err, "no file matches"), "no file (%s)", err);
	snprintf(path, sizeof(path), "%s/ServiceTags_Public_20300101.json", tmp);
	f = fopen(path, "w");
	fputs("{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\","
	      " \"properties\": {\"addressPrefixes\": [\"192.0.2.1/24\"]}}]}\n", f);
	fclose(f);
	snprintf(data, sizeof(data), "%s", tmp);	/* only the files written here */
	ok(load("service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n", &st, err, sizeof(err)) == -1 &&
	   strstr(err, "192.0.2.1/24") && strstr(err, "AzureKeyVault"), "non-canonical prefix (%s)", err);
	f = fopen(path, "w");
	fputs("{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\","
	      " \"properties\": {\"addressPrefixes\": [\"0.0.0.0/0\"]}}]}\n", f);
	fclose(f);
	ok(load("service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n", &st, err, sizeof(err)) == -1 &&
	   strstr(err, "implausibly wide"), "0.0.0.0/0 refused (%s)", err);
	f = fopen(path, "w");
	fclose(f);
	ok(load("service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n", &st, err, sizeof(err)) == -1 &&
	   strstr(err, "ServiceTags_Public_20300101.json"), "empty file (%s)", err);
}

static void test_newest_and_crlf(void)
{
	struct servicetags st;
	char err[1024], src[600], dst[600], cmd[2400];

	/* Two files: the later date in the name wins, whatever the mtime. */
	snprintf(data, sizeof(data), "%s/data/service-tags", getenv("TESTDIR") ? getenv("TESTDIR") : "tests");
	snprintf(src, sizeof(src), "%s/ServiceTags_Public_20990101.json", data);
	snprintf(dst, sizeof(dst), "%s/ServiceTags_Public_20301231.json", tmp);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s/ServiceTags_Public_20300101.json'",
		 src, dst, src, tmp);
	ok(system(cmd) == 0, "two public files");
	snprintf(data, sizeof(data), "%s", tmp);
	ok(load("service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n", &st, err, sizeof(err)) == 0 &&
	   st.n_tags == 1 && strstr(st.tags[0].file, "20301231"), "newest by the date in the name");
	servicetags_free(&st);
	snprintf(data, sizeof(data), "%s/data/service-tags", getenv("TESTDIR") ? getenv("TESTDIR") : "tests");
	ok(load("cloud germany\nservice-tags %s/ServiceTags_AzureGermany_*.json AzureKeyVault\n", &st, err,
		sizeof(err)) == 0 && st.n_tags == 1 && st.tags[0].n4 == 4, "CRLF Germany file (%s)", err);
	servicetags_free(&st);
}

/* The stream parser on a document in memory, cloud public. */
static int parse_text(const char *text, size_t len, const char *tag, size_t *n4, size_t *n6,
		      char *err, size_t errlen)
{
	char cerr[CONFIG_ERRLEN];
	struct config cfg;
	FILE *f;
	int r;

	if (config_parse_buffer("t.conf", "cloud public\n", 13, &cfg, cerr, sizeof(cerr)) < 0)
		return -2;
	f = fmemopen((void *)text, len, "r");
	r = servicetags_parse(f, &cfg, tag, n4, n6, err, errlen);
	fclose(f);
	config_free(&cfg);
	return r;
}

static int parse_str(const char *text, char *err, size_t errlen)
{
	size_t n4, n6;

	return parse_text(text, strlen(text), "AzureKeyVault", &n4, &n6, err, errlen);
}

/* Streaming keeps jansson's strictness: every way a document can be
 * broken is still refused, and any member order is read. */
static void test_stream_strict(void)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": [\"192.0.2.0/24\"]}}]} x",
		"{\"changeNumber\": 1, \"changeNumber\": 2, \"cloud\": \"Public\", \"values\": "
		"[{\"name\": \"AzureKeyVault\", \"properties\": {\"addressPrefixes\": []}}]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"name\": \"x\", \"properties\": {\"addressPrefixes\": []}}]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": []}},]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": []}}], }",
		"{\"changeNumber\": 01, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": []}}]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": []}}] \"x\": 1}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": {}}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [1]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [{\"name\": \"AzureKeyVault\", "
		"\"properties\": {\"addressPrefixes\": [}}]}",
		"{\"changeNumber\": 1, \"cloud\": \"Public\", \"bad\": tru, \"values\": []}",
		"{changeNumber: 1}",
	};
	static const char good[] =
		"{\"values\": [{\"name\": \"Other\", \"x\": \"a \\\" ] } [ {\"}, "
		"{\"name\": \"AzureKeyVault\", \"properties\": {\"changeNumber\": 3, "
		"\"addressPrefixes\": [\"192.0.2.0/24\", \"2001:db8::/48\"]}}],\n"
		"\"extra\": {\"nested\": [1, 2.5e3, null, true, \"\\u00e9\"]},\n"
		"\"cloud\": \"Public\", \"changeNumber\": 7}\n";
	char err[1024], *cut;
	size_t i, n4 = 0, n6 = 0, len = strlen(good), bad_cuts = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse_str(bad[i], err, sizeof(err)) == -1, "broken document %zu refused (%s)", i, err);
	ok(parse_text(good, len, "AzureKeyVault", &n4, &n6, err, sizeof(err)) == 0 && n4 == 1 &&
	   n6 == 1, "members in any order, brackets inside strings (%s)", err);
	/* Cut anywhere short of its last brace, the document is refused. */
	cut = malloc(len);
	for (i = 0; i < len - 1; i++) {
		memcpy(cut, good, i);
		if (parse_text(cut, i, "AzureKeyVault", &n4, &n6, err, sizeof(err)) != -1)
			bad_cuts++;
	}
	free(cut);
	ok(bad_cuts == 0, "every truncation of the document refused (%zu accepted)", bad_cuts);
	ok(parse_str("{\"changeNumber\": 1,\n\"cloud\": \"Public\",\n\"values\": [\n{\"name\": 1,\n"
		     "\"x\": nul}]}", err, sizeof(err)) == -1 && strstr(err, "input:5:"),
	   "an error names the file's line (%s)", err);
}

int main(void)
{
	char cmd[600];

	snprintf(data, sizeof(data), "%s/data/service-tags", getenv("TESTDIR") ? getenv("TESTDIR") : "tests");
	if (!mkdtemp(tmp))
		return 99;
	test_usgov();
	test_merge_public();
	test_errors();
	test_newest_and_crlf();
	test_stream_strict();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
