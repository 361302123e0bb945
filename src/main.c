/* kvfence: command line. Each command is a function; main() only parses
 * the global options and dispatches. Exit codes follow sysexits.h. */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "agent.h"
#include "catalogue.h"
#include "clear.h"
#include "config.h"
#include "kvfence.h"
#include "log.h"
#include "nlsock.h"
#include "rules.h"
#include "servicetags.h"
#include "status.h"
#include "sysfiles.h"
#include "util.h"

struct cmd {
	const char *name;
	int (*fn)(const char *conf, int argc, char **argv);
	const char *usage;
};

static void usage(FILE *out);

static int load_config(const char *path, struct config *cfg)
{
	char err[KVF_ERRLEN];

	if (config_parse_file(path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (catalogue_cloud_retired(cfg->cloud))
		log_warnx("cloud %s is retired (Microsoft Cloud Deutschland closed on "
			  "2021-10-29); its hosts are kept as the seed lists them",
			  config_cloud_name(cfg->cloud));
	return 0;
}

/* A command's arguments, none or the one flag it knows (*has_flag set if
 * given; flag NULL: none), then the config. An exit code: KVF_EX_OK, or
 * KVF_EX_USAGE or KVF_EX_CONFIG with nothing left to free. */
static int command_config(const char *conf, int argc, char **argv, const char *flag,
			  bool *has_flag, struct config *cfg)
{
	if (flag && argc == 2 && strcmp(argv[1], flag) == 0)
		*has_flag = true;
	else if (argc != 1)
		return KVF_EX_USAGE;
	return load_config(conf, cfg) ? KVF_EX_CONFIG : KVF_EX_OK;
}

static const char *ports_text(const struct endpoint *e, char *buf, size_t len)
{
	size_t l = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < e->n_ports && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, "%s%u", i ? "," : "", e->ports[i]);
	return buf;
}

static int cmd_endpoints(const char *conf, int argc, char **argv)
{
	struct endpoint_list eps;
	struct config cfg;
	char ports[64];
	size_t i;
	int ret;

	ret = command_config(conf, argc, argv, NULL, NULL, &cfg);
	if (ret != KVF_EX_OK)
		return ret;
	catalogue_build(&cfg, &eps);
	for (i = 0; i < eps.n; i++)
		printf("%s %s %s\n", eps.v[i].name, ports_text(&eps.v[i], ports, sizeof(ports)),
		       eps.v[i].why);
	catalogue_free(&eps);
	config_free(&cfg);
	return KVF_EX_OK;
}

/* imds-users / imds-groups to ids through the passwd and group databases
 * (NSS), as nft would at load time; a number stands for itself. 0, or -1
 * with the name that does not exist reported. */
static int lookup_ids(char *const *names, size_t n, bool group, const char *at,
		      unsigned *ids, FILE *report, const char *prefix)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *s = names[i];
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 10);
		if (s[0] >= '0' && s[0] <= '9' && !*end && !errno && v < UINT32_MAX) {
			ids[i] = (unsigned)v;
			continue;
		}
		if (group) {
			struct group *g = getgrnam(s);

			if (g) {
				ids[i] = (unsigned)g->gr_gid;
				continue;
			}
		} else {
			struct passwd *pw = getpwnam(s);

			if (pw) {
				ids[i] = (unsigned)pw->pw_uid;
				continue;
			}
		}
		fprintf(report, "%s%s: imds-%s: no %s \"%s\" on this host\n", prefix, at,
			group ? "groups" : "users", group ? "group" : "user", s);
		return -1;
	}
	return 0;
}

/* What `kvfence rules` will let through for the platform. */
static void print_platform(const struct config *cfg)
{
	unsigned ids[16 + 1];

	if (cfg->platform == PLATFORM_NONE) {
		printf("platform none: the printed rules accept loopback only (no IMDS, no WireServer)\n");
		return;
	}
	printf("platform azure: the printed rules accept loopback, IMDS %s TCP 80%s and the "
	       "WireServer %s TCP 80, 32526\n", RULES_IMDS_ADDR,
	       cfg->n_imds_users || cfg->n_imds_groups ?
	       " (root, imds-users and imds-groups only)" : "", RULES_WIRESERVER_ADDR);
	lookup_ids(cfg->imds_users, cfg->n_imds_users, false, cfg->imds_users_at, ids,
		   stdout, "warning: ");
	lookup_ids(cfg->imds_groups, cfg->n_imds_groups, true, cfg->imds_groups_at, ids,
		   stdout, "warning: ");
}

