/* kvfence: Service Tags files (ServiceTags_<Cloud>_<YYYYMMDD>.json) to
 * merged ranges. Strict: a prefix that is not canonical CIDR, a missing
 * tag, the wrong cloud or an empty file is an error naming file and tag,
 * and nothing of the load is used. */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "servicetags.h"
#include "util.h"

/* The "cloud" field of each cloud's file. */
static const char *const cloud_field[] = {
	[CLOUD_PUBLIC] = "Public",
	[CLOUD_CHINA] = "China",
	[CLOUD_USGOV] = "AzureGovernment",
	[CLOUD_GERMANY] = "AzureGermany",
};

/* The last run of exactly 8 digits in the file's base name, or "". */
static void name_date(const char *path, char out[9])
{
	const char *base = strrchr(path, '/'), *s;

	out[0] = '\0';
	for (s = base ? base + 1 : path; *s; s++) {
		size_t n = strspn(s, "0123456789");

		if (n == 8) {
			memcpy(out, s, 8);
			out[8] = '\0';
		}
		if (n)
			s += n - 1;
	}
}

char *servicetags_pick(const char *pattern)
{
	char best_date[9] = "", date[9];
	const char *best = NULL;
	glob_t g;
	size_t i;
	char *ret;

	if (glob(pattern, 0, NULL, &g) != 0)
		return NULL;
	for (i = 0; i < g.gl_pathc; i++) {
		name_date(g.gl_pathv[i], date);
		/* glob sorts names: on equal dates the later name wins. */
		if (!best || strcmp(date, best_date) >= 0) {
			best = g.gl_pathv[i];
			memcpy(best_date, date, sizeof(date));
		}
	}
	ret = best ? xstrdup(best) : NULL;
	globfree(&g);
	return ret;
}

struct loaded {
	char *path;
	json_t *root;
};

struct loader {
	const struct config *cfg;
	struct servicetags *st;
	struct loaded *files;
	size_t n_files;
	char *err;
	size_t errlen;
};

static int lerr(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int lerr(struct loader *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_file(struct loader *l, const char *path, json_t *root)
{
	const char *want = cloud_field[l->cfg->cloud];
	json_t *cloud = json_object_get(root, "cloud");
	json_t *values = json_object_get(root, "values");

	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "changeNumber")) ||
	    !json_is_string(cloud) || !json_is_array(values))
		return lerr(l, "%s: not a Service Tags file (changeNumber, cloud, values)", path);
	if (json_array_size(values) == 0)
		return lerr(l, "%s: no service tags in the file", path);
	if (strcmp(json_string_value(cloud), want) != 0)
		return lerr(l, "%s: a file of cloud %s, but the configuration says cloud %s (%s)",
			    path, json_string_value(cloud), config_cloud_name(l->cfg->cloud), want);
	return 0;
}

