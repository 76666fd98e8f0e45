/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl: see ctl.h.  The loop polls the signalfd, ctlq's eventfd and the
 * watched descriptors with a timeout that ends at the next timer, and at
 * most CTL_MAX_WAIT_MS so a SHUTDOWN (a flag any worker sets) is seen
 * within that bound and a job that spilled behind a full ring moves on.
 * poll(2) rather than epoll: a handful of control-plane descriptors, and
 * the set may change inside any callback without a second table to keep
 * in step.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
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

struct ctl_fd {
	int fd; /* -1: unwatched during this turn's callbacks */
	short events;
	ctl_fd_fn fn;
	void *arg;
};

/* Watched descriptors, and the poll set built from them (two fixed
 * entries first: the signalfd and ctlq's eventfd). */
static struct ctl_fd *fds;
static struct pollfd *pfds;
static unsigned nfds, cap_fds;

static int ctl_fd_find(int fd)
{
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i].fd == fd)
			return (int)i;
	return -1;
}

int ctl_watch(int fd, short events, ctl_fd_fn fn, void *arg)
{
	int i = ctl_fd_find(fd);

	if (i < 0) {
		if (nfds == cap_fds) {
			unsigned cap = cap_fds ? 2 * cap_fds : 8;
			struct ctl_fd *nf = realloc(fds, cap * sizeof(*nf));
			struct pollfd *np;

			if (!nf)
				return -ENOMEM;
			fds = nf;
			np = realloc(pfds, (cap + 2) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			pfds = np;
			cap_fds = cap;
		}
		i = (int)nfds++;
	}
	fds[i] =
	    (struct ctl_fd){.fd = fd, .events = events, .fn = fn, .arg = arg};
	return 0;
}

void ctl_unwatch(int fd)
{
	int i = ctl_fd_find(fd);

	if (i >= 0) /* compacted after the turn's callbacks */
		fds[i].fd = -1;
}

static void ctl_fd_compact(void)
{
	unsigned j = 0;

	for (unsigned i = 0; i < nfds; i++)
		if (fds[i].fd >= 0)
			fds[j++] = fds[i];
	nfds = j;
}

/* Run the callbacks of the descriptors poll found ready.  Only those
 * watched when the poll set was built (n of them) are looked at; one a
 * callback watched anew waits for the next turn. */
static void ctl_fd_dispatch(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		short rev = pfds[i + 2].revents;

		/* Unwatched (or watched again as another fd) meanwhile? */
		if (rev && fds[i].fd == pfds[i + 2].fd)
			fds[i].fn(fds[i].fd, rev, fds[i].arg);
	}
	ctl_fd_compact();
}

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
	struct pollfd fixed[2];
	int64_t wait = 0;

	while (!worker_shutdown_requested()) {
		struct pollfd *p = pfds ? pfds : fixed;
		unsigned n = nfds;
		int sig = 0, ready;

		p[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[1] =
		    (struct pollfd){.fd = ctlq_control_fd(), .events = POLLIN};
		for (unsigned i = 0; i < n; i++)
			p[i + 2] = (struct pollfd){.fd = fds[i].fd,
						   .events = fds[i].events};
		ready = poll(p, n + 2, (int)wait);
		if (ready > 0 && (p[0].revents & POLLIN))
			sig = ctl_read_signal(sfd);
		if (sig)
			return sig;
		rcu_thread_online();
		ctlq_control_poll();
		if (ready > 0 && n)
			ctl_fd_dispatch(n);
		wait = ctl_run_timers(ctl_now_ms());
		rcu_thread_offline();
	}
	return 0;
}