static void print_plan(const struct config *cfg, const struct endpoint_list *eps)
{
	static const char *const priv[] = { "no", "auto", "yes" };
	char ports[64], a[KVF_ADDRSTRLEN];
	size_t i;

	printf("config %s: valid\n", cfg->path);
	printf("cloud %s%s\n", config_cloud_name(cfg->cloud),
	       catalogue_cloud_retired(cfg->cloud) ? " (retired)" : "");
	printf("table %s %s: set4 %s, set6 %s%s\n", config_family_name(cfg->table_family),
	       cfg->table, cfg->set4 ? cfg->set4 : "none", cfg->set6 ? cfg->set6 : "none",
	       cfg->create_sets ? " (created when missing)" : "");
	printf("resolver");
	if (cfg->resolver_system)
		printf(" system (/etc/resolv.conf)");
	for (i = 0; i < cfg->n_resolvers; i++)
		printf(" %s", addr_format(&cfg->resolvers[i], a, sizeof(a)));
	printf("\nrefresh %us..%us, grace %us, allow-private %s, max-addresses-per-host %u\n",
	       cfg->refresh_min, cfg->refresh_max, cfg->grace, priv[cfg->allow_private],
	       cfg->max_addresses);
	if (cfg->max_stale)
		printf("max-stale %us: addresses unconfirmed that long are removed\n",
		       cfg->max_stale);
	else
		printf("max-stale none: addresses are kept through any DNS outage\n");
	printf("%zu hosts:\n", eps->n);
	for (i = 0; i < eps->n; i++)
		printf("  %-48s %-8s %s%s\n", eps->v[i].name,
		       ports_text(&eps->v[i], ports, sizeof(ports)), eps->v[i].why,
		       eps->v[i].private_link ? " (private: public answers refused)" : "");
}

/* One line per host of the cloud that the config leaves out, saying why
 * and who would need it: the administrator decides, knowingly. */
static void print_left_out(const struct config *cfg)
{
	struct left_out *v;
	size_t i, n = catalogue_left_out(cfg, &v);

	for (i = 0; i < n; i++)
		printf("left out: %s (%s): %s\n", v[i].name, v[i].because,
		       v[i].needed_by);
	free(v);
}

static bool addr_in(const struct kvf_addr *a, const struct kvf_addr *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addr_cmp(a, &v[i]) == 0)
			return true;
	return false;
}

/* Clients resolve through /etc/resolv.conf's servers: kvfence must ask
 * the same ones, or the two may see different answers. */
static void warn_resolvers(const struct config *cfg)
{
	struct kvf_addr ns[SYSFILES_MAX_NAMESERVERS];
	char a[KVF_ADDRSTRLEN], list[SYSFILES_MAX_NAMESERVERS * (KVF_ADDRSTRLEN + 1)];
	size_t i, n, len, l = 0;
	char *buf;

	if (cfg->resolver_system)
		return;
	if (sysfiles_read(SYSFILES_RESOLV_CONF, &buf, &len) < 0) {
		printf("warning: resolver names its own servers, and %s cannot be read to "
		       "compare them with the clients' (kvfence(8), RESOLVER CONSISTENCY)\n",
		       SYSFILES_RESOLV_CONF);
		return;
	}
	n = sysfiles_parse_nameservers(buf, len, ns, SYSFILES_MAX_NAMESERVERS);
	free(buf);
	/* Clients that ask kvfence's DNS proxy get the very answers it
	 * forwards: its resolver is rightly another one. */
	for (i = 0; i < cfg->n_listens; i++)
		if (cfg->listens[i].port == 53 && addr_in(&cfg->listens[i].addr, ns, n))
			return;
	list[0] = '\0';
	for (i = 0; i < n; i++)
		l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", i ? " " : "",
				      addr_format(&ns[i], a, sizeof(a)));
	for (i = 0; i < cfg->n_resolvers; i++) {
		if (addr_in(&cfg->resolvers[i], ns, n))
			continue;
		printf("warning: resolver %s is not a name server of %s (%s): clients on this "
		       "host ask those, and if they answer differently the sets will not hold "
		       "the addresses clients connect to (kvfence(8), RESOLVER CONSISTENCY)\n",
		       addr_format(&cfg->resolvers[i], a, sizeof(a)), SYSFILES_RESOLV_CONF,
		       n ? list : "none");
	}
}

