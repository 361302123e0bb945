/* Unit tests of the event loop: timers in order, cancelled, set again
 * from their own callback; descriptor callbacks; loop_stop. The timers
 * are a few milliseconds apart on the real clock: the order they fire
 * in is what is checked, not how long they took. */
#include "autoconfig.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"

struct rec {
	struct loop *l;
	int order[16];
	size_t n;
	int stop_after;		/* loop_stop after this many events */
};

struct tmark {
	struct rec *r;
	int id;
	struct loop_timer *t;
	int again;		/* times to set itself again */
	int64_t step;		/* for that many ms later (0: now) */
};

static void note(struct rec *r, int id)
{
	if (r->n < 16)
		r->order[r->n] = id;
	r->n++;
	if ((int)r->n == r->stop_after)
		loop_stop(r->l);
}

static void on_timer(void *arg)
{
	struct tmark *m = arg;

	note(m->r, m->id);
	if (m->again-- > 0)
		loop_timer_set(m->t, loop_now_ms() + m->step);
}

static struct loop *new_loop(void)
{
	struct loop *l;

	if (loop_new(&l) < 0) {
		printf("Bail out! loop_new\n");
		exit(1);
	}
	return l;
}

static void timers_fire_in_the_order_of_their_times_not_of_setting(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 4 };
	struct tmark m[4] = { { &r, 0, NULL, 0, 0 }, { &r, 1, NULL, 0, 0 },
			      { &r, 2, NULL, 0, 0 }, { &r, 3, NULL, 0, 0 } };
	static const int64_t after[4] = { 40, 10, 30, 0 };
	int64_t now = loop_now_ms();
	int i;

	for (i = 0; i < 4; i++) {
		m[i].t = loop_timer_new(r.l, on_timer, &m[i]);
		loop_timer_set(m[i].t, now + after[i]);
	}
	loop_run(r.l);
	is_int(r.n, 4, "four timers, four calls");
	ok(r.order[0] == 3 && r.order[1] == 1 && r.order[2] == 2 && r.order[3] == 0,
	   "in the order 0 ms, 10 ms, 30 ms, 40 ms");
	ok(loop_timer_when(m[0].t) == LOOP_NEVER, "a timer that fired is disarmed");
	for (i = 0; i < 4; i++)
		loop_timer_free(m[i].t);
	loop_free(r.l);
}

static void a_cancelled_or_moved_timer_does_not_fire_at_its_old_time(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 2 };
	struct tmark gone = { &r, 1, NULL, 0, 0 }, moved = { &r, 2, NULL, 0, 0 },
		     last = { &r, 3, NULL, 0, 0 };
	int64_t now = loop_now_ms();

	gone.t = loop_timer_new(r.l, on_timer, &gone);
	moved.t = loop_timer_new(r.l, on_timer, &moved);
	last.t = loop_timer_new(r.l, on_timer, &last);
	loop_timer_set(gone.t, now + 5);
	loop_timer_set(moved.t, now + 5);
	loop_timer_set(last.t, now + 30);
	loop_timer_cancel(gone.t);
	loop_timer_set(moved.t, now + 20);
	loop_run(r.l);
	ok(r.n == 2 && r.order[0] == 2 && r.order[1] == 3,
	   "the cancelled one never, the moved one at its new time");
	ok(loop_now_ms() >= now + 30, "the loop slept until the last one was due");
	loop_timer_free(gone.t);
	loop_timer_free(moved.t);
	loop_timer_free(last.t);
	loop_free(r.l);
}

static void a_timer_set_again_from_its_callback_fires_again(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 4 };
	struct tmark m = { &r, 7, NULL, 3, 2 };

	m.t = loop_timer_new(r.l, on_timer, &m);
	loop_timer_set(m.t, 0);	/* long past: at the first turn */
	loop_run(r.l);
	is_int(r.n, 4, "set three times from its callback: four calls");
	loop_timer_free(m.t);
	loop_free(r.l);
}

struct pipe_rec {
	struct rec *r;
	int fds[2];
	int reads;
};

static void on_readable(void *arg, int fd, uint32_t events)
{
	struct pipe_rec *p = arg;
	char c;

	if ((events & EPOLLIN) && read(fd, &c, 1) == 1) {
		p->reads++;
		note(p->r, 100 + c);
	}
}

/* A timer that sets itself for "now" over and over must not keep a
 * ready descriptor waiting: it runs once a turn. */
static void a_descriptor_is_served_while_a_timer_keeps_setting_itself_for_now(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 6 };
	struct tmark spin = { &r, 1, NULL, 1000, 0 };
	struct pipe_rec p = { .r = &r };

	if (pipe(p.fds) < 0 || write(p.fds[1], "ab", 2) != 2) {
		printf("Bail out! pipe\n");
		exit(1);
	}
	ok(loop_add_fd(r.l, p.fds[0], EPOLLIN, on_readable, &p) == 0, "a pipe is watched");
	spin.t = loop_timer_new(r.l, on_timer, &spin);
	loop_timer_set(spin.t, loop_now_ms());
	loop_run(r.l);
	is_int(p.reads, 2, "both bytes read within six calls");
	ok(r.order[0] == 1 && r.order[1] >= 100, "the timer first, then the descriptor");
	loop_del_fd(r.l, p.fds[0]);
	if (write(p.fds[1], "c", 1) != 1)
		printf("# write failed\n");
	r.stop_after = 8;
	loop_run(r.l);
	is_int(p.reads, 2, "after loop_del_fd its callback is not called");
	loop_timer_free(spin.t);
	close(p.fds[0]);
	close(p.fds[1]);
	loop_free(r.l);
}

