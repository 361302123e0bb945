/* Unit tests of the config parser: good files, and bad input that must
 * be refused with file:line and a reason. */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvfence.h"
#include "config.h"
#include "tap.h"

static int parse(const char *text, struct config *cfg, char *err)
{
	return config_parse_buffer("t.conf", text, strlen(text), cfg, err, KVF_ERRLEN);
}

static void test_an_empty_config_takes_the_defaults(void)
{
	struct config cfg;
	char err[KVF_ERRLEN];

	is_int(parse("", &cfg, err), 0, "empty config is valid");
	is_int(cfg.cloud, CLOUD_PUBLIC, "default cloud public");
	is_int(cfg.functions, FN_ALL, "default endpoints: all functions");
	is_str(cfg.table, "filter", "default table filter");
	is_int(cfg.table_family, NFPROTO_INET, "default family inet");
	is_str(cfg.set4, "kvfence4", "default set4");
	is_str(cfg.set6, "kvfence6", "default set6");
	is_int(cfg.refresh_min, 1, "refresh-min 1s: the guard against TTL 0 loops, not a clamp clients lose to");
	is_int(cfg.refresh_max, 3600, "refresh-max 1h");
	is_int(cfg.grace, 1800, "grace 30m");
	is_int(cfg.max_stale, 0, "max-stale none");
	is_int(cfg.allow_private, PRIVATE_AUTO, "allow-private auto");
	is_int(cfg.max_addresses, 64, "max-addresses-per-host 64");
	ok(cfg.resolver_system, "resolver system");
	ok(cfg.graph_legacy && !cfg.microsoft_account && !cfg.auth_aliases, "booleans");
	config_free(&cfg);
}

static void test_a_full_config_parses_into_every_field(void)
{
	static const char text[] =
		"# a full config\n"
		"cloud usgov   # trailing comment\n"
		"vault Contoso-Prod contoso-dev\n"
		"vault other1\n"
		"managed-hsm contoso-hsm\n"
		"endpoints auth vault\n"
		"microsoft-account yes\n"
		"auth-aliases yes\n"
		"graph-legacy no\n"
		"host adfs.contoso.com. 443\n"
		"host adfs.contoso.com 8443\n"
		"table ip6 fw\n"
		"set6 v6set\n"
		"create-sets no\n"
		"refresh-min 10s\n"
		"refresh-max 1h30m\n"
		"grace 5m\n"
		"max-stale 2d\n"
		"resolver 192.0.2.53 2001:db8::53\n"
		"allow-private no\n"
		"max-addresses-per-host 8\n"
		"state-file /tmp/s\n"
		"status-file /tmp/st.json\n"
		"metrics-file /tmp/m.prom\n";
	struct config cfg;
	char err[KVF_ERRLEN];

	if (!ok(parse(text, &cfg, err) == 0, "full config parses"))
		printf("# %s\n", err);
	is_int(cfg.cloud, CLOUD_USGOV, "cloud usgov");
	is_int(cfg.n_vaults, 3, "three vaults");
	is_str(cfg.vaults[0], "contoso-prod", "vault names are lower-cased");
	is_int(cfg.n_hsms, 1, "one hsm");
	is_int(cfg.functions, FN_AUTH | FN_VAULT, "endpoints auth vault");
	ok(cfg.microsoft_account && cfg.auth_aliases && !cfg.graph_legacy, "booleans set");
	is_int(cfg.n_hosts, 2, "two host lines");
	is_str(cfg.hosts[0].name, "adfs.contoso.com", "trailing dot stripped");
	is_int(cfg.hosts[1].port, 8443, "second port");
	is_int(cfg.table_family, NFPROTO_IPV6, "table ip6");
	ok(cfg.set4 == NULL, "set4 dropped in an ip6 table");
	is_str(cfg.set6, "v6set", "set6 named");
	ok(!cfg.create_sets, "create-sets no");
	is_int(cfg.refresh_max, 5400, "1h30m");
	is_int(cfg.max_stale, 2 * 86400, "2d");
	is_int(cfg.n_resolvers, 2, "two resolvers");
	ok(!cfg.resolver_system, "not system");
	is_int(cfg.allow_private, PRIVATE_NO, "allow-private no");
	is_str(cfg.metrics_file, "/tmp/m.prom", "metrics file");
	config_free(&cfg);
}

