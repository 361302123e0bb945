/* kvfence: the resident agent. Hosts are re-resolved when their TTL runs
 * out; answers fold into the desired state; the kernel sets follow in one
 * batch per burst of answers. Notifications of foreign ruleset changes
 * trigger an immediate re-read and refill from what is held, with no DNS
 * round trip. `kvfence sync` is one pass of it: every host once, one
 * reconcile, exit (agent_sync). */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "dnsproxy.h"
#include "kvfence.h"
#include "log.h"
#include "loop.h"
#include "monitor.h"
#include "engine.h"
#include "resolver.h"
#include "sdnotify.h"
#include "schedule.h"
#include "servicetags.h"
#include "state.h"
#include "status.h"
#include "afile.h"
#include "util.h"

#define COALESCE_MS	200	/* answers of one burst share one batch */
#define URGENT_GAP_MS	5	/* ... but a new address goes in this soon, */
#define URGENT_SHARE	4	/* or after 4x the last batch's time: at most
				 * a fifth of the CPU on batches in a wave */
#define STATE_SAVE_MS	5000	/* at most one state file write per 5 s */
#define STATE_RETRY_MS	10000	/* after a failed one */
#define RETRY_MS	1000	/* after a failed batch, doubling */
#define RETRY_MAX_MS	60000
#define READY_WAIT_MS	30000	/* first start: READY=1 after the first fill,
				 * or this long (TimeoutStartSec=90s) */
#define STRAY_LOG_MS	60000
#define CHANGE_LOG_MS	10000	/* one foreign-change line per 10 s */	/* one line per stray signal number a minute */
#define FAIL_LOG_S	600	/* one failure message per host per 10 min */
#define NEVER		INT64_MAX
#define OUTPUTS_MIN_MS	1000	/* status after proxied batches: once a second */
#define OUTPUTS_LAZY_MS	10000	/* ... after answers that changed nothing: 10 s */
#define LOCK_TRIES	50	/* the lock is retried for 0.5 s ... */
#define LOCK_TRY_US	10000	/* ... against `kvfence status` probes */

/* What the agent keeps of each host, beside the engine's host_state. */
struct host_rec {
	struct agent *a;
	size_t i;		/* its index in a->e.eps and a->e.hs */
	struct loop_timer *due;	/* its next query; disarmed while one is in
				 * flight; none in sync (ask_all) */
	int64_t next_wall;	/* for status.json */
	struct schedule_hint hint;	/* for schedule_delay_ms */
	int64_t fail_logged;	/* wall s of the last failure message */
	struct host_rec *wait_next;	/* due, waiting for room in the resolver */
};

struct agent {
	const char *conf_path;
	struct loop *loop;
	struct config cfg;
	struct engine e;
	struct resolver *res;
	struct nlsock *nft;
	struct monitor *mon;
	struct dnsproxy *px;	/* listen: the DNS proxy, or NULL */
	bool proxy_batch;	/* the next reconcile releases held answers */
	bool outputs_dirty;	/* status and metrics wait for outputs_at */
	int64_t outputs_at;
	bool outputs_lazy;	/* only answer times changed since written_outputs */
	int64_t outputs_written;	/* when status and metrics were last written */
	int sfd, lockfd;
	int ifd;		/* inotify on the service-tags directories */
	int *tag_wd;		/* per tagset, the watch of its directory */
	struct servicetags tags;	/* the last good load */
	struct host_rec *hosts;	/* per host; their due times are loop timers */
	size_t n_hosts;		/* as allocated: a reload changes e.eps.n first */
	struct host_rec *wait_head, *wait_tail;	/* due hosts, in order (feed_resolver) */
	size_t n_waiting;
	int64_t expiry_at;	/* monotonic ms: no address expires before */
	/* Each time-driven concern has its own timer (open_loop). */
	struct loop_timer *t_resolver, *t_batch, *t_expiry, *t_full, *t_state, *t_outputs,
			  *t_changes, *t_ready, *t_watchdog, *t_proxy;
	unsigned res_generation;	/* of the resolver's servers, as last seen */
	bool started, discard_answers;
	bool once;		/* `kvfence sync`: one pass, then exit */
	bool dry_run;		/* sync --dry-run: writes nothing */
	int64_t once_now;	/* sync: the time every answer counts as */
	size_t once_failed;	/* sync: hosts whose resolution failed */
	size_t once_answered;	/* sync: hosts answered (or failed) */
	bool tags_bad;		/* sync: the service tags could not be loaded */
	int once_exit;		/* sync: its exit code */
	bool dirty, need_read, state_dirty;
	bool blocked;		/* a set is missing and may not be created */
	bool broken_logged;	/* a set of the wrong type was reported */
	bool notify_failed;	/* the last sd_notify failed (logged once) */
	bool foreign_change;	/* a refill is due after another process's change */
	bool short_ttl_logged;	/* a TTL below refresh-min was reported */
	int64_t dirty_at;	/* when the first unreconciled answer came */
	bool urgent;		/* an answer added an address: a client may hold it */
	int64_t written_at;	/* when the last batch was written */
	int64_t urgent_gap;	/* ms between batches for new addresses */
	int64_t retry_at, full_at, state_at;
	int64_t retry_ms;	/* backoff after failed batches */
	int64_t watchdog_ms;
	struct status_summary sum;
	uint32_t rng;
	bool ready;		/* READY=1 said (after the first fill) */
	int64_t ready_by;	/* monotonic ms: READY=1 at the latest then */
	int64_t failing_since;	/* wall s: some host fails since; 0: none */
	int64_t mon_logged;	/* monotonic ms of the last foreign-change line */
	unsigned mon_unlogged;	/* foreign changes since, not logged */
	int64_t stray_logged[65];	/* per signal number, monotonic ms */
	unsigned stray_count[65];	/* stray signals since that line */
};


static uint32_t next_random(struct agent *a)
{
	/* xorshift32: jitter needs spread, not secrecy. */
	a->rng ^= a->rng << 13;
	a->rng ^= a->rng >> 17;
	a->rng ^= a->rng << 5;
	return a->rng;
}

