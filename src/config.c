/* kvfence: kvfence.conf(5). One directive per line, '#' comments, the
 * style of chrony.conf. Every error names file:line and the reason; the
 * parser never logs and never touches the kernel. */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "config.h"
#include "kvfence.h"
#include "log.h"
#include "nameindex.h"
#include "util.h"

#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_ARGS		64
#define NFT_NAME_MAX		255
/* Far beyond any real config, and a bound on the duplicate checks. */
#define CONFIG_MAX_HOSTS	65536
#define CONFIG_MAX_NAMES	1024
/* nftables keeps element comments up to 128 bytes with the NUL (nft's
 * NFTNL_UDATA_COMMENT_MAXLEN); ownership by comment needs the whole name. */
#define HOSTNAME_MAX		127

struct where {
	const char *file;
	unsigned line;
};

struct parser {
	struct config *cfg;
	char *err;
	size_t errlen;
	struct where at;
	struct conffile_stack open;	/* the files being read */
	struct where seen[48];		/* first use of each single directive */
	char **files;			/* names kept alive for seen[] */
	size_t n_files, cap_files;
	bool set6_explicit, set4_explicit;
	struct where table_at, set_at, hsm_at, endpoints_at, refresh_at, listen_at;
	/* The host names, for the duplicate check (see d_host): each
	 * name's newest host. */
	struct name_index hosts_seen;
	size_t *same_name;		/* per host: the previous one of its name + 1 */
	size_t cap_same;
	size_t cap_hosts;
	size_t names_free, names_block;	/* in cfg->host_names */
};

static int perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int l;

	/* Line 0: the file itself could not be read; the reason names it. */
	l = p->at.line ? snprintf(p->err, p->errlen, "%s:%u: ", p->at.file, p->at.line) : 0;
	if (l < 0 || (size_t)l >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + l, p->errlen - l, fmt, ap);
	va_end(ap);
	/* Messages quote the input: no escape sequence reaches a terminal
	 * or the journal through them. */
	for (; p->err[l]; l++)
		if ((unsigned char)p->err[l] < 0x20 || p->err[l] == 0x7f)
			p->err[l] = '?';
	return -1;
}

int config_parse_duration(const char *text, unsigned *seconds)
{
	unsigned long long total = 0;
	const char *s = text;
	bool bare = *s != '\0' && strspn(s, "0123456789") == strlen(s);

	if (!*s)
		return -EINVAL;
	while (*s) {
		unsigned long long n = 0, mult;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (unsigned)(*s++ - '0');
			if (n > UINT_MAX)
				return -ERANGE;
		}
		switch (*s) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case '\0':
			if (!bare)
				return -EINVAL;
			mult = 1;	/* a bare number counts seconds */
			s--;
			break;
		default:
			return -EINVAL;
		}
		s++;
		total += n * mult;
		if (total > UINT_MAX)
			return -ERANGE;
	}
	*seconds = (unsigned)total;
	return 0;
}

const char *config_check_vault_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len < 3 || len > 24)
		return "must be 3 to 24 characters long";
	if (!isalpha((unsigned char)name[0]))
		return "must start with a letter";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-')
			return "may contain only letters, digits and hyphens";
		if (c == '-' && name[i + 1] == '-')
			return "must not contain consecutive hyphens";
	}
	if (name[len - 1] == '-')
		return "must not end with a hyphen";
	return NULL;
}

/* An IP literal in any form the C library would take (198.51.100.7,
 * 127.1, 0x7f.1, 2001:db8::1, [::1]): no name has a colon, and no
 * top-level domain is all digits (RFC 3696 section 2). */
static bool hostname_is_address(const char *name)
{
	const char *last = strrchr(name, '.');

	if (strpbrk(name, ":[]"))
		return true;
	last = last ? last + 1 : name;
	return *last && strspn(last, "0123456789") == strlen(last);
}

/* The characters of a label: ASCII by hand, as isalnum is in the C locale
 * kvfence keeps. */
#define HOST_CHAR	1
#define HOST_DIGIT	2
#define HOST_UPPER	4
static const unsigned char host_chars[256] = {
	['0' ... '9'] = HOST_CHAR | HOST_DIGIT,
	['a' ... 'z'] = HOST_CHAR, ['A' ... 'Z'] = HOST_CHAR | HOST_UPPER,
	['-'] = HOST_CHAR, ['_'] = HOST_CHAR,
};

/* The first fault of a label, from the left, or NULL; then *len, *dot,
 * *numeric and *upper: the name's length, whether it has a dot, whether
 * its last label is all digits, whether it has an upper-case letter. A
 * label at a time, each a run of the characters a label may have. */
static const char *label_fault(const char *name, size_t *len, bool *dot, bool *numeric,
			       bool *upper)
{
	const char *s = name, *label;
	unsigned all, any = 0, k;

	for (*dot = false;; s++) {
		for (label = s, all = HOST_DIGIT; (k = host_chars[(unsigned char)*s]) & HOST_CHAR; s++) {
			all &= k;
			any |= k;
		}
		if (s > label && label[0] == '-')
			return "has a label starting with a hyphen";
		if (s - label > 63)
			return "has a label longer than 63 characters";
		if (*s != '.' && *s != '\0')
			return "may contain only letters, digits, hyphens, underscores and dots";
		if (s == label)
			return "has an empty label";
		if (s[-1] == '-')
			return "has a label ending with a hyphen";
		if (*s == '\0')
			break;
		*dot = true;
	}
	*len = (size_t)(s - name);
	*numeric = all != 0;
	*upper = any & HOST_UPPER;
	return NULL;
}

