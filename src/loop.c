/* kvfence: one epoll set, one timerfd, a heap of timers. */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define LOOP_EVENTS	64	/* per epoll_wait */

struct fd_handler {
	loop_fd_cb cb;		/* NULL: not watched */
	void *arg;
	uint32_t gen;		/* of this registration, in its epoll events */
};

struct loop_timer {
	struct loop *l;
	size_t id;		/* index into the loop's when[] and timers[] */
	loop_timer_cb cb;
	void *arg;
	unsigned turn;		/* the turn of the loop it was set in */
};

struct loop {
	int ep, tfd;
	bool running;
	struct fd_handler *fds;	/* by descriptor number */
	size_t cap_fds;
	int64_t *when;		/* by timer id; LOOP_NEVER: disarmed */
	struct loop_timer **timers;	/* by timer id; NULL: a free id */
	size_t n_timers, cap_timers;
	size_t *free_ids;	/* ids of freed timers, for reuse */
	size_t n_free, cap_free;
	struct heap q;		/* the armed timers, by when */
	int64_t armed;		/* what the timerfd is set to */
	unsigned turn;		/* counts the timer passes of loop_run */
	uint32_t gen;		/* the last registration's; 0: the timerfd */
};

int64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int loop_new(struct loop **out)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	l->armed = LOOP_NEVER;
	l->turn = 1;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = l->tfd;
	if (l->ep < 0 || l->tfd < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev) < 0) {
		r = -errno;
		loop_free(l);
		*out = NULL;
		return r;
	}
	heap_init(&l->q, l->when, 0, LOOP_NEVER);
	*out = l;
	return 0;
}

void loop_free(struct loop *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n_timers; i++)
		free(l->timers[i]);
	if (l->ep >= 0)
		close(l->ep);
	if (l->tfd >= 0)
		close(l->tfd);
	heap_free(&l->q);
	free(l->fds);
	free(l->when);
	free(l->timers);
	free(l->free_ids);
	free(l);
}

/* Each registration tags its events with a generation: when a callback
 * closes a descriptor and a later one in the same epoll batch gets the
 * same number for a new one, the old descriptor's events left in the
 * batch are not handed to the new one's callback. */
static int fd_ctl(struct loop *l, int op, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	size_t cap = l->cap_fds;
	uint32_t gen;

	if (fd < 0)
		return -EBADF;
	if (op == EPOLL_CTL_MOD && (size_t)fd < l->cap_fds && l->fds[fd].cb)
		gen = l->fds[fd].gen;
	else if (++l->gen == 0)
		gen = ++l->gen;
	else
		gen = l->gen;
	ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
	if (epoll_ctl(l->ep, op, fd, &ev) < 0)
		return -errno;
	array_reserve(&l->fds, &l->cap_fds, (size_t)fd + 1, sizeof(*l->fds));
	memset(l->fds + cap, 0, (l->cap_fds - cap) * sizeof(*l->fds));
	l->fds[fd] = (struct fd_handler){ cb, arg, gen };
	return 0;
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	return fd_ctl(l, EPOLL_CTL_ADD, fd, events, cb, arg);
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	int r = fd_ctl(l, EPOLL_CTL_MOD, fd, events, cb, arg);

	return r == -ENOENT ? loop_add_fd(l, fd, events, cb, arg) : r;
}

void loop_del_fd(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->cap_fds || !l->fds[fd].cb)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].cb = NULL;
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->l = l;
	t->cb = cb;
	t->arg = arg;
	if (l->n_free) {
		t->id = l->free_ids[--l->n_free];
	} else {
		size_t cap = l->cap_timers;

		t->id = l->n_timers++;
		array_reserve(&l->timers, &l->cap_timers, l->n_timers, sizeof(*l->timers));
		/* when[] grows with timers[], and the heap follows it. */
		if (cap != l->cap_timers)
			l->when = xreallocarray(l->when, l->cap_timers, sizeof(*l->when));
		heap_grow(&l->q, l->when, l->cap_timers);
	}
	l->timers[t->id] = t;
	l->when[t->id] = LOOP_NEVER;
	return t;
}

void loop_timer_free(struct loop_timer *t)
{
	struct loop *l;

	if (!t)
		return;
	l = t->l;
	loop_timer_cancel(t);
	l->timers[t->id] = NULL;
	array_reserve(&l->free_ids, &l->cap_free, l->n_free + 1, sizeof(*l->free_ids));
	l->free_ids[l->n_free++] = t->id;
	free(t);
}

void loop_timer_set(struct loop_timer *t, int64_t when_ms)
{
	struct loop *l = t->l;

	if (l->when[t->id] == when_ms)
		return;
	l->when[t->id] = when_ms;
	t->turn = l->turn;
	heap_update(&l->q, t->id);
}

void loop_timer_cancel(struct loop_timer *t)
{
	loop_timer_set(t, LOOP_NEVER);
}

int64_t loop_timer_when(const struct loop_timer *t)
{
	return t->l->when[t->id];
}

void loop_stop(struct loop *l)
{
	l->running = false;
}

/* The timers due by now, earliest first; not those set during this pass
 * (a callback that sets itself for now again waits for the next turn,
 * after the descriptors). */
static void run_timers(struct loop *l, int64_t now)
{
	size_t i;

	l->turn++;
	while (l->running && (i = heap_top(&l->q)) != HEAP_NONE && l->when[i] <= now) {
		struct loop_timer *t = l->timers[i];

		if (t->turn == l->turn)
			break;
		loop_timer_cancel(t);
		t->cb(t->arg);
	}
}

/* How long epoll_wait may block: 0 when a timer is due already, else
 * until the timerfd fires for the earliest one. */
static int arm(struct loop *l, int64_t now)
{
	size_t i = heap_top(&l->q);
	int64_t next = i == HEAP_NONE ? LOOP_NEVER : l->when[i];
	struct itimerspec its = { 0 };

	if (next <= now)
		return 0;
	if (next == l->armed)
		return -1;
	/* Relative, as the clock read may be shifted (libfaketime in the
	 * tests): both run at the same rate. All zero disarms. */
	if (next != LOOP_NEVER) {
		its.it_value.tv_sec = (next - now) / 1000;
		its.it_value.tv_nsec = ((next - now) % 1000) * 1000000;
	}
	if (timerfd_settime(l->tfd, 0, &its, NULL) < 0)
		fatal("timerfd_settime");
	l->armed = next;
	return -1;
}

static void dispatch(struct loop *l, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	uint64_t expirations;

	if (fd == l->tfd) {
		if (read(l->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
			log_warn("timerfd");
		l->armed = LOOP_NEVER;	/* fired: armed again by the next turn */
		return;
	}
	/* A callback earlier in this batch may have dropped it, or closed it
	 * and registered another under the same number. */
	if ((size_t)fd < l->cap_fds && l->fds[fd].cb && l->fds[fd].gen == gen)
		l->fds[fd].cb(l->fds[fd].arg, fd, ev->events);
}

void loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	int n, i;

	l->running = true;
	while (l->running) {
		int64_t now = loop_now_ms();

		run_timers(l, now);
		if (!l->running)
			break;
		n = epoll_wait(l->ep, evs, LOOP_EVENTS, arm(l, loop_now_ms()));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n && l->running; i++)
			dispatch(l, &evs[i]);
	}
}