struct bad {
	const char *text;
	const char *want;	/* "t.conf:LINE: ..." prefix and a substring */
	const char *reason;
};

static const struct bad bad_inputs[] = {
	{ "vualt contoso\n", "t.conf:1:", "unknown directive \"vualt\"" },
	{ "\ncloud azure\n", "t.conf:2:", "unknown cloud" },
	{ "vault ab\n", "t.conf:1:", "3 to 24" },
	{ "vault 1abc\n", "t.conf:1:", "start with a letter" },
	{ "vault abc--def\n", "t.conf:1:", "consecutive hyphens" },
	{ "vault abcdef-\n", "t.conf:1:", "end with a hyphen" },
	{ "vault abc_def\n", "t.conf:1:", "letters, digits and hyphens" },
	{ "vault abcdefghijklmnopqrstuvwxy\n", "t.conf:1:", "3 to 24" },
	{ "cloud public\n\n# x\ncloud china\n", "t.conf:4:", "already set at t.conf:1" },
	{ "refresh-min 10x\n", "t.conf:1:", "not a duration" },
	{ "grace -5m\n", "t.conf:1:", "not a duration" },
	{ "refresh-min 2h\nrefresh-max 1h\n", "t.conf:2:", "longer than refresh-max" },
	{ "host adfs.contoso.com 0\n", "t.conf:1:", "1 to 65535" },
	{ "host adfs.contoso.com 70000\n", "t.conf:1:", "1 to 65535" },
	{ "host localhost 443\n", "t.conf:1:", "fully qualified" },
	{ "host bad..name.com 443\n", "t.conf:1:", "empty label" },
	{ "host -x.example.com 443\n", "t.conf:1:", "starting with a hyphen" },
	{ "host 198.51.100.7 443\n", "t.conf:1:", "\"198.51.100.7\": name is an address, not a host name" },
	{ "\nhost 127.1 443\n", "t.conf:2:", "an address, not a host name: kvfence resolves names; put addresses in your own" },
	{ "host 127.0.0.1. 443\n", "t.conf:1:", "an address, not a host name" },
	{ "host 0x7f.1 443\n", "t.conf:1:", "an address, not a host name" },
	{ "host 10 443\n", "t.conf:1:", "an address, not a host name" },
	{ "host 2001:db8::1 443\n", "t.conf:1:", "an address, not a host name" },
	{ "host [::1] 443\n", "t.conf:1:", "an address, not a host name" },
	{ "endpoints auth dns\n", "t.conf:1:", "unknown function \"dns\"" },
	{ "microsoft-account maybe\n", "t.conf:1:", "yes or no" },
	{ "resolver dns.google\n", "t.conf:1:", "not an IP address" },
	{ "allow-private sometimes\n", "t.conf:1:", "auto, yes or no" },
	{ "max-addresses-per-host 0\n", "t.conf:1:", "1 to 4096" },
	{ "table nft filter\n", "t.conf:1:", "not inet, ip or ip6" },
	{ "set4 9bad\n", "t.conf:1:", "not a valid nftables name" },
	{ "set4 none\nset6 none\n", "t.conf:2:", "no set to fill" },
	{ "table ip x\nset6 v6\n", "t.conf:1:", "cannot hold the IPv6 set" },
	{ "vault contoso\nendpoints auth\n", "t.conf:2:", "leaves out vault" },
	{ "cloud germany\nmanaged-hsm hsm1\n", "t.conf:2:", "no Managed HSM" },
	{ "vault contoso contoso\n", "t.conf:1:", "given twice" },
	{ "host a.example.com 443\nhost b.example.com 443\nhost A.example.com. 443\n", "t.conf:3:",
	  "host a.example.com 443 is given twice" },
	{ "state-file relative/path\n", "t.conf:1:", "absolute path" },
	/* kvfence.conf(5) promises that no test attacked before: */
	{ "metrics-file relative.prom\n", "t.conf:1:", "absolute path" },
	{ "resolver 192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 "
	  "192.0.2.8 192.0.2.9\n", "t.conf:1:", "too many arguments" },
	{ "host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example.com 443\n",
	  "t.conf:1:", "longer than 127 characters" },
	{ "refresh-min 0\n", "t.conf:1:", "longer than 0s" },
	{ "refresh-max 0s\n", "t.conf:1:", "longer than 0s" },
	{ "max-addresses-per-host 4097\n", "t.conf:1:", "1 to 4096" },
	{ "set4 same\nset6 same\n", "t.conf:2:", "both \"same\"" },
	{ "range-set6 kvfence6\n", "t.conf:1:", "also a host set" },
	{ "cloud\n", "t.conf:1:", "missing argument" },
	{ "cloud public china\n", "t.conf:1:", "too many arguments" },
	{ "max-stale 0s\n", "t.conf:1:", "longer than 0s" },
	{ "refresh-max 99999999999d\n", "t.conf:1:", "too long" },
	{ "listen localhost\n", "t.conf:1:", "not an IP address with an optional port" },
	{ "listen 127.0.2.53:0\n", "t.conf:1:", "optional port" },
	{ "listen [::1\n", "t.conf:1:", "optional port" },
	{ "listen [127.0.0.1]:53\n", "t.conf:1:", "optional port" },
	{ "listen 127.0.2.53 127.0.2.53:53\n", "t.conf:1:", "given twice" },
	{ "listen 0.0.0.0\n", "t.conf:1:", "name the address" },
	{ "resolver 127.0.2.53\nlisten 127.0.2.53\n", "t.conf:2:", "forward queries to itself" },
	{ "platform aws\n", "t.conf:1:", "expected azure or none" },
	{ "imds-users root -x\n", "t.conf:1:", "\"-x\" is not a user or group name" },
	{ "imds-groups a;b\n", "t.conf:1:", "is not a user or group name" },
	{ "imds-users app app\n", "t.conf:1:", "\"app\" is given twice" },
	{ "\nimds-users a\nimds-users b\n", "t.conf:3:", "already set at t.conf:2" },
	{ "instance-discovery perhaps\n", "t.conf:1:", "yes or no" },
	{ "vault pl1 pl1 private\n", "t.conf:1:", "given twice" },
	{ "vault ok1 -bad private\n", "t.conf:1:", "start with a letter" },
};

