/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl: see ctl.h.  The loop polls the signalfd and ctlq's eventfd with a
 * timeout that ends at the next timer, and at most CTL_MAX_WAIT_MS so a
 * SHUTDOWN (a flag any worker sets) is seen within that bound and a job
 * that spilled behind a full ring moves on.
 */
#include <errno.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "clock.h"
#include "ctl.h"
#include "ctlq.h"
#include "worker.h"

#define CTL_TIMERS_MAX 32
#define CTL_MAX_WAIT_MS 50

struct ctl_timer {
	int64_t period_ms, next_ms;
	ctl_timer_fn fn;
	void *arg;
};

static struct ctl_timer timers[CTL_TIMERS_MAX];
static unsigned ntimers;

static int64_t ctl_now_ms(void)
{
	return clock_mono_us() / 1000;
}

int ctl_timer_every(int64_t period_ms, ctl_timer_fn fn, void *arg)
{
	if (ntimers == CTL_TIMERS_MAX)
		return -ENOSPC;
	if (period_ms < 1)
		period_ms = 1;
	timers[ntimers++] = (struct ctl_timer){
	    .period_ms = period_ms,
	    .next_ms = ctl_now_ms(),
	    .fn = fn,
	    .arg = arg,
	};
	return 0;
}

/* Run the due timers; returns ms until the next one. */
static int64_t ctl_run_timers(int64_t now)
{
	int64_t wait = CTL_MAX_WAIT_MS;

	for (unsigned i = 0; i < ntimers; i++) {
		struct ctl_timer *t = &timers[i];

		if (now >= t->next_ms) {
			t->fn(now, t->arg);
			/* A late turn does not make up for missed ticks. */
			t->next_ms = now + t->period_ms;
		}
		if (t->next_ms - now < wait)
			wait = t->next_ms - now;
	}
	return wait;
}

static int ctl_read_signal(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int ctl_run(int sfd)
{
	int64_t wait = 0;

	while (!worker_shutdown_requested()) {
		struct pollfd p[2] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = ctlq_control_fd(), .events = POLLIN},
		};
		int sig = 0;

		if (poll(p, 2, (int)wait) > 0 && (p[0].revents & POLLIN))
			sig = ctl_read_signal(sfd);
		if (sig)
			return sig;
		rcu_thread_online();
		ctlq_control_poll();
		wait = ctl_run_timers(ctl_now_ms());
		rcu_thread_offline();
	}
	return 0;
}
