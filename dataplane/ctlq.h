/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctlq: the control thread's ring pair to every worker.
 *
 * DESIGN puts everything slow or rare on one control thread (snapshots,
 * replication links, timers that are not per request, CONFIG, metrics)
 * and has it talk to the workers through lock-free rings only.  A job is
 * a function and its argument, carried intrusively (no allocation here):
 * control -> worker i runs it on worker i at the top of a loop turn;
 * worker i -> control runs it on the control thread.  Each direction is
 * one single-producer single-consumer ring (ring.h), so neither side ever
 * takes a lock, and a full ring spills into an intrusive FIFO that the
 * producer retries on its next post or poll: a post never fails.
 *
 * The control thread is not a core: it owns no shard, takes part in no
 * hold, and is not counted in any core mask.  A worker that wants a
 * shard-side effect from control gets it as a job posted back to itself.
 *
 * Threading: each function names the one thread that may call it.
 */
#ifndef CACHALOT_CTLQ_H
#define CACHALOT_CTLQ_H

#include <stdbool.h>

struct ctlq_job;

/** Runs on the receiving thread; may post further jobs or free j. */
typedef void (*ctlq_fn)(struct ctlq_job *j);

struct ctlq_job {
	ctlq_fn fn;
	struct ctlq_job *next; /* ctlq's, while the job waits in a spill */
};

/** Called after control posts to worker i, so a sleeping worker wakes. */
typedef void (*ctlq_wake_fn)(unsigned worker);

/**
 * Rings for n workers, and the eventfd the control thread waits on.
 * Returns 0 or -errno.  Context: start-up, before any worker runs.
 */
int ctlq_setup(unsigned n, ctlq_wake_fn wake);
/** Free everything; jobs still queued are dropped (not run).  Context:
 * shutdown, after every worker has stopped. */
void ctlq_teardown(void);

/** Run j on worker i.  Context: the control thread. */
void ctlq_to_worker(unsigned i, struct ctlq_job *j);
/** Run j on the control thread.  Context: worker i. */
void ctlq_to_control(unsigned i, struct ctlq_job *j);

/** Run what control posted to worker i; returns how many ran.  Cheap when
 * there is nothing (one load).  Context: worker i, each loop turn. */
unsigned ctlq_worker_poll(unsigned i);
/** Whether control posted something worker i has not run yet (a worker
 * must not sleep then).  Context: worker i. */
bool ctlq_worker_pending(unsigned i);
/** Run what the workers posted; returns how many ran.  Context: the
 * control thread. */
unsigned ctlq_control_poll(void);
/** Readable when a worker posted to control since the last poll.
 * Context: the control thread (to wait on, with poll or epoll). */
int ctlq_control_fd(void);

#endif