static void test_listen_addresses_parse_with_their_ports(void)
{
	struct config cfg;
	char err[KVF_ERRLEN];
	char buf[KVF_ADDRSTRLEN];

	ok(parse("listen 127.0.2.53 127.0.2.53:5353 ::1 [2001:db8::53]:5300\n", &cfg, err) == 0,
	   "listen with four forms");
	is_int(cfg.n_listens, 4, "four listen addresses");
	is_str(addr_format(&cfg.listens[0].addr, buf, sizeof(buf)), "127.0.2.53", "an IPv4 address");
	is_int(cfg.listens[0].port, 53, "port 53 by default");
	is_int(cfg.listens[1].port, 5353, "IPv4:port");
	is_str(addr_format(&cfg.listens[2].addr, buf, sizeof(buf)), "::1", "a bare IPv6 address");
	is_int(cfg.listens[2].port, 53, "port 53");
	is_str(addr_format(&cfg.listens[3].addr, buf, sizeof(buf)), "2001:db8::53", "[IPv6]:port");
	is_int(cfg.listens[3].port, 5300, "its port");
	config_free(&cfg);
	ok(parse("cloud public\n", &cfg, err) == 0 && cfg.n_listens == 0, "no proxy by default");
	config_free(&cfg);
	ok(parse("resolver 127.0.2.53\nlisten 127.0.2.53:5353\n", &cfg, err) == 0,
	   "a resolver on the listen address but another port is no loop");
	config_free(&cfg);
}

