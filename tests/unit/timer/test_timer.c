/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dataplane/timer: firing order and never early, cancel,
 * re-arming from callbacks, far-future and past timers, timer_next, and a
 * randomised run against a plain list model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timer.h"

#define MS 1000ull
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)

static uint64_t test_rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	test_rng ^= test_rng << 13;
	test_rng ^= test_rng >> 7;
	test_rng ^= test_rng << 17;
	return test_rng;
}

/* A test timer records when it fired. */
struct tt {
	struct timer t;
	uint64_t fired_at; /* the clock of the run, 0 = not yet */
	unsigned fires;
	unsigned order;
};

static uint64_t run_now;
static unsigned run_seq;

static void tt_fire(struct timer *t)
{
	struct tt *x = (struct tt *)t;

	x->fired_at = run_now;
	x->fires++;
	x->order = ++run_seq;
}

static void run(struct timer_wheel *tw, uint64_t now)
{
	run_now = now;
	timer_run(tw, now);
}

static uint64_t tick_up(uint64_t us)
{
	return (us + TIMER_TICK_US - 1) / TIMER_TICK_US * TIMER_TICK_US;
}

static void test_order(void **state)
{
	(void)state;
	uint64_t t0 = 5 * SEC + 321;
	struct timer_wheel *tw = timer_wheel_new(t0);
	struct tt x[200];

	assert_non_null(tw);
	memset(x, 0, sizeof(x));
	run_seq = 0;
	for (unsigned i = 0; i < 200; i++) {
		uint64_t d = rnd() % (20 * SEC);

		timer_arm(tw, &x[i].t, t0 + d, tt_fire);
	}
	assert_int_equal(timer_count(tw), 200);
	/* Advance in uneven steps. */
	uint64_t now = t0;
	while (now < t0 + 21 * SEC) {
		now += rnd() % (300 * MS) + 1;
		run(tw, now);
		for (unsigned i = 0; i < 200; i++) {
			if (x[i].fires) {
				/* Never early, and at the first run after
				 * the expiry's tick. */
				assert_true(tick_up(x[i].t.expire_us) <=
					    x[i].fired_at);
			} else {
				assert_true(tick_up(x[i].t.expire_us) > now);
			}
		}
	}
	assert_int_equal(timer_count(tw), 0);
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(x[i].fires, 1);
		assert_false(timer_armed(&x[i].t));
		/* Fired in expiry-tick order. */
		for (unsigned j = 0; j < 200; j++)
			if (tick_up(x[i].t.expire_us) <
			    tick_up(x[j].t.expire_us))
				assert_true(x[i].order < x[j].order);
	}
	timer_wheel_free(tw);
}

static void test_tick_exact(void **state)
{
	(void)state;
	struct timer_wheel *tw = timer_wheel_new(0);
	struct tt a = {0};

	timer_arm(tw, &a.t, 1500, tt_fire); /* rounds up to 2000 */
	run(tw, 1999);
	assert_int_equal(a.fires, 0);
	assert_int_equal(timer_next(tw), 2000);
	run(tw, 2000);
	assert_int_equal(a.fires, 1);
	assert_int_equal(timer_next(tw), UINT64_MAX);
	timer_wheel_free(tw);
}

static void test_cancel(void **state)
{
	(void)state;
	struct timer_wheel *tw = timer_wheel_new(0);
	struct tt a = {0}, b = {0}, c = {0};

	timer_arm(tw, &a.t, 10 * MS, tt_fire);
	timer_arm(tw, &b.t, 10 * MS, tt_fire);
	timer_arm(tw, &c.t, 5 * SEC, tt_fire);
	assert_int_equal(timer_count(tw), 3);
	timer_cancel(&a.t);
	timer_cancel(&c.t);
	timer_cancel(&c.t); /* twice is harmless */
	assert_false(timer_armed(&a.t));
	assert_int_equal(timer_count(tw), 1);
	run(tw, 10 * SEC);
	assert_int_equal(a.fires, 0);
	assert_int_equal(b.fires, 1);
	assert_int_equal(c.fires, 0);
	/* Re-arming an armed timer moves it. */
	timer_arm(tw, &a.t, 11 * SEC, tt_fire);
	timer_arm(tw, &a.t, 12 * SEC, tt_fire);
	assert_int_equal(timer_count(tw), 1);
	run(tw, 11 * SEC + 500 * MS);
	assert_int_equal(a.fires, 0);
	run(tw, 12 * SEC);
	assert_int_equal(a.fires, 1);
	timer_wheel_free(tw);
}

