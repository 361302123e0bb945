/* kvfence: status.json and the Prometheus textfile. */
#include "autoconfig.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "status.h"
#include "util.h"

/* Host states keep kvfence's clock; status.json speaks wall time. */
static json_int_t wall(const struct status_summary *sum, int64_t t)
{
	int64_t w = sum->now - (sum->clock - t);

	/* An element found in the kernel with no history was "seen long
	 * ago": 0, as before there were two clocks. */
	return (json_int_t)(w > 0 ? w : 0);
}

static json_t *addresses_json(const struct host_state *h, const struct status_summary *sum)
{
	json_t *arr = json_array();
	char a[KVF_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < h->n_addrs; i++)
		json_array_append_new(arr, json_pack("{s:s, s:I, s:b}",
			"address", addr_format(&h->addrs[i].addr, a, sizeof(a)),
			"last_seen", wall(sum, h->addrs[i].last_seen),
			"current", h->addrs[i].current));
	return arr;
}

static json_t *host_json(const struct endpoint *ep, const struct host_state *h,
			 int64_t next_refresh, const struct status_summary *sum)
{
	json_t *ports = json_array();
	unsigned p;

	for (p = 0; p < ep->n_ports; p++)
		json_array_append_new(ports, json_integer(ep->ports[p]));
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:s, s:I, s:o}",
		"name", ep->name, "function", ep->why, "ports", ports,
		"ttl", (json_int_t)h->ttl,
		"last_answer", h->last_answer ? wall(sum, h->last_answer) : 0,
		"next_refresh", (json_int_t)next_refresh,
		"a", resolve_status_name(h->last4),
		"aaaa", resolve_status_name(h->last6),
		"failures", (json_int_t)h->failures,
		"addresses", addresses_json(h, sum));
}

/* "private_link": a Private Link host's refused public addresses. */
static void private_link_json(json_t *host, const struct public_answer *pa)
{
	json_t *arr = json_array();
	char a[KVF_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < pa->n; i++)
		json_array_append_new(arr, json_string(addr_format(&pa->v[i], a, sizeof(a))));
	json_object_set_new(host, "private_link", json_pack("{s:o}", "public_refused", arr));
}

static json_t *tags_json(const struct engine *e)
{
	const struct servicetags *t = e->ranges.tags;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; t && i < t->n_tags; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
			"tag", t->tags[i].tag, "file", t->tags[i].file, "date", t->tags[i].date,
			"change", (json_int_t)t->tags[i].file_change,
			"v4", (json_int_t)t->tags[i].n4, "v6", (json_int_t)t->tags[i].n6));
	return arr;
}

static void range_sets_json(const struct engine *e, json_t *sets)
{
	size_t i;

	for (i = 0; i < e->ranges.n; i++) {
		const struct range_set *s = &e->ranges.v[i];

		json_array_append_new(sets, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}",
			"family", nftset_family_name(s->ref.family), "table", s->ref.table,
			"name", s->ref.name,
			"type", s->family == AF_INET ? "ipv4_addr, interval" : "ipv6_addr, interval",
			"elements", (json_int_t)s->size, "exists", s->exists));
	}
}

/* Everything but the hosts, which are written one at a time. */
static json_t *status_json(const struct engine *e, const struct status_summary *sum)
{
	json_t *sets = json_array();
	size_t i;

	for (i = 0; i < e->n_sets; i++) {
		const struct engine_set *s = &e->sets[i];

		json_array_append_new(sets, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}",
			"family", nftset_family_name(s->ref.family), "table", s->ref.table,
			"name", s->ref.name, "type", keytype_name(s->key),
			"elements", (json_int_t)s->size, "exists", s->exists));
	}
	range_sets_json(e, sets);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:o, s:o}",
		"version", PACKAGE_VERSION, "pid", (json_int_t)getpid(),
		"updated", (json_int_t)sum->now, "started", (json_int_t)sum->started,
		"last_reconcile", (json_int_t)sum->last_reconcile,
		"reconcile_seconds", sum->reconcile_seconds,
		"reconciles", (json_int_t)sum->reconciles,
		"resolve_failures", (json_int_t)sum->resolve_failures,
		"sets", sets, "service_tags", tags_json(e));
}

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* One host per line, each host's tree built, written and freed in turn:
 * a 10k-host agent holds neither the whole document as a tree nor its
 * 2 MB of text. */
