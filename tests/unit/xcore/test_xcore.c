/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rings and the cross-core hold protocol, with real threads: several
 * "workers" queue commands over random sets of cores while serving each
 * other's hold requests and remote commands, never waiting in place.
 * Every command checks, when it runs, that nobody else is inside the
 * cores it holds (mutual exclusion), also when it runs in the batch of
 * another command over the same cores; a remote command checks that its
 * core is not lent; the run must finish (no deadlock, no starvation).
 * conn's entry points are stubbed: only xcore is tested.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h"
#include "ring.h"
#include "worker_pvt.h"
#include "xcore.h"

#define NW 4
#define ROUNDS 2000

static struct worker *ws[NW];
static int inside[NW]; /* who holds core i right now, -1 none */
static int violations;
static uint64_t executed[NW];
static int ran[NW]; /* commands of worker i that ran */

/* ---- stubs for what xcore calls in conn and worker ---------------- */

void conn_exec_remote(struct worker *w, struct xmsg *m)
{
	/* The receiver must never write its shard while it is lent. */
	if (w->held_by >= 0)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	executed[w->id]++;
	m->type = XM_DONE;
	xcore_send(w, m->from, m);
}

void conn_remote_done(struct worker *w, struct xmsg *m)
{
	(void)w;
	xcore_msg_free(m);
}

void conn_kill_local(struct worker *w, uint64_t id)
{
	(void)w;
	(void)id;
}

void worker_wake(struct worker *w)
{
	(void)w;
}

void conn_shard_back(struct worker *w)
{
	(void)w;
}

/* A queued command: its cores, and whether it ran. */
struct tcmd {
	struct xhold xh;
	bool ran;
};

static int parked_takes; /* commands that ran at once, cores parked */

void conn_holds_granted(struct worker *w, struct xhold *h)
{
	struct tcmd *t = (struct tcmd *)h;
	uint64_t mask = h->mask | (1ull << w->id);

	for (int i = 0; i < NW; i++) {
		if (!(mask & (1ull << i)))
			continue;
		int prev = __atomic_exchange_n(&inside[i], (int)w->id,
					       __ATOMIC_ACQ_REL);
		if (prev != -1)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		/* Every other core in the mask has lent me its shard: by a
		 * grant, or parked (xcore.c's TAKEN(me) or SEEN(me)). */
		int park = __atomic_load_n(&ws[i]->park, __ATOMIC_ACQUIRE);
		if (i != (int)w->id &&
		    __atomic_load_n(&ws[i]->held_by, __ATOMIC_RELAXED) !=
			(int)w->id &&
		    park != 2 + 2 * (int)w->id && park != 3 + 2 * (int)w->id)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < NW; i++)
		if (mask & (1ull << i))
			__atomic_store_n(&inside[i], -1, __ATOMIC_RELEASE);
	t->ran = true;
	ran[w->id]++;
}

/* ---- ring --------------------------------------------------------- */

static struct ring *spsc;
#define RING_ITEMS 1000000

static void *ring_producer(void *arg)
{
	(void)arg;
	for (uintptr_t i = 1; i <= RING_ITEMS;) {
		if (ring_put(spsc, (void *)i)) {
			i++;
			if ((i & 15) == 0)
				ring_publish(spsc);
		} else {
			ring_publish(spsc);
		}
	}
	ring_publish(spsc);
	return NULL;
}

static void test_ring_order(void **state)
{
	pthread_t t;
	uintptr_t expect = 1;

	(void)state;
	spsc = ring_new(6);
	assert_non_null(spsc);
	pthread_create(&t, NULL, ring_producer, NULL);
	while (expect <= RING_ITEMS) {
		void *p = ring_get(spsc);
		if (!p)
			continue;
		assert_int_equal((uintptr_t)p, expect);
		expect++;
	}
	pthread_join(t, NULL);
	assert_null(ring_get(spsc));
	ring_free(spsc);
}