/* The rules in the order they are reported: empty, an address, too
 * long, one label only, then the first fault of a label. No rule tells
 * upper case from lower; *upper: whether a valid name has upper-case
 * letters. */
static const char *check_hostname(const char *name, bool *upper)
{
	const char *fault;
	size_t len;
	bool dot, address;

	fault = label_fault(name, &len, &dot, &address, upper);
	/* A fault may hide one reported before it: look again, the slow way. */
	if (fault) {
		len = strlen(name);
		dot = strchr(name, '.') != NULL;
		address = hostname_is_address(name);
	}
	if (len == 0)
		return "is empty";
	if (address)
		return "is an address, not a host name: kvfence resolves names; "
		       "put addresses in your own nftables rules";
	if (len > HOSTNAME_MAX)
		return "is longer than 127 characters (the limit of an nftables element comment)";
	if (!dot)
		return "is not a fully qualified name";
	return fault;
}

const char *config_check_hostname(const char *name)
{
	bool upper;

	return check_hostname(name, &upper);
}

static bool nft_name_ok(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) || strlen(s) > NFT_NAME_MAX)
		return false;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_./-", s[i]))
			return false;
	return true;
}

const char *config_cloud_name(enum cloud c)
{
	static const char *const names[] = {
		[CLOUD_PUBLIC] = "public", [CLOUD_CHINA] = "china",
		[CLOUD_USGOV] = "usgov", [CLOUD_GERMANY] = "germany",
	};

	return names[c];
}

const char *config_family_name(int nfproto)
{
	switch (nfproto) {
	case NFPROTO_IPV4:	return "ip";
	case NFPROTO_IPV6:	return "ip6";
	default:		return "inet";
	}
}

/* A number in digits only (strtoul would also take a sign and spaces)
 * from lo to hi. */
static bool number_in(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > hi)
			return false;
	}
	*out = n;
	return n >= lo;
}

static int parse_bool(struct parser *p, char **argv, bool *out)
{
	if (strcmp(argv[1], "yes") == 0)
		*out = true;
	else if (strcmp(argv[1], "no") == 0)
		*out = false;
	else
		return perr(p, "%s: expected yes or no, not \"%s\"", argv[0], argv[1]);
	return 0;
}

static int d_cloud(struct parser *p, int argc, char **argv)
{
	static const char *const names[] = { "public", "china", "usgov", "germany" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(argv[1], names[i]) == 0) {
			p->cfg->cloud = (enum cloud)i;
			return 0;
		}
	}
	return perr(p, "cloud: unknown cloud \"%s\" (public, china, usgov, germany)", argv[1]);
}

static int push_name(struct parser *p, char ***v, bool **priv, size_t *n,
		     const char *what, const char *name, bool private_link)
{
	const char *why = config_check_vault_name(name);
	char *lower;
	size_t i;

	if (why)
		return perr(p, "%s \"%s\": name %s", what, name, why);
	if (*n >= CONFIG_MAX_NAMES)
		return perr(p, "%s: more than %d names", what, CONFIG_MAX_NAMES);
	lower = xmalloc(strlen(name) + 1);
	ascii_lower(lower, name, strlen(name));
	for (i = 0; i < *n; i++) {
		if (strcmp((*v)[i], lower) == 0) {
			free(lower);
			return perr(p, "%s \"%s\" is given twice", what, name);
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	*priv = xreallocarray(*priv, *n + 1, sizeof(**priv));
	(*priv)[*n] = private_link;
	(*v)[(*n)++] = lower;
	return 0;
}

/* "vault NAME... private": the last word, on a line of two or more, says
 * the names are reached through Private Link. A vault named "private" is
 * given alone or not last. */
static int push_names(struct parser *p, int argc, char **argv, char ***v, bool **priv,
		      size_t *n)
{
	bool private_link = argc > 2 && strcmp(argv[argc - 1], "private") == 0;
	int i;

	for (i = 1; i < argc - (private_link ? 1 : 0); i++)
		if (push_name(p, v, priv, n, argv[0], argv[i], private_link))
			return -1;
	return 0;
}

static int d_vault(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;

	return push_names(p, argc, argv, &cfg->vaults, &cfg->vaults_private, &cfg->n_vaults);
}

static int d_hsm(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;

	p->hsm_at = p->at;
	return push_names(p, argc, argv, &cfg->hsms, &cfg->hsms_private, &cfg->n_hsms);
}

static int d_endpoints(struct parser *p, int argc, char **argv)
{
	static const struct { const char *word; unsigned fn; } words[] = {
		{ "auth", FN_AUTH }, { "management", FN_MANAGEMENT },
		{ "graph", FN_GRAPH }, { "vault", FN_VAULT }, { "crl", FN_CRL },
	};
	unsigned fns = 0;
	int i;
	size_t j;

	p->endpoints_at = p->at;
	if (argc == 2 && strcmp(argv[1], "none") == 0) {
		p->cfg->functions = 0;
		return 0;
	}
	for (i = 1; i < argc; i++) {
		for (j = 0; j < sizeof(words) / sizeof(words[0]); j++)
			if (strcmp(argv[i], words[j].word) == 0)
				break;
		if (j == sizeof(words) / sizeof(words[0]))
			return perr(p, "endpoints: unknown function \"%s\" (auth, management, graph, vault, crl, or none alone)", argv[i]);
		if (fns & words[j].fn)
			return perr(p, "endpoints: \"%s\" is given twice", argv[i]);
		fns |= words[j].fn;
	}
	p->cfg->functions = fns;
	return 0;
}

static int d_microsoft_account(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->microsoft_account);
}

static int d_auth_aliases(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->auth_aliases);
}