/* An /etc/hosts entry for a catalogue host sends clients to an address
 * kvfence never sees: kvfence resolves through DNS only, by design. */
static void warn_hosts_file(const struct endpoint_list *eps)
{
	struct hosts_hit *hits;
	char a[KVF_ADDRSTRLEN];
	size_t i, n, len;
	char *buf;

	if (sysfiles_read(SYSFILES_HOSTS, &buf, &len) < 0)
		return;
	n = sysfiles_hosts_hits(buf, len, eps, &hits);
	free(buf);
	for (i = 0; i < n; i++)
		printf("warning: %s:%u: %s %s: clients on this host use this entry, but "
		       "kvfence ignores %s by design and fills the sets from DNS "
		       "(kvfence(8), RESOLVER CONSISTENCY)\n", SYSFILES_HOSTS, hits[i].line,
		       addr_format(&hits[i].addr, a, sizeof(a)), eps->v[hits[i].host].name,
		       SYSFILES_HOSTS);
	free(hits);
}

/* Range mode's plan: per tag its prefix counts and where they come from. */
static int print_tags(const struct config *cfg)
{
	struct servicetags tags;
	char err[KVF_ERRLEN];
	size_t i;

	if (cfg->n_tagsets == 0)
		return KVF_EX_OK;
	if (servicetags_load(cfg, &tags, err, sizeof(err)) < 0) {
		log_warnx("%s; the range sets are left as they are", err);
		return KVF_EX_DATAERR;
	}
	printf("%zu service tags (range sets %s, %s): %zu IPv4 and %zu IPv6 ranges merged\n",
	       tags.n_tags, cfg->range_set4 ? cfg->range_set4 : "none",
	       cfg->range_set6 ? cfg->range_set6 : "none", tags.v4.n, tags.v6.n);
	for (i = 0; i < tags.n_tags; i++)
		printf("  %-40s %5zu v4 %5zu v6  %s (date %s, changeNumber %lld)\n",
		       tags.tags[i].tag, tags.tags[i].n4, tags.tags[i].n6, tags.tags[i].file,
		       tags.tags[i].date[0] ? tags.tags[i].date : "?", tags.tags[i].file_change);
	servicetags_free(&tags);
	return KVF_EX_OK;
}

static int cmd_check(const char *conf, int argc, char **argv)
{
	struct endpoint_list eps;
	struct config cfg;
	int ret;

	ret = command_config(conf, argc, argv, NULL, NULL, &cfg);
	if (ret != KVF_EX_OK)
		return ret;
	catalogue_build(&cfg, &eps);
	print_plan(&cfg, &eps);
	if (eps.n == 0 && cfg.n_tagsets == 0)
		printf("note: no hosts and no service tags: nothing to do\n");
	print_left_out(&cfg);
	print_platform(&cfg);
	warn_resolvers(&cfg);
	warn_hosts_file(&eps);
	ret = print_tags(&cfg);
	catalogue_free(&eps);
	config_free(&cfg);
	return ret;
}