int status_write_json(const char *path, const struct engine *e,
		      const struct status_summary *sum)
{
	struct afile af;
	json_t *v;
	char *head;
	size_t i;
	int r;

	v = status_json(e, sum);
	head = json_dumps(v, JSON_FLAGS);
	json_decref(v);
	if (!head)
		return -ENOMEM;
	r = afile_open(&af, path, 0644);
	if (r < 0) {
		free(head);
		return r;
	}
	/* The head object reopened (its closing brace dropped): the hosts
	 * come last. */
	fprintf(af.f, "%.*s,\n\"hosts\": [", (int)(strlen(head) - 1), head);
	free(head);
	for (i = 0; i < e->eps.n; i++) {
		v = host_json(&e->eps.v[i], &e->hs[i],
			      sum->next_refresh ? sum->next_refresh[i] : 0, sum);
		if (v && e->eps.v[i].private_link)
			private_link_json(v, &e->pl_public[i]);
		fputs(i ? ",\n" : "\n", af.f);
		/* A host that could not be built (out of memory) or written
		 * would leave a broken document: the old file stays. */
		if (!v)
			r = -ENOMEM;
		else if (json_dumpf(v, af.f, JSON_FLAGS) < 0)
			r = ferror(af.f) && errno ? -errno : -EIO;
		json_decref(v);
		if (r < 0) {
			afile_abort(&af);
			return r;
		}
	}
	fputs("\n]}\n", af.f);
	return afile_commit(&af);
}

static void metrics_set(FILE *f, const struct setref *ref, size_t size)
{
	fprintf(f, "kvfence_set_elements{family=\"%s\",table=\"%s\",set=\"%s\"} %zu\n",
		nftset_family_name(ref->family), ref->table, ref->name, size);
}

static void metrics_sets(FILE *f, const struct engine *e)
{
	size_t i;

	fprintf(f, "# HELP kvfence_set_elements Elements in each nftables set after the last reconcile.\n"
		"# TYPE kvfence_set_elements gauge\n");
	for (i = 0; i < e->n_sets; i++)
		metrics_set(f, &e->sets[i].ref, e->sets[i].size);
	for (i = 0; i < e->ranges.n; i++)
		metrics_set(f, &e->ranges.v[i].ref, e->ranges.v[i].size);
}

static void metrics_hosts(FILE *f, const struct engine *e)
{
	size_t i;

	fprintf(f, "# HELP kvfence_host_addresses Addresses held per host.\n"
		"# TYPE kvfence_host_addresses gauge\n");
	for (i = 0; i < e->eps.n; i++)
		fprintf(f, "kvfence_host_addresses{host=\"%s\"} %zu\n", e->eps.v[i].name,
			e->hs[i].n_addrs);
	fprintf(f, "# HELP kvfence_host_failing Whether the last resolution of the host failed.\n"
		"# TYPE kvfence_host_failing gauge\n");
	for (i = 0; i < e->eps.n; i++)
		fprintf(f, "kvfence_host_failing{host=\"%s\"} %d\n", e->eps.v[i].name,
			e->hs[i].failures > 0);
}

static void metrics_private_link(FILE *f, const struct engine *e)
{
	size_t i;

	fprintf(f, "# HELP kvfence_private_link_public_addresses Public addresses in the "
		"latest answer of a host said to be private (Private Link), all refused.\n"
		"# TYPE kvfence_private_link_public_addresses gauge\n");
	for (i = 0; i < e->eps.n; i++)
		if (e->eps.v[i].private_link)
			fprintf(f, "kvfence_private_link_public_addresses{host=\"%s\"} %zu\n",
				e->eps.v[i].name, e->pl_public[i].n);
}

int status_write_metrics(const char *path, const struct engine *e,
			 const struct status_summary *sum)
{
	struct afile af;
	int r;

	r = afile_open(&af, path, 0644);
	if (r < 0)
		return r;
	fprintf(af.f, "# HELP kvfence_hosts Hosts kvfence resolves.\n# TYPE kvfence_hosts gauge\n"
		"kvfence_hosts %zu\n", e->eps.n);
	metrics_sets(af.f, e);
	metrics_hosts(af.f, e);
	metrics_private_link(af.f, e);
	fprintf(af.f, "# HELP kvfence_resolve_failures_total Failed resolutions since start.\n"
		"# TYPE kvfence_resolve_failures_total counter\n"
		"kvfence_resolve_failures_total %llu\n"
		"# HELP kvfence_last_reconcile_timestamp_seconds Time of the last successful reconcile.\n"
		"# TYPE kvfence_last_reconcile_timestamp_seconds gauge\n"
		"kvfence_last_reconcile_timestamp_seconds %lld\n"
		"# HELP kvfence_reconcile_duration_seconds Duration of the last reconcile.\n"
		"# TYPE kvfence_reconcile_duration_seconds gauge\n"
		"kvfence_reconcile_duration_seconds %.6f\n",
		(unsigned long long)sum->resolve_failures, (long long)sum->last_reconcile,
		sum->reconcile_seconds);
	return afile_commit(&af);
}