static int d_graph_legacy(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->graph_legacy);
}

static int d_instance_discovery(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->instance_discovery);
}

static int d_platform(struct parser *p, int argc, char **argv)
{
	if (strcmp(argv[1], "azure") == 0)
		p->cfg->platform = PLATFORM_AZURE;
	else if (strcmp(argv[1], "none") == 0)
		p->cfg->platform = PLATFORM_NONE;
	else
		return perr(p, "platform: expected azure or none, not \"%s\"", argv[1]);
	return 0;
}

/* A user or group name as useradd(8) allows it, or a numeric id. */
static bool account_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 32 || s[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]) &&
		    !(s[i] == '$' && i == len - 1))
			return false;
	return true;
}

static int account_list(struct parser *p, int argc, char **argv, char ***v, size_t *n,
			char **at)
{
	int i, j;

	for (i = 1; i < argc; i++) {
		if (!account_name_ok(argv[i]))
			return perr(p, "%s: \"%s\" is not a user or group name or a number",
				    argv[0], argv[i]);
		for (j = 1; j < i; j++)
			if (strcmp(argv[i], argv[j]) == 0)
				return perr(p, "%s: \"%s\" is given twice", argv[0], argv[i]);
	}
	*v = xcalloc((size_t)argc - 1, sizeof(**v));
	for (i = 1; i < argc; i++)
		(*v)[(*n)++] = xstrdup(argv[i]);
	*at = xasprintf("%s:%u", p->at.file, p->at.line);
	return 0;
}

static int d_imds_users(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;

	return account_list(p, argc, argv, &cfg->imds_users, &cfg->n_imds_users,
			    &cfg->imds_users_at);
}

static int d_imds_groups(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;

	return account_list(p, argc, argv, &cfg->imds_groups, &cfg->n_imds_groups,
			    &cfg->imds_groups_at);
}

static int d_create_sets(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->create_sets);
}

/* The duplicate check of d_host: the host names in a name index, each
 * slot the newest host of that name (index + 1), the older ones chained
 * through same_name[] (a name is rarely on more than a few ports). The
 * keys are the names in cfg->hosts: nothing is copied. */
_Static_assert(offsetof(struct config_host, name) == 0, "nameindex.h: the name comes first");

/* Whether a host of that name (newest first: newest + 1) has port. */
static bool hosts_seen_port(const struct parser *p, size_t newest, uint16_t port)
{
	size_t i;

	for (i = newest; i; i = p->same_name[i - 1])
		if (p->cfg->hosts[i - 1].port == port)
			return true;
	return false;
}

/* Room for a host on every line of a file about to be read, so that a
 * 10k-host file builds its index once instead of doubling it from 16. */
static void hosts_seen_expect(struct parser *p, const char *buf, size_t len)
{
	const char *end = buf + len;
	size_t lines = 0;

	for (; buf < end && (buf = memchr(buf, '\n', (size_t)(end - buf))); buf++)
		lines++;
	/* A file of blank lines needs no room: no more than the hosts allowed. */
	if (lines > CONFIG_MAX_HOSTS - p->cfg->n_hosts)
		lines = CONFIG_MAX_HOSTS - p->cfg->n_hosts;
	name_index_reserve(&p->hosts_seen, p->hosts_seen.n + lines, p->cfg->hosts,
			   sizeof(*p->cfg->hosts));
}

/* Host names are kept in blocks (cfg->host_names, each block starting
 * with a pointer to the one before, for config_free): one allocation
 * for hundreds of names, not one each. A checked name fits in the
 * smallest block. */
#define NAME_BLOCK_MIN	512
#define NAME_BLOCK_MAX	65536
_Static_assert(sizeof(char *) + HOSTNAME_MAX + 1 <= NAME_BLOCK_MIN, "a name fits a block");

static char *keep_host_name(struct parser *p, const char *name, size_t len)
{
	char *block;

	if (len + 1 > p->names_free) {
		p->names_block = p->names_block ? 2 * p->names_block : NAME_BLOCK_MIN;
		if (p->names_block > NAME_BLOCK_MAX)
			p->names_block = NAME_BLOCK_MAX;
		block = xmalloc(p->names_block);
		memcpy(block, &p->cfg->host_names, sizeof(char *));
		p->cfg->host_names = block;
		p->names_free = p->names_block - sizeof(char *);
	}
	block = p->cfg->host_names + (p->names_block - p->names_free);
	memcpy(block, name, len + 1);
	p->names_free -= len + 1;
	return block;
}