static void notify(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void on_proxy_fd(void *arg, int fd, uint32_t events);
static void on_answer_once(struct agent *a, size_t i, const struct host_result *res);
static void finish_once(struct agent *a);
static void on_tags_changed(void *arg, int fd, uint32_t events);

static void notify(struct agent *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r = sdnotify_send(buf);
	/* Said once: a watchdog that cannot be fed gets the service killed,
	 * and the reason belongs in the log before that happens. */
	if (r < 0 && !a->notify_failed) {
		errno = -r;
		log_warn("sd_notify to $NOTIFY_SOCKET");
	}
	a->notify_failed = r < 0;
}

/* A timer set for now runs at the next turn of the loop, after the
 * descriptors ready by then: what today's events changed is looked at
 * once, not once per event. */
static void kick(struct loop_timer *t)
{
	loop_timer_set(t, loop_now_ms());
}

/* The reconcile is looked at again whenever its inputs change. */
static void kick_batch(struct agent *a)
{
	if (a->dirty)
		kick(a->t_batch);
}

static void set_expiry_at(struct agent *a, int64_t at)
{
	a->expiry_at = at;
	loop_timer_set(a->t_expiry, at);
}

static void mark_state_dirty(struct agent *a)
{
	a->state_dirty = true;
	loop_timer_set(a->t_state, a->state_at);
}

/* Status and metrics: after a batch at most once a second, after
 * answers that changed nothing within OUTPUTS_LAZY_MS. */
static void arm_outputs(struct agent *a)
{
	int64_t t = a->outputs_dirty ? a->outputs_at : NEVER;

	if (a->outputs_lazy && a->outputs_written + OUTPUTS_LAZY_MS < t)
		t = a->outputs_written + OUTPUTS_LAZY_MS;
	loop_timer_set(a->t_outputs, t);
}

static void feed_resolver(struct agent *a);

/* Readiness of a c-ares socket: answers may come, and with them a batch;
 * c-ares's timeout moves. */
static void on_resolver_fd(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;

	resolver_process_fd(a->res, fd, events & (EPOLLIN | EPOLLERR | EPOLLHUP),
			    events & EPOLLOUT);
	feed_resolver(a);	/* room left by lookups that had no callback */
	kick(a->t_resolver);
	kick_batch(a);
}

static void resolver_fd_changed(void *arg, int fd, bool readable, bool writable)
{
	struct agent *a = arg;

	if (!readable && !writable) {
		loop_del_fd(a->loop, fd);
		return;
	}
	if (loop_mod_fd(a->loop, fd, (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0),
			on_resolver_fd, a) < 0)
		log_warn("epoll: c-ares socket %d", fd);
}

/* One message per host per FAIL_LOG_S while it keeps failing, and one
 * when it recovers. */
static void log_result(struct agent *a, size_t i, const struct host_result *res,
		       unsigned failures_before)
{
	const char *host = a->e.eps.v[i].name;
	struct host_rec *hr = &a->hosts[i];
	int64_t now = clock_now();

	if (a->e.hs[i].failures == 0) {
		if (failures_before > 0)
			log_info("host %s: resolving again after %u failures", host,
				 failures_before);
		hr->fail_logged = 0;
		return;
	}
	a->sum.resolve_failures++;
	if (hr->fail_logged && now - hr->fail_logged < FAIL_LOG_S)
		return;
	hr->fail_logged = now;
	log_warnx("host %s: resolution failed (A %s, AAAA %s, %u in a row); keeping its %zu "
		  "addresses", host, resolve_status_name(res->status4),
		  resolve_status_name(res->status6), a->e.hs[i].failures, a->e.hs[i].n_addrs);
}

/* No timer: a host of sync, asked once (ask_all). */
static bool in_flight(const struct host_rec *hr)
{
	return !hr->due || loop_timer_when(hr->due) == NEVER;
}

/* Host i's state changed: its addresses may expire sooner than any
 * other's. (The full walk in expire() finds the exact time.) */
static void note_expiry(struct agent *a, size_t i)
{
	int64_t t = desired_next_expiry(&a->e.hs[i], a->cfg.grace, a->cfg.max_stale);
	int64_t now = clock_now(), at;

	if (t == NEVER)
		return;
	at = loop_now_ms() + (t > now ? (t - now) * 1000 : 0);
	if (at < a->expiry_at)
		set_expiry_at(a, at);
}

/* The addresses a host holds, sorted (as held); the caller frees. */
static struct kvf_addr *snapshot_addrs(const struct host_state *h, size_t *n)
{
	struct kvf_addr *v = xmalloc((h->n_addrs ? h->n_addrs : 1) * sizeof(*v));
	size_t j;

	for (j = 0; j < h->n_addrs; j++)
		v[j] = h->addrs[j].addr;
	*n = h->n_addrs;
	return v;
}

/* Whether h holds an address that was not among the n sorted ones. */
static bool adds_address(const struct host_state *h, const struct kvf_addr *old, size_t n)
{
	size_t j, k = 0;

	for (j = 0; j < h->n_addrs; j++) {
		while (k < n && addr_cmp(&old[k], &h->addrs[j].addr) < 0)
			k++;
		if (k == n || addr_cmp(&old[k], &h->addrs[j].addr) != 0)
			return true;
	}
	return false;
}

static void on_answer(void *arg, size_t i, const struct host_result *res)
{
	struct agent *a = arg;
	struct host_state *h;
	struct timespec wall;
	struct kvf_addr *held;
	size_t n_held = 0, changed;
	unsigned before;
	int64_t delay;

	if (a->discard_answers)
		return;
	if (a->once) {
		on_answer_once(a, i, res);
		return;
	}
	h = &a->e.hs[i];
	before = h->failures;
	/* At a first start the sets fill in batches of COALESCE_MS; after
	 * it, an address a client may already hold goes in at once. The
	 * copy to compare with is taken only when it can tell something. */
	held = a->ready && !a->urgent ? snapshot_addrs(h, &n_held) : NULL;
	changed = engine_apply_result(&a->e, i, res, clock_now());
	if (held && changed && adds_address(h, held, n_held))
		a->urgent = true;
	free(held);
	log_result(a, i, res, before);
	clock_gettime(CLOCK_REALTIME, &wall);
	delay = schedule_delay_ms(h->ttl, h->failures, a->cfg.refresh_min,
				  a->cfg.refresh_max, (unsigned)(wall.tv_nsec / 1000000),
				  next_random(a), &a->hosts[i].hint);
	if (h->failures == 0 && h->ttl < a->cfg.refresh_min && !a->short_ttl_logged) {
		log_warnx("host %s: TTL %us is shorter than refresh-min %us: its clients may be "
			  "handed addresses kvfence has not seen yet (logged once)",
			  a->e.eps.v[i].name, h->ttl, a->cfg.refresh_min);
		a->short_ttl_logged = true;
	}
	loop_timer_set(a->hosts[i].due, loop_now_ms() + delay);
	a->hosts[i].next_wall = time(NULL) + delay / 1000;
	note_expiry(a, i);
	mark_state_dirty(a);
	/* An answer that changes no element needs no batch (a refresh wave
	 * at 50k hosts is mostly these): status shows it within a second. */
	if (!changed && a->ready && h->failures == before) {
		a->outputs_lazy = true;
		arm_outputs(a);
		return;
	}
	if (!a->dirty)
		a->dirty_at = loop_now_ms();
	a->dirty = true;
	kick_batch(a);
}

/* The resolver's callback: the answer, then the next waiting host takes
 * its place at once (the resolver starts it when the callback returns),
 * so that the resolver's pipeline stays full. */
static void on_answered(void *arg, size_t i, const struct host_result *res)
{
	struct agent *a = arg;

	on_answer(a, i, res);
	if (!a->discard_answers)
		feed_resolver(a);
}

/* Due hosts wait here, in order, in their own records, while the
 * resolver holds RESOLVER_MAX_INFLIGHT lookups: at a 10k-host start it
 * would otherwise hold 10k queued lookups, each with a copy of its name
 * (2 MiB, a tenth of the page faults of a cold sync). A waiting host is
 * in flight for everything else (its timer is disarmed). */
static void feed_resolver(struct agent *a)
{
	struct host_rec *hr;

	while ((hr = a->wait_head) && a->res &&
	       resolver_pending(a->res) < RESOLVER_MAX_INFLIGHT) {
		a->wait_head = hr->wait_next;
		if (!a->wait_head)
			a->wait_tail = NULL;
		hr->wait_next = NULL;
		a->n_waiting--;
		resolver_resolve(a->res, a->e.eps.v[hr->i].name, on_answered, a, hr->i);
	}
}

/* Queued or in flight, in the agent or in the resolver. */
static size_t pending(const struct agent *a)
{
	return a->n_waiting + (a->res ? resolver_pending(a->res) : 0);
}

static void wait_for_resolver(struct agent *a, struct host_rec *hr)
{
	if (a->wait_tail)
		a->wait_tail->wait_next = hr;
	else
		a->wait_head = hr;
	a->wait_tail = hr;
	a->n_waiting++;
}

/* A host's timer: its query goes out (its timer stays disarmed until the
 * answer comes). */
static void on_host_due(void *arg)
{
	struct host_rec *hr = arg;
	struct agent *a = hr->a;

	wait_for_resolver(a, hr);
	feed_resolver(a);
	kick(a->t_resolver);
}

/* Addresses past grace (or max-stale) leave on time, not at the next
 * answer of their host; but never while their host has a query in
 * flight: its answer, a few milliseconds away, may name them again, and
 * a client of the same cache may already hold them. The answer settles
 * them. */
static void expire(struct agent *a)
{
	int64_t now = clock_now(), now_ms = loop_now_ms(), next = NEVER;
	size_t i, n = 0, stale = 0;

	if (now_ms < a->expiry_at)
		return;		/* nothing is due: no walk over every host */
	for (i = 0; i < a->e.eps.n; i++) {
		int64_t t;

		if (in_flight(&a->hosts[i]))
			continue;	/* in flight: its answer decides */
		n += desired_expire(&a->e.hs[i], now, a->cfg.grace);
		stale += desired_expire_stale(&a->e.hs[i], now, a->cfg.max_stale);
		t = desired_next_expiry(&a->e.hs[i], a->cfg.grace, a->cfg.max_stale);
		if (t < next)
			next = t;
	}
	/* The clock counts seconds: something due now that did not go
	 * (it cannot) is looked at again in a second, not in a loop. */
	set_expiry_at(a, next == NEVER ? NEVER :
			 now_ms + (next > now ? (next - now) * 1000 : 1000));
	if (stale)
		log_msg(LOG_ERR, "max-stale %us: removed %zu addresses that no DNS answer "
			"confirmed for that long (failing closed)", a->cfg.max_stale, stale);
	if (n || stale) {
		a->dirty = true;
		a->dirty_at = 0;
		mark_state_dirty(a);
		kick_batch(a);
	}
}

static void on_expiry(void *arg)
{
	expire(arg);
}

static void write_outputs(struct agent *a)
{
	int64_t *next_wall = xcalloc(a->e.eps.n ? a->e.eps.n : 1, sizeof(*next_wall));
	size_t i;
	int r;

	for (i = 0; i < a->e.eps.n; i++)
		next_wall[i] = a->hosts[i].next_wall;
	a->outputs_lazy = false;
	a->outputs_written = loop_now_ms();
	a->sum.now = time(NULL);
	a->sum.clock = clock_now();
	a->sum.next_refresh = next_wall;
	r = status_write_json(a->cfg.status_file, &a->e, &a->sum);
	if (r < 0)
		log_warnx("status file %s: %s", a->cfg.status_file, strerror(-r));
	if (a->cfg.metrics_file) {
		r = status_write_metrics(a->cfg.metrics_file, &a->e, &a->sum);
		if (r < 0)
			log_warnx("metrics file %s: %s", a->cfg.metrics_file, strerror(-r));
	}
	a->sum.next_refresh = NULL;
	free(next_wall);
	arm_outputs(a);
}

static void save_state(struct agent *a, bool last, bool durable)
{
	struct state_set_view *views;
	size_t n = engine_record_views(&a->e, &views);
	int r = state_save(a->cfg.state_file, &a->e.eps, a->e.hs, views, n, state_clock_now(),
			   durable);

	free(views);

	/* A failed write (full disk) is tried again: the file must not stay
	 * behind the sets until the next change happens to come. */
	if (r < 0 && last)
		log_warnx("state file %s: %s", a->cfg.state_file, strerror(-r));
	else if (r < 0)
		log_warnx("state file %s: %s; trying again in %d s", a->cfg.state_file,
			  strerror(-r), STATE_RETRY_MS / 1000);
	/* What was written without fsync is written again with it soon. */
	a->state_dirty = r < 0 || !durable;
	a->state_at = loop_now_ms() + (r < 0 ? STATE_RETRY_MS : STATE_SAVE_MS);
	loop_timer_set(a->t_state, a->state_dirty ? a->state_at : NEVER);
}

static void on_state_save(void *arg)
{
	struct agent *a = arg;

	if (a->state_dirty)
		save_state(a, false, true);
}

static void on_outputs(void *arg)
{
	struct agent *a = arg;

	write_outputs(a);
	a->outputs_dirty = false;
	a->outputs_at = loop_now_ms() + OUTPUTS_MIN_MS;
	arm_outputs(a);
}

static size_t held_total(const struct agent *a)
{
	return engine_size(&a->e, ENGINE_ELEMS);
}

static size_t ranges_total(const struct agent *a)
{
	return engine_size(&a->e, ENGINE_RANGES);
}

/* STATUS= for systemctl status: what is held, and during an outage what
 * fails and since when (the elements are kept: say so). */
static void notify_status(struct agent *a, const char *prefix)
{
	char since[32] = "", ranges[48] = "";
	const struct host_state *failed = NULL;
	size_t i, failing = 0;
	struct tm tm;

	for (i = 0; i < a->e.eps.n; i++)
		if (a->e.hs[i].failures) {
			failing++;
			failed = &a->e.hs[i];
		}
	if (!failing)
		a->failing_since = 0;
	else if (!a->failing_since)
		a->failing_since = time(NULL);
	if (a->cfg.n_tagsets)
		snprintf(ranges, sizeof(ranges), ", %zu range elements", ranges_total(a));
	if (!failing) {
		notify(a, "%sSTATUS=%zu hosts, %zu elements%s, last reconcile %.1f ms", prefix,
		       a->e.eps.n, held_total(a), ranges, a->sum.reconcile_seconds * 1000);
		return;
	}
	gmtime_r(&(time_t){ (time_t)a->failing_since }, &tm);
	strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S UTC", &tm);
	notify(a, "%sSTATUS=DNS failing for %zu of %zu hosts since %s (A %s, AAAA %s); "
	       "keeping %zu elements%s", prefix, failing, a->e.eps.n, since,
	       resolve_status_name(failed->last4), resolve_status_name(failed->last6),
	       held_total(a), ranges);
}

/* Hosts without a first answer (or failure) since the start. */
static size_t unanswered(const struct agent *a)
{
	size_t i, n = 0;

	for (i = 0; i < a->e.eps.n; i++)
		n += !a->e.hs[i].last_answer && !a->e.hs[i].failures;
	return n;
}

static bool first_round_done(const struct agent *a)
{
	return unanswered(a) == 0;
}

/* Units ordered after kvfence start once the sets are filled: from the
 * state file (or what the kernel still held), or by the first answers. */
static void send_ready(struct agent *a)
{
	a->ready = true;
	a->ready_by = NEVER;
	loop_timer_cancel(a->t_ready);
	notify_status(a, "READY=1\n");
}

static void reconcile(struct agent *a)
{
	struct reconcile_stats st;
	struct timespec t0, t1;
	char err[KVF_ERRLEN];
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (a->need_read) {
		r = engine_read_kernel(&a->e, INT64_MIN, err, sizeof(err));
		/* A set of the wrong type is left alone, the others go on; the
		 * administrator's fix will come as a notification. */
		if (r == -EPROTOTYPE && !a->broken_logged)
			log_msg(LOG_ERR, "%s; not writing that set until it is fixed", err);
		a->broken_logged = r == -EPROTOTYPE;
		if (r < 0 && r != -EPROTOTYPE)
			goto fail;
		a->need_read = false;
	}
	r = engine_reconcile(&a->e, false, &st, err, sizeof(err));
	if (r < 0)
		goto fail;
	/* Acked: answers held for these addresses go now, not after the
	 * status file's fsync. */
	dnsproxy_batch_done(a->px, true);
	kick(a->t_proxy);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->dirty = false;
	if (a->foreign_change && (st.added || st.ranges))
		a->sum.refills++;
	a->foreign_change = false;
	a->urgent = false;
	a->written_at = (int64_t)t1.tv_sec * 1000 + t1.tv_nsec / 1000000;
	a->urgent_gap = a->written_at - ((int64_t)t0.tv_sec * 1000 + t0.tv_nsec / 1000000);
	a->urgent_gap *= URGENT_SHARE;
	if (a->urgent_gap < URGENT_GAP_MS)
		a->urgent_gap = URGENT_GAP_MS;
	if (a->retry_ms || a->blocked)
		log_info("reconcile succeeded again");
	a->blocked = false;
	a->retry_at = NEVER;
	a->retry_ms = 0;
	a->sum.last_reconcile = time(NULL);
	a->sum.reconcile_seconds = (double)(t1.tv_sec - t0.tv_sec) +
				   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	a->sum.reconciles++;
	/* Batches for proxied answers can come one per query: their status
	 * rewrites (2 MB at 10k hosts) are coalesced to one a second, off
	 * the path of the next query. */
	if (a->proxy_batch && loop_now_ms() < a->outputs_at) {
		a->outputs_dirty = true;
	} else {
		write_outputs(a);
		a->outputs_dirty = false;
		a->outputs_at = loop_now_ms() + OUTPUTS_MIN_MS;
	}
	arm_outputs(a);
	a->proxy_batch = false;
	if (!a->ready && a->started && first_round_done(a))
		send_ready(a);
	else
		notify_status(a, "");
	return;
fail:
	/* The kernel is as it was. Re-read before retrying: someone may have
	 * changed it. A set we may not create waits for the administrator's
	 * rules to come back; the monitor will tell us. */
	a->need_read = true;
	dnsproxy_batch_done(a->px, false);
	kick(a->t_proxy);
	if (r == -ENOENT && !a->cfg.create_sets) {
		if (!a->blocked)
			log_warnx("%s; waiting for it to appear", err);
		a->blocked = true;
		return;
	}
	a->retry_ms = a->retry_ms ? a->retry_ms * 2 : RETRY_MS;
	if (a->retry_ms > RETRY_MAX_MS)
		a->retry_ms = RETRY_MAX_MS;
	log_warnx("reconcile failed: %s; retrying in %llds", err,
		  (long long)a->retry_ms / 1000);
	a->retry_at = loop_now_ms() + a->retry_ms;
}

static void dump_state(struct agent *a)
{
	int64_t now = clock_now(), mono = loop_now_ms();
	char addrs[1024], buf[KVF_ADDRSTRLEN];
	size_t i, j, l;

	log_info("state: %zu hosts, %zu set elements, %llu reconciles, %llu resolve failures",
		 a->e.eps.n, held_total(a), (unsigned long long)a->sum.reconciles,
		 (unsigned long long)a->sum.resolve_failures);
	dnsproxy_log_stats(a->px);
	for (i = 0; i < a->e.eps.n; i++) {
		const struct host_state *h = &a->e.hs[i];

		addrs[0] = '\0';
		for (j = 0, l = 0; j < h->n_addrs && l < sizeof(addrs) - 50; j++)
			l += (size_t)snprintf(addrs + l, sizeof(addrs) - l, "%s%s%s", j ? "," : "",
					      addr_format(&h->addrs[j].addr, buf, sizeof(buf)),
					      h->addrs[j].current ? "" : "(grace)");
		log_info("host=%s ttl=%u age=%llds next=%llds a=%s aaaa=%s failures=%u addresses=%s",
			 a->e.eps.v[i].name, h->ttl,
			 (long long)(h->last_answer ? now - h->last_answer : -1),
			 (long long)(in_flight(&a->hosts[i]) ? 0 :
				     (loop_timer_when(a->hosts[i].due) - mono) / 1000),
			 resolve_status_name(h->last4), resolve_status_name(h->last6),
			 h->failures, addrs[0] ? addrs : "none");
	}
}

static void alloc_hosts(struct agent *a)
{
	/* Everything is due at start, asked in the order of the hosts: due
	 * times just before now (the clock counts from boot, and may read
	 * less than the number of hosts in ms). */
	int64_t base = loop_now_ms() - (int64_t)a->e.eps.n;
	size_t i;

	a->n_hosts = a->e.eps.n;
	a->hosts = xcalloc(a->n_hosts ? a->n_hosts : 1, sizeof(*a->hosts));
	for (i = 0; i < a->n_hosts; i++) {
		a->hosts[i].a = a;
		a->hosts[i].i = i;
		/* sync asks every host once, all at start (ask_all): no
		 * timer of its own, and in flight from the start. */
		if (a->once)
			continue;
		a->hosts[i].due = loop_timer_new(a->loop, on_host_due, &a->hosts[i]);
		loop_timer_set(a->hosts[i].due, base + (int64_t)i);
	}
	/* A walk at the next turn finds the first to expire; sync has no
	 * grace to keep: every host's answer decides. */
	if (!a->once)
		set_expiry_at(a, 0);
}

/* sync: every host waits for the resolver now, in order, as their
 * timers would have put them at the first turn of the loop; 10k timers
 * made, run and freed for one pass were a tenth of sync's own work. */
static void ask_all(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->n_hosts; i++)
		wait_for_resolver(a, &a->hosts[i]);
	feed_resolver(a);
	kick(a->t_resolver);
}

