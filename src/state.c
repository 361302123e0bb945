/* kvfence: the state file. Per host the addresses held and when an answer
 * last named each, so that a restart, or a boot before DNS is reachable,
 * fills the sets at once; per set the elements kvfence wrote there, so
 * that it removes exactly what it wrote. Plain text, one record per line:
 *
 *	# kvfence state v2
 *	# ranges recorded
 *	saved 1764400100
 *	host contoso-prod.vault.azure.net ttl 60 answer 1764400000 a ok aaaa ok privatelink no
 *	addr 192.0.2.10 1764400000 current
 *	addr 192.0.2.9 1764399000 grace
 *	set inet filter kvfence4 created-with-table
 *	elem 192.0.2.10 443 contoso-prod.vault.azure.net
 *	set inet filter kvfence4r ranges
 *	range 20.38.1.0 20.38.1.255 servicetag AzureKeyVault change 42
 *	end
 *
 * Times are wall-clock seconds, the only clock that survives a reboot;
 * what matters is each time's age at "saved", and the time elapsed since
 * then, which is trusted only when both ends are plausible. "current":
 * named by the host's latest answer; "grace": no longer named, held for
 * grace. An elem line records an element kvfence wrote: set key (port 0
 * in a plain set) and the host named in its comment. A range set's line
 * says "ranges", and its range lines record the ranges kvfence wrote:
 * first and last address, and the rest of the line is the comment (the
 * tag). The line "# ranges recorded" says the file was written by a
 * kvfence that records them (a comment to the builds before, which read
 * the file as they did): a range set the file has no set line of then
 * has nothing of kvfence's. Without it (files written before range
 * records), a range set has no record yet. A set line ends in
 * "created" when kvfence created the set, "created-with-table" when it
 * created the table too in that transaction (for kvfence clear). The end record tells
 * a whole file from a cut one. Version 1 (no saved, set or elem lines,
 * short host lines) is still read. */
#include "autoconfig.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>

#include "config.h"
#include "kvfence.h"
#include "state.h"
#include "afile.h"
#include "util.h"

#define STATE_MAGIC	"# kvfence state v2"
#define STATE_MAGIC_V1	"# kvfence state v1"
#define STATE_MAGIC_ANY	"# kvfence state v"
#define STATE_RANGES_RECORDED	"# ranges recorded"
#define STATE_READ_BUF		65536
#define STATE_READ_SLACK	8	/* see word_len */
/* The longest valid line: an elem line of a 127-character name, or a set
 * line of two 256-character nftables names. */
#define STATE_LINE_MAX	640
#define STATE_WORDS_MAX	14
/* A range line's comment: the words after "range LO HI", at most as
 * long as an element's comment can be (NFT_USERDATA_MAXLEN, less the
 * user data's type, length and NUL bytes). */
#define STATE_COMMENT_WORDS	(STATE_WORDS_MAX - 3)
#define STATE_COMMENT_MAX	253

int64_t clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec;
}

struct state_clock state_clock_now(void)
{
	struct state_clock c = { .wall = (int64_t)time(NULL), .mono = clock_now() };

	return c;
}

/* A time on kvfence's clock as wall-clock seconds, never negative. */
static int64_t to_wall(struct state_clock now, int64_t t)
{
	int64_t w = now.wall - (now.mono - t);

	if (w < 0)
		return 0;
	return w > now.wall ? now.wall : w;
}

/* By hand, not fprintf: the file is rewritten every 5 s while answers
 * come, and at 50k hosts fprintf's parsing was most of a wave's save. */
static void save_host(FILE *f, const char *name, const struct host_state *h,
		      struct state_clock now)
{
	char a[KVF_ADDRSTRLEN];
	size_t j;

	afile_put(f, "host ");
	afile_put(f, name);
	afile_put(f, " ttl ");
	afile_put_int(f, h->ttl);
	afile_put(f, " answer ");
	afile_put_int(f, h->last_answer ? to_wall(now, h->last_answer) : 0);
	afile_put(f, " a ");
	afile_put(f, resolve_status_name(h->last4));
	afile_put(f, " aaaa ");
	afile_put(f, resolve_status_name(h->last6));
	afile_put(f, h->privatelink ? " privatelink yes\n" : " privatelink no\n");
	for (j = 0; j < h->n_addrs; j++) {
		afile_put(f, "addr ");
		afile_put(f, addr_format(&h->addrs[j].addr, a, sizeof(a)));
		afile_put(f, " ");
		afile_put_int(f, to_wall(now, h->addrs[j].last_seen));
		afile_put(f, h->addrs[j].current ? " current\n" : " grace\n");
	}
}

/* A range's comment as a line can hold it: words of printable
 * characters, one space apart, as kvfence writes them. NULL if fine. */
