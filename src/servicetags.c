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

/* The files are read as a stream: the public cloud's file is 4 MB, and
 * jansson's tree of all of it took 17 MB. A small scanner walks the top
 * object and the "values" array and hands each value's text, one at a
 * time, to jansson, which parses it as strictly as the whole file was
 * (duplicate keys refused); only the tags asked for are kept. */

struct reader {
	FILE *f;
	int line;		/* of the next character */
	struct strbuf {
		char *v;
		size_t n, cap;
	} text;			/* the value being collected */
};

static int rd_peek(struct reader *r)
{
	int c = getc(r->f);

	if (c != EOF)
		ungetc(c, r->f);
	return c;
}

static int rd_get(struct reader *r)
{
	int c = getc(r->f);

	if (c == '\n')
		r->line++;
	return c;
}

static void rd_skip_ws(struct reader *r)
{
	int c;

	while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		rd_get(r);
}

static void text_put(struct strbuf *b, int c)
{
	array_reserve((void **)&b->v, &b->cap, b->n + 2, 1);
	b->v[b->n++] = (char)c;
	b->v[b->n] = '\0';
}

/* The text of one JSON value into r->text, unchecked: brackets are
 * counted and strings skipped, jansson judges the rest. A number or a
 * literal ends at a delimiter. -1 at the end of the input inside it. */
static int rd_scan_value(struct reader *r)
{
	bool in_str = false, esc = false;
	int c, depth = 0;

	r->text.n = 0;
	c = rd_peek(r);
	if (c != '"' && c != '{' && c != '[') {
		while ((c = rd_peek(r)) != EOF && !strchr(",]}: \t\r\n", c))
			text_put(&r->text, rd_get(r));
		return r->text.n ? 0 : -1;
	}
	for (;;) {
		c = rd_get(r);
		if (c == EOF)
			return -1;
		text_put(&r->text, c);
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			if (!in_str && depth == 0)
				return 0;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return 0;
		}
	}
}

/* One requested tag of a file: its prefixes, checked, until the file
 * is known good. */
struct wanted {
	const char *tag;	/* borrowed from the config */
	bool found;
	long long tag_change;
	struct range_list ranges;	/* both families, no comments yet */
	size_t n4, n6;
};

struct parsed_file {
	char *path;
	long long change;
	struct wanted *w;
	size_t n_w;
};

struct loader {
	const struct config *cfg;
	struct servicetags *st;
	struct parsed_file *files;
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

static int take_prefixes(struct loader *l, const char *path, struct wanted *w, json_t *v)
{
	json_t *props = json_object_get(v, "properties");
	json_t *prefixes = json_object_get(props, "addressPrefixes"), *p;
	json_t *change = json_object_get(props, "changeNumber");
	const char *why;
	struct range r;
	size_t i;

	if (!json_is_array(prefixes))
		return lerr(l, "%s: tag %s: no addressPrefixes", path, w->tag);
	w->found = true;
	w->tag_change = json_is_integer(change) ? json_integer_value(change) : 0;
	json_array_foreach(prefixes, i, p) {
		const char *text = json_string_value(p);

		why = check_prefix(text, &r);
		if (why)
			return lerr(l, "%s: tag %s: prefix \"%s\": %s", path, w->tag,
				    text ? text : "?", why);
		*(r.lo.family == AF_INET ? &w->n4 : &w->n6) += 1;
		r.comment = NULL;
		range_list_push(&w->ranges, &r);
	}
	return 0;
}

/* One element of "values": kept if it is a tag asked for (the first of
 * that name, as before). */
static int take_value(struct loader *l, struct parsed_file *pf, json_t *v)
{
	json_t *name = json_object_get(v, "name");
	size_t i;

	if (!json_is_object(v))
		return lerr(l, "%s: a value that is not an object", pf->path);
	if (!json_is_string(name))
		return 0;
	for (i = 0; i < pf->n_w; i++)
		if (!pf->w[i].found && strcmp(pf->w[i].tag, json_string_value(name)) == 0)
			return take_prefixes(l, pf->path, &pf->w[i], v);
	return 0;
}

/* The collected text as a JSON value; errors name the file and line. */
static json_t *rd_parse(struct loader *l, struct reader *r, const char *path, int line,
			size_t flags)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(r->text.v, r->text.n, flags | JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		lerr(l, "%s:%d: %s", path, line + jerr.line - 1, jerr.text);
	return v;
}

static int rd_expect(struct loader *l, struct reader *r, const char *path, int want)
{
	int c;

	rd_skip_ws(r);
	c = rd_get(r);
	if (c == want)
		return 0;
	if (c == EOF)
		return lerr(l, "%s:%d: unexpected end of file, '%c' expected", path, r->line, want);
	return lerr(l, "%s:%d: '%c' expected", path, r->line, want);
}

/* "values": [ v, v, ... ], each v parsed and dropped in turn. */
static int scan_values(struct loader *l, struct reader *r, struct parsed_file *pf,
		       size_t *count)
{
	json_t *v;
	int c, line, ret;

	if (rd_expect(l, r, pf->path, '['))
		return -1;
	rd_skip_ws(r);
	if (rd_peek(r) == ']') {
		rd_get(r);
		return 0;
	}
	for (;;) {
		rd_skip_ws(r);
		line = r->line;
		if (rd_scan_value(r) < 0)
			return lerr(l, "%s:%d: %s in \"values\"", pf->path, r->line,
				    rd_peek(r) == EOF ? "unexpected end of file" : "a value expected");
		v = rd_parse(l, r, pf->path, line, 0);
		if (!v)
			return -1;
		ret = take_value(l, pf, v);
		json_decref(v);
		if (ret)
			return ret;
		++*count;
		rd_skip_ws(r);
		c = rd_get(r);
		if (c == ']')
			return 0;
		if (c != ',')
			return lerr(l, "%s:%d: ',' or ']' expected in \"values\"", pf->path, r->line);
	}
}

struct top {
	json_t *change, *cloud;		/* as parsed */
	bool values;
	size_t n_values;
	json_t *keys;			/* every top-level key seen: duplicates */
};

static int scan_member(struct loader *l, struct reader *r, struct parsed_file *pf,
		       struct top *t)
{
	const char *k;
	json_t *key, *v;
	int line, ret = -1;