/* Callbacks that re-arm themselves, cancel a sibling due in the same tick,
 * and arm a timer in the past. */
static struct timer_wheel *cb_tw;
static struct tt periodic, victim, killer, late;

static void periodic_fire(struct timer *t)
{
	tt_fire(t);
	if (periodic.fires < 5)
		timer_arm(cb_tw, t, run_now + 100 * MS, periodic_fire);
}

static void killer_fire(struct timer *t)
{
	tt_fire(t);
	timer_cancel(&victim.t);
	timer_arm(cb_tw, &late.t, run_now - 5 * MS, tt_fire);
}

static void test_rearm_from_callback(void **state)
{
	(void)state;
	cb_tw = timer_wheel_new(0);
	memset(&periodic, 0, sizeof(periodic));
	memset(&victim, 0, sizeof(victim));
	memset(&killer, 0, sizeof(killer));
	memset(&late, 0, sizeof(late));

	timer_arm(cb_tw, &periodic.t, 100 * MS, periodic_fire);
	/* Same tick: whichever runs first, the victim must not run after
	 * the killer cancelled it. */
	timer_arm(cb_tw, &victim.t, 50 * MS, tt_fire);
	timer_arm(cb_tw, &killer.t, 50 * MS, killer_fire);
	run(cb_tw, 50 * MS);
	assert_int_equal(killer.fires, 1);
	assert_true(victim.fires == 0 || victim.order < killer.order);
	assert_false(timer_armed(&victim.t));
	/* A timer armed in the past fires at the next run, same clock. */
	assert_true(timer_armed(&late.t));
	assert_true(timer_next(cb_tw) <= 50 * MS);
	assert_int_equal(late.fires, 0);
	run(cb_tw, 50 * MS);
	assert_int_equal(late.fires, 1);

	for (uint64_t now = 60 * MS; now <= 2 * SEC; now += 7 * MS)
		run(cb_tw, now);
	assert_int_equal(periodic.fires, 5);
	assert_false(timer_armed(&periodic.t));
	assert_int_equal(timer_count(cb_tw), 0);
	timer_wheel_free(cb_tw);
}

static void test_far_future(void **state)
{
	(void)state;
	uint64_t t0 = 1234567 * SEC; /* two weeks of uptime */
	struct timer_wheel *tw = timer_wheel_new(t0);
	struct tt h3 = {0}, h20 = {0}, d60 = {0}, soon = {0};

	timer_arm(tw, &h3.t, t0 + 3 * HOUR + 17, tt_fire);
	timer_arm(tw, &h20.t, t0 + 20 * HOUR, tt_fire);
	timer_arm(tw, &d60.t, t0 + 60 * 24 * HOUR + 5 * MS, tt_fire);
	timer_arm(tw, &soon.t, t0 + 2 * MS, tt_fire);
	assert_int_equal(timer_count(tw), 4);
	assert_int_equal(timer_next(tw), t0 + 2 * MS);
	run(tw, t0 + 2 * MS);
	assert_int_equal(soon.fires, 1);
	/* A lower bound, and not too far below. */
	uint64_t n = timer_next(tw);
	assert_true(n <= t0 + 3 * HOUR + 17);
	assert_true(n > t0 + 2 * HOUR);

	/* Walk up to just before each, in big and small steps. */
	run(tw, t0 + 3 * HOUR);
	assert_int_equal(h3.fires, 0);
	run(tw, t0 + 3 * HOUR + 999);
	assert_int_equal(h3.fires, 0);
	run(tw, t0 + 3 * HOUR + 1000);
	assert_int_equal(h3.fires, 1);
	for (uint64_t now = t0 + 3 * HOUR; now < t0 + 20 * HOUR - SEC;
	     now += 7 * SEC + 3)
		run(tw, now);
	assert_int_equal(h20.fires, 0);
	run(tw, t0 + 20 * HOUR - 1);
	assert_int_equal(h20.fires, 0);
	run(tw, t0 + 20 * HOUR);
	assert_int_equal(h20.fires, 1);
	/* Beyond the wheel's 49-day span: waits at the horizon. */
	run(tw, t0 + 50 * 24 * HOUR);
	assert_int_equal(d60.fires, 0);
	run(tw, t0 + 60 * 24 * HOUR);
	assert_int_equal(d60.fires, 0);
	assert_true(timer_next(tw) <= t0 + 60 * 24 * HOUR + 5 * MS);
	run(tw, t0 + 60 * 24 * HOUR + 5 * MS);
	assert_int_equal(d60.fires, 1);
	assert_int_equal(timer_count(tw), 0);
	assert_int_equal(timer_next(tw), UINT64_MAX);
	timer_wheel_free(tw);
}

