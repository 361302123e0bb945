/* Unit tests of the endpoint catalogue: every cloud, every function. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvfence.h"
#include "catalogue.h"
#include "config.h"
#include "tap.h"

static void build(const char *text, struct config *cfg, struct endpoint_list *eps)
{
	char err[KVF_ERRLEN];

	if (config_parse_buffer("t.conf", text, strlen(text), cfg, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		memset(eps, 0, sizeof(*eps));
		return;
	}
	catalogue_build(cfg, eps);
}

static int port_of(const struct endpoint_list *eps, const char *name, unsigned k)
{
	long i = catalogue_find(eps, name);

	if (i < 0 || k >= eps->v[i].n_ports)
		return -1;
	return eps->v[i].ports[k];
}

static void check_hosts(const char *conf, const char *const *want, size_t n_want,
			size_t total, const char *what)
{
	struct endpoint_list eps;
	struct config cfg;
	size_t i, found = 0;

	build(conf, &cfg, &eps);
	for (i = 0; i < n_want; i++) {
		if (catalogue_find(&eps, want[i]) >= 0)
			found++;
		else
			printf("#   %s: missing %s\n", what, want[i]);
	}
	ok(found == n_want && eps.n == total, "%s: %zu hosts, the expected ones", what, eps.n);
	catalogue_free(&eps);
	config_free(&cfg);
}

static void test_each_cloud_has_its_own_hosts(void)
{
	static const char *const pub[] = {
		"login.microsoftonline.com", "management.azure.com", "graph.microsoft.com",
		"contoso.vault.azure.net", "hsm1.managedhsm.azure.net",
	};
	static const char *const cn[] = {
		"login.chinacloudapi.cn", "login.partner.microsoftonline.cn",
		"login.microsoftonline.com", "management.chinacloudapi.cn",
		"graph.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn",
		"contoso.vault.azure.cn", "hsm1.managedhsm.azure.cn",
	};
	static const char *const gov[] = {
		"login.microsoftonline.us", "login.microsoftonline.com",
		"management.usgovcloudapi.net",
		"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
		"contoso.vault.usgovcloudapi.net", "hsm1.managedhsm.usgovcloudapi.net",
	};
	static const char *const de[] = {
		"login.microsoftonline.de", "management.microsoftazure.de",
		"graph.cloudapi.de", "contoso.vault.microsoftazure.de",
	};

	check_hosts("cloud public\nvault contoso\nmanaged-hsm hsm1\nendpoints auth management graph vault\n",
		    pub, 5, 5, "public");
	check_hosts("cloud china\nvault contoso\nmanaged-hsm hsm1\nendpoints auth management graph vault\n",
		    cn, 8, 8, "china: MSAL's host, instance discovery, seed and current graph");
	check_hosts("cloud usgov\nvault contoso\nmanaged-hsm hsm1\nendpoints auth management graph vault\n",
		    gov, 8, 8, "usgov: instance discovery, seed and current graph");
	check_hosts("cloud germany\nvault contoso\nendpoints auth management graph vault\n",
		    de, 4, 4, "germany as the seed lists it");
	check_hosts("cloud usgov\ngraph-legacy no\nendpoints graph\n", gov + 4, 2, 2,
		    "usgov graph-legacy no drops the seed host");
	ok(catalogue_cloud_retired(CLOUD_GERMANY) && !catalogue_cloud_retired(CLOUD_PUBLIC),
	   "germany is retired");
}

static void test_endpoint_options_add_their_hosts_and_ports(void)
{
	static const char *const aliases[] = {
		"login.microsoftonline.com", "login.windows.net", "login.microsoft.com",
		"sts.windows.net", "login.live.com",
	};
	static const char *const crl[] = {
		"crl3.digicert.com", "ocsp.digicert.com", "oneocsp.microsoft.com",
		"www.microsoft.com", "cacerts.digicert.com",
	};
	struct endpoint_list eps;
	struct config cfg;

	check_hosts("endpoints auth\nauth-aliases yes\nmicrosoft-account yes\n", aliases, 5, 5,
		    "auth aliases and Microsoft accounts");
	check_hosts("endpoints crl\n", crl, 5, 11, "crl hosts");
	check_hosts("cloud china\nendpoints crl\n", crl, 5, 12, "china adds cdp1.public-trust.com");
	check_hosts("endpoints none\n", NULL, 0, 0, "endpoints none: nothing");

	build("endpoints crl\nhost www.microsoft.com 443\nhost adfs.contoso.com 443\n", &cfg, &eps);
	ok(port_of(&eps, "crl3.digicert.com", 0) == 80, "crl on port 80");
	ok(port_of(&eps, "www.microsoft.com", 0) == 80 && port_of(&eps, "www.microsoft.com", 1) == 443,
	   "a name from two sources is merged with both ports");
	ok(port_of(&eps, "adfs.contoso.com", 0) == 443, "extra host");
	catalogue_free(&eps);
	config_free(&cfg);

	build("endpoints auth\n", &cfg, &eps);
	ok(eps.n == 1 && port_of(&eps, "login.microsoftonline.com", 0) == 443, "auth on 443");
	catalogue_free(&eps);
	config_free(&cfg);
}

static bool keyvault_of(const struct endpoint_list *eps, const char *name)
{
	long i = catalogue_find(eps, name);

	return i >= 0 && eps->v[i].keyvault;
}

/* Only vaults and managed HSMs may take private addresses (allow-private
 * auto): the mark comes from the config's kind, never from the name. */