static int d_host(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;
	size_t len = strlen(argv[1]), newest;
	char name[CONFIG_MAX_LINE + 1];
	unsigned long port;
	const char *why;
	uint32_t *slot;
	bool upper;

	if (cfg->n_hosts >= CONFIG_MAX_HOSTS)
		return perr(p, "host: more than %d hosts", CONFIG_MAX_HOSTS);
	if (len > 1 && argv[1][len - 1] == '.')
		len--;
	memcpy(name, argv[1], len);
	name[len] = '\0';
	/* Checked as written (case changes no verdict), lower-cased after. */
	why = check_hostname(name, &upper);
	if (why)
		return perr(p, "host \"%s\": name %s", argv[1], why);
	if (!number_in(argv[2], 1, 65535, &port))
		return perr(p, "host %s: port \"%s\" is not a number from 1 to 65535", argv[1],
			    argv[2]);
	if (upper)
		ascii_lower(name, name, len);
	name_index_reserve(&p->hosts_seen, p->hosts_seen.n + 1, cfg->hosts, sizeof(*cfg->hosts));
	slot = name_index_slot(&p->hosts_seen, name, cfg->hosts, sizeof(*cfg->hosts));
	newest = *slot;
	if (hosts_seen_port(p, newest, (uint16_t)port))
		return perr(p, "host %s %lu is given twice", name, port);
	if (cfg->n_hosts == p->cap_hosts || cfg->n_hosts == p->cap_same) {
		array_reserve(&cfg->hosts, &p->cap_hosts, cfg->n_hosts + 1, sizeof(*cfg->hosts));
		array_reserve(&p->same_name, &p->cap_same, cfg->n_hosts + 1,
			      sizeof(*p->same_name));
	}
	cfg->hosts[cfg->n_hosts].name = keep_host_name(p, name, len);
	cfg->hosts[cfg->n_hosts].port = (uint16_t)port;
	p->same_name[cfg->n_hosts] = newest;
	p->hosts_seen.n += !newest;
	*slot = (uint32_t)++cfg->n_hosts;
	return 0;
}

static int d_table(struct parser *p, int argc, char **argv)
{
	const char *name = argv[argc - 1];
	int fam = NFPROTO_INET;

	p->table_at = p->at;
	if (argc == 3) {
		if (strcmp(argv[1], "inet") == 0)
			fam = NFPROTO_INET;
		else if (strcmp(argv[1], "ip") == 0)
			fam = NFPROTO_IPV4;
		else if (strcmp(argv[1], "ip6") == 0)
			fam = NFPROTO_IPV6;
		else
			return perr(p, "table: family \"%s\" is not inet, ip or ip6", argv[1]);
	}
	if (!nft_name_ok(name))
		return perr(p, "table: \"%s\" is not a valid nftables name", name);
	p->cfg->table_family = fam;
	free(p->cfg->table);
	p->cfg->table = xstrdup(name);
	return 0;
}

static int set_name(struct parser *p, char **argv, char **out)
{
	p->set_at = p->at;
	free(*out);
	*out = NULL;
	if (strcmp(argv[1], "none") == 0)
		return 0;
	if (!nft_name_ok(argv[1]))
		return perr(p, "%s: \"%s\" is not a valid nftables name", argv[0], argv[1]);
	*out = xstrdup(argv[1]);
	return 0;
}

static int d_set4(struct parser *p, int argc, char **argv)
{
	p->set4_explicit = true;
	return set_name(p, argv, &p->cfg->set4);
}

static int d_set6(struct parser *p, int argc, char **argv)
{
	p->set6_explicit = true;
	return set_name(p, argv, &p->cfg->set6);
}

static int duration(struct parser *p, char **argv, unsigned *out, bool none_ok)
{
	int r;

	if (none_ok && strcmp(argv[1], "none") == 0) {
		*out = 0;
		return 0;
	}
	r = config_parse_duration(argv[1], out);
	if (r == -ERANGE)
		return perr(p, "%s: \"%s\" is too long", argv[0], argv[1]);
	if (r < 0)
		return perr(p, "%s: \"%s\" is not a duration (like 30s, 5m, 1h, 2d%s)",
			    argv[0], argv[1], none_ok ? ", or none" : "");
	if (*out == 0 && !none_ok)
		return perr(p, "%s: must be longer than 0s", argv[0]);
	return 0;
}

static int d_refresh_min(struct parser *p, int argc, char **argv)
{
	p->refresh_at = p->at;
	return duration(p, argv, &p->cfg->refresh_min, false);
}

static int d_refresh_max(struct parser *p, int argc, char **argv)
{
	p->refresh_at = p->at;
	return duration(p, argv, &p->cfg->refresh_max, false);
}

static int d_grace(struct parser *p, int argc, char **argv)
{
	return duration(p, argv, &p->cfg->grace, true);
}

static int d_max_stale(struct parser *p, int argc, char **argv)
{
	if (duration(p, argv, &p->cfg->max_stale, true))
		return -1;
	if (strcmp(argv[1], "none") != 0 && p->cfg->max_stale == 0)
		return perr(p, "max-stale: must be longer than 0s (or none)");
	return 0;
}