static const char *ago(int64_t now, int64_t t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "never");
	else if (t >= now)
		snprintf(buf, len, "in %llds", (long long)(t - now));
	else
		snprintf(buf, len, "%llds ago", (long long)(now - t));
	return buf;
}

static void print_host(FILE *out, json_t *h, int64_t now)
{
	json_t *addrs = json_object_get(h, "addresses"), *a;
	char t1[32], t2[32];
	size_t i;

	fprintf(out, "%-44s %5lld %-12s %-12s %s/%s%s\n",
		json_string_value(json_object_get(h, "name")),
		(long long)json_integer_value(json_object_get(h, "ttl")),
		ago(now, json_integer_value(json_object_get(h, "last_answer")), t1, sizeof(t1)),
		ago(now, json_integer_value(json_object_get(h, "next_refresh")), t2, sizeof(t2)),
		json_string_value(json_object_get(h, "a")),
		json_string_value(json_object_get(h, "aaaa")),
		json_integer_value(json_object_get(h, "failures")) ? " (failing)" : "");
	json_array_foreach(json_object_get(json_object_get(h, "private_link"), "public_refused"), i, a)
		fprintf(out, "    %-40s refused: public, but the host is private (Private Link)\n",
			json_string_value(a));
	json_array_foreach(addrs, i, a) {
		fprintf(out, "    %-40s %s%s\n", json_string_value(json_object_get(a, "address")),
			json_is_true(json_object_get(a, "current")) ? "answered" : "in grace, seen ",
			json_is_true(json_object_get(a, "current")) ? "" :
			ago(now, json_integer_value(json_object_get(a, "last_seen")), t1, sizeof(t1)));
	}
}

static void print_table(FILE *out, json_t *root)
{
	json_t *sets = json_object_get(root, "sets"), *hosts = json_object_get(root, "hosts"), *v;
	int64_t now = time(NULL);
	char t1[32], t2[32];
	size_t i;

	/* One buffer per ago(): both are arguments of the same call. */
	fprintf(out, "kvfence %s, pid %lld, updated %s, last reconcile %s (%.3f s)\n",
		json_string_value(json_object_get(root, "version")),
		(long long)json_integer_value(json_object_get(root, "pid")),
		ago(now, json_integer_value(json_object_get(root, "updated")), t1, sizeof(t1)),
		ago(now, json_integer_value(json_object_get(root, "last_reconcile")), t2, sizeof(t2)),
		json_real_value(json_object_get(root, "reconcile_seconds")));
	json_array_foreach(sets, i, v)
		fprintf(out, "set %s %s %s (%s): %lld elements\n",
			json_string_value(json_object_get(v, "family")),
			json_string_value(json_object_get(v, "table")),
			json_string_value(json_object_get(v, "name")),
			json_string_value(json_object_get(v, "type")),
			(long long)json_integer_value(json_object_get(v, "elements")));
	json_array_foreach(json_object_get(root, "service_tags"), i, v)
		fprintf(out, "service tag %s: %lld IPv4, %lld IPv6 prefixes from %s (changeNumber %lld)\n",
			json_string_value(json_object_get(v, "tag")),
			(long long)json_integer_value(json_object_get(v, "v4")),
			(long long)json_integer_value(json_object_get(v, "v6")),
			json_string_value(json_object_get(v, "file")),
			(long long)json_integer_value(json_object_get(v, "change")));
	fprintf(out, "\n%-44s %5s %-12s %-12s %s\n", "HOST", "TTL", "ANSWERED", "NEXT", "A/AAAA");
	json_array_foreach(hosts, i, v)
		print_host(out, v, now);
}

int status_print(const char *path, bool json, FILE *out)
{
	json_error_t jerr;
	json_t *root;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	root = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	if (json)
		json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	else
		print_table(out, root);
	if (json)
		fputc('\n', out);
	json_decref(root);
	return 0;
}