static void test_only_configured_vaults_and_hsms_are_marked_as_vaults(void)
{
	struct endpoint_list eps;
	struct config cfg;

	build("vault kv1\nmanaged-hsm hsm1\nendpoints auth vault crl\n"
	      "host adfs.contoso.com 443\nhost kv1.vault.azure.net 8443\n"
	      "host other.vault.azure.net 443\n", &cfg, &eps);
	ok(keyvault_of(&eps, "kv1.vault.azure.net"), "a vault is marked");
	ok(port_of(&eps, "kv1.vault.azure.net", 1) == 8443 &&
	   keyvault_of(&eps, "kv1.vault.azure.net"), "and stays marked with a host line's port");
	ok(keyvault_of(&eps, "hsm1.managedhsm.azure.net"), "a managed HSM is marked");
	ok(!keyvault_of(&eps, "login.microsoftonline.com"), "auth is not");
	ok(!keyvault_of(&eps, "crl3.digicert.com"), "crl is not");
	ok(!keyvault_of(&eps, "adfs.contoso.com"), "a host line is not");
	ok(!keyvault_of(&eps, "other.vault.azure.net"), "a host line with a vault's name is not");
	catalogue_free(&eps);
	config_free(&cfg);
}

/* MSAL rewrites login.chinacloudapi.cn to login.partner.microsoftonline.cn:
 * the default china catalogue must hold it; instance discovery to the
 * global host in usgov and china is on by default and can be left out. */
static void test_sovereign_clouds_sign_in_through_their_own_hosts(void)
{
	static const char *const cn[] = {
		"login.chinacloudapi.cn", "login.partner.microsoftonline.cn",
	};
	static const char *const gov[] = { "login.microsoftonline.us" };

	check_hosts("cloud china\nendpoints auth\ninstance-discovery no\n", cn, 2, 2,
		    "china instance-discovery no: both sign-in hosts, no global host");
	check_hosts("cloud usgov\nendpoints auth\ninstance-discovery no\n", gov, 1, 1,
		    "usgov instance-discovery no: login.microsoftonline.us only");
	check_hosts("cloud public\nendpoints auth\ninstance-discovery no\n",
		    (const char *const[]){ "login.microsoftonline.com" }, 1, 1,
		    "public: instance-discovery changes nothing");
}

static bool has_left(const struct left_out *v, size_t n, const char *host, const char *because)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, host) == 0 && strcmp(v[i].because, because) == 0 &&
		    v[i].needed_by[0])
			return true;
	return false;
}

/* `kvfence check` says what is left out: one entry per host, with the
 * directive that leaves it out and who needs it. */