/* platform, imds-users/-groups, instance-discovery, "private". */
static void test_platform_imds_and_private_directives_parse(void)
{
	static const char text[] =
		"platform none\nimds-users root 1001 app.user\nimds-groups kvapps\n"
		"instance-discovery no\nvault pub1\nvault pl1 pl2 private\nvault private\n"
		"managed-hsm hsm1 private\n";
	struct config cfg;
	char err[KVF_ERRLEN];

	is_int(parse("", &cfg, err), 0, "empty config");
	ok(cfg.platform == PLATFORM_AZURE && cfg.instance_discovery && cfg.n_imds_users == 0 &&
	   cfg.n_imds_groups == 0, "defaults: platform azure, instance-discovery yes, no IMDS restriction");
	config_free(&cfg);
	if (parse(text, &cfg, err) < 0) {
		ok(0, "platform and private config: %s", err);
		return;
	}
	ok(cfg.platform == PLATFORM_NONE && !cfg.instance_discovery, "platform none, instance-discovery no");
	ok(cfg.n_imds_users == 3 && strcmp(cfg.imds_users[2], "app.user") == 0 &&
	   cfg.n_imds_groups == 1 && strcmp(cfg.imds_users_at, "t.conf:2") == 0,
	   "imds-users and imds-groups kept as written, with their place");
	ok(cfg.n_vaults == 4 && !cfg.vaults_private[0] && cfg.vaults_private[1] &&
	   cfg.vaults_private[2] && strcmp(cfg.vaults[3], "private") == 0 && !cfg.vaults_private[3],
	   "vault ... private marks its line; \"vault private\" is a vault");
	ok(cfg.n_hsms == 1 && cfg.hsms_private[0], "managed-hsm ... private");
	config_free(&cfg);
}

static void test_bad_inputs_are_refused_naming_file_and_line(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		const struct bad *b = &bad_inputs[i];
		struct config cfg;
		char err[KVF_ERRLEN] = "";
		int r = parse(b->text, &cfg, err);

		ok(r < 0 && strncmp(err, b->want, strlen(b->want)) == 0 &&
		   strstr(err, b->reason), "refused with %s %s", b->want, b->reason);
		if (r == 0)
			config_free(&cfg);
		else if (!strstr(err, b->reason) || strncmp(err, b->want, strlen(b->want)))
			printf("#   got: %s\n", err);
	}
}

static void test_binary_garbage_is_refused_clearly(void)
{
	static const char garbage[] = "cloud public\n\x7f" "ELF\x02\x01\x01\0\0\0";
	struct config cfg;
	char err[KVF_ERRLEN];

	ok(config_parse_buffer("g.conf", garbage, sizeof(garbage) - 1, &cfg, err,
			       sizeof(err)) < 0 && strstr(err, "g.conf:2:") &&
	   strstr(err, "NUL"), "binary garbage refused at its line");
}

static void test_durations_parse_with_their_units(void)
{
	unsigned s;

	ok(config_parse_duration("30s", &s) == 0 && s == 30, "30s");
	ok(config_parse_duration("5m", &s) == 0 && s == 300, "5m");
	ok(config_parse_duration("1h", &s) == 0 && s == 3600, "1h");
	ok(config_parse_duration("2d", &s) == 0 && s == 172800, "2d");
	ok(config_parse_duration("1h30m10s", &s) == 0 && s == 5410, "1h30m10s");
	ok(config_parse_duration("90", &s) == 0 && s == 90, "bare number is seconds");
	ok(config_parse_duration("", &s) == -EINVAL, "empty");
	ok(config_parse_duration("m", &s) == -EINVAL, "unit alone");
	ok(config_parse_duration("5 m", &s) == -EINVAL, "space inside");
	ok(config_parse_duration("1h30", &s) == -EINVAL, "trailing bare number");
	ok(config_parse_duration("5w", &s) == -EINVAL, "unknown unit");
	ok(config_parse_duration("99999999999s", &s) == -ERANGE, "overflow");
}

static void test_vault_and_host_names_are_checked(void)
{
	ok(config_check_vault_name("abc") == NULL, "3 chars ok");
	ok(config_check_vault_name("a23456789012345678901234") == NULL, "24 chars ok");
	ok(config_check_vault_name("contoso-prod-1") == NULL, "hyphens ok");
	ok(config_check_vault_name("a-b") == NULL, "a-b ok");
	ok(config_check_vault_name("-abc") != NULL, "leading hyphen");
	ok(config_check_vault_name("ab.c") != NULL, "dot refused");
	ok(config_check_hostname("login.microsoftonline.com") == NULL, "hostname ok");
	ok(config_check_hostname("x.example") == NULL, "two labels ok");
	ok(config_check_hostname("a.b-.c") != NULL, "label ending in hyphen");
	ok(config_check_hostname("1password.com") == NULL, "a name may start with digits");
	ok(config_check_hostname("198.51.100.7.nip.io") == NULL, "digits before a named TLD are a name");
	ok(config_check_hostname("x.example.123") != NULL, "an all-digit TLD is no name");
}

