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
#include "afile.h"
#include "util.h"

/* Host states keep kvfence's clock; status.json speaks wall time. */
static json_int_t wall(const struct status_summary *sum, int64_t t)
{
	int64_t w = sum->now - (sum->clock - t);

	/* An element found in the kernel with no history was "seen long
	 * ago": 0, as before there were two clocks. */
	return (json_int_t)(w > 0 ? w : 0);
}

/* The hosts are written by hand, not through jansson, in exactly the
 * bytes json_dumpf would write (compact, keys in this order): building
 * and dumping 50,000 trees cost more CPU than the refresh wave that
 * asked for the write. Names and statuses are plain ASCII (the config
 * checks host names); strings are escaped as jansson does anyway. */
static void put_str(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n;

	fputc_unlocked('"', f);
	/* Up to the first character to escape (names and statuses have
	 * none) at once. */
	n = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
		    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
	fwrite_unlocked(s, 1, n, f);
	for (s += n; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" :
				  c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" :
				  c == '\t' ? "\\t" : NULL;

		if (esc) {
			afile_put(f, esc);
		} else if (c < 0x20) {
			afile_put(f, "\\u00");
			fputc_unlocked(hex[c >> 4], f);
			fputc_unlocked(hex[c & 15], f);
		} else {
			fputc_unlocked((char)c, f);
		}
	}
	fputc_unlocked('"', f);
}

static void put_addresses(FILE *f, const struct host_state *h, const struct status_summary *sum)
{
	char a[KVF_ADDRSTRLEN];
	size_t i;

	afile_put(f, ",\"addresses\":[");
	for (i = 0; i < h->n_addrs; i++) {
		afile_put(f, i ? ",{\"address\":" : "{\"address\":");
		put_str(f, addr_format(&h->addrs[i].addr, a, sizeof(a)));
		afile_put(f, ",\"last_seen_unix\":");
		afile_put_int(f, wall(sum, h->addrs[i].last_seen));
		afile_put(f, h->addrs[i].current ? ",\"current\":true}" : ",\"current\":false}");
	}
	afile_put(f, "]");
}

/* "private_link": a Private Link host's refused public addresses. */
static void put_private_link(FILE *f, const struct public_answer *pa)
{
	char a[KVF_ADDRSTRLEN];
	size_t i;

	afile_put(f, ",\"private_link\":{\"public_refused\":[");
	for (i = 0; i < pa->n; i++) {
		if (i)
			afile_put(f, ",");
		put_str(f, addr_format(&pa->v[i], a, sizeof(a)));
	}
	afile_put(f, "]}");
}

static void put_host(FILE *f, const struct engine *e, size_t i, const struct status_summary *sum)
{
	const struct endpoint *ep = &e->eps.v[i];
	const struct host_state *h = &e->hs[i];
	unsigned p;

	afile_put(f, "{\"name\":");
	put_str(f, ep->name);
	afile_put(f, ",\"function\":");
	put_str(f, ep->why);
	afile_put(f, ",\"ports\":[");
	for (p = 0; p < ep->n_ports; p++) {
		if (p)
			afile_put(f, ",");
		afile_put_int(f, ep->ports[p]);
	}
	afile_put(f, "],\"ttl_s\":");
	afile_put_int(f, h->ttl);
	afile_put(f, ",\"last_answer_unix\":");
	afile_put_int(f, h->last_answer ? wall(sum, h->last_answer) : 0);
	afile_put(f, ",\"next_refresh_unix\":");
	afile_put_int(f, sum->next_refresh ? sum->next_refresh[i] : 0);
	afile_put(f, ",\"a\":");
	put_str(f, resolve_status_name(h->last4));
	afile_put(f, ",\"aaaa\":");
	put_str(f, resolve_status_name(h->last6));
	afile_put(f, ",\"failures\":");
	afile_put_int(f, h->failures);
	afile_put(f, ",\"failing_since_unix\":");
	afile_put_int(f, h->failures && h->failing_since ? wall(sum, h->failing_since) : 0);
	put_addresses(f, h, sum);
	if (ep->private_link)
		put_private_link(f, &e->hosts[i].pl_public);
	afile_put(f, "}");
}