static void test_check_names_each_host_left_out_and_why(void)
{
	struct left_out *v;
	struct config cfg;
	char err[KVF_ERRLEN];
	size_t n;
	const char *text = "cloud usgov\ninstance-discovery no\n";

	config_parse_buffer("t.conf", text, strlen(text), &cfg, err, sizeof(err));
	n = catalogue_left_out(&cfg, &v);
	ok(has_left(v, n, "login.microsoftonline.com", "instance-discovery no"),
	   "usgov instance-discovery no: the global host is reported left out");
	ok(has_left(v, n, "login.usgovcloudapi.net", "auth-aliases no") &&
	   has_left(v, n, "login.live.com", "microsoft-account no") && n == 4,
	   "usgov defaults: aliases and login.live.com left out, %zu entries", n);
	free(v);
	config_free(&cfg);

	text = "endpoints vault\n";
	config_parse_buffer("t.conf", text, strlen(text), &cfg, err, sizeof(err));
	n = catalogue_left_out(&cfg, &v);
	ok(has_left(v, n, "login.microsoftonline.com", "endpoints without auth") &&
	   has_left(v, n, "management.azure.com", "endpoints without management") &&
	   has_left(v, n, "graph.microsoft.com", "endpoints without graph") &&
	   has_left(v, n, "crl3.digicert.com", "endpoints without crl") && n == 14,
	   "endpoints vault: every other function's hosts left out, %zu entries", n);
	free(v);
	config_free(&cfg);

	text = "auth-aliases yes\n";
	config_parse_buffer("t.conf", text, strlen(text), &cfg, err, sizeof(err));
	n = catalogue_left_out(&cfg, &v);
	ok(has_left(v, n, "login.live.com", "microsoft-account no") && n == 1,
	   "public with aliases: only login.live.com left out");
	free(v);
	config_free(&cfg);

	text = "";
	config_parse_buffer("t.conf", text, 0, &cfg, err, sizeof(err));
	n = catalogue_left_out(&cfg, &v);
	ok(has_left(v, n, "login.windows.net", "auth-aliases no") &&
	   strstr(v[0].needed_by, "ADAL") != NULL,
	   "public defaults: login.windows.net left out, for ADAL clients");
	free(v);
	config_free(&cfg);
}

/* "vault NAME... private" marks those vaults' hosts; a vault named
 * "private" alone is just a vault. */
static void test_private_marks_only_the_vaults_of_its_line(void)
{
	struct endpoint_list eps;
	struct config cfg;
	long a, b, c, d;

	build("vault pub1\nvault pl1 pl2 private\nmanaged-hsm hsm1 private\nvault private\n"
	      "endpoints vault\n", &cfg, &eps);
	a = catalogue_find(&eps, "pub1.vault.azure.net");
	b = catalogue_find(&eps, "pl2.vault.azure.net");
	c = catalogue_find(&eps, "hsm1.managedhsm.azure.net");
	d = catalogue_find(&eps, "private.vault.azure.net");
	ok(eps.n == 5 && a >= 0 && b >= 0 && c >= 0 && d >= 0 && !eps.v[a].private_link &&
	   eps.v[b].private_link && eps.v[c].private_link && !eps.v[d].private_link,
	   "private marks exactly the vaults and HSMs of its line");
	catalogue_free(&eps);
	config_free(&cfg);
}

/* The name index finds each of thousands of names at its place, and no
 * name it does not hold: not a prefix, a suffix or a near miss. */
static void every_name_is_found_at_its_index_and_no_other_name(void)
{
	struct endpoint_list eps, plain;
	struct config cfg;
	size_t len = 0, i, wrong = 0, n = 3000;
	char *text = malloc(n * 64), name[96];

	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "host h%zu.example.net 443\n", i * 7919 % 100003);
	build(text, &cfg, &eps);
	ok(eps.index.slot != NULL, "catalogue_build indexes the names");
	for (i = 0; i < eps.n; i++)
		wrong += catalogue_find(&eps, eps.v[i].name) != (long)i;
	is_int(wrong, 0, "each of %zu names is found at its index", eps.n);
	plain = eps;
	plain.index.slot = NULL;
	for (i = 0; i < eps.n; i++)
		wrong += catalogue_find(&plain, eps.v[i].name) != (long)i;
	is_int(wrong, 0, "and by bisection without the index");
	for (i = 0; i < n; i++) {
		sprintf(name, "h%zu.example.ne", i * 7919 % 100003);
		wrong += catalogue_find(&eps, name) >= 0;
		sprintf(name, "h%zu.example.net.", i * 7919 % 100003);
		wrong += catalogue_find(&eps, name) >= 0;
		sprintf(name, "xh%zu.example.net", i * 7919 % 100003);
		wrong += catalogue_find(&eps, name) >= 0;
	}
	wrong += catalogue_find(&eps, "") >= 0;
	is_int(wrong, 0, "no near miss is found");
	catalogue_free(&eps);
	config_free(&cfg);
	free(text);
}