static void free_hosts(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->n_hosts; i++)
		loop_timer_free(a->hosts[i].due);
	free(a->hosts);
	a->hosts = NULL;
	a->n_hosts = 0;
	a->wait_head = a->wait_tail = NULL;
	a->n_waiting = 0;
}

static int new_resolver(struct agent *a, const struct config *cfg, struct resolver **out)
{
	char err[KVF_ERRLEN];

	if (resolver_new(out, cfg, err, sizeof(err)) < 0) {
		log_warnx("resolver: %s", err);
		return -1;
	}
	resolver_set_fd_hook(*out, resolver_fd_changed, a);
	return 0;
}

/* A reload renumbered the hosts: a query in flight keeps its host if the
 * new config still has it (a storm of reloads must not keep restarting
 * it), and is forgotten if not. */
static size_t remap_host(void *arg, const char *name, size_t old_idx)
{
	struct agent *a = arg;
	long i = catalogue_find(&a->e.eps, name);

	(void)old_idx;
	if (i < 0)
		return RESOLVER_DROP;
	loop_timer_cancel(a->hosts[i].due);
	return (size_t)i;
}

/* New name servers (resolv.conf rewritten): every host is asked again
 * now, the failing ones rather than at their back-off, the others because
 * the new servers may answer otherwise (a private DNS zone). A rewrite
 * with the same servers (a DHCP renewal) changes nothing. */