/* "YYYYMMDD" of a Service Tags file name as Unix seconds (UTC midnight),
 * or 0. */
static int64_t date_unix(const char *date)
{
	struct tm tm = { 0 };
	char *end;

	if (!date || strlen(date) != 8)
		return 0;
	end = strptime(date, "%Y%m%d", &tm);
	return end && !*end ? (int64_t)timegm(&tm) : 0;
}

static json_t *tags_json(const struct engine *e)
{
	const struct servicetags *t = e->tags;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; t && i < t->n_tags; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
			"tag", t->tags[i].tag, "file", t->tags[i].file, "date", t->tags[i].date,
			"file_change", (json_int_t)t->tags[i].file_change,
			"tag_change", (json_int_t)t->tags[i].tag_change,
			"v4", (json_int_t)t->tags[i].n4, "v6", (json_int_t)t->tags[i].n6));
	return arr;
}

static json_t *set_json(const struct setref *ref, const char *kind, const char *type,
			size_t size, bool exists)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b}",
		"family", nftcodec_family_name(ref->family), "table", ref->table,
		"name", ref->name, "kind", kind, "type", type,
		"elements", (json_int_t)size, "exists", exists);
}

static const char *set_kind(const struct engine_set *s)
{
	return s->kind == ENGINE_RANGES ? "ranges" : "hosts";
}

static json_t *sets_json(const struct engine *e)
{
	json_t *sets = json_array();
	size_t i;

	for (i = 0; i < e->n_sets; i++) {
		const struct engine_set *s = &e->sets[i];
		char type[64];

		snprintf(type, sizeof(type), "%s%s", keytype_name(s->key),
			 s->kind == ENGINE_RANGES ? ", interval" : "");
		json_array_append_new(sets, set_json(&s->ref, set_kind(s), type, s->size,
						     s->exists));
	}
	return sets;
}

static size_t hosts_failing(const struct engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->eps.n; i++)
		n += e->hs[i].failures > 0;
	return n;
}

/* The earliest planned resolution, or 0 (none planned). */
static int64_t next_refresh(const struct engine *e, const struct status_summary *sum)
{
	int64_t t = 0;
	size_t i;

	for (i = 0; sum->next_refresh && i < e->eps.n; i++)
		if (sum->next_refresh[i] > 0 && (t == 0 || sum->next_refresh[i] < t))
			t = sum->next_refresh[i];
	return t;
}

/* Everything but the hosts, which are written one at a time. The
 * fields are documented in kvfence(8) and status.schema.json. */
static json_t *status_json(const struct engine *e, const struct status_summary *sum)
{
	return json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, "
			 "s:o, s:o}",
		"format", STATUS_FORMAT, "version", PACKAGE_VERSION, "pid", (json_int_t)getpid(),
		"updated_unix", (json_int_t)sum->now, "started_unix", (json_int_t)sum->started,
		"last_reconcile_unix", (json_int_t)sum->last_reconcile,
		"next_refresh_unix", (json_int_t)next_refresh(e, sum),
		"reconcile_duration_s", sum->reconcile_seconds,
		"reconciles", (json_int_t)sum->reconciles,
		"resolve_failures", (json_int_t)sum->resolve_failures,
		"refills", (json_int_t)sum->refills,
		"hosts_total", (json_int_t)e->eps.n,
		"hosts_failing", (json_int_t)hosts_failing(e),
		"sets", sets_json(e), "service_tags", tags_json(e));
}

/* Six significant digits: a duration of 2.0589e-05 s, not
 * 2.0588999999999999e-05. */
#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

/* One host per line, each written in turn: a 10k-host agent holds
 * neither the whole document as a tree nor its 2 MB of text. */
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
		afile_put(af.f, i ? ",\n" : "\n");
		put_host(af.f, e, i, sum);
	}
	fputs("\n]}\n", af.f);
	return afile_commit(&af);
}

