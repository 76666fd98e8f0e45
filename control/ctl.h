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
 * (each gets a timer or a descriptor of this loop: ctl_watch).  Control-
 * plane traffic (the metrics endpoint, replication links, the cluster
 * bus) goes over kernel sockets this thread owns and polls, whatever the
 * data path's transport, so it never takes a worker's turn.
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

/** A descriptor is ready: revents as poll(2) reports them. */
typedef void (*ctl_fd_fn)(int fd, short revents, void *arg);

/** Watch fd for events (POLLIN, POLLOUT) from the next turn on; watching
 * a watched fd again replaces its events, fn and arg.  fn runs RCU-online
 * and may watch or unwatch any descriptor, its own included.  Returns 0
 * or -ENOMEM.  Context: before ctl_run, or inside a job, timer or fd
 * callback of it. */
int ctl_watch(int fd, short events, ctl_fd_fn fn, void *arg);
/** Stop watching fd (its owner closes it after).  Context: as
 * ctl_watch. */
void ctl_unwatch(int fd);

/**
 * Serve timers and worker jobs until SHUTDOWN is asked for (returns 0) or
 * SIGTERM/SIGINT arrives on the signalfd sfd (returns the signal).
 * Context: the control thread, RCU-registered and offline on entry and
 * on return.
 */
int ctl_run(int sfd);

#endif