static int cmd_rules(const char *conf, int argc, char **argv)
{
	enum rules_hook hook = HOOK_OUTPUT;
	struct rules_ids users = { 0 }, groups = { 0 };
	unsigned *uids = NULL, *gids = NULL;
	struct endpoint_list eps;
	struct config cfg;
	int ret = KVF_EX_CONFIG;

	if (argc == 3 && strcmp(argv[1], "--hook") == 0) {
		if (strcmp(argv[2], "forward") == 0)
			hook = HOOK_FORWARD;
		else if (strcmp(argv[2], "output") != 0)
			return KVF_EX_USAGE;
	} else if (argc != 1) {
		return KVF_EX_USAGE;
	}
	if (load_config(conf, &cfg))
		return KVF_EX_CONFIG;
	uids = xcalloc(cfg.n_imds_users + 1, sizeof(*uids));
	gids = xcalloc(cfg.n_imds_groups + 1, sizeof(*gids));
	if (lookup_ids(cfg.imds_users, cfg.n_imds_users, false, cfg.imds_users_at, uids,
		       stderr, "") ||
	    lookup_ids(cfg.imds_groups, cfg.n_imds_groups, true, cfg.imds_groups_at, gids,
		       stderr, ""))
		goto out;
	users = (struct rules_ids){ cfg.imds_users, uids, cfg.n_imds_users };
	groups = (struct rules_ids){ cfg.imds_groups, gids, cfg.n_imds_groups };
	catalogue_build(&cfg, &eps);
	rules_print(stdout, &cfg, &eps, hook, &users, &groups);
	catalogue_free(&eps);
	ret = KVF_EX_OK;
out:
	free(uids);
	free(gids);
	config_free(&cfg);
	return ret;
}

static int cmd_sync(const char *conf, int argc, char **argv)
{
	struct config cfg;
	bool dry_run = false;
	int ret;

	ret = command_config(conf, argc, argv, "--dry-run", &dry_run, &cfg);
	if (ret != KVF_EX_OK)
		return ret;
	ret = agent_sync(&cfg, dry_run);
	if (ret == KVF_EX_NOPERM)
		log_warnx("kvfence needs CAP_NET_ADMIN to read and write nftables sets, "
			  "and a table no other process owns (flags owner, as firewalld's "
			  "table is): see FIREWALLD in kvfence(8)");
	return ret;
}

static int verbose;

static int cmd_run(const char *conf, int argc, char **argv)
{
	bool foreground = false;

	if (argc == 2 && strcmp(argv[1], "-f") == 0)
		foreground = true;
	else if (argc != 1)
		return KVF_EX_USAGE;
	return agent_run(conf, foreground, verbose);
}

/* A user who may not open the lock (the state directory is 0700 under
 * systemd) asks whether the pid that wrote the status still exists. */
static int status_writer_alive(const struct config *cfg, int lock_errno)
{
	long pid;

	if (status_read_pid(cfg->status_file, &pid) < 0) {
		fprintf(stderr, "kvfence: %s.lock: %s: cannot tell whether the agent runs\n",
			cfg->state_file, strerror(lock_errno));
		return -lock_errno;
	}
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return 1;
	return 0;
}

static int cmd_status(const char *conf, int argc, char **argv)
{
	struct config cfg;
	bool json = false;
	int r, running;

	r = command_config(conf, argc, argv, "--json", &json, &cfg);
	if (r != KVF_EX_OK)
		return r;
	/* status.json outlives an agent killed with -9: the lock does not. */
	running = agent_lock_held(cfg.state_file);
	if (running < 0)
		running = status_writer_alive(&cfg, -running);
	r = status_print(cfg.status_file, json, stdout);
	/* The last status stays readable, but it is not a running agent's. */
	if (running == 0) {
		fprintf(stderr, "kvfence: no agent is running: nothing holds %s.lock%s\n",
			cfg.state_file, r == 0 ? "; this is the status it left" : "");
		r = -ESRCH;
	} else if (r == -ENOENT && running == 1) {
		fprintf(stderr, "kvfence: %s: no status yet: the agent runs but has not written "
			"the sets once (see its log)\n", cfg.status_file);
	} else if (r == -ENOENT) {
		fprintf(stderr, "kvfence: %s: no status: is the agent running?\n", cfg.status_file);
	} else if (r < 0) {
		fprintf(stderr, "kvfence: %s: %s\n", cfg.status_file,
			r == -EINVAL ? "not a kvfence status file" : r == -EPROTO ?
			"a status format this kvfence does not know (restart the agent "
			"after an upgrade; --json shows it raw)" : strerror(-r));
	}
	config_free(&cfg);
	return r == 0 ? KVF_EX_OK : KVF_EX_UNAVAILABLE;
}

