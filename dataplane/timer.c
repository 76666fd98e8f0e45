/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hierarchical hashed timing wheel, the classic cascading shape.
 *
 * Level 0 has 256 slots of one tick each; levels 1 to 4 have 64 slots of
 * 2^8, 2^14, 2^20 and 2^26 ticks.  A timer goes in the lowest level whose
 * span covers its distance from the wheel's clock, in the slot its expiry
 * hashes to.  Whenever level 0 wraps, the level 1 slot for the coming 256
 * ticks is emptied and its timers re-placed (now they all fit level 0); when
 * level 1 wraps too, level 2 is cascaded the same way, and so on.  A TCP
 * timer is usually cancelled long before it would be cascaded, so most
 * timers cost one list insert and one unlink.
 *
 * Five levels cover 2^32 ticks (49 days at 1 ms).  Anything farther waits in
 * the top level at the horizon and is re-placed each time it cascades; it
 * is only ever moved down once its real expiry is in reach, so it never
 * fires early.
 *
 * The clock `tick` is the next tick to process: every timer whose expiry
 * tick is below it has fired.  A timer armed in the past goes to the `due`
 * list, run first by the next timer_run().  timer_run() jumps straight to
 * the next tick where a slot fires or a non-empty slot cascades, found with
 * a bitmap per level of slots that may be non-empty (set on insert, cleared
 * when the slot is emptied by the wheel; a cancel leaves it set, and the
 * scan then checks the slot itself), so hours of idle clock cost a few
 * scans, not a loop per tick.  And a turn that reaches no event is one
 * comparison: `next` is a lower bound of the first tick where a slot fires
 * or cascades, lowered by every insert and made exact by each scan (a
 * cancel leaves it early, which costs one needless scan).
 *
 * Nothing counts the armed timers (cancel does not know its wheel), so
 * timer_count() walks the slots; it is for tests and INFO.
 *
 * Callbacks may arm or cancel anything: the expired slot is first moved to
 * a local list and timers are unlinked one at a time before their call, so
 * a callback cancelling a timer on that list simply unlinks it.
 */
#include <errno.h>
#include <stddef.h>

#include <mimalloc.h>

#include "timer.h"

#define TW_L0_BITS 8
#define TW_LN_BITS 6
#define TW_L0_SIZE (1u << TW_L0_BITS)
#define TW_LN_SIZE (1u << TW_LN_BITS)
#define TW_LEVELS 4 /* above level 0 */
#define TW_MAX_DELTA ((1ull << (TW_L0_BITS + TW_LEVELS * TW_LN_BITS)) - 1)

struct timer_wheel {
	uint64_t tick; /* next tick to process */
	uint64_t next; /* no slot fires or cascades before this tick */
	struct timer *due;
	uint64_t bm0[TW_L0_SIZE / 64];
	uint64_t bmn[TW_LEVELS];
	struct timer *l0[TW_L0_SIZE];
	struct timer *ln[TW_LEVELS][TW_LN_SIZE];
};

static inline unsigned tw_shift(unsigned level) /* level 1..4 */
{
	return TW_L0_BITS + (level - 1) * TW_LN_BITS;
}

static inline uint64_t tw_tick_of(uint64_t us)
{
	return us / TIMER_TICK_US + (us % TIMER_TICK_US != 0);
}

