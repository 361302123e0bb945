/* kvfence: the configuration file (kvfence.conf(5)): parsing, validation
 * and the in-memory form every other module reads. Pure: reads files,
 * never logs, never touches the kernel. */
#ifndef KVF_CONFIG_H
#define KVF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

enum cloud {
	CLOUD_PUBLIC,
	CLOUD_CHINA,
	CLOUD_USGOV,
	CLOUD_GERMANY,
};

enum endpoint_fn {
	FN_AUTH		= 1 << 0,
	FN_MANAGEMENT	= 1 << 1,
	FN_GRAPH	= 1 << 2,
	FN_VAULT	= 1 << 3,
	FN_CRL		= 1 << 4,
};
#define FN_ALL (FN_AUTH | FN_MANAGEMENT | FN_GRAPH | FN_VAULT | FN_CRL)

/* platform: which cloud platform's own services the printed rules let
 * through (IMDS, the WireServer). */
enum platform {
	PLATFORM_AZURE,
	PLATFORM_NONE,
};

enum allow_private {
	PRIVATE_NO,
	PRIVATE_AUTO,
	PRIVATE_YES,
};

struct config_host {
	char *name;
	uint16_t port;
};

/* service-tags FILE TAG...: FILE may be a glob; the newest match wins. */
struct config_tags {
	char *file;
	char **tags;
	size_t n_tags;
	char *where;		/* "kvfence.conf:12", for errors about the file */
};

/* listen ADDRESS[:PORT]: where the DNS proxy answers. */
struct config_listen {
	struct kvf_addr addr;
	uint16_t port;
};

struct config {
	enum cloud cloud;
	char **vaults;		size_t n_vaults;
	char **hsms;		size_t n_hsms;
	bool *vaults_private;	/* parallel to vaults: "vault NAME private" */
	bool *hsms_private;	/* parallel to hsms */
	unsigned functions;	/* enum endpoint_fn bits */
	bool microsoft_account;
	bool auth_aliases;
	bool graph_legacy;
	bool instance_discovery;	/* usgov, china: + login.microsoftonline.com */
	struct config_host *hosts;	size_t n_hosts;
	char *host_names;	/* the blocks the hosts' names are in */
	int table_family;	/* NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 */
	char *table;
	char *set4;		/* NULL: "none", no IPv4 set */
	char *set6;		/* NULL: "none", no IPv6 set */
	bool create_sets;
	unsigned refresh_min;	/* seconds */
	unsigned refresh_max;
	unsigned grace;
	unsigned max_stale;	/* 0: none (fail-static for ever) */
	bool resolver_system;
	struct kvf_addr *resolvers;	size_t n_resolvers;
	enum allow_private allow_private;
	unsigned max_addresses;
	struct config_tags *tagsets;	size_t n_tagsets;
	char *range_set4;	/* interval sets for service-tags ranges */
	char *range_set6;
	char *state_file;
	char *status_file;
	char *metrics_file;	/* NULL: none */
	struct config_listen *listens;	size_t n_listens;	/* none: no proxy */
	bool metrics_per_host;	/* per-host series (2 per host) */
	enum platform platform;
	char **imds_users;	size_t n_imds_users;	/* names or numeric ids */
	char **imds_groups;	size_t n_imds_groups;
	char *imds_users_at;	/* "kvfence.conf:12", for errors about a name */
	char *imds_groups_at;
	char *path;		/* the main file */
};

/* Parse path into *cfg (which config_parse_file initialises). On error
 * returns -1 and writes "file:line: reason" into err; *cfg is then freed
 * and must not be used. 0 on success. */
int config_parse_file(const char *path, struct config *cfg, char *err, size_t errlen);

/* Parse an in-memory buffer as if it were the file name (tests, fuzzing). */
int config_parse_buffer(const char *name, const char *buf, size_t len,
			struct config *cfg, char *err, size_t errlen);

void config_free(struct config *cfg);

/* "30s", "5m", "1h", "2d", "90" (seconds), combinations "1h30m".
 * 0 on success, -EINVAL / -ERANGE otherwise. */
int config_parse_duration(const char *text, unsigned *seconds);

/* Azure vault / managed HSM names: 3-24 characters, ASCII letters, digits
 * and hyphens, starting with a letter, not ending with a hyphen, no "--".
 * NULL if valid, else a static reason. */
const char *config_check_vault_name(const char *name);

/* A DNS host name for "host": NULL if valid, else a static reason. An
 * IP literal is refused: kvfence resolves names. */
const char *config_check_hostname(const char *name);

/* "127.0.2.53", "127.0.2.53:5353", "::1", "[::1]:5353" (port 53 when
 * none is given). 0, or -EINVAL. */
int config_parse_listen(const char *text, struct config_listen *out);

const char *config_cloud_name(enum cloud c);
const char *config_family_name(int nfproto);

#endif