static int d_resolver(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;
	int i;

	free(cfg->resolvers);
	cfg->resolvers = NULL;
	cfg->n_resolvers = 0;
	if (argc == 2 && strcmp(argv[1], "system") == 0) {
		cfg->resolver_system = true;
		return 0;
	}
	cfg->resolver_system = false;
	cfg->resolvers = xcalloc((size_t)argc - 1, sizeof(*cfg->resolvers));
	for (i = 1; i < argc; i++) {
		if (addr_parse(argv[i], &cfg->resolvers[i - 1]) < 0)
			return perr(p, "resolver: \"%s\" is not an IP address (or use: resolver system)", argv[i]);
		cfg->n_resolvers++;
	}
	return 0;
}

static int d_allow_private(struct parser *p, int argc, char **argv)
{
	if (strcmp(argv[1], "auto") == 0)
		p->cfg->allow_private = PRIVATE_AUTO;
	else if (strcmp(argv[1], "yes") == 0)
		p->cfg->allow_private = PRIVATE_YES;
	else if (strcmp(argv[1], "no") == 0)
		p->cfg->allow_private = PRIVATE_NO;
	else
		return perr(p, "allow-private: expected auto, yes or no, not \"%s\"", argv[1]);
	return 0;
}

static int d_max_addresses(struct parser *p, int argc, char **argv)
{
	unsigned long n;

	if (!number_in(argv[1], 1, 4096, &n))
		return perr(p, "max-addresses-per-host: \"%s\" is not a number from 1 to 4096", argv[1]);
	p->cfg->max_addresses = (unsigned)n;
	return 0;
}

static int path_arg(struct parser *p, char **argv, char **out, bool none_ok)
{
	free(*out);
	*out = NULL;
	if (none_ok && strcmp(argv[1], "none") == 0)
		return 0;
	if (argv[1][0] != '/')
		return perr(p, "%s: \"%s\" is not an absolute path", argv[0], argv[1]);
	*out = xstrdup(argv[1]);
	return 0;
}

static int d_state_file(struct parser *p, int argc, char **argv)
{
	return path_arg(p, argv, &p->cfg->state_file, false);
}

static int d_status_file(struct parser *p, int argc, char **argv)
{
	return path_arg(p, argv, &p->cfg->status_file, false);
}

static int d_metrics_file(struct parser *p, int argc, char **argv)
{
	return path_arg(p, argv, &p->cfg->metrics_file, true);
}

static bool addr_is_unspecified(const struct kvf_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->bytes, zero, addr_len(a)) == 0;
}

int config_parse_listen(const char *text, struct config_listen *out)
{
	char buf[64], *host = buf, *port = NULL, *end;
	const char *colon = strchr(text, ':');
	unsigned long n = 53;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	if (buf[0] == '[') {
		/* [IPv6]:PORT, or [IPv6] */
		end = strchr(buf, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		*end = '\0';
		host = buf + 1;
		port = end[1] ? end + 2 : NULL;
		if (!strchr(host, ':'))
			return -EINVAL;
	} else if (colon && !strchr(colon + 1, ':')) {
		/* IPv4:PORT; a bare IPv6 address has several colons. */
		buf[colon - text] = '\0';
		port = buf + (colon - text) + 1;
	}
	if (addr_parse(host, &out->addr) < 0)
		return -EINVAL;
	if (port && !number_in(port, 1, 65535, &n))
		return -EINVAL;
	out->port = (uint16_t)n;
	return 0;
}

static int d_listen(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;
	size_t i;
	int k;

	cfg->listens = xcalloc((size_t)argc - 1, sizeof(*cfg->listens));
	for (k = 1; k < argc; k++) {
		struct config_listen *l = &cfg->listens[cfg->n_listens];

		if (config_parse_listen(argv[k], l) < 0)
			return perr(p, "listen: \"%s\" is not an IP address with an optional port "
				    "(127.0.2.53, 127.0.2.53:5353, [::1]:5353)", argv[k]);
		for (i = 0; i < cfg->n_listens; i++)
			if (addr_cmp(&cfg->listens[i].addr, &l->addr) == 0 &&
			    cfg->listens[i].port == l->port)
				return perr(p, "listen: \"%s\" is given twice", argv[k]);
		/* A wildcard socket would answer from whichever address the
		 * kernel picks, and on every interface. */
		if (addr_is_unspecified(&l->addr))
			return perr(p, "listen: \"%s\": name the address to answer on", argv[k]);
		cfg->n_listens++;
	}
	p->listen_at = p->at;
	return 0;
}

static int d_metrics_per_host(struct parser *p, int argc, char **argv)
{
	return parse_bool(p, argv, &p->cfg->metrics_per_host);
}

/* Azure Service Tags names: letters, digits, dots, hyphens, underscores. */
static bool tag_name_ok(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) || strlen(s) > 80)
		return false;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static int d_service_tags(struct parser *p, int argc, char **argv)
{
	struct config *cfg = p->cfg;
	struct config_tags *t;
	int i;

	if (argv[1][0] != '/')
		return perr(p, "service-tags: \"%s\" is not an absolute path", argv[1]);
	for (i = 2; i < argc; i++)
		if (!tag_name_ok(argv[i]))
			return perr(p, "service-tags: \"%s\" is not a service tag name", argv[i]);
	cfg->tagsets = xreallocarray(cfg->tagsets, cfg->n_tagsets + 1, sizeof(*cfg->tagsets));
	t = &cfg->tagsets[cfg->n_tagsets++];
	t->file = xstrdup(argv[1]);
	t->n_tags = (size_t)argc - 2;
	t->tags = xcalloc(t->n_tags, sizeof(*t->tags));
	for (i = 2; i < argc; i++)
		t->tags[i - 2] = xstrdup(argv[i]);
	t->where = xasprintf("%s:%u", p->at.file, p->at.line);
	return 0;
}