static void describe(const struct endpoint_list *eps, char *out, size_t len)
{
	size_t i, n = 0;
	unsigned k;

	out[0] = '\0';
	for (i = 0; i < eps->n && n < len; i++) {
		n += (size_t)snprintf(out + n, len - n, "%s %s%s%s", eps->v[i].name, eps->v[i].why,
				      eps->v[i].keyvault ? " kv" : "",
				      eps->v[i].private_link ? " pl" : "");
		for (k = 0; k < eps->v[i].n_ports && n < len; k++)
			n += (size_t)snprintf(out + n, len - n, " %u", eps->v[i].ports[k]);
		if (n < len)
			n += (size_t)snprintf(out + n, len - n, "\n");
	}
}

/* The list is sorted by name as a stable sort of everything added would
 * sort it: of a name the catalogue has and a host line repeats, the
 * catalogue's comes first (its why stays), and of more than 8 ports the
 * first 8 added stay; host lines in order, reversed or shuffled give
 * the same list. */
static void test_the_list_is_the_same_whatever_the_order_of_host_lines(void)
{
	static const char head[] = "vault contoso-prod private\nmicrosoft-account yes\n";
	static const char *const lines[] = {
		"host a.example.com 443", "host contoso-prod.vault.azure.net 8443",
		"host login.microsoftonline.com 1", "host login.microsoftonline.com 2",
		"host login.microsoftonline.com 3", "host login.microsoftonline.com 4",
		"host login.microsoftonline.com 5", "host login.microsoftonline.com 6",
		"host login.microsoftonline.com 7",
		"host www.microsoft.com 443", "host zz.example.com 443", "host a.example.com 80",
	};
	enum { N = sizeof(lines) / sizeof(lines[0]) };
	char text[2048], first[4096], again[4096];
	size_t order[N], i, k, len, differ = 0;
	struct endpoint_list eps;
	struct config cfg;
	long j;

	for (k = 0; k < 40; k++) {
		for (i = 0; i < N; i++)
			order[i] = k == 1 ? N - 1 - i : i;
		for (i = N - 1; k > 1 && i > 0; i--) {
			size_t r = tap_random() % (i + 1), t = order[i];

			order[i] = order[r];
			order[r] = t;
		}
		len = (size_t)snprintf(text, sizeof(text), "%s", head);
		for (i = 0; i < N; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s\n",
						lines[order[i]]);
		build(text, &cfg, &eps);
		describe(&eps, k ? again : first, sizeof(first));
		differ += k && strcmp(first, again) != 0;
		if (k == 0) {
			j = catalogue_find(&eps, "login.microsoftonline.com");
			ok(j >= 0 && strcmp(eps.v[j].why, "auth") == 0 && eps.v[j].n_ports == 8,
			   "a catalogue host that host lines repeat stays the catalogue's, with 8 ports");
			j = catalogue_find(&eps, "contoso-prod.vault.azure.net");
			ok(j >= 0 && strcmp(eps.v[j].why, "vault") == 0 && eps.v[j].keyvault &&
			   eps.v[j].private_link && eps.v[j].n_ports == 2, "so does a vault's");
		}
		catalogue_free(&eps);
		config_free(&cfg);
	}
	is_int(differ, 0, "host lines in order, reversed and shuffled 38 times: the same list");

	/* Past 8 ports, which stay depends on the order: the first 8. */
	len = (size_t)snprintf(text, sizeof(text), "endpoints auth\n");
	for (i = 9; i >= 1; i--)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"host login.microsoftonline.com %zu\n", i * 1000);
	build(text, &cfg, &eps);
	is_int(eps.v[0].n_ports, 8, "9 host lines add 7 ports to the catalogue's 443");
	ok(eps.v[0].ports[0] == 443 && eps.v[0].ports[1] == 3000 && eps.v[0].ports[7] == 9000,
	   "the first 7 in the file: 443 3000 ... 9000");
	catalogue_free(&eps);
	config_free(&cfg);
}

int main(void)
{
	test_each_cloud_has_its_own_hosts();
	test_endpoint_options_add_their_hosts_and_ports();
	test_only_configured_vaults_and_hsms_are_marked_as_vaults();
	test_sovereign_clouds_sign_in_through_their_own_hosts();
	test_check_names_each_host_left_out_and_why();
	test_private_marks_only_the_vaults_of_its_line();
	every_name_is_found_at_its_index_and_no_other_name();
	test_the_list_is_the_same_whatever_the_order_of_host_lines();
	return done_testing();
}