/* Refused while an agent runs: it would write everything back at once. */
static int cmd_clear(const char *conf, int argc, char **argv)
{
	struct clear_stats st;
	struct nlsock *nft;
	struct config cfg;
	char err[KVF_ERRLEN], pid[32];
	bool dry_run = false;
	int r, lockfd, ret = KVF_EX_OK;

	ret = command_config(conf, argc, argv, "--dry-run", &dry_run, &cfg);
	if (ret != KVF_EX_OK)
		return ret;
	r = clear_lock_state(cfg.state_file, &lockfd, pid, sizeof(pid));
	if (r == -EAGAIN) {
		log_warnx("clear: the agent (pid %s) is running and would refill the sets: "
			  "stop it first (systemctl stop kvfence)", pid[0] ? pid : "?");
		config_free(&cfg);
		return KVF_EX_TEMPFAIL;
	}
	if (r < 0) {
		log_warnx("clear: the agent's lock %s.lock: %s", cfg.state_file, strerror(-r));
		config_free(&cfg);
		return r == -EACCES || r == -EPERM ? KVF_EX_NOPERM : KVF_EX_OSERR;
	}
	r = nlsock_open(&nft);
	if (r == 0) {
		r = clear_run(&cfg, nft, dry_run, &st, err, sizeof(err));
		nlsock_close(nft);
		if (r < 0)
			log_warnx("clear: %s", err);
		else
			log_info("clear: removed %zu elements of kvfence's, kept %zu others; "
				 "%zu sets%s deleted%s", st.removed, st.kept, st.sets_deleted,
				 st.table_deleted ? " and the table" : "",
				 dry_run ? " (dry run)" : "");
	} else {
		log_warnx("netlink: %s", strerror(-r));
	}
	if (r < 0)
		ret = agent_nft_exit(r);
	if (lockfd >= 0)
		close(lockfd);
	config_free(&cfg);
	return ret;
}

static const struct cmd commands[] = {
	{ "run",	cmd_run,	"run [-f]" },
	{ "status",	cmd_status,	"status [--json]" },
	{ "sync",	cmd_sync,	"sync [--dry-run]" },
	{ "clear",	cmd_clear,	"clear [--dry-run]" },
	{ "check",	cmd_check,	"check" },
	{ "endpoints",	cmd_endpoints,	"endpoints" },
	{ "rules",	cmd_rules,	"rules [--hook output|forward]" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: kvfence [-v] [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  kvfence [-c FILE] %s\n", commands[i].usage);
	fprintf(out, "\noptions:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -v, --verbose      log debug messages\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n", KVF_DEFAULT_CONFIG);
}

/* glibc raises its mmap threshold to the size of each large block freed
 * (up to 32 MiB): after the first, the big lists of a reconcile (desired,
 * diffs, views, the batch) come from the heap and leave holes there that
 * stay resident. At the default 128 KiB, fixed, they are mapped and given
 * back whole: a 10k-host sync peaks about 1 MiB lower. */
static void large_blocks_mapped(void)
{
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = KVF_DEFAULT_CONFIG;
	int c, ret;
	size_t i;

	large_blocks_mapped();
	while ((c = getopt_long(argc, argv, "+c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return KVF_EX_OK;
		case 'V': printf("kvfence %s\n", PACKAGE_VERSION); return KVF_EX_OK;
		default: usage(stderr); return KVF_EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return KVF_EX_USAGE;
	}
	log_init(LOG_TO_STDERR, verbose);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		ret = commands[i].fn(conf, argc - optind, argv + optind);
		if (ret == KVF_EX_USAGE)
			fprintf(stderr, "usage: kvfence %s\n", commands[i].usage);
		return ret;
	}
	fprintf(stderr, "kvfence: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return KVF_EX_USAGE;
}