static void test_past(void **state)
{
	(void)state;
	struct timer_wheel *tw = timer_wheel_new(10 * SEC);
	struct tt a = {0}, b = {0};

	timer_arm(tw, &a.t, 1 * SEC, tt_fire);
	timer_arm(tw, &b.t, 0, tt_fire);
	assert_true(timer_next(tw) <= 10 * SEC);
	run(tw, 10 * SEC);
	assert_int_equal(a.fires, 1);
	assert_int_equal(b.fires, 1);
	/* And after the clock moved. */
	run(tw, 20 * SEC + 400);
	timer_arm(tw, &a.t, 20 * SEC, tt_fire);
	run(tw, 20 * SEC + 400);
	assert_int_equal(a.fires, 2);
	timer_wheel_free(tw);
}

static void test_count(void **state)
{
	(void)state;
	struct timer_wheel *tw = timer_wheel_new(0);
	static struct tt x[1000];

	memset(x, 0, sizeof(x));
	assert_int_equal(timer_count(tw), 0);
	for (unsigned i = 0; i < 1000; i++)
		timer_arm(tw, &x[i].t, (rnd() % (100 * HOUR)), tt_fire);
	assert_int_equal(timer_count(tw), 1000);
	for (unsigned i = 0; i < 1000; i += 2)
		timer_cancel(&x[i].t);
	assert_int_equal(timer_count(tw), 500);
	/* A forgotten wheel: armed timers are simply dropped. */
	timer_wheel_free(tw);
}

/* Random arms, cancels and clock jumps against a model that knows every
 * timer's expiry: each fires exactly at the first run at or past its
 * tick. */
static void test_model(void **state)
{
	(void)state;
	enum { N = 300 };
	static struct tt x[N];
	static uint64_t want[N]; /* expiry tick in us, 0 = not armed */
	uint64_t now = 777 * SEC + 1;
	struct timer_wheel *tw = timer_wheel_new(now);

	memset(x, 0, sizeof(x));
	memset(want, 0, sizeof(want));
	for (unsigned step = 0; step < 20000; step++) {
		unsigned i = rnd() % N;
		unsigned op = rnd() % 10;

		if (op < 5) {
			static const uint64_t spans[] = {
			    3 * MS, 300 * MS, 20 * SEC, 30 * 60 * SEC,
			    30 * HOUR};
			uint64_t exp = now + rnd() % spans[rnd() % 5];

			if (rnd() % 20 == 0)
				exp = now - rnd() % (now / 2);
			timer_arm(tw, &x[i].t, exp, tt_fire);
			want[i] = tick_up(exp);
			x[i].fires = 0;
		} else if (op < 7) {
			timer_cancel(&x[i].t);
			want[i] = 0;
		} else {
			static const uint64_t jumps[] = {MS, 50 * MS, 5 * SEC,
							 20 * 60 * SEC};
			now += rnd() % jumps[rnd() % 4];
			run(tw, now);
			for (unsigned k = 0; k < N; k++) {
				if (!want[k])
					continue;
				if (want[k] <= now) {
					assert_int_equal(x[k].fires, 1);
					assert_int_equal(x[k].fired_at, now);
					want[k] = 0;
					x[k].fires = 0;
				} else {
					assert_int_equal(x[k].fires, 0);
				}
			}
		}
		unsigned long armed = 0;
		for (unsigned k = 0; k < N; k++)
			armed += want[k] != 0;
		assert_int_equal(timer_count(tw), armed);
		/* timer_next never after the earliest armed expiry (or the
		 * clock, for one armed in the past). */
		uint64_t first = UINT64_MAX;
		for (unsigned k = 0; k < N; k++)
			if (want[k] && want[k] < first)
				first = want[k];
		if (first != UINT64_MAX && first < now)
			first = now;
		assert_true(timer_next(tw) <= first);
	}
	timer_wheel_free(tw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_tick_exact),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_rearm_from_callback),
	    cmocka_unit_test(test_far_future),
	    cmocka_unit_test(test_past),
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
