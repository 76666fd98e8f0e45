/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xcore: messages between worker cores.
 *
 * Every ordered pair of workers has an SPSC ring (ring.h).  A message
 * travels out and comes back: a command sent to its shard's owner
 * (XM_EXEC) returns as XM_DONE carrying the reply, a hold request (XM_HOLD)
 * returns as XM_GRANT.  Sends are staged and published once per loop turn
 * (xcore_flush), which is also when a sleeping peer is woken (once per
 * sleep, however many cores publish to it: worker_wake_sleeper); a full ring
 * never blocks, the message waits in a per-peer overflow list that keeps
 * its order.
 *
 * Messages cost no allocation in the steady state.  Who frees what:
 *
 *  1. A command's message comes from its sender's pool (xcore_msg_get) and
 *     goes back to that pool (xcore_msg_put) on the sender, after the
 *     reply came home in it: a pool is only ever touched by its own core.
 *     Its arguments are inline up to XMSG_BIG bytes (two size classes);
 *     larger ones get an area of their own, the sender's to free too.
 *  2. The reply is written by the owner into the message's buffer, which
 *     stays with the message when it is recycled (up to XMSG_OUT_KEEP
 *     bytes), so a small reply grows nothing either.
 *  3. Holds never allocate: every worker has, per peer, one message for
 *     HOLD/GRANT and one for RELEASE, made at setup.  One of each is enough:
 *     a core asks a peer for a second hold only after the grant of the
 *     first came back, and releases it again only after a grant that the
 *     peer sent after reading (and so after handling) the last RELEASE.
 *  4. XM_KILL and XM_UNBLOCK (CLIENT KILL / UNBLOCK of another core's
 *     client) are rare: allocated with mi_malloc, freed by the receiver.
 *
 * A pool keeps XCORE_POOL_KEEP free messages per class; what comes back
 * beyond that goes back to the allocator, so a burst does not pin memory
 * for good.  xcore_msg_get fails (NULL) only when the allocator does, or
 * past the limit set by xcore_msg_limit: the caller answers its client
 * with an error, never aborts.
 *
 * Holds give multi-key commands Redis's atomicity across shards.  The
 * coordinating core asks each involved owner, itself included, for a hold
 * in ascending core order; an owner that grants lends its shard: it stops
 * writing it (commands and writes for it wait) but keeps doing its I/O and
 * everything else, until the holder releases it.  Nobody spins: the
 * coordinator parks the command and goes on with its loop, and runs the
 * command when the last grant arrives, from xcore_poll.  Ascending order
 * makes cycles impossible: a core lends itself only while it has not
 * taken itself for its own command (it holds nothing above itself then),
 * and once it has, it defers every hold request (commands for its shard
 * still run meanwhile: they simply come before the held one).  Deferred
 * work is kept in
 * one FIFO so a sender's commands and holds are served in the order it
 * sent them, which is what makes read-your-writes hold through a hold.
 * A core takes itself as soon as the holder that borrowed it lets go,
 * before any later request, so two cores that trade holds alternate
 * instead of one starving the other.
 *
 * A core about to sleep with nothing of its shard in use parks it
 * (xcore_park): a coordinator then takes it with one atomic operation
 * instead of a HOLD the sleeper would have to wake up for, and gives it
 * back the same way.  A sleeper that wakes to find its shard taken acts
 * as if it had granted it, and waits for the holder's RELEASE.  A
 * coordinator takes a parked core only once that core has read every
 * message it sent it, so the order of one client's commands holds there
 * too.
 *
 * Threading: every function runs on the worker it is given.
 */
#ifndef CACHALOT_XCORE_H
#define CACHALOT_XCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlq.h"
#include "resp/resp.h"

struct worker;
struct conn;
struct cmd_def;

enum xmsg_type {
	XM_EXEC = 1, /* run cmd on my shard, reply into out */
	XM_DONE,     /* EXEC came back */
	XM_HOLD,     /* lend me your shard until RELEASE */
	XM_GRANT,    /* HOLD came back */
	XM_RELEASE,
	XM_KILL,    /* close client arg64 */
	XM_UNBLOCK, /* wake client arg64 for reason argc (CLIENT UNBLOCK) */
};

/* Arguments carried inline: a small message's room, a big one's. */
#define XMSG_SMALL 320
#define XMSG_BIG 4032
/* Reply buffer a recycled message keeps for its next reply. */
#define XMSG_OUT_KEEP 4096

enum xmsg_kind {
	XMSG_POOL_SMALL, /* from its sender's pool (xcore_msg_get) */
	XMSG_POOL_BIG,
	XMSG_FIXED, /* a worker's hold or release message */
	XMSG_HEAP,  /* mi_malloc'd, freed by its receiver */
};

