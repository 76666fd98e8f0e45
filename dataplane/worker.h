/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker: one per core, pinned, run to completion.
 *
 * A turn of the loop reads top to bottom in the order a request travels:
 * take the transport's events (accepts, received bytes -> conn -> resp ->
 * cmd -> store), take messages from other cores (xcore), send what the turn
 * produced (transport flush, ring publish), then the owner's periodic work
 * (active expiry, idle clients).  In kernel mode a worker with nothing to
 * do sleeps in the transport's wait after going RCU-offline, and other
 * cores wake it through its eventfd.
 *
 * Threading: worker_* functions that take a worker run on that worker's
 * thread unless they say otherwise.
 */
#ifndef CACHALOT_WORKER_H
#define CACHALOT_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct transport_ops;
struct wstats;

struct worker_conf {
	unsigned count; /* workers, >= 1 */
	const struct transport_ops *tp;
	int nlisten;	 /* listeners per worker (bind list) */
	int *listen_fds; /* count * nlisten (SO_REUSEPORT) */
	bool pin;	 /* pin worker i to the i-th allowed CPU */
};

/**
 * Keep the threads that are not workers (the store's background and purge
 * threads, call_rcu's, the main thread) off the CPUs the first n workers
 * will be pinned to, when the process has CPUs to spare: the main thread
 * narrows its own set, and threads created from it inherit it.  Call it
 * before any of them is created.  Returns how many CPUs they got (0: no
 * change).  Context: main thread, at start-up.
 */
int worker_isolate_helpers(unsigned n);

/** Create the workers (not started).  Returns 0 or -errno.  Context: main. */
int worker_setup(const struct worker_conf *conf);
/** Start the threads; returns once all are serving or one failed
 * (-errno).  Context: main thread. */
int worker_start(void);
/** Ask every worker to stop and join them.  Context: main thread. */
void worker_stop(void);
/** The two halves of worker_stop: ask every worker to stop, then wait up
 * to timeout_ms for them; true once all have exited, so the caller can
 * watch for a second signal meanwhile.  Context: main thread. */
void worker_stop_begin(void);
bool worker_join(int timeout_ms);
void worker_teardown(void);

unsigned worker_count(void);
struct worker *worker_get(unsigned id);
unsigned worker_id(const struct worker *w);
/** The core's counters.  Context: any thread (others read relaxed). */
struct wstats *worker_stats(struct worker *w);
/** Unix ms cached at the start of the current turn. */
int64_t worker_now_ms(const struct worker *w);
uint64_t *worker_rng(struct worker *w);
/** The transport's name for INFO ("io_uring", "epoll"). */
const char *worker_transport_name(void);

/** SHUTDOWN / SIGTERM: ask the control thread to stop the server.
 * Context: any thread. */
void worker_request_shutdown(void);
bool worker_shutdown_requested(void);
/**
 * CONFIG SET port/bind: hand every worker its new listeners (worker i
 * gets fds[i * n .. i * n + n), already listening); each swaps them in at
 * its next turn and closes its old ones.  Returns 0, or -ENOTSUP when the
 * transport has no kernel listeners.  Context: any thread.
 */
int worker_relisten(const int *fds, int n);
/** Wake w if it sleeps.  Context: any thread. */
void worker_wake(struct worker *w);

struct cmd_host;
/** Fill the workers' and clients' entries of the server commands' host
 * table (cmd_host.h); the transport's are the caller's.  Context: start-up. */
void worker_cmd_host(struct cmd_host *h);

/** True while writes that grow memory must be refused with -OOM.
 * Context: any thread. */
bool worker_mem_oom(void);
/** The longest turn of any worker's loop since start or CONFIG RESETSTAT,
 * in us (time spent waiting for events excluded).  Context: any thread. */

#endif