static int d_range_set4(struct parser *p, int argc, char **argv)
{
	return set_name(p, argv, &p->cfg->range_set4);
}

static int d_range_set6(struct parser *p, int argc, char **argv)
{
	return set_name(p, argv, &p->cfg->range_set6);
}

static int parse_file(struct parser *p, const char *path);

#define UTF8_BOM "\xef\xbb\xbf"

/* include GLOB: relative to the including file's directory. A pattern
 * that matches nothing is fine (an empty conf.d, or none at all); a plain
 * name that does not exist is an error. */
static int d_include(struct parser *p, int argc, char **argv)
{
	char msg[KVF_ERRLEN];
	glob_t g;
	int r, ret = 0;
	size_t i;

	r = conffile_glob(p->at.file, argv[1], &g, msg, sizeof(msg));
	if (r < 0)
		return perr(p, "include: %s", msg);
	if (r > 0)
		return 0;
	for (i = 0; i < g.gl_pathc && ret == 0; i++) {
		struct where saved = p->at;

		ret = parse_file(p, g.gl_pathv[i]);
		p->at = saved;
	}
	globfree(&g);
	return ret;
}

struct directive {
	const char *name;
	int (*fn)(struct parser *, int, char **);
	int min_args, max_args;
	bool repeatable;
};

static const struct directive directives[] = {
	{ "cloud",		d_cloud,		1, 1,			false },
	{ "vault",		d_vault,		1, CONFIG_MAX_ARGS,	true },
	{ "managed-hsm",	d_hsm,			1, CONFIG_MAX_ARGS,	true },
	{ "endpoints",		d_endpoints,		1, 5,			false },
	{ "microsoft-account",	d_microsoft_account,	1, 1,			false },
	{ "auth-aliases",	d_auth_aliases,		1, 1,			false },
	{ "graph-legacy",	d_graph_legacy,		1, 1,			false },
	{ "host",		d_host,			2, 2,			true },
	{ "table",		d_table,		1, 2,			false },
	{ "set4",		d_set4,			1, 1,			false },
	{ "set6",		d_set6,			1, 1,			false },
	{ "create-sets",	d_create_sets,		1, 1,			false },
	{ "refresh-min",	d_refresh_min,		1, 1,			false },
	{ "refresh-max",	d_refresh_max,		1, 1,			false },
	{ "grace",		d_grace,		1, 1,			false },
	{ "max-stale",		d_max_stale,		1, 1,			false },
	{ "resolver",		d_resolver,		1, 8,			false },
	{ "allow-private",	d_allow_private,	1, 1,			false },
	{ "max-addresses-per-host", d_max_addresses,	1, 1,			false },
	{ "state-file",		d_state_file,		1, 1,			false },
	{ "status-file",	d_status_file,		1, 1,			false },
	{ "metrics-file",	d_metrics_file,		1, 1,			false },
	{ "metrics-per-host",	d_metrics_per_host,	1, 1,			false },
	{ "include",		d_include,		1, 1,			true },
	{ "service-tags",	d_service_tags,		2, CONFIG_MAX_ARGS - 2,	true },
	{ "range-set4",		d_range_set4,		1, 1,			false },
	{ "range-set6",		d_range_set6,		1, 1,			false },
	{ "listen",		d_listen,		1, 8,			false },
	{ "instance-discovery",	d_instance_discovery,	1, 1,			false },
	{ "platform",		d_platform,		1, 1,			false },
	{ "imds-users",		d_imds_users,		1, 16,			false },
	{ "imds-groups",	d_imds_groups,		1, 16,			false },
};
#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))
_Static_assert(N_DIRECTIVES <= 48, "struct parser.seen is too small");

static int tokenize(char *line, char **argv)
{
	int argc = 0;
	char *s = line;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0' || *s == '#')
			return argc;
		if (argc == CONFIG_MAX_ARGS)
			return -1;
		argv[argc++] = s;
		s += strcspn(s, " \t\r#");
		if (*s == '#') {
			*s = '\0';
			return argc;
		}
		if (*s)
			*s++ = '\0';
	}
}

/* An editor's invisible bytes (a byte-order mark in the middle of a file
 * pasted together, a non-breaking space) must show in the message. */
static int unknown_directive(struct parser *p, const char *word)
{
	char shown[64 * 4 + 1];
	size_t i, l = 0;

	if (strncmp(word, UTF8_BOM, 3) == 0)
		return perr(p, "a byte-order mark (bytes EF BB BF) before \"%.64s\": save the "
			    "file as plain UTF-8 or ASCII", word + 3);
	for (i = 0; word[i] && i < 64; i++) {
		unsigned char c = (unsigned char)word[i];

		if (c >= 0x20 && c < 0x7f)
			shown[l++] = (char)c;
		else
			l += (size_t)snprintf(shown + l, sizeof(shown) - l, "\\x%02x", c);
	}
	shown[l] = '\0';
	return perr(p, "unknown directive \"%s\"", shown);
}