	rd_skip_ws(r);
	line = r->line;
	if (rd_peek(r) != '"' || rd_scan_value(r) < 0)
		return lerr(l, "%s:%d: a string key expected", pf->path, r->line);
	key = rd_parse(l, r, pf->path, line, JSON_DECODE_ANY);
	if (!key)
		return -1;
	k = json_string_value(key);
	if (json_object_get(t->keys, k)) {
		lerr(l, "%s:%d: duplicate object key", pf->path, line);
		goto out;
	}
	json_object_set_new(t->keys, k, json_true());
	if (rd_expect(l, r, pf->path, ':'))
		goto out;
	if (strcmp(k, "values") == 0) {
		t->values = true;
		ret = scan_values(l, r, pf, &t->n_values);
		goto out;
	}
	rd_skip_ws(r);
	line = r->line;
	if (rd_scan_value(r) < 0) {
		lerr(l, "%s:%d: %s", pf->path, r->line,
		     rd_peek(r) == EOF ? "unexpected end of file" : "a value expected");
		goto out;
	}
	v = rd_parse(l, r, pf->path, line, JSON_DECODE_ANY);
	if (!v)
		goto out;
	if (strcmp(k, "changeNumber") == 0)
		t->change = v;
	else if (strcmp(k, "cloud") == 0)
		t->cloud = v;
	else
		json_decref(v);
	ret = 0;
out:
	json_decref(key);
	return ret;
}

static int scan_top(struct loader *l, struct reader *r, struct parsed_file *pf, struct top *t)
{
	int c;

	if (rd_expect(l, r, pf->path, '{'))
		return -1;
	rd_skip_ws(r);
	if (rd_peek(r) == '}') {
		rd_get(r);
	} else {
		for (;;) {
			if (scan_member(l, r, pf, t))
				return -1;
			rd_skip_ws(r);
			c = rd_get(r);
			if (c == '}')
				break;
			if (c != ',')
				return lerr(l, "%s:%d: ',' or '}' expected", pf->path, r->line);
		}
	}
	rd_skip_ws(r);
	if (rd_peek(r) != EOF)
		return lerr(l, "%s:%d: end of file expected", pf->path, r->line);
	return 0;
}

static int check_top(struct loader *l, const char *path, const struct top *t)
{
	const char *want = cloud_field[l->cfg->cloud];

	if (!json_is_integer(t->change) || !json_is_string(t->cloud) || !t->values)
		return lerr(l, "%s: not a Service Tags file (changeNumber, cloud, values)", path);
	if (t->n_values == 0)
		return lerr(l, "%s: no service tags in the file", path);
	if (strcmp(json_string_value(t->cloud), want) != 0)
		return lerr(l, "%s: a file of cloud %s, but the configuration says cloud %s (%s)",
			    path, json_string_value(t->cloud), config_cloud_name(l->cfg->cloud),
			    want);
	return 0;
}

static int parse_stream(struct loader *l, FILE *f, struct parsed_file *pf)
{
	struct reader r = { .f = f, .line = 1 };
	struct top t = { .keys = json_object() };
	int ret;

	ret = scan_top(l, &r, pf, &t);
	if (ret == 0 && ferror(f))
		ret = lerr(l, "%s: %s", pf->path, strerror(errno));
	if (ret == 0)
		ret = check_top(l, pf->path, &t);
	if (ret == 0)
		pf->change = json_integer_value(t.change);
	json_decref(t.change);
	json_decref(t.cloud);
	json_decref(t.keys);
	free(r.text.v);
	return ret;
}

static int parse_file(struct loader *l, struct parsed_file *pf)
{
	FILE *f = fopen(pf->path, "re");
	int r;

	if (!f)
		return lerr(l, "%s: %s", pf->path, strerror(errno));
	r = parse_stream(l, f, pf);
	fclose(f);
	return r;
}

static struct parsed_file *file_of(struct loader *l, const char *path)
{
	struct parsed_file *pf;
	size_t i;

