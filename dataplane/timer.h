/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * timer: a per-worker hashed timing wheel (Varghese & Lauck) for the
 * many short, mostly cancelled timers of a TCP stack: arm and cancel are
 * O(1) and allocate nothing (the timer lives in its owner's struct), and a
 * turn with nothing due costs one comparison.
 *
 * Times are microseconds of one monotonic clock; resolution is
 * TIMER_TICK_US, so a timer fires at the first timer_run() at or after its
 * expiry rounded up to a tick, never early.
 *
 * Threading: a wheel and its timers belong to one thread.
 */
#ifndef CACHALOT_TIMER_H
#define CACHALOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_TICK_US 1000u

struct timer;
typedef void (*timer_fn)(struct timer *t);

/** Embed in the owning object; zero-initialised means "not armed". */
struct timer {
	struct timer *next;
	struct timer **pprev; /* NULL when not armed */
	uint64_t expire_us;
	timer_fn fn;
};

struct timer_wheel;

/** A wheel whose clock starts at now_us.  NULL on ENOMEM. */
struct timer_wheel *timer_wheel_new(uint64_t now_us);
/** Timers still armed are forgotten (not run). */
void timer_wheel_free(struct timer_wheel *tw);

/** (Re)arm t to call fn at expire_us (absolute).  A time in the past
 * fires at the next timer_run(). */
void timer_arm(struct timer_wheel *tw, struct timer *t, uint64_t expire_us,
	       timer_fn fn);
void timer_cancel(struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
	return t->pprev != 0;
}

/** Advance the wheel to now_us, calling every timer that expired, in
 * expiry order per tick.  A callback may arm or cancel any timer. */
void timer_run(struct timer_wheel *tw, uint64_t now_us);
/** The earliest armed expiry (possibly rounded down to a tick), or
 * UINT64_MAX when nothing is armed. */
uint64_t timer_next(const struct timer_wheel *tw);
/** Armed timers (for tests and INFO). */
unsigned long timer_count(const struct timer_wheel *tw);

#endif