/* A label value as the text format wants it: \ " and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_set(FILE *f, const struct setref *ref, const char *kind, size_t size)
{
	fprintf(f, "kvfence_set_elements{family=\"%s\",table=\"", nftcodec_family_name(ref->family));
	put_label(f, ref->table);
	fputs("\",set=\"", f);
	put_label(f, ref->name);
	fprintf(f, "\",kind=\"%s\"} %zu\n", kind, size);
}

static void metrics_sets(FILE *f, const struct engine *e)
{
	size_t i;

	metric_head(f, "kvfence_set_elements", "gauge", "Elements in each managed nftables "
		    "set, as the kernel held them at the last read or write.");
	for (i = 0; i < e->n_sets; i++)
		metrics_set(f, &e->sets[i].ref, set_kind(&e->sets[i]), e->sets[i].size);
}

/* Of the hosts that ever answered, the oldest last good answer: with
 * max-stale or an outage alert, time() minus this is the age to watch. */
static void metrics_host_aggregates(FILE *f, const struct engine *e,
				    const struct status_summary *sum)
{
	int64_t oldest = 0;
	size_t i, never = 0;

	for (i = 0; i < e->eps.n; i++) {
		int64_t t = e->hs[i].last_answer;

		if (t <= 0)
			never++;
		else if (oldest == 0 || t < oldest)
			oldest = t;
	}
	metric_head(f, "kvfence_hosts", "gauge", "Hosts kvfence resolves.");
	fprintf(f, "kvfence_hosts %zu\n", e->eps.n);
	metric_head(f, "kvfence_hosts_failing", "gauge",
		    "Hosts whose last resolution failed (their addresses are kept).");
	fprintf(f, "kvfence_hosts_failing %zu\n", hosts_failing(e));
	metric_head(f, "kvfence_hosts_unanswered", "gauge",
		    "Hosts without any good answer known (since start or in the state file).");
	fprintf(f, "kvfence_hosts_unanswered %zu\n", never);
	metric_head(f, "kvfence_oldest_answer_timestamp_seconds", "gauge",
		    "Oldest last good answer of any host that has answered; 0: none has.");
	fprintf(f, "kvfence_oldest_answer_timestamp_seconds %lld\n",
		(long long)(oldest ? wall(sum, oldest) : 0));
}

static void metrics_per_host(FILE *f, const struct engine *e, const struct status_summary *sum)
{
	size_t i;

	metric_head(f, "kvfence_host_failing", "gauge",
		    "Whether the last resolution of the host failed.");
	for (i = 0; i < e->eps.n; i++) {
		fputs("kvfence_host_failing{host=\"", f);
		put_label(f, e->eps.v[i].name);
		fprintf(f, "\"} %d\n", e->hs[i].failures > 0);
	}
	metric_head(f, "kvfence_host_last_answer_timestamp_seconds", "gauge",
		    "Time of the host's last good answer; 0: none known.");
	for (i = 0; i < e->eps.n; i++) {
		fputs("kvfence_host_last_answer_timestamp_seconds{host=\"", f);
		put_label(f, e->eps.v[i].name);
		fprintf(f, "\"} %lld\n", (long long)(e->hs[i].last_answer ?
						     wall(sum, e->hs[i].last_answer) : 0));
	}
}

/* Label values of kvfence_rejected_addresses_total, by enum addr_class. */
static const char *const reject_reason[ADDR_CLASS_MAX + 1] = {
	[ADDR_PUBLIC] = NULL,	/* never rejected as such */
	[ADDR_PRIVATE] = "private",
	[ADDR_UNSPECIFIED] = "unspecified",
	[ADDR_LOOPBACK] = "loopback",
	[ADDR_LINKLOCAL] = "link_local",
	[ADDR_MULTICAST] = "multicast",
	[ADDR_BROADCAST] = "broadcast",
	[ADDR_RESERVED] = "reserved",
	[ADDR_MAPPED] = "ipv4_embedded",
};

