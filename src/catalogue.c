/* kvfence: the endpoint catalogue (shared/ENDPOINTS.md). From a config to
 * the host names a Key Vault client needs, each with its TCP ports. */
#include "autoconfig.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "util.h"

#define HTTPS	443
#define HTTP	80

struct cloud_hosts {
	const char *auth;
	/* The host MSAL contacts instead of auth: its instance metadata maps
	 * the configured authority to the cloud's preferred_network host. */
	const char *auth_preferred;
	/* Instance discovery that MSAL.NET and MSAL Java still send to the
	 * global host in this cloud (instance-discovery yes). */
	const char *discovery;
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
		.auth_preferred = "login.partner.microsoftonline.cn",
		.discovery = "login.microsoftonline.com",
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
		.discovery = "login.microsoftonline.com",
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

/* While a list is built its names are borrowed: from the config, from the
 * tables above, and from made (the vault names); own_names copies them
 * into one block at the end. */
struct made {
	char **v;
	size_t n, cap;
};

static void add(struct endpoint_list *l, const char *name, uint16_t port, const char *why)
{
	struct endpoint *e;

	array_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	e->ports[0] = port;
	e->n_ports = 1;
	e->why = why;
}

static void add_suffixed(struct endpoint_list *l, struct made *made, char **names,
			 const bool *priv, size_t n, const char *suffix, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		array_reserve(&made->v, &made->cap, made->n + 1, sizeof(*made->v));
		made->v[made->n] = xasprintf("%s.%s", names[i], suffix);
		add(l, made->v[made->n++], HTTPS, why);
		l->v[l->n - 1].private_link = priv && priv[i];
		l->v[l->n - 1].keyvault = true;
	}
}