/* The host name rules as written before config_check_hostname went to
 * one pass: each rule over the whole name, in the order reported. */
static const char *hostname_rules(const char *name)
{
	const char *last = strrchr(name, '.'), *label, *end;
	size_t len = strlen(name), i, n;

	if (len == 0)
		return "is empty";
	last = last ? last + 1 : name;
	if (strpbrk(name, ":[]") || (*last && strspn(last, "0123456789") == strlen(last)))
		return "is an address, not a host name: kvfence resolves names; "
		       "put addresses in your own nftables rules";
	if (len > 127)
		return "is longer than 127 characters (the limit of an nftables element comment)";
	if (!strchr(name, '.'))
		return "is not a fully qualified name";
	for (label = name;; label = end + 1) {
		end = label + strcspn(label, ".");
		n = (size_t)(end - label);
		for (i = 0; i < n; i++) {
			if (!isalnum((unsigned char)label[i]) && label[i] != '-' && label[i] != '_')
				return "may contain only letters, digits, hyphens, underscores and dots";
			if (i == 0 && label[i] == '-')
				return "has a label starting with a hyphen";
			if (i >= 63)
				return "has a label longer than 63 characters";
		}
		if (n == 0)
			return "has an empty label";
		if (label[n - 1] == '-')
			return "has a label ending with a hyphen";
		if (!*end)
			return NULL;
	}
}

static bool same_reason(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Random names from the characters the rules tell apart, of every length
 * up to past the limits (labels of 63 and 64, names of 127 and 128), and
 * the shapes the unit tests above name. */
static void test_a_host_name_is_judged_by_the_rules_as_written(void)
{
	static const char alphabet[] = "aZ09-_.:[]! \x80\xff";
	static const char *const edge[] = {
		"", ".", "..", "a", "a.", ".a", "a..b", "-a.b", "a-.b", "a.b-", "a.-b", "a_b.c",
		"1.2", "1.2.3.4", "a.1", "a.1b", "0x7f.1", "::1", "[::1]", "a.b:1", "a.b]",
		"x.example.123", "198.51.100.7.nip.io", "a.b!", "!a.b", "a.b.", "a b.c",
		"\x80.com", "a.\xff", "_.a", "a.-", "-", "1", "a-b-c.d-e",
	};
	char name[160];
	size_t i, k, len, wrong = 0, tried = 0, valid = 0;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++, tried++)
		if (!same_reason(config_check_hostname(edge[i]), hostname_rules(edge[i])))
			wrong++, printf("# \"%s\": %s, not %s\n", edge[i],
					config_check_hostname(edge[i]), hostname_rules(edge[i]));
	/* Labels and names around their limits, with a fault at the end,
	 * in the middle or none. */
	for (len = 60; len <= 130; len++) {
		for (k = 0; k < 4; k++, tried++) {
			memset(name, 'a', len);
			name[len] = '\0';
			if (k >= 1 && len > 70)
				name[64] = '.';
			if (k == 2)
				name[len - 1] = '-';
			if (k == 3)
				name[len / 2] = '!';
			if (!same_reason(config_check_hostname(name), hostname_rules(name)))
				wrong++, printf("# \"%s\": %s, not %s\n", name,
						config_check_hostname(name), hostname_rules(name));
		}
	}
	tap_seed(14);
	for (i = 0; i < 200000; i++, tried++) {
		len = tap_random() % (tap_random() % 8 ? 12 : 140);
		/* Mostly the characters of a name, so that many pass. */
		for (k = 0; k < len; k++)
			name[k] = alphabet[tap_random() % (tap_random() % 16 ? 7 : sizeof(alphabet) - 1)];
		name[len] = '\0';
		valid += config_check_hostname(name) == NULL;
		if (!same_reason(config_check_hostname(name), hostname_rules(name)) && wrong++ < 5)
			printf("# \"%s\": %s, not %s\n", name, config_check_hostname(name),
			       hostname_rules(name));
	}
	is_int(wrong, 0, "%zu names (%zu valid): each judged as the rules as written judge it",
	       tried, valid);
}