static void metrics_counters(FILE *f, const struct engine *e, const struct status_summary *sum)
{
	const struct engine_counters *c = &e->counters;
	size_t i;

	metric_head(f, "kvfence_reconciles_total", "counter", "Successful reconciles.");
	fprintf(f, "kvfence_reconciles_total %llu\n", (unsigned long long)sum->reconciles);
	metric_head(f, "kvfence_resolve_failures_total", "counter", "Failed resolutions.");
	fprintf(f, "kvfence_resolve_failures_total %llu\n",
		(unsigned long long)sum->resolve_failures);
	metric_head(f, "kvfence_refills_total", "counter", "Reconciles after another process "
		    "changed the ruleset (flush, reload) that wrote elements back.");
	fprintf(f, "kvfence_refills_total %llu\n", (unsigned long long)sum->refills);
	metric_head(f, "kvfence_elements_added_total", "counter",
		    "Elements kvfence added to its sets (host and range sets).");
	fprintf(f, "kvfence_elements_added_total %llu\n", (unsigned long long)c->added);
	metric_head(f, "kvfence_elements_removed_total", "counter",
		    "Elements kvfence removed from its sets (host and range sets).");
	fprintf(f, "kvfence_elements_removed_total %llu\n", (unsigned long long)c->removed);
	metric_head(f, "kvfence_rejected_addresses_total", "counter",
		    "Answered addresses kept out of the sets, by reason.");
	for (i = 0; i <= ADDR_CLASS_MAX; i++)
		if (reject_reason[i])
			fprintf(f, "kvfence_rejected_addresses_total{reason=\"%s\"} %llu\n",
				reject_reason[i], (unsigned long long)c->rejected[i]);
	fprintf(f, "kvfence_rejected_addresses_total{reason=\"cap\"} %llu\n",
		(unsigned long long)c->capped);
	metric_head(f, "kvfence_ranges_held_total", "counter",
		    "Service Tags ranges not added: they overlap a range in the set that is "
		    "not kvfence's.");
	fprintf(f, "kvfence_ranges_held_total %llu\n", (unsigned long long)c->ranges_held);
}

static bool file_listed_before(const struct servicetags *t, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(t->tags[j].file, t->tags[i].file) == 0)
			return true;
	return false;
}

static void metrics_tags_file(FILE *f, const char *name, const char *file, long long v)
{
	fprintf(f, "%s{file=\"", name);
	put_label(f, file);
	fprintf(f, "\"} %lld\n", v);
}

static void metrics_tags(FILE *f, const struct engine *e)
{
	const struct servicetags *t = e->tags;
	size_t i;

	if (!t || t->n_tags == 0)
		return;
	metric_head(f, "kvfence_service_tags_file_timestamp_seconds", "gauge",
		    "Date in the name of each Service Tags file in use (UTC midnight).");
	for (i = 0; i < t->n_tags; i++)
		if (!file_listed_before(t, i))
			metrics_tags_file(f, "kvfence_service_tags_file_timestamp_seconds",
					  t->tags[i].file, (long long)date_unix(t->tags[i].date));
	metric_head(f, "kvfence_service_tags_change_number", "gauge",
		    "changeNumber of each Service Tags file in use.");
	for (i = 0; i < t->n_tags; i++)
		if (!file_listed_before(t, i))
			metrics_tags_file(f, "kvfence_service_tags_change_number",
					  t->tags[i].file, t->tags[i].file_change);
}

static void metrics_private_link(FILE *f, const struct engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->eps.n; i++)
		n += e->eps.v[i].private_link;
	if (n == 0)
		return;		/* one series per private host: none, no family */
	metric_head(f, "kvfence_private_link_public_addresses", "gauge", "Public addresses "
		    "in the latest answer of a host said to be private (Private Link), all refused.");
	for (i = 0; i < e->eps.n; i++)
		if (e->eps.v[i].private_link) {
			fputs("kvfence_private_link_public_addresses{host=\"", f);
			put_label(f, e->eps.v[i].name);
			fprintf(f, "\"} %zu\n", e->hosts[i].pl_public.n);
		}
}

