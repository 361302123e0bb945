/* kvfence: the rules file for the administrator to review and include.
 * Every line says, in a comment, why it is there: the file is read by
 * people deciding whether to trust it. */
#include "autoconfig.h"

#include <linux/netfilter.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rules.h"

/* Service Tags ranges hold addresses only: these ports are allowed to
 * them (kvfence.conf(5), range-set4). */
static const uint16_t range_ports[] = { 80, 443 };

struct ports {
	bool seen[65536];
};

static void ports_collect(struct ports *p, const struct config *cfg,
			  const struct endpoint_list *eps)
{
	size_t i;
	unsigned k;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < eps->n; i++)
		for (k = 0; k < eps->v[i].n_ports; k++)
			p->seen[eps->v[i].ports[k]] = true;
	if (cfg->n_tagsets)
		for (k = 0; k < sizeof(range_ports) / sizeof(range_ports[0]); k++)
			p->seen[range_ports[k]] = true;
}

static bool ports_any(const struct ports *p)
{
	unsigned i;

	for (i = 1; i < 65536; i++)
		if (p->seen[i])
			return true;
	return false;
}

/* The ports, ascending, as "80, 443". */
static void ports_print(FILE *out, const struct ports *p)
{
	const char *sep = "";
	unsigned i;

	for (i = 1; i < 65536; i++) {
		if (p->seen[i]) {
			fprintf(out, "%s%u", sep, i);
			sep = ", ";
		}
	}
}

static void print_set(FILE *out, const char *name, const char *type, bool v6)
{
	fprintf(out, "\tset %s {\t# %s address . port of every host kvfence resolves\n"
		"\t\ttype %s . inet_service\t# one element per address and port, "
		"such as %s . 443\n"
		"\t\tcomment \"filled by kvfence\"\t# shown by nft list: kvfence "
		"writes and removes these elements\n\t}\n\n",
		name, v6 ? "IPv6" : "IPv4", type, v6 ? "2001:db8::1" : "192.0.2.1");
}

static void print_range_set(FILE *out, const char *name, const char *type, bool v6)
{
	fprintf(out, "\tset %s {\t# %s ranges of the service-tags directives\n"
		"\t\ttype %s\t# addresses only: the rule that uses the set picks the ports\n"
		"\t\tflags interval\t# prefixes such as %s, not single addresses\n"
		"\t\tcomment \"filled by kvfence from Service Tags\"\t# shown by nft list\n"
		"\t}\n\n", name, v6 ? "IPv6" : "IPv4", type,
		v6 ? "2001:db8::/48" : "192.0.2.0/24");
}

static void print_id_set(FILE *out, const struct rules_ids *ids)
{
	size_t i;

	/* Root is always let through: the Azure VM agent and its extensions
	 * run as root and use IMDS, and root can change the ruleset anyway. */
	fprintf(out, "{ 0");
	for (i = 0; i < ids->n; i++)
		if (ids->ids[i] != 0)
			fprintf(out, ", %u", ids->ids[i]);
	fprintf(out, " }");
}

static void print_id_names(FILE *out, const struct rules_ids *ids)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		fprintf(out, "%s%s", i ? ", " : "", ids->names[i]);
}

static void print_imds(FILE *out, const struct rules_ids *users, const struct rules_ids *groups)
{
	static const char imds[] = "ip daddr " RULES_IMDS_ADDR " tcp dport 80";

	if (users->n == 0 && groups->n == 0) {
		fprintf(out, "\t\t%s accept\t# IMDS: managed identity tokens "
			"(ManagedIdentityCredential, DefaultAzureCredential) and instance "
			"metadata; link-local, so never in the sets\n", imds);
		return;
	}
	if (users->n) {
		fprintf(out, "\t\t%s meta skuid ", imds);
		print_id_set(out, users);
		fprintf(out, " accept\t# IMDS (managed identity tokens) for root and "
			"imds-users ");
		print_id_names(out, users);
		fprintf(out, "\n");
	}
	if (groups->n) {
		fprintf(out, "\t\t%s meta skgid ", imds);
		print_id_set(out, groups);
		fprintf(out, " accept\t# IMDS (managed identity tokens) for root and "
			"imds-groups ");
		print_id_names(out, groups);
		fprintf(out, "\n");
	}
	fprintf(out, "\t\t%s reject with tcp reset\t# IMDS for every other user: "
		"refused, as imds-users/imds-groups ask (a token there is this VM's "
		"identity)\n", imds);
}

/* Loopback, IMDS, WireServer: what the host itself needs whatever the
 * sets hold. Forwarded traffic gets none of them. */
static void print_platform(FILE *out, const struct config *cfg, enum rules_hook hook,
			   const struct rules_ids *users, const struct rules_ids *groups)
{
	if (hook == HOOK_FORWARD) {
		fprintf(out, "\t\t# No loopback, IMDS or WireServer lines here: forwarded "
			"traffic never leaves through lo, and IMDS and the WireServer serve\n"
			"\t\t# this VM itself; letting clients behind it reach IMDS would "
			"hand them this VM's managed identity (kvfence(8), RULES).\n");
		return;
	}
	fprintf(out, "\t\toif \"lo\" accept\t# loopback: local services, the DNS stub "
		"(127.0.0.53), Azure Arc's managed identity endpoint 127.0.0.1:40342\n");
	if (cfg->platform == PLATFORM_NONE) {
		fprintf(out, "\t\t# platform none: no IMDS (169.254.169.254) or WireServer "
			"(168.63.129.16) lines, this is not an Azure VM.\n");
		return;
	}
	if (cfg->table_family == NFPROTO_IPV6) {
		fprintf(out, "\t\t# IMDS and the WireServer are IPv4 only: an ip6 table "
			"cannot name them; allow them in an ip or inet table.\n");
		return;
	}
	print_imds(out, users, groups);
	fprintf(out, "\t\tip daddr " RULES_WIRESERVER_ADDR " tcp dport { 80, 32526 } accept"
		"\t# Azure WireServer: the VM agent and extensions; Microsoft asks every "
		"in-VM firewall to allow it\n");
}