static void resolve_after_server_change(struct agent *a, int64_t now)
{
	unsigned gen = resolver_generation(a->res);
	size_t i;

	if (gen == a->res_generation)
		return;
	a->res_generation = gen;
	/* The proxy forwards to the same servers (a resolv.conf naming the
	 * proxy itself is refused there, and the running one kept). */
	if (a->cfg.resolver_system) {
		dnsproxy_reload(&a->px, &a->cfg, &a->e, a->loop, on_proxy_fd, a);
		kick(a->t_proxy);
	}
	for (i = 0; i < a->e.eps.n; i++)
		if (!in_flight(&a->hosts[i]))
			loop_timer_set(a->hosts[i].due, now);
}

/* c-ares's timeouts, and the servers it follows in resolv.conf. */
static void on_resolver_timer(void *arg)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();
	int ms;

	resolve_after_server_change(a, now);
	resolver_process_timeout(a->res);
	feed_resolver(a);
	ms = resolver_timeout_ms(a->res);
	loop_timer_set(a->t_resolver, ms >= 0 ? now + ms : NEVER);
	kick_batch(a);
}

static void drop_resolver(struct agent *a)
{
	a->discard_answers = true;
	resolver_free(a->res);
	a->discard_answers = false;
	a->res = NULL;
}

/* Range mode: a good load replaces the ranges; a bad one (a file being
 * replaced, a broken download) keeps the previous ones. */
static void load_tags(struct agent *a)
{
	struct servicetags nt;
	char err[KVF_ERRLEN];

	if (a->cfg.n_tagsets == 0)
		return;
	if (servicetags_load(&a->cfg, &nt, err, sizeof(err)) < 0) {
		if (a->once) {
			log_warnx("%s; the range sets are left as they are", err);
			a->tags_bad = true;
		} else {
			log_msg(LOG_ERR, "%s; keeping the %s ranges", err,
				a->e.tags ? "previous" : "kernel's");
		}
		return;
	}
	servicetags_free(&a->tags);
	a->tags = nt;
	a->e.tags = &a->tags;
	if (!a->once)
		log_info("service tags: %zu tags, %zu IPv4 and %zu IPv6 ranges", nt.n_tags,
			 nt.v4.n, nt.v6.n);
	a->dirty = true;
	a->dirty_at = 0;
	kick_batch(a);
}