int status_write_metrics(const char *path, const struct engine *e,
			 const struct status_summary *sum)
{
	struct afile af;
	int r;

	r = afile_open(&af, path, 0644);
	if (r < 0)
		return r;
	metric_head(af.f, "kvfence_build_info", "gauge", "Version of the running agent.");
	fprintf(af.f, "kvfence_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	metric_head(af.f, "kvfence_start_time_seconds", "gauge",
		    "When the agent started: counters start at 0 then.");
	fprintf(af.f, "kvfence_start_time_seconds %lld\n", (long long)sum->started);
	metrics_host_aggregates(af.f, e, sum);
	metrics_sets(af.f, e);
	metrics_private_link(af.f, e);
	metrics_counters(af.f, e, sum);
	metrics_tags(af.f, e);
	metric_head(af.f, "kvfence_last_reconcile_timestamp_seconds", "gauge",
		    "Time of the last successful reconcile.");
	fprintf(af.f, "kvfence_last_reconcile_timestamp_seconds %lld\n",
		(long long)sum->last_reconcile);
	metric_head(af.f, "kvfence_reconcile_duration_seconds", "gauge",
		    "Duration of the last reconcile.");
	fprintf(af.f, "kvfence_reconcile_duration_seconds %.6f\n", sum->reconcile_seconds);
	if (e->cfg->metrics_per_host)
		metrics_per_host(af.f, e, sum);
	return afile_commit(&af);
}

static const char *ago(int64_t now, int64_t t, char *buf, size_t len)
{
	int64_t d = t >= now ? t - now : now - t;
	char span[24];

	if (t <= 0 || d == 0) {
		snprintf(buf, len, t <= 0 ? "never" : "now");
		return buf;
	}
	if (d < 120)
		snprintf(span, sizeof(span), "%llds", (long long)d);
	else if (d < 7200)
		snprintf(span, sizeof(span), "%lldm", (long long)(d / 60));
	else if (d < 172800)
		snprintf(span, sizeof(span), "%lldh", (long long)(d / 3600));
	else
		snprintf(span, sizeof(span), "%lldd", (long long)(d / 86400));
	snprintf(buf, len, t >= now ? "in %s" : "%s ago", span);
	return buf;
}

static int64_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static void print_addresses(FILE *out, json_t *h, int64_t now)
{
	json_t *a;
	char t[32];
	size_t i;

	json_array_foreach(json_object_get(json_object_get(h, "private_link"), "public_refused"),
			   i, a)
		fprintf(out, "    %-40s refused: public, but the host is private (Private Link)\n",
			json_string_value(a));
	json_array_foreach(json_object_get(h, "addresses"), i, a) {
		bool cur = json_is_true(json_object_get(a, "current"));

		fprintf(out, "    %-40s %s%s\n", jstr(a, "address"),
			cur ? "answered" : "in grace, seen ",
			cur ? "" : ago(now, jint(a, "last_seen_unix"), t, sizeof(t)));
	}
}

static void print_host(FILE *out, json_t *h, int64_t now)
{
	char t1[32], t2[32];

	fprintf(out, "%-44s %5lld %-12s %-12s %s/%s\n", jstr(h, "name"),
		(long long)jint(h, "ttl_s"), ago(now, jint(h, "last_answer_unix"), t1, sizeof(t1)),
		ago(now, jint(h, "next_refresh_unix"), t2, sizeof(t2)), jstr(h, "a"),
		jstr(h, "aaaa"));
	print_addresses(out, h, now);
}

/* A failing host: why (the last status of each family), since when, and
 * what it still holds (fail-static). */
static void print_failing(FILE *out, json_t *h, int64_t now)
{
	char t1[32], t2[32], t3[32], why[96];

	snprintf(why, sizeof(why), "A %s, AAAA %s", jstr(h, "a"), jstr(h, "aaaa"));
	fprintf(out, "%-44s %-10s %-10s %-10s %lld failures, %s; holding %zu addresses\n",
		jstr(h, "name"), ago(now, jint(h, "failing_since_unix"), t1, sizeof(t1)),
		ago(now, jint(h, "last_answer_unix"), t2, sizeof(t2)),
		ago(now, jint(h, "next_refresh_unix"), t3, sizeof(t3)),
		(long long)jint(h, "failures"), why,
		json_array_size(json_object_get(h, "addresses")));
}

