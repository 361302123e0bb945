/* kvfence: the event loop (chrony's sched.c, keepalived's scheduler).
 * It owns one epoll set and one timerfd; each module registers its own
 * descriptors and timers with a callback. Timers sit in a heap, so a
 * wakeup costs O(log n) plus the callbacks that are really due. Time is
 * CLOCK_BOOTTIME in milliseconds: it does not step, and it counts a
 * suspend (a timer due during one fires at resume). */
#ifndef KVF_LOOP_H
#define KVF_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_NEVER INT64_MAX

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(void *arg, int fd, uint32_t events);
typedef void (*loop_timer_cb)(void *arg);

/* 0, or -errno (epoll or timerfd could not be created). */
int loop_new(struct loop **out);
/* Timers still allocated are freed too; the descriptors are the
 * modules' to close. NULL is fine. */
void loop_free(struct loop *l);

/* Now, on the loop's clock (CLOCK_BOOTTIME, ms). */
int64_t loop_now_ms(void);

/* Watch fd for events (EPOLLIN, EPOLLOUT...); cb gets what was ready.
 * 0 or -errno. loop_mod_fd adds a descriptor not yet watched. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
/* Before fd is closed. An fd not watched is fine. */
void loop_del_fd(struct loop *l, int fd);

/* A timer, disarmed; the caller frees it with loop_timer_free (which
 * disarms it). */
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg);
void loop_timer_free(struct loop_timer *t);
/* Fire once at when_ms (loop_now_ms's clock; a time past fires at the
 * next turn of the loop); LOOP_NEVER disarms. A timer is disarmed when
 * its callback runs: the callback may set it again. A timer set from a
 * timer callback for a time already past runs at the next turn, after
 * the descriptors ready by then, never in a loop of its own. */
void loop_timer_set(struct loop_timer *t, int64_t when_ms);
void loop_timer_cancel(struct loop_timer *t);
/* When it fires, or LOOP_NEVER when disarmed. */
int64_t loop_timer_when(const struct loop_timer *t);

/* Dispatch until loop_stop (from a callback). */
void loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
