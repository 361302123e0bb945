/* kvfence: the endpoint catalogue (shared/ENDPOINTS.md). From a config to
 * the host names a Key Vault client needs, each with its TCP ports. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "util.h"

#define HTTPS	443
#define HTTP	80

struct cloud_hosts {
	const char *auth;
	const char *aliases[3];		/* auth-aliases yes */
	const char *management;
	const char *graph[2];		/* current Microsoft Graph */
	const char *graph_seed;		/* the seed table's host, if different */
	const char *vault_suffix;
	const char *hsm_suffix;		/* NULL: no Managed HSM in this cloud */
	const char *crl_extra;		/* named only by this cloud's page */
};

static const struct cloud_hosts clouds[] = {
	[CLOUD_PUBLIC] = {
		.auth = "login.microsoftonline.com",
		.aliases = { "login.windows.net", "login.microsoft.com", "sts.windows.net" },
		.management = "management.azure.com",
		.graph = { "graph.microsoft.com" },
		.vault_suffix = "vault.azure.net",
		.hsm_suffix = "managedhsm.azure.net",
	},
	[CLOUD_CHINA] = {
		.auth = "login.chinacloudapi.cn",
		.aliases = { "login.partner.microsoftonline.cn" },
		.management = "management.chinacloudapi.cn",
		.graph = { "microsoftgraph.chinacloudapi.cn" },
		/* The retired Azure AD Graph host the seed table names. */
		.graph_seed = "graph.chinacloudapi.cn",
		.vault_suffix = "vault.azure.cn",
		/* The Azure CLI's suffix; one China page says chinacloudapi.cn. */
		.hsm_suffix = "managedhsm.azure.cn",
		.crl_extra = "cdp1.public-trust.com",
	},
	[CLOUD_USGOV] = {
		.auth = "login.microsoftonline.us",
		.aliases = { "login.usgovcloudapi.net", "login-us.microsoftonline.com" },
		.management = "management.usgovcloudapi.net",
		.graph = { "graph.microsoft.us", "dod-graph.microsoft.us" },
		/* The seed repeats the global host for US Government. */
		.graph_seed = "graph.microsoft.com",
		.vault_suffix = "vault.usgovcloudapi.net",
		.hsm_suffix = "managedhsm.usgovcloudapi.net",
	},
	[CLOUD_GERMANY] = {
		/* Closed on 2021-10-29; kept exactly as the seed lists it. */
		.auth = "login.microsoftonline.de",
		.management = "management.microsoftazure.de",
		.graph_seed = "graph.cloudapi.de",
		.vault_suffix = "vault.microsoftazure.de",
	},
};

/* Azure's certificate authorities' issuer, CRL and OCSP hosts, plain HTTP
 * ("Azure Certificate Authority details"). */
static const char *const crl_hosts[] = {
	"cacerts.digicert.com", "cacerts.digicert.cn", "cacerts.geotrust.com",
	"caissuers.microsoft.com", "www.microsoft.com",
	"crl3.digicert.com", "crl4.digicert.com", "crl.digicert.cn",
	"ocsp.digicert.com", "ocsp.digicert.cn", "oneocsp.microsoft.com",
};

static void add(struct endpoint_list *l, const char *name, uint16_t port, const char *why)
{
	struct endpoint *e;

	array_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->ports[0] = port;
	e->n_ports = 1;
	e->why = why;
}

static void add_suffixed(struct endpoint_list *l, char **names, size_t n,
			 const char *suffix, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *name = xasprintf("%s.%s", names[i], suffix);

		add(l, name, HTTPS, why);
		l->v[l->n - 1].private_link = true;
		free(name);
	}
}

static void add_cloud(const struct config *cfg, struct endpoint_list *l)
{
	const struct cloud_hosts *c = &clouds[cfg->cloud];
	size_t i;

	if (cfg->functions & FN_AUTH) {
		add(l, c->auth, HTTPS, "auth");
		for (i = 0; cfg->auth_aliases && i < 3 && c->aliases[i]; i++)
			add(l, c->aliases[i], HTTPS, "auth");
		if (cfg->microsoft_account)
			add(l, "login.live.com", HTTPS, "auth");
	}
	if (cfg->functions & FN_MANAGEMENT)
		add(l, c->management, HTTPS, "management");
	if (cfg->functions & FN_GRAPH) {
		for (i = 0; i < 2 && c->graph[i]; i++)
			add(l, c->graph[i], HTTPS, "graph");
		if (cfg->graph_legacy && c->graph_seed)
			add(l, c->graph_seed, HTTPS, "graph");
	}
	if (cfg->functions & FN_VAULT) {
		add_suffixed(l, cfg->vaults, cfg->n_vaults, c->vault_suffix, "vault");
		if (c->hsm_suffix)
			add_suffixed(l, cfg->hsms, cfg->n_hsms, c->hsm_suffix, "managed-hsm");
	}
	if (cfg->functions & FN_CRL) {
		for (i = 0; i < sizeof(crl_hosts) / sizeof(crl_hosts[0]); i++)
			add(l, crl_hosts[i], HTTP, "crl");
		if (c->crl_extra)
			add(l, c->crl_extra, HTTP, "crl");
	}
}

static int cmp_endpoint(const void *a, const void *b)
{
	const struct endpoint *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void merge_port(struct endpoint *into, uint16_t port)
{
	unsigned i, j;

	for (i = 0; i < into->n_ports && into->ports[i] < port; i++)
		;
	if ((i < into->n_ports && into->ports[i] == port) || into->n_ports == HOST_MAX_PORTS)
		return;
	for (j = into->n_ports; j > i; j--)
		into->ports[j] = into->ports[j - 1];
	into->ports[i] = port;
	into->n_ports++;
}

/* One entry per name: a host named by two functions (or by the catalogue
 * and a "host" line) is resolved once, with all its ports. */
static void merge_duplicates(struct endpoint_list *l)
{
	size_t i, w = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_endpoint);
	for (i = 0; i < l->n; i++) {
		if (w && strcmp(l->v[w - 1].name, l->v[i].name) == 0) {
			merge_port(&l->v[w - 1], l->v[i].ports[0]);
			/* The vault's name stays a vault's when a host line adds
			 * a port to it. */
			l->v[w - 1].private_link |= l->v[i].private_link;
			free(l->v[i].name);
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
}

void catalogue_build(const struct config *cfg, struct endpoint_list *list)
{
	size_t i;

	memset(list, 0, sizeof(*list));
	add_cloud(cfg, list);
	/* Room for the hosts at once: a 10k-host list doubled from 8 would
	 * leave a third of it unused. */
	array_reserve_exact(&list->v, &list->cap, list->n + cfg->n_hosts, sizeof(*list->v));
	for (i = 0; i < cfg->n_hosts; i++)
		add(list, cfg->hosts[i].name, cfg->hosts[i].port, "host");
	merge_duplicates(list);
}

void catalogue_free(struct endpoint_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->v[i].name);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

long catalogue_find(const struct endpoint_list *list, const char *name)
{
	struct endpoint key = { .name = (char *)name };
	const struct endpoint *e;

	if (list->n == 0)
		return -1;
	e = bsearch(&key, list->v, list->n, sizeof(*list->v), cmp_endpoint);
	return e ? e - list->v : -1;
}

bool catalogue_cloud_retired(enum cloud c)
{
	return c == CLOUD_GERMANY;
}