static void print_head(FILE *out, json_t *root, int64_t now)
{
	char t1[32], t2[32], t3[32];

	/* One buffer per ago(): all are arguments of the same call. */
	fprintf(out, "kvfence %s, pid %lld, started %s, status written %s\n",
		jstr(root, "version"), (long long)jint(root, "pid"),
		ago(now, jint(root, "started_unix"), t1, sizeof(t1)),
		ago(now, jint(root, "updated_unix"), t2, sizeof(t2)));
	fprintf(out, "last reconcile %s (%.1f ms), %lld reconciles, %lld refills after "
		"foreign changes; next refresh %s\n",
		ago(now, jint(root, "last_reconcile_unix"), t1, sizeof(t1)),
		json_real_value(json_object_get(root, "reconcile_duration_s")) * 1000,
		(long long)jint(root, "reconciles"), (long long)jint(root, "refills"),
		ago(now, jint(root, "next_refresh_unix"), t3, sizeof(t3)));
	fprintf(out, "hosts: %lld, failing now: %lld\n", (long long)jint(root, "hosts_total"),
		(long long)jint(root, "hosts_failing"));
}

static void print_sets(FILE *out, json_t *root)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(root, "sets"), i, v)
		fprintf(out, "set %s %s %s (%s)%s: %lld elements%s\n", jstr(v, "family"),
			jstr(v, "table"), jstr(v, "name"), jstr(v, "type"),
			strcmp(jstr(v, "kind"), "ranges") == 0 ? " ranges" : "",
			(long long)jint(v, "elements"),
			json_is_true(json_object_get(v, "exists")) ? "" : " (missing)");
	json_array_foreach(json_object_get(root, "service_tags"), i, v)
		fprintf(out, "service tag %s: %lld IPv4, %lld IPv6 prefixes from %s "
			"(date %s, changeNumber %lld)\n", jstr(v, "tag"), (long long)jint(v, "v4"),
			(long long)jint(v, "v6"), jstr(v, "file"), jstr(v, "date"),
			(long long)jint(v, "file_change"));
}

static void print_table(FILE *out, json_t *root)
{
	json_t *hosts = json_object_get(root, "hosts"), *v;
	int64_t now = time(NULL);
	size_t i;

	print_head(out, root, now);
	print_sets(out, root);
	if (jint(root, "hosts_failing") > 0) {
		fprintf(out, "\n%-44s %-10s %-10s %-10s %s\n", "FAILING HOST", "SINCE",
			"ANSWERED", "RETRY", "REASON");
		json_array_foreach(hosts, i, v)
			if (jint(v, "failures") > 0)
				print_failing(out, v, now);
	}
	fprintf(out, "\n%-44s %5s %-12s %-12s %s\n", "HOST", "TTL", "ANSWERED", "NEXT", "A/AAAA");
	json_array_foreach(hosts, i, v)
		if (jint(v, "failures") > 0)
			print_host(out, v, now);
	json_array_foreach(hosts, i, v)
		if (jint(v, "failures") == 0)
			print_host(out, v, now);
}

int status_read_pid(const char *path, long *pid)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	json_t *v = json_object_get(root, "pid");

	*pid = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	json_decref(root);
	return *pid > 0 ? 0 : -EINVAL;
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
	/* A file of another format (an agent of another version still
	 * running after an upgrade) is shown raw, never misread. */
	if (!json && jint(root, "format") != STATUS_FORMAT) {
		json_decref(root);
		return -EPROTO;
	}
	if (json)
		json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
			   JSON_REAL_PRECISION(6));
	else
		print_table(out, root);
	if (json)
		fputc('\n', out);
	json_decref(root);
	return 0;
}
