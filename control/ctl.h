/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl: the control thread's loop.
 *
 * After start-up the main thread becomes the control thread and stays in
 * ctl_run: it waits (RCU-offline) for the stop signals, for jobs the
 * workers post to it (ctlq.h), and for its timers, and runs each when it
 * is due (RCU-online, so a job may read the store).  Periodic work that
 * is not per request belongs here rather than on a worker: the once-a-
 * tick statistics today; save points, replication and cluster crons,
 * the metrics ring and the control-plane sockets as later issues add them
 * (each gets a timer or a descriptor of this loop).
 *
 * Threading: everything here runs on the control thread.
 */
#ifndef CACHALOT_CTL_H
#define CACHALOT_CTL_H

#include <stdint.h>

/** A periodic job: now_ms is the control loop's monotonic clock. */
typedef void (*ctl_timer_fn)(int64_t now_ms, void *arg);

/** Run fn every period_ms (>= 1) from the next turn on.  Returns 0, or
 * -ENOSPC past the fixed number of timers.  Context: before ctl_run, or
 * inside a job or timer of it. */
int ctl_timer_every(int64_t period_ms, ctl_timer_fn fn, void *arg);

/**
 * Serve timers and worker jobs until SHUTDOWN is asked for (returns 0) or
 * SIGTERM/SIGINT arrives on the signalfd sfd (returns the signal).
 * Context: the control thread, RCU-registered and offline on entry and
 * on return.
 */
int ctl_run(int sfd);

#endif