static void test_ring_full(void **state)
{
	struct ring *r = ring_new(2);

	(void)state;
	for (uintptr_t i = 1; i <= 4; i++)
		assert_true(ring_put(r, (void *)i));
	assert_false(ring_put(r, (void *)5));
	ring_publish(r);
	assert_int_equal((uintptr_t)ring_get(r), 1);
	assert_true(ring_put(r, (void *)5));
	ring_free(r);
}

/* ---- holds -------------------------------------------------------- */

static int done_count;

#define QUEUED 3 /* commands each worker keeps queued at once */

static uint64_t next_mask(struct worker *w, uint64_t *rng)
{
	uint64_t mask;

	do {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		mask = (*rng & ((1u << NW) - 1)) | (1ull << (*rng >> 60) % NW);
		mask &= ~(1ull << w->id);
	} while (!mask); /* another core than w, as xcore_hold asks */
	return mask;
}

static void *hold_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (w->id + 1);
	struct tcmd cmds[QUEUED];
	int started = 0;

	for (int i = 0; i < QUEUED; i++)
		cmds[i].ran = true; /* free */
	while (ran[w->id] < ROUNDS) {
		for (int i = 0; i < QUEUED && started < ROUNDS; i++) {
			if (!cmds[i].ran)
				continue;
			cmds[i].ran = false;
			cmds[i].xh.mask = next_mask(w, &rng);
			if (++started % 3 == 0) {
				/* plain remote work too, so EXECs interleave
				 * with holds */
				struct xmsg *m = xcore_msg_new(0);
				m->type = XM_EXEC;
				xcore_send(w, (w->id + 1) % NW, m);
			}
			if (xcore_hold(w, &cmds[i].xh)) {
				/* Every core was parked: run it now. */
				conn_holds_granted(w, &cmds[i].xh);
				xcore_release(w, cmds[i].xh.mask);
				__atomic_fetch_add(&parked_takes, 1,
						   __ATOMIC_RELAXED);
			}
		}
		xcore_flush(w);
		/* Now and then sleep, as an idle worker does: the others
		 * then take this core parked, without a message. */
		if ((rng & 7) == 0 && xcore_park(w)) {
			usleep(20);
			xcore_unpark(w);
		}
		/* More threads than CPUs: let the peer we wait for run. */
		if (!xcore_poll(w))
			sched_yield();
		xcore_flush(w);
	}
	__atomic_fetch_add(&done_count, 1, __ATOMIC_ACQ_REL);
	/* Keep serving the others until everyone is done. */
	while (__atomic_load_n(&done_count, __ATOMIC_ACQUIRE) < NW) {
		if (!xcore_poll(w))
			sched_yield();
		xcore_flush(w);
	}
	for (int i = 0; i < 1000; i++) {
		xcore_poll(w);
		xcore_flush(w);
	}
	return NULL;
}

/* Regression: a coordinator that held a core above itself could be held by
 * another coordinator waiting on that core (deadlock, fixed by always taking
 * itself in order). */
static void test_holds_exclusive_and_live(void **state)
{
	pthread_t t[NW];

	(void)state;
	for (int i = 0; i < NW; i++) {
		ws[i] = calloc(1, sizeof(struct worker));
		ws[i]->id = (unsigned)i;
		ws[i]->n = NW;
		inside[i] = -1;
	}
	assert_int_equal(xcore_setup(ws, NW), 0);
	for (int i = 0; i < NW; i++)
		pthread_create(&t[i], NULL, hold_worker, ws[i]);
	for (int i = 0; i < NW; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(violations, 0);
	assert_true(parked_takes > 0 || NW < 2);
	for (int i = 0; i < NW; i++) {
		assert_true(executed[i] > 0);
		assert_int_equal(ws[i]->held_by, -1);
		assert_false(ws[i]->self_held);
		assert_null(ws[i]->deferred.head);
		assert_null(ws[i]->hold_head);
	}
	xcore_teardown();
	for (int i = 0; i < NW; i++)
		free(ws[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_order),
	    cmocka_unit_test(test_ring_full),
	    cmocka_unit_test(test_holds_exclusive_and_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