/* A new weekly file dropped in place is noticed when it is complete:
 * closed after writing, or moved in. */
static void watch_tags(struct agent *a)
{
	size_t i;

	if (a->ifd >= 0) {
		loop_del_fd(a->loop, a->ifd);
		close(a->ifd);
		a->ifd = -1;
	}
	free(a->tag_wd);
	a->tag_wd = NULL;
	if (a->cfg.n_tagsets == 0)
		return;
	a->tag_wd = xcalloc(a->cfg.n_tagsets, sizeof(*a->tag_wd));
	a->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->ifd < 0 || loop_add_fd(a->loop, a->ifd, EPOLLIN, on_tags_changed, a) < 0) {
		log_warn("inotify: service-tags files are read at reload only");
		return;
	}
	for (i = 0; i < a->cfg.n_tagsets; i++) {
		char *dir = xstrdup(a->cfg.tagsets[i].file);

		a->tag_wd[i] = inotify_add_watch(a->ifd, dirname(dir), IN_CLOSE_WRITE |
						 IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM);
		if (a->tag_wd[i] < 0)
			log_warn("inotify: %s", dir);
		free(dir);
	}
}

/* Whether an event in a watched directory concerns a Service Tags file:
 * the directory is shared (the documented layout keeps the files beside
 * the state file, written every few seconds), and an idle agent must not
 * re-read the files for a neighbour's writes. */
static bool tags_event_relevant(const struct agent *a, const struct inotify_event *ev)
{
	size_t i;

	if (ev->mask & IN_Q_OVERFLOW)
		return true;	/* events were lost: cannot tell */
	if (ev->len == 0)
		return false;
	for (i = 0; i < a->cfg.n_tagsets; i++) {
		const char *pattern = strrchr(a->cfg.tagsets[i].file, '/');

		if (a->tag_wd[i] == ev->wd && pattern &&
		    fnmatch(pattern + 1, ev->name, FNM_PERIOD) == 0)
			return true;
	}
	return false;
}

static void on_tags_changed(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool relevant = false;
	ssize_t n;
	char *p;

	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			relevant = relevant || tags_event_relevant(a, ev);
		}
	if (relevant)
		load_tags(a);
}

/* The sets the monitor watches. The range sets are ours too: a flushed
 * one comes back at once. */
/* Every set the engine keeps, host and range sets alike: a flushed one
 * comes back at once. */
static size_t our_sets(const struct agent *a, struct setref refs[ENGINE_MAX_SETS])
{
	size_t i;

	for (i = 0; i < a->e.n_sets; i++)
		refs[i] = a->e.sets[i].ref;
	return a->e.n_sets;
}

/* Changes to other tables stay in the kernel (before the sets are read). */
static void watch_sets(struct agent *a)
{
	struct setref refs[ENGINE_MAX_SETS];
	int r;

	if (!a->mon)
		return;
	r = monitor_watch(a->mon, refs, our_sets(a, refs));
	if (r < 0)
		log_warnx("monitor: socket filter: %s; every nftables change wakes kvfence up",
			  strerror(-r));
}

/* The hosts waiting for the resolver, by their index in the new
 * engine ne (those it still has), in their order. */
static size_t *waiting_in(const struct agent *a, const struct engine *ne, size_t *n)
{
	size_t *v = xcalloc(a->n_waiting + 1, sizeof(*v));
	const struct host_rec *hr;
	long i;

	*n = 0;
	for (hr = a->wait_head; hr; hr = hr->wait_next)
		if ((i = catalogue_find(&ne->eps, a->e.eps.v[hr->i].name)) >= 0)
			v[(*n)++] = (size_t)i;
	return v;
}

/* After a reload, the hosts that were waiting wait again first, in their
 * order, as queries in flight keep theirs (remap_host): a storm of
 * reloads must not send the hosts asked last to the back every time. */
static void wait_again(struct agent *a, const size_t *idx, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		loop_timer_cancel(a->hosts[idx[k]].due);
		wait_for_resolver(a, &a->hosts[idx[k]]);
	}
}

/* SIGHUP: a valid new config replaces the old; hosts both know keep what
 * they hold; dropped hosts' elements are removed; every host is resolved
 * again now. An invalid one changes nothing. */
static void reload(struct agent *a)
{
	struct config ncfg;
	struct engine ne;
	char err[KVF_ERRLEN];
	size_t *waiting, n_waiting;
	if (config_parse_file(a->conf_path, &ncfg, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "reload: %s; keeping the running configuration", err);
		return;
	}
	if (resolver_configure(a->res, &ncfg, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "reload: resolver: %s; keeping the running configuration", err);
		config_free(&ncfg);
		return;
	}
	engine_init(&ne, &ncfg, a->nft);
	engine_adopt(&ne, &a->e);
	waiting = waiting_in(a, &ne, &n_waiting);
	engine_fini(&a->e);
	config_free(&a->cfg);
	/* The engine points into the config's strings, which move with it. */
	a->cfg = ncfg;
	ne.cfg = &a->cfg;
	a->e = ne;
	watch_sets(a);
	/* Everything is resolved again, except what is already in flight. */
	free_hosts(a);
	alloc_hosts(a);
	wait_again(a, waiting, n_waiting);
	free(waiting);
	resolver_remap(a->res, remap_host, a);
	servicetags_free(&a->tags);
	load_tags(a);
	watch_tags(a);
	a->need_read = a->dirty = true;
	a->dirty_at = 0;
	kick_batch(a);
	kick(a->t_resolver);
	dnsproxy_reload(&a->px, &a->cfg, &a->e, a->loop, on_proxy_fd, a);
	kick(a->t_proxy);
	log_info("reload: %s: %zu hosts", a->conf_path, a->e.eps.n);
}

/* A flood of stray signals logs one line per signal number a minute,
 * with the number of those it did not log. */
static void log_stray_signal(struct agent *a, const struct signalfd_siginfo *si)
{
	unsigned n = si->ssi_signo < 65 ? si->ssi_signo : 64;
	int64_t now = loop_now_ms();

	if (a->stray_logged[n] && now - a->stray_logged[n] < STRAY_LOG_MS) {
		a->stray_count[n]++;
		return;
	}
	if (a->stray_count[n])
		log_msg(LOG_NOTICE, "signal %u (%s) from pid %u ignored, and %u more since the "
			"last such message", si->ssi_signo, strsignal((int)si->ssi_signo),
			si->ssi_pid, a->stray_count[n]);
	else
		log_msg(LOG_NOTICE, "signal %u (%s) from pid %u ignored", si->ssi_signo,
			strsignal((int)si->ssi_signo), si->ssi_pid);
	a->stray_logged[n] = now;
	a->stray_count[n] = 0;
}

static void on_signal(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting; the sets stay filled", si.ssi_signo);
			notify(a, "STOPPING=1");
			loop_stop(a->loop);
			break;
		case SIGHUP:
			notify(a, "RELOADING=1");
			reload(a);
			if (a->ready)
				notify(a, "READY=1");
			break;
		case SIGUSR1:
			dump_state(a);
			break;
		default:
			log_stray_signal(a, &si);
			break;
		}
	}
}

/* The changes counted while their lines were held back. */
static void flush_foreign_changes(struct agent *a, int64_t now)
{
	log_info("ruleset changed by another process %u more times in the last %llds; the "
		 "sets were re-read and refilled as needed", a->mon_unlogged,
		 (long long)((now - a->mon_logged) / 1000));
	a->mon_logged = now;
	a->mon_unlogged = 0;
	loop_timer_cancel(a->t_changes);
}

static void on_changes_log(void *arg)
{
	struct agent *a = arg;

	if (a->mon_unlogged)
		flush_foreign_changes(a, loop_now_ms());
}

/* A neighbour looping `nft add/delete element` on our sets (fail2ban,
 * a script gone wrong) must not flood the log: one line, then at most
 * one per CHANGE_LOG_MS with the number of changes it stands for. */