static void test_host_names_are_kept_in_lower_case(void)
{
	struct config cfg;
	char err[KVF_ERRLEN] = "";

	if (!ok(parse("host Www.Example.COM. 443\nhost a.b.C 80\nhost x.y 1\nhost Q.z 2\n",
		      &cfg, err) == 0, "four host lines: %s", err))
		return;
	ok(strcmp(cfg.hosts[0].name, "www.example.com") == 0 &&
	   strcmp(cfg.hosts[1].name, "a.b.c") == 0 && strcmp(cfg.hosts[2].name, "x.y") == 0 &&
	   strcmp(cfg.hosts[3].name, "q.z") == 0,
	   "each name in lower case, without its trailing dot: %s %s %s %s", cfg.hosts[0].name,
	   cfg.hosts[1].name, cfg.hosts[2].name, cfg.hosts[3].name);
	config_free(&cfg);
}

/* A number of a host line's port or of max-addresses-per-host is taken
 * exactly when strtoul took it (all of it, from a digit) in its range. */
static void test_a_number_is_taken_as_strtoul_took_it(void)
{
	static const char digits[] = "0123456789+- x";
	static const char *const edge[] = {
		"0", "1", "443", "4096", "4097", "65535", "65536", "00065535", "0000000000000001",
		"4294967296", "4294967297", "18446744073709551615", "18446744073709551616",
		"18446744073709552059",	/* 2^64 + 443 */
		"99999999999999999999999", "", "+1", "-1", " 1", "1 ", "0x10", "1e3",
	};
	char text[128], err[KVF_ERRLEN], word[32], *end;
	struct config cfg;
	size_t i, k, len, wrong = 0, tried = 0;

	tap_seed(1414);
	for (i = 0; i < 40000; i++) {
		const char *w = word;
		unsigned long n;
		bool want_port, want_max;

		if (i < sizeof(edge) / sizeof(edge[0])) {
			w = edge[i];
		} else {
			len = 1 + tap_random() % 12;
			for (k = 0; k < len; k++)
				word[k] = digits[tap_random() % (tap_random() % 4 ? 10 : sizeof(digits) - 1)];
			word[len] = '\0';
		}
		if (!*w || strpbrk(w, " "))
			continue;	/* not one word of a line */
		errno = 0;
		n = strtoul(w, &end, 10);
		want_port = !errno && !*end && isdigit((unsigned char)w[0]) && n >= 1 && n <= 65535;
		want_max = !errno && !*end && isdigit((unsigned char)w[0]) && n >= 1 && n <= 4096;
		snprintf(text, sizeof(text), "host a.example.com %s\n", w);
		tried++;
		if ((parse(text, &cfg, err) == 0) != want_port && wrong++ < 5)
			printf("# port \"%s\": %s\n", w, want_port ? err : "taken");
		if (want_port && cfg.hosts[0].port != n && wrong++ < 5)
			printf("# port \"%s\": %u\n", w, cfg.hosts[0].port);
		if (want_port)
			config_free(&cfg);
		snprintf(text, sizeof(text), "max-addresses-per-host %s\n", w);
		if ((parse(text, &cfg, err) == 0) != want_max && wrong++ < 5)
			printf("# max \"%s\": %s\n", w, want_max ? err : "taken");
		if (want_max && cfg.max_addresses != n && wrong++ < 5)
			printf("# max \"%s\": %u\n", w, cfg.max_addresses);
		if (want_max)
			config_free(&cfg);
	}
	is_int(wrong, 0, "%zu words: each taken as a port and as a count exactly as strtoul's "
	       "rules took it", tried);
}

static char tmpdir[] = "/tmp/kvf-test-config-XXXXXX";

/* 5,000 names on 3 ports each, in an order that mixes them, cross
 * several rebuilds of the duplicate table: all are kept, in order; a
 * name again on another port is a new host, again on the same port is
 * refused at its own line. */