static inline void tw_link(struct timer **head, struct timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

static inline void tw_unlink(struct timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

/* Put t where its expiry belongs relative to the clock. */
static void tw_place(struct timer_wheel *tw, struct timer *t)
{
	uint64_t exp = tw_tick_of(t->expire_us);

	if (exp < tw->tick) {
		tw_link(&tw->due, t);
		return;
	}
	uint64_t delta = exp - tw->tick;
	if (delta < TW_L0_SIZE) {
		unsigned i = exp & (TW_L0_SIZE - 1);
		tw_link(&tw->l0[i], t);
		tw->bm0[i / 64] |= 1ull << (i % 64);
		if (exp < tw->next)
			tw->next = exp;
		return;
	}
	if (delta > TW_MAX_DELTA) {
		delta = TW_MAX_DELTA;
		exp = tw->tick + delta;
	}
	unsigned lv = 1;
	while (delta >= 1ull << (tw_shift(lv) + TW_LN_BITS))
		lv++;
	unsigned i = (exp >> tw_shift(lv)) & (TW_LN_SIZE - 1);
	tw_link(&tw->ln[lv - 1][i], t);
	tw->bmn[lv - 1] |= 1ull << i;
	/* The slot cascades at exp rounded down to its span, which is at or
	 * after the clock: delta is at least one span. */
	uint64_t at = exp & ~((1ull << tw_shift(lv)) - 1);
	if (at < tw->next)
		tw->next = at;
}

struct timer_wheel *timer_wheel_new(uint64_t now_us)
{
	struct timer_wheel *tw = mi_zalloc(sizeof(*tw));

	if (!tw) {
		errno = ENOMEM;
		return NULL;
	}
	tw->tick = now_us / TIMER_TICK_US + 1;
	tw->next = UINT64_MAX;
	return tw;
}

void timer_wheel_free(struct timer_wheel *tw)
{
	mi_free(tw);
}

void timer_arm(struct timer_wheel *tw, struct timer *t, uint64_t expire_us,
	       timer_fn fn)
{
	if (t->pprev)
		tw_unlink(t);
	t->expire_us = expire_us;
	t->fn = fn;
	tw_place(tw, t);
}

void timer_cancel(struct timer *t)
{
	if (t->pprev)
		tw_unlink(t);
}

/* Run every timer on *list; the list head is local to the caller. */
static void tw_fire(struct timer_wheel *tw, struct timer **list)
{
	while (*list) {
		struct timer *t = *list;

		tw_unlink(t);
		t->fn(t);
	}
}

/* Move a whole slot to a local list head so unlink keeps working. */
static void tw_take(struct timer **slot, struct timer **list)
{
	*list = *slot;
	*slot = NULL;
	if (*list)
		(*list)->pprev = list;
}

static void tw_cascade(struct timer_wheel *tw, unsigned lv)
{
	unsigned i = (tw->tick >> tw_shift(lv)) & (TW_LN_SIZE - 1);
	struct timer *list;

	tw_take(&tw->ln[lv - 1][i], &list);
	tw->bmn[lv - 1] &= ~(1ull << i);
	while (list) {
		struct timer *t = list;

		tw_unlink(t);
		tw_place(tw, t);
	}
}

/* The first tick from the clock on whose level 0 slot holds timers, or
 * UINT64_MAX.  Slots below the clock's index belong to the next block. */
static uint64_t tw_next_l0(const struct timer_wheel *tw)
{
	unsigned cur = tw->tick & (TW_L0_SIZE - 1);
	uint64_t block = tw->tick - cur;

	for (unsigned pass = 0; pass < 2; pass++) {
		unsigned i = pass ? 0 : cur, hi = pass ? cur : TW_L0_SIZE;

		while (i < hi) {
			uint64_t w = tw->bm0[i / 64] >> (i % 64);

			if (!w) {
				i = (i / 64 + 1) * 64;
				continue;
			}
			i += __builtin_ctzll(w);
			if (i >= hi)
				break;
			if (tw->l0[i])
				return block + i + (pass ? TW_L0_SIZE : 0);
			i++;
		}
	}
	return UINT64_MAX;
}

static inline uint64_t tw_rotr(uint64_t x, unsigned r)
{
	return (x >> r) | (x << ((64 - r) & 63));
}

/* The tick at which the first non-empty slot of level lv cascades, or
 * UINT64_MAX.  Slots are visited in cascade order, and a slot cascades no
 * later than its timers expire, so this bounds them from below. */
static uint64_t tw_next_ln(const struct timer_wheel *tw, unsigned lv)
{
	unsigned s = tw_shift(lv);
	uint64_t span = 1ull << s;
	uint64_t t0 = (tw->tick + span - 1) & ~(span - 1);
	unsigned first = (t0 >> s) & (TW_LN_SIZE - 1);
	uint64_t w = tw_rotr(tw->bmn[lv - 1], first);

	while (w) {
		unsigned k = __builtin_ctzll(w);

		if (tw->ln[lv - 1][(first + k) & (TW_LN_SIZE - 1)])
			return t0 + ((uint64_t)k << s);
		w &= w - 1;
	}
	return UINT64_MAX;
}

/* The first tick at which something happens: a level 0 slot fires or a
 * non-empty slot cascades.  The ticks between are skipped. */
static uint64_t tw_next_tick(const struct timer_wheel *tw)
{
	uint64_t best = tw_next_l0(tw);

	for (unsigned lv = 1; lv <= TW_LEVELS; lv++) {
		uint64_t t = tw_next_ln(tw, lv);

		if (t < best)
			best = t;
	}
	return best;
}

/* timer_run when something may be due. */
static __attribute__((noinline)) void tw_run(struct timer_wheel *tw,
					     uint64_t now)
{
	struct timer *list;

	/* Timers armed in the past, including by callbacks of the last run. */
	if (tw->due) {
		tw_take(&tw->due, &list);
		tw_fire(tw, &list);
	}
	while (tw->tick <= now) {
		uint64_t next = tw_next_tick(tw);

		if (next > now) {
			tw->tick = now + 1;
			tw->next = next;
			break;
		}
		tw->tick = next;
		unsigned i = next & (TW_L0_SIZE - 1);
		if (i == 0) {
			for (unsigned lv = 1; lv <= TW_LEVELS; lv++) {
				tw_cascade(tw, lv);
				if ((next >> tw_shift(lv)) & (TW_LN_SIZE - 1))
					break;
			}
		}
		tw->tick = next + 1;
		tw_take(&tw->l0[i], &list);
		tw->bm0[i / 64] &= ~(1ull << (i % 64));
		tw_fire(tw, &list);
	}
}

void timer_run(struct timer_wheel *tw, uint64_t now_us)
{
	uint64_t now = now_us / TIMER_TICK_US;

	/* Most turns: nothing due, nothing happens before the bound, so the
	 * ticks up to now are empty and need no scan. */
	if (!tw->due && now < tw->next) {
		if (tw->tick <= now)
			tw->tick = now + 1;
		return;
	}
	tw_run(tw, now);
}

uint64_t timer_next(const struct timer_wheel *tw)
{
	if (tw->due)
		return (tw->tick - 1) * TIMER_TICK_US;

	uint64_t t = tw_next_tick(tw);

	return t == UINT64_MAX ? UINT64_MAX : t * TIMER_TICK_US;
}

static unsigned long tw_list_len(const struct timer *t)
{
	unsigned long n = 0;

	for (; t; t = t->next)
		n++;
	return n;
}

/* A walk, not a counter: cancel does not know its wheel. */
unsigned long timer_count(const struct timer_wheel *tw)
{
	unsigned long n = tw_list_len(tw->due);

	for (unsigned i = 0; i < TW_L0_SIZE; i++)
		n += tw_list_len(tw->l0[i]);
	for (unsigned lv = 0; lv < TW_LEVELS; lv++)
		for (unsigned i = 0; i < TW_LN_SIZE; i++)
			n += tw_list_len(tw->ln[lv][i]);
	return n;
}