static void log_foreign_change(struct agent *a, unsigned ev)
{
	int64_t now = loop_now_ms();

	/* Lost notifications cost a full re-read: always worth a line. */
	if (ev & MON_RESYNC) {
		log_warnx("nftables notifications were lost; re-reading the sets");
		return;
	}
	if (a->mon_logged && now - a->mon_logged < CHANGE_LOG_MS) {
		a->mon_unlogged++;
		loop_timer_set(a->t_changes, a->mon_logged + CHANGE_LOG_MS);
		return;
	}
	if (a->mon_unlogged)
		flush_foreign_changes(a, now);
	a->mon_logged = now;
	log_info("ruleset changed by another process; re-reading and refilling the sets");
}

/* Notifications: a change by another process to our sets (or lost
 * notifications) refills them at once; a neighbour's change in another
 * table costs this read and nothing else. */
static void on_monitor(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;
	struct setref refs[ENGINE_MAX_SETS];
	unsigned ev;

	(void)fd;
	(void)events;
	ev = monitor_read(a->mon, refs, our_sets(a, refs));
	if (!ev)
		return;
	log_foreign_change(a, ev);
	a->foreign_change = true;
	a->need_read = a->dirty = true;
	a->dirty_at = 0;	/* refill at once, not after COALESCE_MS */
	a->blocked = false;
	/* Perhaps the administrator fixed what failed: try now, and keep the
	 * backoff for a failure that persists. */
	a->retry_at = NEVER;
	kick_batch(a);
}

/* Proxied answers changed the state: write it; answers held for their
 * addresses: write it now, not after COALESCE_MS. */
static void note_proxy(struct agent *a, int64_t now)
{
	unsigned st = dnsproxy_take_state(a->px);

	if (st & DNSPROXY_CHANGED) {
		set_expiry_at(a, 0);	/* which hosts changed is the proxy's */
		if (!a->dirty)
			a->dirty_at = now;
		a->dirty = true;
		mark_state_dirty(a);
	}
	if (st & DNSPROXY_WAITING) {
		a->dirty = true;
		a->dirty_at = 0;
		a->proxy_batch = true;
	}
	kick_batch(a);
}

/* The proxy's time-driven work (upstream timeouts, answers held too
 * long, idle connections), and what it asks of the agent. */
static void on_proxy_timer(void *arg)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();

	dnsproxy_tick(a->px, now);
	note_proxy(a, now);
	loop_timer_set(a->t_proxy, dnsproxy_deadline(a->px, now));
}

static void on_proxy_fd(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;

	dnsproxy_handle_fd(a->px, fd, events);
	note_proxy(a, loop_now_ms());
	kick(a->t_proxy);
}

/* The batch: after COALESCE_MS of answers, or at once when the re-read
 * is due, nothing more is pending, or an answer added an address (then
 * spaced by urgent_gap); after a failure at retry_at. */
static void on_batch(void *arg)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();

	if (a->once) {
		/* sync: one reconcile, when every host has answered (nothing
		 * pending is not enough: a host not asked yet is not pending). */
		if (a->once_answered >= a->n_hosts && pending(a) == 0)
			finish_once(a);
		return;
	}
	if (!a->dirty || a->blocked)
		return;
	if (a->retry_at != NEVER && now < a->retry_at) {
		loop_timer_set(a->t_batch, a->retry_at);
		return;
	}
	if (a->need_read || now >= a->dirty_at + COALESCE_MS || pending(a) == 0 ||
	    (a->urgent && now >= a->written_at + a->urgent_gap))
		reconcile(a);
	if (!a->dirty || a->blocked)
		return;
	loop_timer_set(a->t_batch, a->retry_at != NEVER ? a->retry_at : a->urgent ?
		       a->written_at + a->urgent_gap : a->dirty_at + COALESCE_MS);
}

/* The safety net: a full re-read every refresh-max. */
static void on_full_read(void *arg)
{
	struct agent *a = arg;

	a->need_read = a->dirty = true;
	a->dirty_at = 0;
	a->blocked = false;
	a->full_at = loop_now_ms() + (int64_t)a->cfg.refresh_max * 1000;
	loop_timer_set(a->t_full, a->full_at);
	kick_batch(a);
}

static void on_ready_wait(void *arg)
{
	struct agent *a = arg;

	if (a->ready)
		return;
	log_warnx("first start: %zu of %zu hosts still unanswered after %d s; reporting "
		  "ready with what the sets hold", unanswered(a), a->e.eps.n,
		  READY_WAIT_MS / 1000);
	send_ready(a);
}

static void on_watchdog(void *arg)
{
	struct agent *a = arg;

	notify(a, "WATCHDOG=1");
	loop_timer_set(a->t_watchdog, loop_now_ms() + a->watchdog_ms / 2);
}

/* `kvfence status` probes the lock with a shared lock held for a moment:
 * an agent starting just then must not take that for a second agent. */
static int lock_wait(int fd)
{
	int i;

	for (i = 0; i < LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			break;
		usleep(LOCK_TRY_US);
	}
	return -1;
}

int agent_lock_held(const char *state_file)
{
	char *path = xasprintf("%s.lock", state_file);
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Shared and released at once: only an agent's exclusive lock makes
	 * it fail. A process killed with -9 loses its lock with its fd. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		r = 0;
	else
		r = errno == EWOULDBLOCK ? 1 : -errno;
	close(fd);
	return r;
}

/* Two agents writing the same sets would undo each other's work: the
 * second one refuses, naming the first. */