static int dispatch(struct parser *p, int argc, char **argv)
{
	size_t i;

	/* The first letter first: a 10k-host file is 10k host lines. */
	for (i = 0; i < N_DIRECTIVES; i++)
		if (argv[0][0] == directives[i].name[0] && strcmp(argv[0], directives[i].name) == 0)
			break;
	if (i == N_DIRECTIVES)
		return unknown_directive(p, argv[0]);
	if (argc - 1 < directives[i].min_args)
		return perr(p, "%s: missing argument", argv[0]);
	if (argc - 1 > directives[i].max_args)
		return perr(p, "%s: too many arguments", argv[0]);
	if (!directives[i].repeatable) {
		if (p->seen[i].file)
			return perr(p, "%s is already set at %s:%u", argv[0],
				    p->seen[i].file, p->seen[i].line);
		p->seen[i] = p->at;
	}
	return directives[i].fn(p, argc, argv);
}

static int parse_lines(struct parser *p, const char *buf, size_t len)
{
	char line[CONFIG_MAX_LINE + 1], *argv[CONFIG_MAX_ARGS];
	size_t pos = 0;

	/* Some editors start a UTF-8 file with a byte-order mark: skip it.
	 * UTF-16 would only show up as NUL bytes: name it instead. */
	if (len >= 3 && memcmp(buf, UTF8_BOM, 3) == 0)
		pos = 3;
	else if (len >= 2 && (memcmp(buf, "\xff\xfe", 2) == 0 || memcmp(buf, "\xfe\xff", 2) == 0))
		return p->at.line++, perr(p, "UTF-16 text (a byte-order mark %s): save the file as UTF-8 or "
			    "ASCII", buf[0] == '\xff' ? "FF FE" : "FE FF");
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int argc;

		p->at.line++;
		if (memchr(buf + pos, '\0', l))
			return perr(p, "binary data (a NUL byte) in a text file");
		if (l > CONFIG_MAX_LINE)
			return perr(p, "line longer than %d characters", CONFIG_MAX_LINE);
		memcpy(line, buf + pos, l);
		line[l] = '\0';
		pos += l + 1;
		argc = tokenize(line, argv);
		if (argc < 0)
			return perr(p, "too many words on one line");
		if (argc > 0 && dispatch(p, argc, argv))
			return -1;
	}
	return 0;
}

static const char *keep_name(struct parser *p, const char *name)
{
	array_reserve(&p->files, &p->cap_files, p->n_files + 1, sizeof(*p->files));
	p->files[p->n_files] = xstrdup(name);
	return p->files[p->n_files++];
}

/* Errors before the file is open point at the include line (or, for the
 * main file, at no line). */
static int parse_file(struct parser *p, const char *path)
{
	char msg[KVF_ERRLEN], *buf = NULL;
	size_t len = 0;
	int ret;

	if (conffile_enter(&p->open, path, &buf, &len, msg, sizeof(msg)))
		return perr(p, "%s", msg);
	p->at.file = keep_name(p, path);
	p->at.line = 0;
	hosts_seen_expect(p, buf, len);
	ret = parse_lines(p, buf, len);
	conffile_leave(&p->open);
	free(buf);
	return ret;
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cloud = CLOUD_PUBLIC;
	cfg->functions = FN_ALL;
	cfg->graph_legacy = true;
	cfg->instance_discovery = true;
	cfg->platform = PLATFORM_AZURE;
	cfg->table_family = NFPROTO_INET;
	cfg->table = xstrdup("filter");
	cfg->set4 = xstrdup("kvfence4");
	cfg->set6 = xstrdup("kvfence6");
	cfg->create_sets = true;
	cfg->refresh_min = 1;
	cfg->refresh_max = 3600;
	cfg->grace = 1800;
	cfg->resolver_system = true;
	cfg->allow_private = PRIVATE_AUTO;
	cfg->max_addresses = 64;
	cfg->range_set4 = xstrdup("kvfence4r");
	cfg->range_set6 = xstrdup("kvfence6r");
	cfg->state_file = xstrdup(LOCALSTATEDIR "/lib/kvfence/state");
	cfg->status_file = xstrdup(RUNSTATEDIR "/kvfence/status.json");
}

/* Range sets live beside the host sets, in the same table. */
static int validate_range_sets(struct parser *p)
{
	struct config *cfg = p->cfg;
	char **r[2] = { &cfg->range_set4, &cfg->range_set6 };
	const char *hosts[2] = { cfg->set4, cfg->set6 };
	int i, j;

	if (cfg->table_family == NFPROTO_IPV4) {
		free(cfg->range_set6);
		cfg->range_set6 = NULL;
	}
	if (cfg->table_family == NFPROTO_IPV6) {
		free(cfg->range_set4);
		cfg->range_set4 = NULL;
	}
	if (p->set_at.file)
		p->at = p->set_at;
	if (cfg->n_tagsets && !cfg->range_set4 && !cfg->range_set6)
		return perr(p, "service-tags: range-set4 and range-set6 are both none");
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			if (*r[i] && hosts[j] && strcmp(*r[i], hosts[j]) == 0)
				return perr(p, "range set \"%s\" is also a host set: an interval set needs its own name",
					    *r[i]);
	if (cfg->range_set4 && cfg->range_set6 && strcmp(cfg->range_set4, cfg->range_set6) == 0)
		return perr(p, "range-set4 and range-set6 are both \"%s\"", cfg->range_set4);
	return 0;
}

