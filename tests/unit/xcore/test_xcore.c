/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rings and the cross-core hold protocol, with real threads: several
 * "workers" take holds on random sets of cores in a loop while serving
 * each other's hold requests.  Every holder checks that nobody else is
 * inside the cores it holds (mutual exclusion) and the run must finish
 * (no deadlock).  conn's entry points are stubbed: only xcore is tested.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- stubs for what xcore calls in conn and worker ---------------- */

void conn_exec_remote(struct worker *w, struct xmsg *m)
{
	/* The receiver must never run work while another core holds it. */
	if (w->held_by >= 0 || w->self_held)
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

static void *hold_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (w->id + 1);

	for (int round = 0; round < ROUNDS; round++) {
		uint64_t mask;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		mask = (rng & ((1u << NW) - 1)) | (1ull << (rng >> 60) % NW);
		if (round % 3 == 0) {
			/* plain remote work too, so EXECs interleave with holds
			 */
			struct xmsg *m = xcore_msg_new(0);
			m->type = XM_EXEC;
			xcore_send(w, (w->id + 1) % NW, m);
			xcore_flush(w);
		}
		xcore_hold(w, mask);
		for (int i = 0; i < NW; i++) {
			if (!(mask & (1ull << i)))
				continue;
			int prev = __atomic_exchange_n(&inside[i], (int)w->id,
						       __ATOMIC_ACQ_REL);
			if (prev != -1)
				__atomic_fetch_add(&violations, 1,
						   __ATOMIC_RELAXED);
		}
		for (int i = 0; i < NW; i++)
			if (mask & (1ull << i))
				__atomic_store_n(&inside[i], -1,
						 __ATOMIC_RELEASE);
		xcore_release(w, mask);
		xcore_poll(w);
		xcore_flush(w);
	}
	__atomic_fetch_add(&done_count, 1, __ATOMIC_ACQ_REL);
	/* Keep serving the others until everyone is done. */
	while (__atomic_load_n(&done_count, __ATOMIC_ACQUIRE) < NW) {
		xcore_poll(w);
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
	for (int i = 0; i < NW; i++) {
		assert_true(executed[i] > 0);
		assert_int_equal(ws[i]->held_by, -1);
		assert_false(ws[i]->self_held);
		assert_null(ws[i]->deferred.head);
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