static void test_a_duplicate_host_is_found_among_thousands(void)
{
	const unsigned ports[3] = { 443, 8443, 1 }, names = 5000;
	size_t cap = 64 + names * 3 * 40, n = 0;
	char *text = malloc(cap), err[KVF_ERRLEN] = "", want[64];
	struct config cfg;
	unsigned i, k, bad;

	n += (size_t)snprintf(text + n, cap - n, "vault contoso-prod\n");
	for (k = 0; k < 3; k++)
		for (i = 0; i < names; i++)
			n += (size_t)snprintf(text + n, cap - n, "host h%u.example.com %u\n",
					      (i * 7919u) % names, ports[k]);
	if (!ok(parse(text, &cfg, err) == 0, "%u hosts on 3 ports each are all accepted: %s",
		names, err))
		return;
	is_int(cfg.n_hosts, names * 3, "every (name, port) is kept once");
	is_str(cfg.hosts[names].name, "h0.example.com", "in the file's order");
	is_int(cfg.hosts[names].port, 8443, "with its port");
	config_free(&cfg);

	bad = 1 + 3 * names + 1;
	snprintf(text + n, cap - n, "host H4999.example.com. 8443\n");
	is_int(parse(text, &cfg, err), -1, "the same name and port again is refused");
	snprintf(want, sizeof(want), "t.conf:%u: host h4999.example.com 8443 is given twice", bad);
	is_str(err, want, "at its own line, by its normalised name");
	snprintf(text + n, cap - n, "host h4999.example.com 8444\n");
	is_int(parse(text, &cfg, err), 0, "the same name on a new port is a new host");
	config_free(&cfg);
	free(text);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_files_and_includes_are_read_and_checked(void)
{
	struct config cfg;
	char err[KVF_ERRLEN], path[256];

	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return;
	}
	mkdir(strcat(strcpy(path, tmpdir), "/conf.d"), 0755);
	write_file("main.conf", "cloud public\ninclude conf.d/*.conf\n", 0644);
	write_file("conf.d/a.conf", "vault contoso\n", 0644);
	write_file("conf.d/b.conf", "\nhost adfs.contoso.com 443\n", 0644);
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	if (!ok(config_parse_file(path, &cfg, err, sizeof(err)) == 0, "include glob"))
		printf("# %s\n", err);
	else {
		ok(cfg.n_vaults == 1 && cfg.n_hosts == 1, "included directives applied");
		config_free(&cfg);
	}

	write_file("conf.d/b.conf", "\ncloud china\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "conf.d/b.conf:2:") &&
	   strstr(err, "main.conf:1"), "duplicate across an include names both places: %s", err);

	write_file("conf.d/b.conf", "include ../main.conf\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "b.conf:1:") &&
	   strstr(err, "include loop"), "include loop refused: %s", err);

	write_file("conf.d/b.conf", "include nothere.conf\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "b.conf:1:") &&
	   strstr(err, "No such file"), "missing plain include refused: %s", err);

	/* kvfence.conf(5): a pattern with wildcards that matches nothing is
	 * not an error, also when its directory does not exist. */
	write_file("conf.d/b.conf", "include ../missing-dir/*.conf\ninclude /nonexistent-kvf/d/*.conf\n",
		   0644);
	if (!ok(config_parse_file(path, &cfg, err, sizeof(err)) == 0,
		"include pattern in a missing directory matches nothing"))
		printf("# %s\n", err);
	else
		config_free(&cfg);
	write_file("conf.d/b.conf", "include ../missing-dir/x.conf\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "b.conf:1:") &&
	   strstr(err, "No such file"), "missing plain include in a missing directory refused: %s",
	   err);

	/* A byte-order mark (Windows editors) before the first directive is
	 * accepted; elsewhere it is named, not an invisible "unknown
	 * directive". UTF-16 is named too. */
	write_file("conf.d/b.conf", "\xef\xbb\xbfhost adfs.contoso.com 443\n", 0644);
	if (!ok(config_parse_file(path, &cfg, err, sizeof(err)) == 0,
		"a UTF-8 byte-order mark before the first directive is accepted"))
		printf("# %s\n", err);
	else
		config_free(&cfg);
	write_file("conf.d/b.conf", "\n\xef\xbb\xbfhost adfs.contoso.com 443\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "b.conf:2:") &&
	   strstr(err, "byte-order mark"), "a byte-order mark on line 2 is named: %s", err);
	write_file("conf.d/b.conf", "\xff\xfeh\0o\0", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "b.conf:1:") &&
	   strstr(err, "UTF-16"), "UTF-16 is named: %s", err);
	write_file("conf.d/b.conf", "\xc2\xa0host adfs.contoso.com 443\n", 0644);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "\\xc2\\xa0host"),
	   "invisible bytes in an unknown directive are shown: %s", err);

	/* kvfence.conf(5): includes nest at most 8 deep. main.conf includes
	 * conf.d/b.conf (depth 2), which starts a chain deep/n3.conf ... */
	{
		char name[32], full[sizeof(tmpdir) + 32], text[64];
		int i;

		snprintf(full, sizeof(full), "%s/deep", tmpdir);
		mkdir(full, 0755);
		for (i = 3; i <= 9; i++) {
			snprintf(name, sizeof(name), "deep/n%d.conf", i);
			if (i < 9)
				snprintf(text, sizeof(text), "include n%d.conf\n", i + 1);
			else
				snprintf(text, sizeof(text), "host deep.example.com 443\n");
			write_file(name, text, 0644);
		}
		write_file("conf.d/b.conf", "include ../deep/n3.conf\n", 0644);
		ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 &&
		   strstr(err, "nested deeper than 8"), "a ninth level of includes refused: %s", err);
		write_file("deep/n8.conf", "host deep.example.com 443\n", 0644);
		if (!ok(config_parse_file(path, &cfg, err, sizeof(err)) == 0,
			"eight levels of includes accepted"))
			printf("# %s\n", err);
		else
			config_free(&cfg);
		write_file("deep/n8.conf", "include n8.conf\n", 0644);
		ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "n8.conf:1:") &&
		   strstr(err, "includes itself"), "a file including itself refused: %s", err);
	}

	/* kvfence.conf(5): not writable by other users; a group other than
	 * root's (or the process's own) may hold other users. */
	if (geteuid() == 0) {
		char full[sizeof(tmpdir) + 32];

		snprintf(full, sizeof(full), "%s/conf.d/b.conf", tmpdir);
		write_file("conf.d/b.conf", "vault other\n", 0664);
		if (ok(chown(full, 0, 0) == 0 && config_parse_file(path, &cfg, err, sizeof(err)) == 0,
		       "group-writable by root's group accepted"))
			config_free(&cfg);
		ok(chown(full, 0, 54321) == 0 && config_parse_file(path, &cfg, err, sizeof(err)) < 0 &&
		   strstr(err, "writable by group 54321"), "group-writable by another group refused: %s",
		   err);
		chmod(full, 0644);
		if (ok(config_parse_file(path, &cfg, err, sizeof(err)) == 0,
		       "another group without write access accepted"))
			config_free(&cfg);
	}

	write_file("conf.d/b.conf", "vault other\n", 0666);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "writable by any user"),
	   "world-writable include refused: %s", err);

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	ok(config_parse_file(path, &cfg, err, sizeof(err)) < 0 && strstr(err, "absent.conf"),
	   "missing main file: %s", err);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	ok(system(path) == 0, "clean up %s", tmpdir);
}

int main(void)
{
	test_platform_imds_and_private_directives_parse();
	test_an_empty_config_takes_the_defaults();
	test_a_full_config_parses_into_every_field();
	test_bad_inputs_are_refused_naming_file_and_line();
	test_listen_addresses_parse_with_their_ports();
	test_binary_garbage_is_refused_clearly();
	test_durations_parse_with_their_units();
	test_vault_and_host_names_are_checked();
	test_a_host_name_is_judged_by_the_rules_as_written();
	test_host_names_are_kept_in_lower_case();
	test_a_number_is_taken_as_strtoul_took_it();
	test_a_duplicate_host_is_found_among_thousands();
	test_files_and_includes_are_read_and_checked();
	return done_testing();
}
