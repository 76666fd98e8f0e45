/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control rings with real threads: the main thread plays control and
 * posts far more jobs than a ring holds (so both spills fill and drain) to
 * worker threads that echo each back; every job must run exactly once, in
 * posting order per direction, on the thread it was posted to.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlq.h"

#define NW 2
#define JOBS 5000 /* per worker, against 256-entry rings */

struct tjob {
	struct ctlq_job j;
	unsigned worker;
	unsigned seq;
	int back; /* 0: going down, 1: echoed up */
};

static pthread_t self_of[NW];
static pthread_t control_self;
static unsigned down_next[NW], up_next[NW];
static unsigned wrong_thread, out_of_order, done;
static int stop;
static int wakes[NW];

static void on_control(struct ctlq_job *j)
{
	struct tjob *t = (struct tjob *)j;

	if (!pthread_equal(pthread_self(), control_self))
		wrong_thread++;
	if (t->seq != up_next[t->worker]++)
		out_of_order++;
	done++;
	free(t);
}

static void on_worker(struct ctlq_job *j)
{
	struct tjob *t = (struct tjob *)j;

	if (!pthread_equal(pthread_self(), self_of[t->worker]))
		__atomic_fetch_add(&wrong_thread, 1, __ATOMIC_RELAXED);
	if (t->seq != down_next[t->worker]++)
		__atomic_fetch_add(&out_of_order, 1, __ATOMIC_RELAXED);
	t->j.fn = on_control;
	t->back = 1;
	ctlq_to_control(t->worker, &t->j);
}

static void *worker_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	self_of[id] = pthread_self();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		/* Slow consumer now and then, so control's spill is used. */
		if (ctlq_worker_poll(id) == 0)
			usleep(50);
	}
	ctlq_worker_poll(id); /* last echoes out of the spill */
	return NULL;
}

static void wake(unsigned i)
{
	__atomic_fetch_add(&wakes[i], 1, __ATOMIC_RELAXED);
}

static void test_every_job_once_in_order(void **state)
{
	pthread_t th[NW];
	(void)state;

	control_self = pthread_self();
	assert_int_equal(ctlq_setup(NW, wake), 0);
	for (unsigned i = 0; i < NW; i++) {
		self_of[i] = (pthread_t)0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_thread,
						(void *)(uintptr_t)i),
				 0);
	}
	for (unsigned s = 0; s < JOBS; s++)
		for (unsigned i = 0; i < NW; i++) {
			struct tjob *t = calloc(1, sizeof(*t));
			assert_non_null(t);
			t->j.fn = on_worker;
			t->worker = i;
			t->seq = s;
			ctlq_to_worker(i, &t->j);
		}
	for (int spins = 0; done < NW * JOBS && spins < 200000; spins++) {
		struct pollfd pfd = {.fd = ctlq_control_fd(), .events = POLLIN};
		poll(&pfd, 1, 1); /* the timeout also drains control's spill */
		ctlq_control_poll();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	ctlq_control_poll();
	assert_int_equal(done, NW * JOBS);
	assert_int_equal(wrong_thread, 0);
	assert_int_equal(out_of_order, 0);
	for (unsigned i = 0; i < NW; i++) {
		assert_int_equal(down_next[i], JOBS);
		assert_true(wakes[i] >= JOBS);
	}
	ctlq_teardown();
}

/* Nothing posted: polls run nothing and a worker has nothing pending. */
static void test_idle(void **state)
{
	(void)state;
	assert_int_equal(ctlq_setup(1, NULL), 0);
	assert_false(ctlq_worker_pending(0));
	assert_int_equal(ctlq_worker_poll(0), 0);
	assert_int_equal(ctlq_control_poll(), 0);
	ctlq_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle),
	    cmocka_unit_test(test_every_job_once_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