static const char *check_comment(const char *c)
{
	size_t i, words = 1;

	if (!c[0] || c[0] == ' ' || strlen(c) > STATE_COMMENT_MAX)
		return "is empty, starts with a space or is too long";
	for (i = 0; c[i]; i++) {
		if (c[i] == ' ' && (c[i + 1] == ' ' || c[i + 1] == '\0' ||
				    ++words > STATE_COMMENT_WORDS))
			return "has a space too many";
		if (c[i] != ' ' && (c[i] < '!' || c[i] > '~'))
			return "has a character other than printable ASCII";
	}
	return NULL;
}

static void save_set(FILE *f, const struct state_set_view *s)
{
	char a[KVF_ADDRSTRLEN], b[KVF_ADDRSTRLEN];
	size_t j;

	fprintf(f, "set %s %s %s%s%s\n", config_family_name(s->ref->family), s->ref->table,
		s->ref->name, s->ranges ? " ranges" : "", s->table_created ? " created-with-table" :
		s->created ? " created" : "");
	for (j = 0; j < s->elems->n; j++) {
		const struct elem *el = &s->elems->v[j];

		/* A comment the loader would refuse would cost the whole file. */
		if (!el->comment || elem_is_range(el) != s->ranges)
			continue;
		if (s->ranges && !check_comment(el->comment))
			fprintf(f, "range %s %s %s\n", addr_format(&el->addr, a, sizeof(a)),
				addr_format(&el->hi, b, sizeof(b)), el->comment);
		if (s->ranges || config_check_hostname(el->comment))
			continue;
		afile_put(f, "elem ");
		afile_put(f, addr_format(&el->addr, a, sizeof(a)));
		afile_put(f, " ");
		afile_put_int(f, el->port);
		afile_put(f, " ");
		afile_put(f, el->comment);
		afile_put(f, "\n");
	}
}

int state_save(const char *path, const struct endpoint_list *eps,
	       const struct host_state *hs, const struct state_set_view *sets,
	       size_t n_sets, struct state_clock now, bool durable)
{
	struct afile af;
	size_t i;
	int r;

	/* Addresses and host names are no secret, but nobody else writes
	 * this file, nor needs to read it. */
	r = afile_open(&af, path, 0600);
	if (r < 0)
		return r;
	fprintf(af.f, "%s\n%s\nsaved %" PRId64 "\n", STATE_MAGIC, STATE_RANGES_RECORDED,
		now.wall > 0 ? now.wall : 0);
	for (i = 0; i < eps->n; i++) {
		if (hs[i].n_addrs == 0 && hs[i].last_answer == 0)
			continue;
		if (config_check_hostname(eps->v[i].name))
			continue;
		save_host(af.f, eps->v[i].name, &hs[i], now);
	}
	for (i = 0; i < n_sets; i++)
		save_set(af.f, &sets[i]);
	fprintf(af.f, "end\n");
	af.nosync = !durable;
	return afile_commit(&af);
}

/* Per configured host, as read: wall times, converted once the file is
 * known whole (a v1 file says when it was written only by its times). */
struct raw_host {
	struct host_state h;	/* last_seen, last_answer: wall seconds */
	bool seen;
};