static int take_lock(struct agent *a)
{
	char *path = xasprintf("%s.lock", a->cfg.state_file);
	char pid[32] = "";
	ssize_t n;
	int r;

	/* kvfence.conf(5): the state directory is private (the unit's
	 * StateDirectoryMode=0700); every missing level is created. */
	r = mkdir_parents(path, 0700);
	if (r < 0) {
		errno = -r;
		log_warn("state directory for %s", path);
		free(path);
		return KVF_EX_CANTCREAT;
	}
	a->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (a->lockfd < 0) {
		log_warn("lock file %s", path);
		free(path);
		return KVF_EX_CANTCREAT;
	}
	if (lock_wait(a->lockfd) < 0) {
		n = pread(a->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_msg(LOG_ERR, "another kvfence agent (pid %s) holds %s: refusing to run a second "
			"one on the same state", pid[0] ? pid : "?", path);
		free(path);
		return KVF_EX_TEMPFAIL;
	}
	if (ftruncate(a->lockfd, 0) == 0) {
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (pwrite(a->lockfd, pid, (size_t)n, 0) < 0)
			log_warn("lock file %s", path);
	}
	free(path);
	return 0;
}

/* The write-ahead of the record (engine.persist). */
static void persist_record(void *arg)
{
	struct agent *a = arg;

	/* sync has no later write to make it durable: now. Saved whole, the
	 * record needs no second write after the batch unless the commit
	 * changes it (it removed something): a cold sync writes once. */
	save_state(a, a->once, a->once);
	if (a->once && !a->state_dirty)
		a->e.record_changed = false;
}

/* A state file that exists but cannot be used is kept for the
 * administrator, never overwritten: moved aside, and the agent starts as
 * on a first start (nothing in the kernel counts as its own). */
static int set_aside(struct agent *a, const char *why)
{
	char bad[PATH_MAX];
	int r;

	r = state_set_aside(a->cfg.state_file, time(NULL), bad, sizeof(bad));
	if (r < 0) {
		log_msg(LOG_ERR, "state file unusable: %s; cannot move it aside (%s): refusing "
			"to start rather than overwrite it", why, strerror(-r));
		return KVF_EX_CANTCREAT;
	}
	log_msg(LOG_ERR, "state file unusable: %s; kept as %s; starting without it (no warm "
		"start; elements already in the sets are left alone)", why, bad);
	return 0;
}

static int load_state(struct agent *a)
{
	struct state_loaded sl;
	char err[KVF_ERRLEN];
	int r;

	r = state_load(a->cfg.state_file, &a->e.eps, a->e.hs, state_clock_now(), a->cfg.grace,
		       &sl, err, sizeof(err));
	if (r == -ENOENT) {
		log_info("no state file %s: a first start", a->cfg.state_file);
		return 0;
	}
	if (r < 0)
		return set_aside(a, err);
	if (sl.clock_note[0])
		log_warnx("state file %s: %s; its ages are taken as they were when it was "
			  "written", a->cfg.state_file, sl.clock_note);
	if (sl.has_record)
		engine_load_record(&a->e, &sl.record);
	else
		engine_record_from_hosts(&a->e);
	state_loaded_free(&sl);
	log_info("state file %s: warm start", a->cfg.state_file);
	return 0;
}

/* Every signal whose default action ends the process comes through the
 * signalfd: a stray SIGUSR2 or SIGALRM (a wrong `kill`, a monitoring
 * script) must not end the agent silently, without its state save. Faults
 * (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS) and SIGQUIT keep their core dump;
 * SIGPIPE is ignored, since logging it could raise it again. */
static void signal_mask(sigset_t *mask)
{
	static const int sigs[] = {
		SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
		SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ,
	};
	size_t i;
	int sig;

	sigemptyset(mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(mask, sigs[i]);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(mask, sig);
}

/* The loop and the agent's own timers: the first thing made, the last
 * thing freed. */
static int open_loop(struct agent *a)
{
	int r = loop_new(&a->loop);

	if (r < 0) {
		errno = -r;
		log_warn("epoll or timerfd");
		return -1;
	}
	a->t_resolver = loop_timer_new(a->loop, on_resolver_timer, a);
	a->t_batch = loop_timer_new(a->loop, on_batch, a);
	a->t_expiry = loop_timer_new(a->loop, on_expiry, a);
	a->t_full = loop_timer_new(a->loop, on_full_read, a);
	a->t_state = loop_timer_new(a->loop, on_state_save, a);
	a->t_outputs = loop_timer_new(a->loop, on_outputs, a);
	a->t_changes = loop_timer_new(a->loop, on_changes_log, a);
	a->t_ready = loop_timer_new(a->loop, on_ready_wait, a);
	a->t_watchdog = loop_timer_new(a->loop, on_watchdog, a);
	a->t_proxy = loop_timer_new(a->loop, on_proxy_timer, a);
	return 0;
}

static int open_fds(struct agent *a)
{
	sigset_t mask;

	signal_mask(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sfd < 0) {
		log_warn("signalfd");
		return -1;
	}
	if (loop_add_fd(a->loop, a->sfd, EPOLLIN, on_signal, a) < 0 ||
	    loop_add_fd(a->loop, monitor_fd(a->mon), EPOLLIN, on_monitor, a) < 0) {
		log_warn("epoll_ctl");
		return -1;
	}
	return 0;
}

static void setup_watchdog(struct agent *a)
{
	uint64_t usec = sdnotify_watchdog_usec();

	if (usec > 0) {
		a->watchdog_ms = (int64_t)(usec / 1000);
		if (a->watchdog_ms < 2)
			a->watchdog_ms = 2;	/* pinged every half period */
		kick(a->t_watchdog);
	}
}

static int open_kernel(struct agent *a)
{
	char err[KVF_ERRLEN];
	int r;

	r = nlsock_open(&a->nft);
	if (r == 0)
		r = monitor_open(&a->mon);
	if (r == 0)
		monitor_ignore_portid(a->mon, nlsock_portid(a->nft));
	if (r < 0) {
		log_msg(LOG_ERR, "netlink: %s", strerror(-r));
		if (r == -EPERM || r == -EACCES) {
			log_msg(LOG_ERR, "kvfence needs CAP_NET_ADMIN");
			return KVF_EX_NOPERM;
		}
		return KVF_EX_OSERR;
	}
	engine_init(&a->e, &a->cfg, a->nft);
	watch_sets(a);
	a->e.persist = persist_record;
	a->e.persist_arg = a;
	r = load_state(a);
	if (r)
		return r;
	/* What the kernel holds of ours stays until answers say otherwise:
	 * seen long ago, so that any definite answer replaces it. */
	r = engine_read_kernel(&a->e, clock_now() - KVF_LONG_AGO, err, sizeof(err));
	if (r == -EPROTOTYPE) {
		log_msg(LOG_ERR, "%s; not writing that set until it is fixed", err);
		a->broken_logged = true;
		r = 0;
	}
	/* create-sets no before the rules are loaded (nftables.service
	 * ordered after us): wait for them, as at any later time. The first
	 * reconcile reads again and says that it waits. */
	if (r == -ENOENT && !a->cfg.create_sets) {
		a->need_read = true;
		r = 0;
	}
	if (r < 0) {
		log_msg(LOG_ERR, "%s", err);
		if (r == -EPERM || r == -EACCES) {
			log_msg(LOG_ERR, "kvfence needs CAP_NET_ADMIN");
			return KVF_EX_NOPERM;
		}
		return KVF_EX_UNAVAILABLE;
	}
	/* The same filter and cap as an answer, whatever the source. */
	engine_filter_held(&a->e);
	return 0;
}

static int start(struct agent *a)
{
	int r;

	if (open_loop(a) < 0)
		return KVF_EX_OSERR;
	r = take_lock(a);
	if (r == 0)
		r = open_kernel(a);
	if (r)
		return r;
	alloc_hosts(a);
	if (new_resolver(a, &a->cfg, &a->res) < 0)
		return KVF_EX_UNAVAILABLE;
	if (open_fds(a) < 0)
		return KVF_EX_OSERR;
	resolver_watch_resolv_conf(a->res, true);
	a->res_generation = resolver_generation(a->res);
	r = dnsproxy_open(&a->px, &a->cfg, &a->e, a->loop, on_proxy_fd, a);
	if (r < 0)	/* ELOOP: resolv.conf names the proxy itself */
		return r == -EACCES || r == -EPERM ? KVF_EX_NOPERM :
		       r == -ELOOP ? KVF_EX_CONFIG : KVF_EX_UNAVAILABLE;
	setup_watchdog(a);
	load_tags(a);
	watch_tags(a);
	a->sum.started = time(NULL);
	a->retry_at = NEVER;
	a->full_at = loop_now_ms() + (int64_t)a->cfg.refresh_max * 1000;
	loop_timer_set(a->t_full, a->full_at);
	kick(a->t_proxy);
	/* Warm start: fill the sets from the state file before any answer,
	 * less what max-stale already condemns. */
	expire(a);
	a->dirty = true;
	reconcile(a);
	kick_batch(a);
	log_info("running: %zu hosts, sets %s %s, %zu elements held", a->e.eps.n,
		 a->cfg.set4 ? a->cfg.set4 : "-", a->cfg.set6 ? a->cfg.set6 : "-", held_total(a));
	a->started = true;
	/* Filled from the state file or the kernel: ready now. A first
	 * start waits for the first answers, bounded well under the unit's
	 * TimeoutStartSec; DNS down then means ready with empty sets. */
	if (held_total(a) || a->e.eps.n == 0) {
		send_ready(a);
	} else {
		a->ready_by = loop_now_ms() + READY_WAIT_MS;
		loop_timer_set(a->t_ready, a->ready_by);
	}
	return 0;
}

static void stop(struct agent *a)
{
	dnsproxy_close(a->px);
	if (a->res)
		drop_resolver(a);
	/* Only an agent that loaded the state may overwrite it. */
	if (a->started) {
		save_state(a, true, true);
		write_outputs(a);
	}
	engine_fini(&a->e);
	free_hosts(a);
	if (a->mon)
		monitor_close(a->mon);
	if (a->nft)
		nlsock_close(a->nft);
	if (a->sfd >= 0)
		close(a->sfd);
	if (a->lockfd >= 0)
		close(a->lockfd);
	if (a->ifd >= 0)
		close(a->ifd);
	servicetags_free(&a->tags);
	free(a->tag_wd);
	config_free(&a->cfg);
	loop_free(a->loop);	/* and the agent's timers */
}

int agent_run(const char *conf_path, bool foreground, int verbose)
{
	struct agent a = { .conf_path = conf_path, .sfd = -1, .lockfd = -1, .ifd = -1 };
	char err[KVF_ERRLEN];
	int r;

	log_init(foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, verbose);
	if (config_parse_file(conf_path, &a.cfg, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return KVF_EX_CONFIG;
	}
	if (getrandom(&a.rng, sizeof(a.rng), GRND_NONBLOCK) != sizeof(a.rng) || a.rng == 0)
		a.rng = (uint32_t)getpid() | 1;
	r = start(&a);
	if (r == 0)
		loop_run(a.loop);
	stop(&a);
	return r;
}

/* ---- `kvfence sync`: one pass of the agent ------------------------------ */

int agent_nft_exit(int r)
{
	return r == -EPERM || r == -EACCES ? KVF_EX_NOPERM : KVF_EX_UNAVAILABLE;
}

/* sync says what failed at each answer: it has no later outage report. */
static void on_answer_once(struct agent *a, size_t i, const struct host_result *res)
{
	const char *host = a->e.eps.v[i].name;

	a->once_answered++;
	if (!resolve_status_definite(res->status4) || !resolve_status_definite(res->status6))
		a->once_failed++;
	if (!resolve_status_definite(res->status4))
		log_warnx("host %s: A query failed: %s; keeping its addresses", host,
			  resolve_status_name(res->status4));
	if (!resolve_status_definite(res->status6))
		log_warnx("host %s: AAAA query failed: %s; keeping its addresses", host,
			  resolve_status_name(res->status6));
	if (res->status4 == RES_NXDOMAIN)
		log_warnx("host %s: does not exist (NXDOMAIN)", host);
	engine_apply_result(&a->e, i, res, a->once_now);
	a->dirty = true;
	/* The batch waits for the last host (on_batch); a resolver turn
	 * kicks it too (on_resolver_fd), for what ends without an answer. */
	if (a->once_answered >= a->n_hosts)
		kick_batch(a);
}

/* Every host answered (or failed): one reconcile, unless no host could
 * be resolved at all (fail-static: nothing is written then). */
static void finish_once(struct agent *a)
{
	struct reconcile_stats st;
	char err[KVF_ERRLEN];
	int r;

	loop_stop(a->loop);
	if (a->e.eps.n && a->once_failed == a->e.eps.n && !a->e.tags) {
		log_warnx("sync: no host could be resolved; the sets are left as they are");
		a->once_exit = KVF_EX_UNAVAILABLE;
		return;
	}
	r = engine_reconcile(&a->e, a->dry_run, &st, err, sizeof(err));
	if (r < 0) {
		log_warnx("%s", err);
		a->once_exit = agent_nft_exit(r);
		return;
	}
	/* Saved when the record changed: what sync added was saved before
	 * the batch; what it removed leaves the record now. */
	if (!a->dry_run && a->e.record_changed)
		save_state(a, true, true);
	log_info("sync: hosts=%zu failed=%zu netlink-messages=%zu%s", a->e.eps.n, a->once_failed,
		 a->dry_run ? 0 : st.messages, a->dry_run ? " (dry run)" : "");
	if (a->once_failed)
		a->once_exit = KVF_EX_UNAVAILABLE;
	if (a->tags_bad && a->once_exit == KVF_EX_OK)
		a->once_exit = KVF_EX_DATAERR;
}

/* sync writes the state file's record of what it wrote, so it takes the
 * agent's lock (one writer per state file), without waiting for it. */
static int lock_once(struct agent *a)
{
	char *path = xasprintf("%s.lock", a->cfg.state_file), *dir = xstrdup(path);
	int ex = 0;

	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		log_warn("mkdir for %s", path);
	free(dir);
	a->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (a->lockfd < 0) {
		log_warn("lock file %s (sync records what it writes in the state file)", path);
		ex = KVF_EX_CANTCREAT;
	} else if (flock(a->lockfd, LOCK_EX | LOCK_NB) < 0) {
		log_warnx("an agent runs on %s and keeps the sets itself: sync refused",
			  a->cfg.state_file);
		ex = KVF_EX_TEMPFAIL;
	}
	free(path);
	return ex;
}

/* Only the record of the state file: sync does not warm-start (it takes
 * every host's answer as it comes, with no grace). An unusable file is
 * moved aside (not in a dry run, which changes nothing). */
static void load_record_once(struct agent *a)
{
	const char *file = a->cfg.state_file;
	struct engine *e = &a->e;
	struct state_loaded sl;
	char err[KVF_ERRLEN], bad[PATH_MAX];
	size_t i;
	int r;

	r = state_load(file, &e->eps, NULL, state_clock_now(), a->cfg.grace, &sl, err,
		       sizeof(err));
	if (r == 0 && !sl.has_record) {
		/* A first-format file: its hosts' addresses are the record. */
		state_loaded_free(&sl);
		r = state_load(file, &e->eps, e->hs, state_clock_now(), a->cfg.grace, &sl, err,
			       sizeof(err));
	}
	if (r == 0 && sl.has_record)
		engine_load_record(e, &sl.record);
	else if (r == 0)
		engine_record_from_hosts(e);
	else if (r != -ENOENT && a->dry_run)
		log_warnx("state file unusable: %s; nothing counts as kvfence's", err);
	else if (r != -ENOENT && state_set_aside(file, time(NULL), bad, sizeof(bad)) == 0)
		log_warnx("state file unusable: %s; kept as %s", err, bad);
	else if (r != -ENOENT)
		log_warnx("state file unusable: %s; it will be replaced", err);
	if (r == 0)
		state_loaded_free(&sl);
	for (i = 0; i < e->eps.n; i++)
		host_state_free(&e->hs[i]);
}

static int start_once(struct agent *a)
{
	char err[KVF_ERRLEN];
	int r;

	a->once_now = clock_now();
	if (open_loop(a) < 0)
		return KVF_EX_OSERR;
	r = nlsock_open(&a->nft);
	if (r < 0) {
		log_warnx("netlink: %s", strerror(-r));
		return agent_nft_exit(r);
	}
	if (!a->dry_run && (r = lock_once(a)) != 0)
		return r;
	engine_init(&a->e, &a->cfg, a->nft);
	a->e.log_unchanged = true;
	if (!a->dry_run) {
		a->e.persist = persist_record;
		a->e.persist_arg = a;
	}
	load_record_once(a);
	load_tags(a);
	/* Kernel elements count as seen long ago: kept while DNS fails,
	 * replaced by any definite answer. */
	r = engine_read_kernel(&a->e, a->once_now - KVF_LONG_AGO, err, sizeof(err));
	if (r == -EPROTOTYPE) {
		/* That set is left alone; the others are still written. */
		log_warnx("%s; that set is left as it is", err);
		a->once_exit = KVF_EX_UNAVAILABLE;
	} else if (r < 0) {
		log_warnx("%s", err);
		return agent_nft_exit(r);
	}
	engine_filter_held(&a->e);
	if (new_resolver(a, &a->cfg, &a->res) < 0)
		return KVF_EX_UNAVAILABLE;
	/* The servers as they are now: not a change to follow (that would
	 * open the DNS proxy, which is the agent's, not sync's). */
	a->res_generation = resolver_generation(a->res);
	alloc_hosts(a);
	ask_all(a);
	a->dirty = true;	/* with no hosts, the reconcile is due at once */
	kick_batch(a);
	return 0;
}

int agent_sync(struct config *cfg, bool dry_run)
{
	struct agent a = { .sfd = -1, .lockfd = -1, .ifd = -1, .once = true,
			   .dry_run = dry_run, .cfg = *cfg };
	int r;

	r = start_once(&a);
	if (r == 0) {
		loop_run(a.loop);
		r = a.once_exit;
	}
	stop(&a);
	return r;
}