struct xmsg {
	uint8_t type;
	uint8_t from;
	uint8_t proto;
	uint8_t db;
	uint8_t kind; /* enum xmsg_kind */
	int argc;
	const struct cmd_def *cmd;
	struct conn *conn; /* opaque to the receiver */
	void *slot;	   /* opaque to the receiver */
	uint64_t arg64;
	struct resp_arg *argv; /* into data[] or ext */
	struct resp_out out;   /* the reply; its buffer is kept when recycled */
	struct xmsg *next;     /* deferred FIFO / overflow list / free list */
	char *ext;	       /* arguments too big for data[]; sender frees */
	struct ctlq_job job;   /* when it goes to the control thread */
	char data[];
};

struct xhold;

/*
 * What xcore calls on the receiving core, registered at setup (conn's
 * conn_xcore), so that xcore depends on no module above it.
 */
struct xcore_handlers {
	/* XM_EXEC: run m's command; m goes back to m->from as XM_DONE */
	void (*exec)(struct worker *w, struct xmsg *m);
	/* XM_DONE: a command this core sent finished: fill its reply */
	void (*done)(struct worker *w, struct xmsg *m);
	/* XM_KILL: CLIENT KILL of client id reached its core */
	void (*kill)(struct worker *w, uint64_t id);
	/* XM_UNBLOCK: CLIENT UNBLOCK of client id, for reason why */
	void (*unblock)(struct worker *w, uint64_t id, unsigned why);
	/* every hold h asked for is granted: run its request, release */
	void (*granted)(struct worker *w, struct xhold *h);
	/* w's shard is back from the core that borrowed it */
	void (*shard_back)(struct worker *w);
};

/** Allocate the rings between n workers, with the handlers h (kept).
 * Returns 0 or -errno. */
int xcore_setup(struct worker **ws, unsigned n, const struct xcore_handlers *h);
void xcore_teardown(void);

/**
 * A message from w's pool with room for `bytes` bytes of arguments at
 * xcore_msg_args(), its reply empty.  NULL when memory (or the limit of
 * xcore_msg_limit) runs out.  Context: w's thread.
 */
struct xmsg *xcore_msg_get(struct worker *w, size_t bytes);
/** The argument area of a message from xcore_msg_get. */
static inline char *xcore_msg_args(struct xmsg *m)
{
	return m->ext ? m->ext : m->data;
}
/**
 * Give m back to w's pool (a pooled message, on its sender) or free it
 * (XMSG_HEAP, on its receiver), with its reply buffer unless recycled.
 * Context: w's thread.
 */
void xcore_msg_put(struct worker *w, struct xmsg *m);
/** A one-way message for a rare event (XM_KILL), freed by whoever handles
 * it; NULL on failure.  Context: any worker. */
struct xmsg *xcore_msg_heap(void);
/**
 * Most pooled messages each worker may have out of its pool at once
 * (0 = no limit, the default): bounds what a flood of in-flight commands
 * may hold, and lets tests exhaust the pool.  Context: start-up.
 */
void xcore_msg_limit(unsigned max);

/** Stage m for worker `to`.  Never fails; published by xcore_flush(). */
void xcore_send(struct worker *w, unsigned to, struct xmsg *m);
/** Publish staged messages and wake sleeping receivers. */
void xcore_flush(struct worker *w);
/** Handle every message waiting for w.  Returns how many. */
unsigned xcore_poll(struct worker *w);
/** True when w has messages or deferred work (do not sleep). */
bool xcore_busy(struct worker *w);

/** One command waiting to hold several cores (embedded by its owner). */
struct xhold {
	struct xhold *next;
	uint64_t mask; /* bit i = worker i; w's own bit is added */
};

/**
 * Hold every core in h->mask and w itself.  Never waits.  Returns true
 * when all are held at once (every other core was parked): the caller
 * runs its command and calls xcore_release(w, h->mask).  Otherwise h is
 * queued, and once all are held the granted handler runs h from
 * xcore_poll (never from inside this call) to run the command; xcore
 * releases the cores after it, and after whatever else ran under the
 * same holds (xcore_hold_covers).
 * Commands of one worker take their holds one after another, in the order
 * they were queued.
 */
bool xcore_hold(struct worker *w, struct xhold *h);
void xcore_release(struct worker *w, uint64_t mask);
/**
 * Inside the granted handler: whether a further command over the cores in
 * mask may run at once under the holds already taken (and count it).
 */
bool xcore_hold_covers(struct worker *w, uint64_t mask);
/** True while w has lent its shard to another core: w must not write it
 * (reads under RCU are fine, as on any core). */
bool xcore_lent(const struct worker *w);

/**
 * Before w sleeps (RCU-offline): lend its shard to whoever takes it while
 * it sleeps, if nothing of it is in use.  Returns whether it did; then
 * call xcore_unpark() on waking.  Context: w's thread.
 */
bool xcore_park(struct worker *w);
void xcore_unpark(struct worker *w);

/**
 * Shutdown: w has left its loop and closed its connections.  Keep serving
 * the other cores (their commands, holds and replies) until every worker
 * has left its loop and every command any of them sent came back, so no
 * core waits for a grant or a reply from one that stopped listening.
 * Passes through quiescent states so grace periods go on meanwhile.
 * Returns when all workers are done with each other.
 */
void xcore_quiesce(struct worker *w);

#endif