/* Parse each file once, however many directives name it. */
static json_t *open_file(struct loader *l, const char *path)
{
	json_error_t jerr;
	json_t *root;
	size_t i;

	for (i = 0; i < l->n_files; i++)
		if (strcmp(l->files[i].path, path) == 0)
			return l->files[i].root;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		lerr(l, "%s:%d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
	if (check_file(l, path, root)) {
		json_decref(root);
		return NULL;
	}
	l->files = xreallocarray(l->files, l->n_files + 1, sizeof(*l->files));
	l->files[l->n_files].path = xstrdup(path);
	l->files[l->n_files++].root = root;
	return root;
}

static json_t *find_tag(json_t *root, const char *tag)
{
	json_t *values = json_object_get(root, "values"), *v;
	size_t i;

	json_array_foreach(values, i, v) {
		json_t *name = json_object_get(v, "name");

		if (json_is_string(name) && strcmp(json_string_value(name), tag) == 0)
			return v;
	}
	return NULL;
}

/* Narrower than any Azure range: a /0 in a file must not open the world. */
static bool implausibly_wide(const struct range *r, const char *cidr)
{
	const char *slash = strrchr(cidr, '/');
	int len = slash ? atoi(slash + 1) : 0;

	return r->lo.family == AF_INET ? len < 8 : len < 16;
}

static const char *check_prefix(const char *text, struct range *r)
{
	const char *why = NULL;

	if (!text)
		return "not a string";
	if (range_from_cidr(text, r, &why) < 0)
		return why;
	if (implausibly_wide(r, text))
		return "implausibly wide for a service tag";
	return NULL;
}

static int add_prefixes(struct loader *l, const char *path, const char *tag, json_t *v,
			struct tag_summary *sum)
{
	json_t *props = json_object_get(v, "properties");
	json_t *prefixes = json_object_get(props, "addressPrefixes"), *p;
	json_t *change = json_object_get(props, "changeNumber");
	const char *why;
	char *comment;
	struct range r;
	size_t i;

	if (!json_is_array(prefixes))
		return lerr(l, "%s: tag %s: no addressPrefixes", path, tag);
	sum->tag_change = json_is_integer(change) ? json_integer_value(change) : 0;
	comment = xasprintf(SERVICETAGS_COMMENT_PREFIX "%s change %lld", tag, sum->file_change);
	json_array_foreach(prefixes, i, p) {
		const char *text = json_string_value(p);
		struct range_list *to;

		why = check_prefix(text, &r);
		if (why) {
			lerr(l, "%s: tag %s: prefix \"%s\": %s", path, tag, text ? text : "?", why);
			free(comment);
			return -1;
		}
		to = r.lo.family == AF_INET ? &l->st->v4 : &l->st->v6;
		*(r.lo.family == AF_INET ? &sum->n4 : &sum->n6) += 1;
		r.comment = range_list_intern(to, comment);
		range_list_push(to, &r);
	}
	free(comment);
	return 0;
}

static int load_tag(struct loader *l, const struct config_tags *t, const char *path,
		    const char *tag)
{
	struct servicetags *st = l->st;
	struct tag_summary *sum;
	char date[9];
	json_t *root, *v;

	root = open_file(l, path);
	if (!root)
		return -1;
	v = find_tag(root, tag);
	if (!v)
		return lerr(l, "%s: service tag %s is not in %s", t->where, tag, path);
	st->tags = xreallocarray(st->tags, st->n_tags + 1, sizeof(*st->tags));
	sum = &st->tags[st->n_tags++];
	memset(sum, 0, sizeof(*sum));
	name_date(path, date);
	sum->tag = xstrdup(tag);
	sum->file = xstrdup(path);
	sum->date = xstrdup(date);
	sum->file_change = json_integer_value(json_object_get(root, "changeNumber"));
	return add_prefixes(l, path, tag, v, sum);
}

static int load_all(struct loader *l)
{
	size_t i, j;

	for (i = 0; i < l->cfg->n_tagsets; i++) {
		const struct config_tags *t = &l->cfg->tagsets[i];
		char *path = servicetags_pick(t->file);
		int r = 0;

		if (!path)
			return lerr(l, "%s: service-tags: no file matches %s", t->where, t->file);
		for (j = 0; j < t->n_tags && r == 0; j++)
			r = load_tag(l, t, path, t->tags[j]);
		free(path);
		if (r)
			return r;
	}
	return 0;
}

int servicetags_load(const struct config *cfg, struct servicetags *out,
		     char *err, size_t errlen)
{
	struct loader l = { .cfg = cfg, .st = out, .err = err, .errlen = errlen };
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	r = load_all(&l);
	for (i = 0; i < l.n_files; i++) {
		json_decref(l.files[i].root);
		free(l.files[i].path);
	}
	free(l.files);
	if (r) {
		servicetags_free(out);
		return -1;
	}
	range_list_merge(&out->v4);
	range_list_merge(&out->v6);
	return 0;
}

void servicetags_free(struct servicetags *st)
{
	size_t i;

	for (i = 0; i < st->n_tags; i++) {
		free(st->tags[i].tag);
		free(st->tags[i].file);
		free(st->tags[i].date);
	}
	free(st->tags);
	range_list_free(&st->v4);
	range_list_free(&st->v6);
	memset(st, 0, sizeof(*st));
}