static void loop_stop_ends_the_run_before_the_next_callback(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 1 };
	struct tmark a = { &r, 1, NULL, 0, 0 }, b = { &r, 2, NULL, 0, 0 };

	a.t = loop_timer_new(r.l, on_timer, &a);
	b.t = loop_timer_new(r.l, on_timer, &b);
	loop_timer_set(a.t, 1);
	loop_timer_set(b.t, 2);
	loop_run(r.l);
	is_int(r.n, 1, "stopped after the first, though the second was due too");
	ok(loop_timer_when(b.t) == 2, "the second is still armed");
	r.stop_after = 2;
	loop_run(r.l);
	is_int(r.n, 2, "and fires at the next run");
	loop_timer_free(a.t);
	loop_timer_free(b.t);
	loop_free(r.l);
}

static void freed_timers_ids_are_reused_and_many_timers_keep_order(void)
{
	struct rec r = { .l = new_loop(), .stop_after = 1000 };
	struct loop_timer *t[1000];
	struct tmark m[1000];
	int i, ordered = 1;
	int64_t base = 1000000;

	for (i = 0; i < 1000; i++) {
		m[i] = (struct tmark){ &r, i, NULL, 0, 0 };
		t[i] = loop_timer_new(r.l, on_timer, &m[i]);
		m[i].t = t[i];
	}
	for (i = 0; i < 1000; i += 2)
		loop_timer_free(t[i]);
	for (i = 0; i < 1000; i += 2) {
		t[i] = loop_timer_new(r.l, on_timer, &m[i]);
		m[i].t = t[i];
	}
	/* All long past, in an order unlike their ids. */
	for (i = 0; i < 1000; i++)
		loop_timer_set(t[i], base - (i * 7919) % 1000);
	r.n = 0;
	loop_run(r.l);
	is_int(r.n, 1000, "a thousand timers, a thousand calls");
	for (i = 1; i < 16; i++)
		ordered &= base - (r.order[i - 1] * 7919) % 1000 <=
			   base - (r.order[i] * 7919) % 1000;
	ok(ordered, "the first ones in the order of their times");
	for (i = 0; i < 1000; i++)
		loop_timer_free(t[i]);
	loop_free(r.l);
}

/* Two pipes ready in one epoll batch; the first callback served closes
 * the other's read end and opens a new pipe, whose read end takes the
 * same number, and watches it. The closed one's event, still in the
 * batch, must not reach the new descriptor's callback. */
struct reuse {
	struct loop *l;
	int a[2], b[2];		/* the two pipes; b[0] is replaced */
	int fresh[2];
	int first_calls, fresh_calls, reused;
	struct loop_timer *stop;	/* at the next turn, after the batch */
};

static void on_stop(void *arg)
{
	loop_stop(arg);
}

static void on_fresh(void *arg, int fd, uint32_t events)
{
	struct reuse *u = arg;

	(void)fd;
	(void)events;
	u->fresh_calls++;
}

static void on_first(void *arg, int fd, uint32_t events)
{
	struct reuse *u = arg;
	int other = fd == u->a[0] ? u->b[0] : u->a[0];

	(void)events;
	if (u->first_calls++)
		return;
	close(other);
	if (pipe(u->fresh) < 0) {
		printf("Bail out! pipe\n");
		exit(1);
	}
	u->reused = u->fresh[0] == other;
	if (other == u->a[0])
		u->a[0] = -1;
	else
		u->b[0] = -1;
	loop_add_fd(u->l, u->fresh[0], EPOLLIN, on_fresh, u);
	loop_timer_set(u->stop, loop_now_ms());
}

static void a_closed_descriptors_event_does_not_reach_its_numbers_next_owner(void)
{
	struct reuse u = { .l = new_loop() };

	if (pipe(u.a) < 0 || pipe(u.b) < 0 || write(u.a[1], "x", 1) != 1 ||
	    write(u.b[1], "y", 1) != 1) {
		printf("Bail out! pipe\n");
		exit(1);
	}
	loop_add_fd(u.l, u.a[0], EPOLLIN, on_first, &u);
	loop_add_fd(u.l, u.b[0], EPOLLIN, on_first, &u);
	u.stop = loop_timer_new(u.l, on_stop, u.l);
	loop_run(u.l);
	loop_timer_free(u.stop);
	ok(u.reused, "the new pipe took the closed descriptor's number");
	is_int(u.fresh_calls, 0, "the closed one's event was not handed to the new one");
	is_int(u.first_calls, 1, "nor to the closed one's own callback");
	loop_del_fd(u.l, u.fresh[0]);
	close(u.fresh[0]);
	close(u.fresh[1]);
	if (u.a[0] >= 0)
		close(u.a[0]);
	if (u.b[0] >= 0)
		close(u.b[0]);
	close(u.a[1]);
	close(u.b[1]);
	loop_free(u.l);
}

int main(void)
{
	alarm(20);	/* a loop that never returns fails, not hangs */
	timers_fire_in_the_order_of_their_times_not_of_setting();
	a_cancelled_or_moved_timer_does_not_fire_at_its_old_time();
	a_timer_set_again_from_its_callback_fires_again();
	a_descriptor_is_served_while_a_timer_keeps_setting_itself_for_now();
	loop_stop_ends_the_run_before_the_next_callback();
	freed_timers_ids_are_reused_and_many_timers_keep_order();
	a_closed_descriptors_event_does_not_reach_its_numbers_next_owner();
	return done_testing();
}