/* The proxy forwards to the resolvers: one of them being the proxy
 * itself would send every query round in a loop. */
static int validate_listen(struct parser *p)
{
	struct config *cfg = p->cfg;
	char buf[KVF_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < cfg->n_listens; i++)
		for (j = 0; j < cfg->n_resolvers && !cfg->resolver_system; j++)
			if (cfg->listens[i].port == 53 &&
			    addr_cmp(&cfg->listens[i].addr, &cfg->resolvers[j]) == 0) {
				p->at = p->listen_at;
				return perr(p, "listen: %s is also a resolver: the proxy would forward "
					    "queries to itself", addr_format(&cfg->resolvers[j], buf,
									     sizeof(buf)));
			}
	return 0;
}

/* Checks that involve several directives, reported at the line of the
 * directive that makes the combination wrong. */
static int config_validate(struct parser *p)
{
	struct config *cfg = p->cfg;

	if (cfg->refresh_min > cfg->refresh_max) {
		p->at = p->refresh_at;
		return perr(p, "refresh-min (%us) is longer than refresh-max (%us)",
			    cfg->refresh_min, cfg->refresh_max);
	}
	if (cfg->table_family == NFPROTO_IPV4 && cfg->set6) {
		if (p->set6_explicit) {
			p->at = p->table_at;
			return perr(p, "table ip %s cannot hold the IPv6 set %s (use an inet table, or set6 none)",
				    cfg->table, cfg->set6);
		}
		free(cfg->set6);
		cfg->set6 = NULL;
	}
	if (cfg->table_family == NFPROTO_IPV6 && cfg->set4) {
		if (p->set4_explicit) {
			p->at = p->table_at;
			return perr(p, "table ip6 %s cannot hold the IPv4 set %s (use an inet table, or set4 none)",
				    cfg->table, cfg->set4);
		}
		free(cfg->set4);
		cfg->set4 = NULL;
	}
	if (!cfg->set4 && !cfg->set6) {
		p->at = p->set_at;
		return perr(p, "no set to fill: set4 and set6 are both none");
	}
	if (cfg->set4 && cfg->set6 && strcmp(cfg->set4, cfg->set6) == 0) {
		p->at = p->set_at;
		return perr(p, "set4 and set6 are both \"%s\"", cfg->set4);
	}
	if (validate_range_sets(p))
		return -1;
	if (validate_listen(p))
		return -1;
	if ((cfg->n_vaults || cfg->n_hsms) && !(cfg->functions & FN_VAULT)) {
		p->at = p->endpoints_at;
		return perr(p, "vaults or managed HSMs are configured but endpoints leaves out vault");
	}
	if (cfg->n_hsms && cfg->cloud == CLOUD_GERMANY) {
		p->at = p->hsm_at;
		return perr(p, "managed-hsm: the germany cloud has no Managed HSM");
	}
	return 0;
}

static void parser_free(struct parser *p)
{
	size_t i;

	name_index_free(&p->hosts_seen);
	free(p->same_name);
	for (i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
}

static int finish(struct parser *p, int ret)
{
	if (ret == 0)
		ret = config_validate(p);
	if (ret)
		config_free(p->cfg);
	parser_free(p);
	return ret ? -1 : 0;
}

int config_parse_file(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .err = err, .errlen = errlen };
	int ret;

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	p.at.file = keep_name(&p, path);
	ret = parse_file(&p, path);
	/* Cross-directive errors point into the main file when nothing else
	 * is known. */
	if (!ret && !p.at.file)
		p.at.file = cfg->path;
	return finish(&p, ret);
}

int config_parse_buffer(const char *name, const char *buf, size_t len,
			struct config *cfg, char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .err = err, .errlen = errlen };

	config_defaults(cfg);
	cfg->path = xstrdup(name);
	p.at.file = keep_name(&p, name);
	return finish(&p, parse_lines(&p, buf, len));
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config_free(struct config *cfg)
{
	size_t i;

	free_strv(cfg->vaults, cfg->n_vaults);
	free_strv(cfg->hsms, cfg->n_hsms);
	free(cfg->vaults_private);
	free(cfg->hsms_private);
	free_strv(cfg->imds_users, cfg->n_imds_users);
	free_strv(cfg->imds_groups, cfg->n_imds_groups);
	free(cfg->imds_users_at);
	free(cfg->imds_groups_at);
	while (cfg->host_names) {
		char *block = cfg->host_names;

		memcpy(&cfg->host_names, block, sizeof(char *));
		free(block);
	}
	free(cfg->hosts);
	free(cfg->table);
	free(cfg->set4);
	free(cfg->set6);
	free(cfg->resolvers);
	for (i = 0; i < cfg->n_tagsets; i++) {
		free(cfg->tagsets[i].file);
		free_strv(cfg->tagsets[i].tags, cfg->tagsets[i].n_tags);
		free(cfg->tagsets[i].where);
	}
	free(cfg->tagsets);
	free(cfg->range_set4);
	free(cfg->range_set6);
	free(cfg->state_file);
	free(cfg->status_file);
	free(cfg->metrics_file);
	free(cfg->listens);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}