static void add_cloud(const struct config *cfg, struct endpoint_list *l, struct made *made)
{
	const struct cloud_hosts *c = &clouds[cfg->cloud];
	size_t i;

	if (cfg->functions & FN_AUTH) {
		add(l, c->auth, HTTPS, "auth");
		if (c->auth_preferred)
			add(l, c->auth_preferred, HTTPS, "auth");
		if (c->discovery && cfg->instance_discovery)
			add(l, c->discovery, HTTPS, "auth");
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
		add_suffixed(l, made, cfg->vaults, cfg->vaults_private, cfg->n_vaults,
			     c->vault_suffix, "vault");
		if (c->hsm_suffix)
			add_suffixed(l, made, cfg->hsms, cfg->hsms_private, cfg->n_hsms,
				     c->hsm_suffix, "managed-hsm");
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

/* By name, stably (of the entries of one name, the first added comes
 * first and keeps its why and its ports), as qsort of the whole list did.
 * The list is the catalogue's own hosts, then the k.. host lines: those
 * are sorted apart, and not at all when the file has them in order (a
 * generated one), then merged, the catalogue's first on a tie. */
static void sort_by_name(struct endpoint_list *l, size_t k)
{
	struct endpoint *own;
	size_t i, j, w;

	if (l->n == 0)
		return;
	qsort(l->v, k, sizeof(*l->v), cmp_endpoint);
	for (j = k + 1; j < l->n && cmp_endpoint(&l->v[j - 1], &l->v[j]) <= 0; j++)
		;
	if (j < l->n)
		qsort(l->v + k, l->n - k, sizeof(*l->v), cmp_endpoint);
	if (k == 0 || k == l->n)
		return;
	own = xreallocarray(NULL, k, sizeof(*own));
	memcpy(own, l->v, k * sizeof(*own));
	/* w = i + (j - k) <= j: the merge never writes over an unread line. */
	for (i = 0, j = k, w = 0; i < k; w++)
		l->v[w] = j < l->n && cmp_endpoint(&l->v[j], &own[i]) < 0 ? l->v[j++] : own[i++];
	free(own);
}

/* One entry per name: a host named by two functions (or by the catalogue
 * and a "host" line) is resolved once, with all its ports. */
static void merge_duplicates(struct endpoint_list *l)
{
	size_t i, w = 0;

	for (i = 0; i < l->n; i++) {
		if (w && strcmp(l->v[w - 1].name, l->v[i].name) == 0) {
			merge_port(&l->v[w - 1], l->v[i].ports[0]);
			l->v[w - 1].private_link |= l->v[i].private_link;
			/* The vault's name stays a vault's when a host line adds
			 * a port to it. */
			l->v[w - 1].keyvault |= l->v[i].keyvault;
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
}

/* The borrowed names into one block of the list's own (one allocation
 * instead of one per name), and the index of them: an agent looks names
 * up for every record line, element and answer (40k look-ups in a
 * 10k-host cold sync); bisection walked 14 names scattered over the heap
 * each time. */
static void own_names(struct endpoint_list *l)
{
	size_t total = 0, i, len;
	char *p;

	for (i = 0; i < l->n; i++)
		total += strlen(l->v[i].name) + 1;
	p = l->names = xmalloc(total ? total : 1);
	for (i = 0; i < l->n; i++) {
		len = strlen(l->v[i].name) + 1;
		memcpy(p, l->v[i].name, len);
		l->v[i].name = p;
		p += len;
	}
	name_index_reserve(&l->index, l->n, l->v, sizeof(*l->v));
	for (i = 0; i < l->n; i++)
		name_index_add(&l->index, i, l->v, sizeof(*l->v));
}

_Static_assert(offsetof(struct endpoint, name) == 0, "nameindex.h: the name comes first");

void catalogue_build(const struct config *cfg, struct endpoint_list *list)
{
	struct made made = { 0 };
	size_t i, own;

	memset(list, 0, sizeof(*list));
	add_cloud(cfg, list, &made);
	own = list->n;
	/* Room for the hosts at once: a 10k-host list doubled from 8 would
	 * leave a third of it unused. */
	array_reserve_exact(&list->v, &list->cap, list->n + cfg->n_hosts, sizeof(*list->v));
	for (i = 0; i < cfg->n_hosts; i++)
		add(list, cfg->hosts[i].name, cfg->hosts[i].port, "host");
	sort_by_name(list, own);
	merge_duplicates(list);
	own_names(list);
	for (i = 0; i < made.n; i++)
		free(made.v[i]);
	free(made.v);
}

void catalogue_free(struct endpoint_list *list)
{
	free(list->names);
	free(list->v);
	name_index_free(&list->index);
	memset(list, 0, sizeof(*list));
}

long catalogue_find(const struct endpoint_list *list, const char *name)
{
	struct endpoint key = { .name = (char *)name };
	const struct endpoint *e;
	uint32_t *slot;

	if (list->index.slot) {
		slot = name_index_slot(&list->index, name, list->v, sizeof(*list->v));
		return (long)*slot - 1;
	}
	if (list->n == 0)
		return -1;
	e = bsearch(&key, list->v, list->n, sizeof(*list->v), cmp_endpoint);
	return e ? e - list->v : -1;
}

/* Who contacts the auth aliases (ENDPOINTS.md); NULL: no note. */
static const char *alias_need(const char *host)
{
	static const struct { const char *host, *need; } notes[] = {
		{ "login.windows.net", "needed only by legacy ADAL-based clients (KeyVaultClient) that "
		  "follow the vault's 401 challenge authority login.windows.net/<tenant>; "
		  "current SDKs take only the tenant from it" },
		{ "login.microsoft.com", "needed only by clients configured with that authority by hand" },
		{ "sts.windows.net", "needed only by token validators that fetch the issuer's metadata "
		  "from sts.windows.net (ADAL-era code)" },
		{ "login.usgovcloudapi.net", "needed only by clients configured with that legacy "
		  "authority; MSAL maps it to login.microsoftonline.us" },
		{ "login-us.microsoftonline.com", "needed only by clients configured with that "
		  "authority by hand (the older US Government sign-in host)" },
	};
	size_t i;

	for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strcmp(notes[i].host, host) == 0)
			return notes[i].need;
	return "needed only by clients configured with that authority";
}

static void left(struct left_out **v, size_t *n, const char *name, const char *because,
		 const char *needed_by)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].name = name;
	(*v)[*n].because = because;
	(*v)[(*n)++].needed_by = needed_by;
}

static void left_auth(const struct config *cfg, const struct cloud_hosts *c,
		      struct left_out **v, size_t *n)
{
	static const char every[] = "needed by every client that signs in with Entra ID";
	static const char discovery[] = "needed by MSAL.NET and MSAL Java, which send instance "
		"discovery to the global host in sovereign clouds (AzureAD/microsoft-"
		"authentication-library-for-dotnet#5630, -for-java#1008; the Azure CLI "
		"hangs without it, Azure/azure-cli#24558)";
	size_t i;

	if (!(cfg->functions & FN_AUTH)) {
		left(v, n, c->auth, "endpoints without auth", every);
		if (c->auth_preferred)
			left(v, n, c->auth_preferred, "endpoints without auth",
			     "needed by every MSAL-based client (it is the cloud's preferred sign-in host)");
		if (c->discovery)
			left(v, n, c->discovery, "endpoints without auth", discovery);
		return;
	}
	if (c->discovery && !cfg->instance_discovery)
		left(v, n, c->discovery, "instance-discovery no", discovery);
	for (i = 0; !cfg->auth_aliases && i < 3 && c->aliases[i]; i++)
		left(v, n, c->aliases[i], "auth-aliases no", alias_need(c->aliases[i]));
	if (!cfg->microsoft_account)
		left(v, n, "login.live.com", "microsoft-account no",
		     "needed only to sign in with personal Microsoft accounts");
}

size_t catalogue_left_out(const struct config *cfg, struct left_out **out)
{
	const struct cloud_hosts *c = &clouds[cfg->cloud];
	size_t i, n = 0;

	*out = NULL;
	left_auth(cfg, c, out, &n);
	if (!(cfg->functions & FN_MANAGEMENT))
		left(out, &n, c->management, "endpoints without management",
		     "needed by Azure Resource Manager clients (az, ARM SDKs, creating or listing vaults)");
	if (!(cfg->functions & FN_GRAPH)) {
		for (i = 0; i < 2 && c->graph[i]; i++)
			left(out, &n, c->graph[i], "endpoints without graph",
			     "needed by Microsoft Graph clients (directory look-ups)");
		if (c->graph_seed)
			left(out, &n, c->graph_seed, "endpoints without graph",
			     "needed by clients of the host Microsoft's firewall table names for Graph");
	} else if (!cfg->graph_legacy && c->graph_seed) {
		left(out, &n, c->graph_seed, "graph-legacy no",
		     "needed by clients of the host Microsoft's firewall table names for Graph "
		     "(the retired Azure AD Graph in china)");
	}
	if (!(cfg->functions & FN_CRL)) {
		for (i = 0; i < sizeof(crl_hosts) / sizeof(crl_hosts[0]); i++)
			left(out, &n, crl_hosts[i], "endpoints without crl",
			     "needed by TLS clients that check revocation (CRL, OCSP) or fetch issuer "
			     "certificates over HTTP, port 80");
		if (c->crl_extra)
			left(out, &n, c->crl_extra, "endpoints without crl",
			     "needed by TLS clients that check revocation (named by the China Key Vault page)");
	}
	return n;
}

bool catalogue_cloud_retired(enum cloud c)
{
	return c == CLOUD_GERMANY;
}