static void print_set_rules(FILE *out, const struct config *cfg)
{
	if (cfg->set4)
		fprintf(out, "\t\tip daddr . tcp dport @%s accept\t# the Key Vault hosts' "
			"current IPv4 addresses and ports, kept by kvfence\n", cfg->set4);
	if (cfg->set6)
		fprintf(out, "\t\tip6 daddr . tcp dport @%s accept\t# the Key Vault hosts' "
			"current IPv6 addresses and ports, kept by kvfence\n", cfg->set6);
	if (cfg->n_tagsets == 0)
		return;
	if (cfg->range_set4)
		fprintf(out, "\t\tip daddr @%s tcp dport { %u, %u } accept\t# Service Tags "
			"ranges (service-tags), IPv4: HTTPS and revocation checks\n",
			cfg->range_set4, range_ports[0], range_ports[1]);
	if (cfg->range_set6)
		fprintf(out, "\t\tip6 daddr @%s tcp dport { %u, %u } accept\t# Service Tags "
			"ranges (service-tags), IPv6: HTTPS and revocation checks\n",
			cfg->range_set6, range_ports[0], range_ports[1]);
}

static void print_header(FILE *out, const struct config *cfg, const char *hookname)
{
	fprintf(out, "#!/usr/sbin/nft -f\n"
		"# Generated by kvfence %s for cloud %s, platform %s: review it, then\n"
		"# include it from /etc/nftables.conf (Debian) or /etc/sysconfig/nftables.conf\n"
		"# (Fedora, RHEL). kvfence keeps the sets filled; this file declares them\n"
		"# and the %s chain that uses them. Every line says why it is there;\n"
		"# see RULES in kvfence(8).\n\n",
		PACKAGE_VERSION, config_cloud_name(cfg->cloud),
		cfg->platform == PLATFORM_AZURE ? "azure" : "none", hookname);
}

/* Loading the file again (nft -f by hand, a unit's ExecStartPre) must
 * replace the chain's rules, not append a second copy, and must keep the
 * sets' elements: declare the chain, flush it, then fill it. */
static void print_reload_preamble(FILE *out, const struct config *cfg, const char *hookname)
{
	const char *fam = config_family_name(cfg->table_family);

	fprintf(out, "table %s %s {\t# created if missing, kept with its sets if present\n"
		"\tchain kvfence_%s {\t# declared first, so that the next line works on "
		"a first load too\n"
		"\t\ttype filter hook %s priority filter; policy accept;\t# as below\n"
		"\t}\t# end of chain kvfence_%s\n}\t# end of table %s %s\n"
		"flush chain %s %s kvfence_%s\t# loading this file again replaces the "
		"chain's rules instead of doubling them; set elements stay\n\n",
		fam, cfg->table, hookname, hookname, hookname, fam, cfg->table,
		fam, cfg->table, hookname);
}

void rules_print(FILE *out, const struct config *cfg, const struct endpoint_list *eps,
		 enum rules_hook hook, const struct rules_ids *users,
		 const struct rules_ids *groups)
{
	const char *hookname = hook == HOOK_FORWARD ? "forward" : "output";
	static struct ports ports;	/* 64 KiB: not on the stack */

	print_header(out, cfg, hookname);
	print_reload_preamble(out, cfg, hookname);
	fprintf(out, "table %s %s {\t# kvfence.conf's table: a rule can use only the "
		"sets of its own table\n", config_family_name(cfg->table_family), cfg->table);
	if (cfg->set4)
		print_set(out, cfg->set4, "ipv4_addr", false);
	if (cfg->set6)
		print_set(out, cfg->set6, "ipv6_addr", true);
	if (cfg->n_tagsets && cfg->range_set4)
		print_range_set(out, cfg->range_set4, "ipv4_addr", false);
	if (cfg->n_tagsets && cfg->range_set6)
		print_range_set(out, cfg->range_set6, "ipv6_addr", true);
	fprintf(out, "\tchain kvfence_%s {\t# %s\n"
		"\t\ttype filter hook %s priority filter; policy accept;\t# decides only "
		"the TCP ports below; all else goes on to the other chains of this hook\n"
		"\t\tct state established,related accept\t# replies, and connections "
		"this chain already let through\n",
		hookname, hook == HOOK_FORWARD ? "what a gateway forwards" :
		"what this host sends", hookname);
	print_platform(out, cfg, hook, users, groups);
	print_set_rules(out, cfg);
	ports_collect(&ports, cfg, eps);
	if (ports_any(&ports)) {
		fprintf(out, "\t\ttcp dport { ");
		ports_print(out, &ports);
		fprintf(out, " } reject with tcp reset\t# the rest of these ports: "
			"refused at once, so clients fail fast instead of timing out\n");
	} else {
		fprintf(out, "\t\t# No host and no service tag is configured: no port "
			"to refuse.\n");
	}
	fprintf(out, "\t}\t# end of chain kvfence_%s\n}\t# end of table %s %s\n",
		hookname, config_family_name(cfg->table_family), cfg->table);
}