	for (i = 0; i < l->n_files; i++)
		if (strcmp(l->files[i].path, path) == 0)
			return &l->files[i];
	l->files = xreallocarray(l->files, l->n_files + 1, sizeof(*l->files));
	pf = &l->files[l->n_files++];
	memset(pf, 0, sizeof(*pf));
	pf->path = xstrdup(path);
	return pf;
}

static struct wanted *want(struct parsed_file *pf, const char *tag)
{
	size_t i;

	for (i = 0; i < pf->n_w; i++)
		if (strcmp(pf->w[i].tag, tag) == 0)
			return &pf->w[i];
	pf->w = xreallocarray(pf->w, pf->n_w + 1, sizeof(*pf->w));
	memset(&pf->w[pf->n_w], 0, sizeof(*pf->w));
	pf->w[pf->n_w].tag = tag;
	return &pf->w[pf->n_w++];
}

static void files_free(struct loader *l)
{
	size_t i, j;

	for (i = 0; i < l->n_files; i++) {
		for (j = 0; j < l->files[i].n_w; j++)
			range_list_free(&l->files[i].w[j].ranges);
		free(l->files[i].w);
		free(l->files[i].path);
	}
	free(l->files);
}

/* Each directive's file, picked once: the files to read and what to
 * take from each. paths[i] is directive i's file. */
static int plan_files(struct loader *l, char **paths)
{
	size_t i, j;

	for (i = 0; i < l->cfg->n_tagsets; i++) {
		const struct config_tags *t = &l->cfg->tagsets[i];
		struct parsed_file *pf;

		paths[i] = servicetags_pick(t->file);
		if (!paths[i])
			return lerr(l, "%s: service-tags: no file matches %s", t->where, t->file);
		pf = file_of(l, paths[i]);
		for (j = 0; j < t->n_tags; j++)
			want(pf, t->tags[j]);
	}
	return 0;
}

/* In the configuration's order: a summary per tag, its ranges with the
 * owner comment. */
static int add_tag(struct loader *l, const struct config_tags *t, const char *path,
		   const char *tag)
{
	struct parsed_file *pf = file_of(l, path);
	struct wanted *w = want(pf, tag);
	struct servicetags *st = l->st;
	struct tag_summary *sum;
	char date[9], *comment;
	size_t i;

	if (!w->found)
		return lerr(l, "%s: service tag %s is not in %s", t->where, tag, path);
	st->tags = xreallocarray(st->tags, st->n_tags + 1, sizeof(*st->tags));
	sum = &st->tags[st->n_tags++];
	memset(sum, 0, sizeof(*sum));
	name_date(path, date);
	sum->tag = xstrdup(tag);
	sum->file = xstrdup(path);
	sum->date = xstrdup(date);
	sum->file_change = pf->change;
	sum->tag_change = w->tag_change;
	sum->n4 = w->n4;
	sum->n6 = w->n6;
	comment = xasprintf(SERVICETAGS_COMMENT_PREFIX "%s change %lld", tag, pf->change);
	for (i = 0; i < w->ranges.n; i++) {
		struct range r = w->ranges.v[i];
		struct range_list *to = r.lo.family == AF_INET ? &st->v4 : &st->v6;

		r.comment = range_list_intern(to, comment);
		range_list_push(to, &r);
	}
	free(comment);
	return 0;
}

static int load_all(struct loader *l)
{
	size_t n = l->cfg->n_tagsets, i, j;
	char **paths = xcalloc(n ? n : 1, sizeof(*paths));
	int r;

	r = plan_files(l, paths);
	for (i = 0; r == 0 && i < l->n_files; i++)
		r = parse_file(l, &l->files[i]);
	for (i = 0; r == 0 && i < n; i++)
		for (j = 0; r == 0 && j < l->cfg->tagsets[i].n_tags; j++)
			r = add_tag(l, &l->cfg->tagsets[i], paths[i], l->cfg->tagsets[i].tags[j]);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

int servicetags_load(const struct config *cfg, struct servicetags *out,
		     char *err, size_t errlen)
{
	struct loader l = { .cfg = cfg, .st = out, .err = err, .errlen = errlen };
	int r;

	memset(out, 0, sizeof(*out));
	r = load_all(&l);
	files_free(&l);
	if (r) {
		servicetags_free(out);
		return -1;
	}
	range_list_merge(&out->v4);
	range_list_merge(&out->v6);
	return 0;
}

int servicetags_parse(FILE *f, const struct config *cfg, const char *tag, size_t *n4,
		      size_t *n6, char *err, size_t errlen)
{
	struct loader l = { .cfg = cfg, .err = err, .errlen = errlen };
	struct parsed_file pf = { .path = (char *)"input" };
	struct wanted *w = want(&pf, tag);
	int r;

	r = parse_stream(&l, f, &pf);
	*n4 = w->n4;
	*n6 = w->n6;
	if (r == 0 && !w->found)
		r = lerr(&l, "input: service tag %s is not in it", tag);
	range_list_free(&w->ranges);
	free(pf.w);
	return r;
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
