/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control loop with real descriptors: socket pairs watched by
 * ctl_watch (data in, a callback that unwatches itself, one that watches
 * another descriptor), a timer, and the two ways out (a SHUTDOWN flag and
 * a signal on the signalfd).  worker_shutdown_requested is this test's.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu-qsbr.h>

#include "ctl.h"
#include "ctlq.h"
#include "worker.h"

static int shutdown_now;

bool worker_shutdown_requested(void)
{
	return shutdown_now;
}

static void no_wake(unsigned w)
{
	(void)w;
}

static int sp[2][2];
static char got[64];
static size_t ngot;
static int calls_a, calls_b, ticks;

/* b: reads what came, then asks the loop to end. */
static void on_b(int fd, short rev, void *arg)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)arg;
	assert_true(rev & POLLIN);
	assert_true(n > 0);
	calls_b++;
	memcpy(got + ngot, buf, (size_t)n);
	ngot += (size_t)n;
	ctl_unwatch(fd);
	shutdown_now = 1;
}

/* a: reads once, stops watching itself, watches b and writes to it. */
static void on_a(int fd, short rev, void *arg)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	assert_ptr_equal(arg, &sp[0]);
	assert_true(rev & POLLIN);
	assert_int_equal(n, 3);
	calls_a++;
	memcpy(got + ngot, buf, (size_t)n);
	ngot += (size_t)n;
	ctl_unwatch(fd);
	assert_int_equal(ctl_watch(sp[1][0], POLLIN, on_b, NULL), 0);
	assert_int_equal(write(sp[1][1], "def", 3), 3);
	/* a second write to a: nobody may call on_a for it */
	assert_int_equal(write(sp[0][1], "zzz", 3), 3);
}

static void on_tick(int64_t now, void *arg)
{
	(void)now;
	(void)arg;
	ticks++;
}

static int sigfd(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &m, NULL), 0);
	return signalfd(-1, &m, SFD_CLOEXEC);
}

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	rcu_thread_offline();
	return ctlq_setup(1, no_wake);
}

static int teardown(void **state)
{
	(void)state;
	ctlq_teardown();
	rcu_thread_online();
	rcu_unregister_thread();
	return 0;
}

static void test_watched_descriptors_and_shutdown(void **state)
{
	int sfd = sigfd();

	(void)state;
	assert_true(sfd >= 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]), 0);
	assert_int_equal(ctl_timer_every(1, on_tick, NULL), 0);
	assert_int_equal(ctl_watch(sp[0][0], POLLIN, on_a, &sp[0]), 0);
	assert_int_equal(write(sp[0][1], "abc", 3), 3);
	assert_int_equal(ctl_run(sfd), 0);
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_b, 1);
	assert_int_equal(ngot, 6);
	assert_memory_equal(got, "abcdef", 6);
	assert_true(ticks >= 1);
	close(sfd);
}

static void test_signal_ends_the_loop(void **state)
{
	int sfd = sigfd();

	(void)state;
	shutdown_now = 0;
	assert_true(sfd >= 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	assert_int_equal(ctl_run(sfd), SIGUSR1);
	/* nothing is watched any more: a and b unwatched themselves */
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_b, 1);
	close(sfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_watched_descriptors_and_shutdown),
	    cmocka_unit_test(test_signal_ends_the_loop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