struct loader {
	const char *path;
	unsigned line;
	int version;
	const struct endpoint_list *eps;
	struct raw_host *tmp;	/* one per eps entry; applied on success */
	struct state_record rec;
	bool in_host;		/* a host line was read */
	long host;		/* its index in eps; -1: not configured */
	size_t next_host;	/* the entry of eps after the last host found */
	struct owned_set *set;	/* the set of elem lines; NULL before one */
	bool ended;		/* the end record was read */
	bool hosts_wanted;	/* hs given: hosts are loaded, not only the record */
	int64_t saved;		/* v2: the saved line; v1: the latest time */
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3))) lerr(struct loader *l, const char *fmt, ...)
{
	char why[KVF_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s", l->path, l->line, why);
	return -EINVAL;
}

/* 8 bytes read little-endian (the first the lowest) that are all
 * decimal digits: their value; else -1. A byte is a digit if its high
 * nibble is 3 and stays 3 with 6 added (no carry crosses bytes that
 * pass the first test). Then pairs, fours and eights are summed in
 * place, each lane wide enough for its sum. Out of line: inlined, its
 * constants held registers through all of scan_i64. */
static __attribute__((noinline)) int64_t eight_digits(uint64_t x)
{
	const uint64_t hi = 0xf0f0f0f0f0f0f0f0u;

	if (((x & hi) | ((x + 0x0606060606060606u) & hi) >> 4) != 0x3333333333333333u)
		return -1;
	x -= 0x3030303030303030u;
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffu;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffu;
	return (int64_t)((x * 10000 + (x >> 32)) & 0xffffffffu);
}

/* Plain decimal, no sign, no spaces (strtoll would take " +7"), up to
 * the byte end: a pointer to it, or NULL. Past INT64_MAX / 10 one more
 * digit is past INT64_MAX, so that one test per digit stands for
 * overflow checks; max is checked once at the end, as a number only
 * grows with its digits. Eight digits at a time while there are eight
 * (a time has ten): s is in the read buffer, which has the slack. */
static const char *scan_i64(const char *s, char end, int64_t max, int64_t *out)
{
	const char *start = s;
	uint64_t v = 0, x;
	int64_t eight;

	for (;; s += 8) {
		memcpy(&x, s, sizeof(x));
		if ((eight = eight_digits(le64toh(x))) < 0)
			break;
		if (v > INT64_MAX / 100000000)
			return NULL;
		v = v * 100000000 + (uint64_t)eight;
	}
	for (; *s != end; s++) {
		unsigned d = (unsigned)(unsigned char)*s - '0';

		if (d > 9 || v > INT64_MAX / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (s == start || v > (uint64_t)max)
		return NULL;
	*out = (int64_t)v;
	return s;
}

static int parse_i64(const char *s, int64_t max, int64_t *out)
{
	return scan_i64(s, '\0', max, out) ? 0 : -1;
}

static int parse_status(const char *s, enum resolve_status *out)
{
	enum resolve_status st;

	for (st = RES_OK; st <= RES_ERROR; st++)
		if (strcmp(s, resolve_status_name(st)) == 0) {
			*out = st;
			return 0;
		}
	return -1;
}

static void note_time(struct loader *l, int64_t t)
{
	if (l->version == 1 && t > l->saved)
		l->saved = t;
}

/* A line's words, apart by spaces and tabs (as strtok_r(line, " \t")
 * would give them), each with its length. */
struct words {
	char *w[STATE_WORDS_MAX];
	size_t len[STATE_WORDS_MAX];
	int n;
};

/* The length of the word at p: up to its first space, tab or NUL. Eight bytes
 * at a time (50k lines at 10k hosts; a strcspn per word, or a loop per
 * byte, was a fifth of the load): the lowest byte below '!' of a word
 * read little-endian is flagged exactly (a borrow only flags bytes
 * above it), and is nearly always the end. It reads up to 7 bytes past
 * the line's NUL: the buffer has STATE_READ_SLACK bytes more, set. */
static size_t word_len(const char *word)
{
	const char *p = word;

	for (;;) {
		uint64_t x, below;

		memcpy(&x, p, sizeof(x));
		x = le64toh(x);
		below = (x - 0x2121212121212121u) & ~x & 0x8080808080808080u;
		if (!below) {
			p += 8;
			continue;
		}
		p += __builtin_ctzll(below) / 8;
		if (*p == ' ' || *p == '\t' || *p == '\0')
			return (size_t)(p - word);
		p++;	/* another control byte, inside the word */
	}
}

/* Each word's end found by word_len, 0-terminated in place. The count
 * is kept in a local: through s, each byte stored would reload it. */
static int split(char *line, struct words *s)
{
	char *p = line;
	int n = 0;

	for (;;) {
		char *start;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == STATE_WORDS_MAX)
			return -1;
		start = p;
		p += word_len(p);
		s->w[n] = start;
		s->len[n++] = (size_t)(p - start);
		if (!*p)
			break;
		*p++ = '\0';
	}
	s->n = n;
	return n;
}

/* Word i is the keyword kw: its length, then its bytes. */
static inline bool word_is(const struct words *s, int i, const char *kw)
{
	size_t n = strlen(kw);

	return s->len[i] == n && memcmp(s->w[i], kw, n) == 0;
}

/* A name of the configuration was checked when it was read; any other
 * name is checked here. Its index in eps, or -1. hint: an index of eps
 * to try first (state_save writes the hosts in eps' order; a name is in
 * eps once), or eps->n. */
static int check_name(struct loader *l, const char *name, size_t hint, long *host)
{
	const char *why;

	if (hint < l->eps->n && strcmp(l->eps->v[hint].name, name) == 0)
		*host = (long)hint;
	else
		*host = catalogue_find(l->eps, name);
	if (*host < 0 && (why = config_check_hostname(name)))
		return lerr(l, "host name \"%.128s\" %s", name, why);
	return 0;
}

/* A host line's values, read whole before any is applied. */
struct host_line {
	int64_t ttl, answer;
	enum resolve_status last4, last6;	/* v2 */
	bool privatelink;			/* v2 */
};

/* The host line of eps entry host (-1: not configured) read: the addr
 * lines that follow are its. A repeated host merges; its last line
 * sets ttl and answer. */
static void set_host(struct loader *l, long host, const struct host_line *v)
{
	struct host_state scratch = { 0 }, *h = &scratch;

	if (host >= 0)
		l->next_host = (size_t)host + 1;
	l->in_host = true;
	l->set = NULL;
	l->host = l->hosts_wanted ? host : -1;
	if (l->host >= 0)
		h = &l->tmp[l->host].h;
	if (l->version == 2) {
		h->last4 = v->last4;
		h->last6 = v->last6;
		h->privatelink = v->privatelink;
	}
	h->ttl = (unsigned)v->ttl;
	h->last_answer = v->answer;
	note_time(l, v->answer);
	if (l->host >= 0)
		l->tmp[l->host].seen = true;
}

/* v2: host NAME ttl T answer T a ST aaaa ST privatelink yes|no */
static int load_host_v2(struct loader *l, const struct words *s, struct host_line *v)
{
	char *const *w = s->w;

	if (s->n != 12 || !word_is(s, 6, "a") || !word_is(s, 8, "aaaa") ||
	    !word_is(s, 10, "privatelink"))
		return lerr(l, "expected \"host NAME ttl SECONDS answer TIME a STATUS "
			    "aaaa STATUS privatelink yes|no\"");
	if (parse_status(w[7], &v->last4) < 0 || parse_status(w[9], &v->last6) < 0)
		return lerr(l, "bad status \"%.32s\" or \"%.32s\"", w[7], w[9]);
	if (!word_is(s, 11, "yes") && !word_is(s, 11, "no"))
		return lerr(l, "bad privatelink \"%.32s\"", w[11]);
	v->privatelink = word_is(s, 11, "yes");
	return 0;
}

static int load_host(struct loader *l, const struct words *s)
{
	struct host_line v = { 0 };
	char *const *w = s->w;
	long host;
	int r;

	if (s->n < 6 || !word_is(s, 2, "ttl") || !word_is(s, 4, "answer") ||
	    (l->version == 1 && s->n != 6))
		return lerr(l, "expected \"host NAME ttl SECONDS answer TIME%s\"",
			    l->version == 1 ? "" : " a STATUS aaaa STATUS privatelink yes|no");
	if ((r = check_name(l, w[1], l->next_host, &host)) < 0)
		return r;
	if (parse_i64(w[3], UINT32_MAX, &v.ttl) < 0)
		return lerr(l, "bad ttl \"%.32s\"", w[3]);
	if (parse_i64(w[5], INT64_MAX, &v.answer) < 0)
		return lerr(l, "bad answer time \"%.32s\"", w[5]);
	if (l->version == 2 && (r = load_host_v2(l, s, &v)) < 0)
		return r;
	set_host(l, host, &v);
	return 0;
}

/* An address of the current host, held as the file says. */
static void hold_addr(struct loader *l, const struct kvf_addr *a, int64_t seen, bool current)
{
	note_time(l, seen);
	if (l->host >= 0)
		desired_hold(&l->tmp[l->host].h, a, seen, current);
}

static int load_addr(struct loader *l, const struct words *s)
{
	char *const *w = s->w;
	struct kvf_addr a;
	int64_t seen;

	if (!l->in_host || l->set)
		return lerr(l, "address outside a host record");
	if (s->n != 4 || (!word_is(s, 3, "current") && !word_is(s, 3, "grace")))
		return lerr(l, "expected \"addr ADDRESS TIME current|grace\"");
	/* Any address: the caller's filter decides what may enter a set, so
	 * that a filter made stricter by an upgrade drops an address rather
	 * than the whole file. */
	if (addr_parse(w[1], &a) < 0)
		return lerr(l, "bad address \"%.64s\"", w[1]);
	if (parse_i64(w[2], INT64_MAX, &seen) < 0)
		return lerr(l, "bad time \"%.32s\"", w[2]);
	hold_addr(l, &a, seen, word_is(s, 3, "current"));
	return 0;
}

static int parse_family(const char *s)
{
	if (strcmp(s, "inet") == 0)
		return NFPROTO_INET;
	if (strcmp(s, "ip") == 0)
		return NFPROTO_IPV4;
	if (strcmp(s, "ip6") == 0)
		return NFPROTO_IPV6;
	return -1;
}

static int load_set(struct loader *l, const struct words *ws)
{
	char *const *w = ws->w;
	int n = ws->n, fam;
	struct owned_set *s;

	bool ranges = n >= 5 && strcmp(w[4], "ranges") == 0;
	const char *created = n > 4 + ranges ? w[4 + ranges] : NULL;

	if (l->version == 1)
		return lerr(l, "unknown record \"set\"");
	if (n < 4 || n > 5 + ranges || (created && strcmp(created, "created") != 0 &&
					  strcmp(created, "created-with-table") != 0))
		return lerr(l, "expected \"set FAMILY TABLE NAME [ranges] "
			    "[created|created-with-table]\"");
	if ((fam = parse_family(w[1])) < 0)
		return lerr(l, "bad table family \"%.32s\"", w[1]);
	l->rec.v = xreallocarray(l->rec.v, l->rec.n + 1, sizeof(*l->rec.v));
	s = &l->rec.v[l->rec.n++];
	memset(s, 0, sizeof(*s));
	s->family = fam;
	s->table = xstrdup(w[2]);
	s->name = xstrdup(w[3]);
	s->ranges = ranges;
	s->created = created != NULL;
	s->table_created = created && strcmp(created, "created-with-table") == 0;
	l->set = s;
	l->in_host = false;
	return 0;
}

/* An element of the current set, written for host name; the last step
 * of an elem line, so a bad name is its last error. */
static int add_elem(struct loader *l, const struct kvf_addr *a, int64_t port, const char *name)
{
	struct elem el = { .addr = *a, .port = (uint16_t)port, .owned = true };
	long h;
	int r;

	if ((r = check_name(l, name, l->eps->n, &h)) < 0)
		return r;
	/* A configured host's name lives in eps, which outlives the record:
	 * one string per element would cost a 10k-host agent 10k copies. */
	el.comment = h >= 0 ? l->eps->v[h].name : elem_list_intern(&l->set->elems, name);
	elem_list_push(&l->set->elems, &el);
	return 0;
}

static int load_elem(struct loader *l, const struct words *s)
{
	char *const *w = s->w;
	struct kvf_addr a;
	int64_t port;

	if (!l->set)
		return lerr(l, "element before any set line");
	if (l->set->ranges)
		return lerr(l, "element in a range set");
	if (s->n != 4)
		return lerr(l, "expected \"elem ADDRESS PORT HOST\"");
	if (addr_parse(w[1], &a) < 0)
		return lerr(l, "bad address \"%.64s\"", w[1]);
	if (parse_i64(w[2], 65535, &port) < 0)
		return lerr(l, "bad port \"%.32s\"", w[2]);
	return add_elem(l, &a, port, w[3]);
}

/* range LO HI COMMENT...: the words of the comment, one space apart. */
static int load_range(struct loader *l, const struct words *s)
{
	struct elem el = { .owned = true };
	char comment[STATE_LINE_MAX] = "";
	char *const *w = s->w;
	const char *why;
	int n = s->n, i;

	if (l->version == 1)
		return lerr(l, "unknown record \"range\"");
	if (!l->set || !l->set->ranges)
		return lerr(l, "range outside a range set");
	if (n < 4)
		return lerr(l, "expected \"range FIRST LAST COMMENT\"");
	if (addr_parse(w[1], &el.addr) < 0 || addr_parse(w[2], &el.hi) < 0 ||
	    el.addr.family != el.hi.family || addr_cmp(&el.addr, &el.hi) > 0)
		return lerr(l, "bad range \"%.64s\" to \"%.64s\"", w[1], w[2]);
	for (i = 3; i < n; i++) {
		strcat(comment, w[i]);
		if (i + 1 < n)
			strcat(comment, " ");
	}
	if ((why = check_comment(comment)))
		return lerr(l, "comment %s", why);
	el.comment = elem_list_intern(&l->set->elems, comment);
	elem_list_push(&l->set->elems, &el);
	return 0;
}

static int load_saved(struct loader *l, const struct words *s)
{
	if (l->version == 1)
		return lerr(l, "unknown record \"saved\"");
	if (s->n != 2 || parse_i64(s->w[1], INT64_MAX, &l->saved) < 0)
		return lerr(l, "expected \"saved TIME\"");
	return 0;
}

static int load_magic(struct loader *l, const char *line)
{
	if (strcmp(line, STATE_MAGIC) == 0) {
		l->version = 2;
		return 0;
	}
	if (strcmp(line, STATE_MAGIC_V1) == 0) {
		l->version = 1;
		return 0;
	}
	if (strncmp(line, STATE_MAGIC_ANY, strlen(STATE_MAGIC_ANY)) == 0)
		return lerr(l, "unsupported state file version (this kvfence reads v1 and v2)");
	return lerr(l, "not a kvfence state file (no \"%s\" header)", STATE_MAGIC);
}

static int load_end(struct loader *l, const struct words *s)
{
	l->ended = true;
	return s->n == 1 ? 0 : lerr(l, "expected \"end\"");
}

typedef int loader_fn(struct loader *, const struct words *);

/* The loader of the record named by the first word, or NULL. By its
 * first letter, then a compare of known length: 50k lines at 10k hosts. */
static loader_fn *record_loader(const struct words *s)
{
	switch (s->w[0][0]) {
	case 'a':
		return word_is(s, 0, "addr") ? load_addr : NULL;
	case 'e':
		return word_is(s, 0, "elem") ? load_elem : word_is(s, 0, "end") ? load_end : NULL;
	case 'h':
		return word_is(s, 0, "host") ? load_host : NULL;
	case 'r':
		return word_is(s, 0, "range") ? load_range : NULL;
	case 's':
		return word_is(s, 0, "set") ? load_set : word_is(s, 0, "saved") ? load_saved : NULL;
	}
	return NULL;
}

/* The text at p, before end, starts with lit. */
static inline bool starts(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* A status name at p (before end), then the byte after: a pointer to
 * that byte, or NULL. */
static const char *scan_status(const char *p, const char *end, char after,
			       enum resolve_status *out)
{
	enum resolve_status st;

	for (st = RES_OK; st <= RES_ERROR; st++) {
		const char *name = resolve_status_name(st);
		size_t i;

		/* By hand: the names are short, a strlen and memcmp cost more. */
		for (i = 0; name[i] && p + i < end && p[i] == name[i]; i++)
			;
		if (!name[i] && p + i < end && p[i] == after) {
			*out = st;
			return p + i;
		}
	}
	return NULL;
}

/* The records below, as state_save writes them (one space apart, every
 * field good), are read straight from the line, not split into words
 * and then parsed: 50k lines at 10k hosts. Each returns 1 when it has
 * loaded the line; 0 when the line is not of that form, having changed
 * nothing: the general way then reads it and says what is wrong; or
 * the error of its host name, the last check either way. The line
 * ends at end, and holds no other NUL byte. */

/* addr ADDRESS TIME current|grace (p: after "addr ") */
static int fast_addr(struct loader *l, const char *p, const char *end)
{
	struct kvf_addr a;
	int64_t seen;
	bool current;

	if (!l->in_host || l->set || !(p = addr_parse_word(p, &a)) ||
	    !(p = scan_i64(p + 1, ' ', INT64_MAX, &seen)))
		return 0;
	p++;
	if (end - p == 7 && memcmp(p, "current", 7) == 0)
		current = true;
	else if (end - p == 5 && memcmp(p, "grace", 5) == 0)
		current = false;
	else
		return 0;
	hold_addr(l, &a, seen, current);
	return 1;
}

/* elem ADDRESS PORT HOST (p: after "elem ") */
static int fast_elem(struct loader *l, const char *p, const char *end)
{
	struct kvf_addr a;
	int64_t port;
	int r;

	if (!l->set || l->set->ranges || !(p = addr_parse_word(p, &a)) ||
	    !(p = scan_i64(p + 1, ' ', 65535, &port)) || ++p == end || p + word_len(p) != end)
		return 0;
	r = add_elem(l, &a, port, p);
	return r < 0 ? r : 1;
}

/* host NAME ttl T answer T, and in v2 a ST aaaa ST privatelink yes|no
 * (name: after "host "). The name is cut from the line only once the
 * rest is known good. */
static int fast_host(struct loader *l, char *name, const char *end)
{
	struct host_line v = { 0 };
	char *cut = name + word_len(name);
	const char *p = cut + 1;
	long host;
	int r;

	if (cut == name || *cut != ' ' || !starts(p, end, "ttl ") ||
	    !(p = scan_i64(p + 4, ' ', UINT32_MAX, &v.ttl)) || !starts(p + 1, end, "answer ") ||
	    !(p = scan_i64(p + 8, l->version == 2 ? ' ' : '\0', INT64_MAX, &v.answer)))
		return 0;
	if (l->version == 2) {
		if (!starts(p + 1, end, "a ") ||
		    !(p = scan_status(p + 3, end, ' ', &v.last4)) || !starts(p + 1, end, "aaaa ") ||
		    !(p = scan_status(p + 6, end, ' ', &v.last6)) ||
		    !starts(p + 1, end, "privatelink "))
			return 0;
		p += 13;
		if (end - p == 3 && memcmp(p, "yes", 3) == 0)
			v.privatelink = true;
		else if (end - p != 2 || memcmp(p, "no", 2) != 0)
			return 0;
	}
	*cut = '\0';
	if ((r = check_name(l, name, l->next_host, &host)) < 0)
		return r;
	set_host(l, host, &v);
	return 1;
}

static int load_fast(struct loader *l, char *line, size_t n)
{
	char *end = line + n;

	if (l->ended)
		return 0;
	if (starts(line, end, "addr "))
		return fast_addr(l, line + 5, end);
	if (starts(line, end, "elem "))
		return fast_elem(l, line + 5, end);
	if (starts(line, end, "host "))
		return fast_host(l, line + 5, end);
	return 0;
}

/* A line of len bytes, NUL-terminated. */
static int load_line(struct loader *l, char *line, size_t len)
{
	loader_fn *load;
	struct words s;
	int n;


	if (l->line == 1)
		return load_magic(l, line);
	if (l->version >= 2 && !l->ended && line[0] == '#' &&
	    strcmp(line, STATE_RANGES_RECORDED) == 0) {
		l->rec.ranges_recorded = true;
		return 0;
	}
	if ((n = load_fast(l, line, len)) != 0)
		return n < 0 ? n : 0;
	n = split(line, &s);
	if (n < 0)
		return lerr(l, "too many fields");
	if (n == 0 || s.w[0][0] == '#')
		return 0;
	if (l->ended)
		return lerr(l, "data after the end record");
	if ((load = record_loader(&s)))
		return load(l, &s);
	return lerr(l, "unknown record \"%.32s\"", s.w[0]);
}

/* The file in STATE_READ_BUF pieces; lines are cut in place. */
struct lines {
	int fd;
	char *buf;
	size_t start, end;	/* what is read and not yet taken */
	size_t nul;		/* the first NUL byte read; SIZE_MAX: none */
	bool eof;
};

/* A line of the buffer, n bytes; nl: it ended with a newline; nul: a
 * NUL byte may be in it. 1, or <0 for a damaged line. The first line is
 * judged by its start before anything else: a file that is not a state
 * file at all says so, not that it was cut short. */
static int take_line(struct loader *l, char *p, size_t n, bool nl, bool nul)
{
	size_t magic = strlen(STATE_MAGIC_ANY);

	l->line++;
	if (l->line == 1 && (n < magic || memcmp(p, STATE_MAGIC_ANY, magic) != 0))
		return lerr(l, "not a kvfence state file (no \"%s\" header)", STATE_MAGIC);
	/* A NUL byte is damage, as a last line without its newline; a NUL
	 * is found first within the longest line taken (as fgets did). */
	if (nul && memchr(p, '\0', n < STATE_LINE_MAX - 1 ? n : STATE_LINE_MAX - 1))
		return lerr(l, "truncated line");
	if (n > STATE_LINE_MAX - 2)
		return lerr(l, "line too long");
	if (!nl)
		return lerr(l, "truncated line");
	p[n] = '\0';
	return 1;
}

/* The next line, without its newline, in *out, *len bytes. 1: a line;
 * 0: end of file; <0: error (a line too long, or damaged, or a read
 * error). */
static int next_line(struct loader *l, struct lines *in, char **out, size_t *len)
{
	for (;;) {
		char *p = in->buf + in->start;
		size_t avail = in->end - in->start;
		char *nl = memchr(p, '\n', avail), *nul;
		ssize_t r;

		if (nl || in->eof || avail >= STATE_LINE_MAX - 1) {
			size_t n = nl ? (size_t)(nl - p) : avail;
			int ret;

			if (!nl && n == 0)
				return 0;
			ret = take_line(l, p, n, nl != NULL, in->nul < in->start + n);
			in->start += n + 1;
			*out = p;
			*len = n;
			return ret;
		}
		memmove(in->buf, p, avail);
		in->start = 0;
		in->end = avail;
		do
			r = read(in->fd, in->buf + in->end, STATE_READ_BUF - in->end);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			snprintf(l->err, l->errlen, "%s: %s", l->path, strerror(EIO));
			return -EIO;
		}
		in->eof = r == 0;
		in->end += (size_t)r;
		/* Once per piece, not per line: only a line that ends past
		 * the first NUL byte can hold one. */
		nul = memchr(in->buf, '\0', in->end);
		in->nul = nul ? (size_t)(nul - in->buf) : SIZE_MAX;
	}
}

static int load_file(struct loader *l, int fd)
{
	struct lines in = { .fd = fd, .buf = xcalloc(1, STATE_READ_BUF + STATE_READ_SLACK),
			    .nul = SIZE_MAX };
	char *line;
	size_t len;
	int r;

	while ((r = next_line(l, &in, &line, &len)) > 0)
		if ((r = load_line(l, line, len)) < 0)
			break;
	free(in.buf);
	if (r < 0)
		return r;
	if (l->line == 0) {
		l->line = 1;
		return lerr(l, "empty file");
	}
	if (!l->ended)
		return lerr(l, "truncated: no end record");
	if (l->version == 2 && l->saved == 0 && l->line > 1)
		return lerr(l, "no \"saved\" record");
	return 0;
}

/* Seconds since the file was written, by the wall clock, if both ends are
 * plausible; otherwise 0 (ages as they were when it was written), with a
 * note for the administrator. */
static int64_t elapsed_since(const struct loader *l, struct state_clock now,
			     char *note, size_t len)
{
	if (now.wall < STATE_PLAUSIBLE_WALL)
		snprintf(note, len, "the wall clock (%" PRId64 ") is before 2025, not set yet?",
			 now.wall);
	else if (l->saved < STATE_PLAUSIBLE_WALL)
		snprintf(note, len, "it was written at %" PRId64 ", before 2025", l->saved);
	else if (l->saved > now.wall)
		snprintf(note, len, "it was written %" PRId64 " s in the future (the clock "
			 "stepped back?)", l->saved - now.wall);
	else
		return now.wall - l->saved;
	return 0;
}

/* A wall time of the file as kvfence's clock: its age when the file was
 * written (never negative), plus the time since. */
static int64_t to_mono(const struct loader *l, struct state_clock now, int64_t elapsed,
		       int64_t t)
{
	int64_t age = l->saved > t ? l->saved - t : 0;

	return now.mono - elapsed - age;
}

static void apply_host(const struct loader *l, struct host_state *h, const struct raw_host *raw,
		       struct state_clock now, int64_t elapsed, unsigned grace)
{
	const struct host_state *r = &raw->h;
	size_t j;

	h->ttl = r->ttl;
	h->last4 = r->last4;
	h->last6 = r->last6;
	/* A v1 file has no statuses (RES_OK): its grace applied as before. */
	h->definite4 = resolve_status_definite(r->last4);
	h->definite6 = resolve_status_definite(r->last6);
	h->privatelink = r->privatelink;
	if (r->last_answer) {
		h->last_answer = to_mono(l, now, elapsed, r->last_answer);
		if (h->last_answer == 0)
			h->last_answer = -1;	/* 0 means never */
	}
	for (j = 0; j < r->n_addrs; j++) {
		const struct seen_addr *s = &r->addrs[j];
		bool definite = s->addr.family == AF_INET ? h->definite4 : h->definite6;
		int64_t t = to_mono(l, now, elapsed, s->last_seen);

		/* What the latest answer named stays until an answer says
		 * otherwise (fail-static); the rest had only grace left. */
		if (!s->current && definite && t < now.mono - (int64_t)grace)
			continue;
		desired_hold(h, &s->addr, t, s->current);
	}
}

/* state_save writes each set's record sorted, unique: then the sort
 * is one pass (elem_list_sort_unique). */
static void finish_record(struct state_record *rec)
{
	size_t i;

	for (i = 0; i < rec->n; i++)
		elem_list_sort_unique(&rec->v[i].elems);
}

void state_record_free(struct state_record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].table);
		free(r->v[i].name);
		elem_list_free(&r->v[i].elems);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void state_loaded_free(struct state_loaded *l)
{
	state_record_free(&l->record);
}

static int open_regular(const char *path, int *out, char *err, size_t errlen)
{
	struct stat st = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	/* A directory opens, and fails only at the first read. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path,
			 S_ISDIR(st.st_mode) ? "a directory" : "a special file");
		close(fd);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

/* Seeds go to a scratch copy first: a damaged file seeds nothing rather
 * than the half before the damage. */
int state_load(const char *path, const struct endpoint_list *eps,
	       struct host_state *hs, struct state_clock now, unsigned grace,
	       struct state_loaded *out, char *err, size_t errlen)
{
	struct loader l = { .path = path, .eps = eps, .host = -1, .err = err, .errlen = errlen,
			    .hosts_wanted = hs != NULL };
	int64_t elapsed;
	size_t i;
	int fd = -1, r;

	memset(out, 0, sizeof(*out));
	r = open_regular(path, &fd, err, errlen);
	if (r < 0)
		return r;
	l.tmp = xcalloc(hs && eps->n ? eps->n : 1, sizeof(*l.tmp));
	r = load_file(&l, fd);
	close(fd);
	if (r == 0) {
		elapsed = elapsed_since(&l, now, out->clock_note, sizeof(out->clock_note));
		for (i = 0; hs && i < eps->n; i++)
			if (l.tmp[i].seen)
				apply_host(&l, &hs[i], &l.tmp[i], now, elapsed, grace);
		finish_record(&l.rec);
		out->version = l.version;
		out->has_record = l.version >= 2;
		out->record = l.rec;
		memset(&l.rec, 0, sizeof(l.rec));
	}
	state_record_free(&l.rec);
	for (i = 0; hs && i < eps->n; i++)
		host_state_free(&l.tmp[i].h);
	free(l.tmp);
	return r;
}

int state_set_aside(const char *path, int64_t wall, char *newpath, size_t len)
{
	time_t t = (time_t)wall;
	struct tm tm;
	char stamp[32] = "unknown";

	if (gmtime_r(&t, &tm))
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(newpath, len, "%s.bad-%s", path, stamp);
	if (rename(path, newpath) < 0)
		return -errno;
	return 0;
}
