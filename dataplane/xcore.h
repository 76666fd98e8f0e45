/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xcore: messages between worker cores.
 *
 * Every ordered pair of workers has an SPSC ring (ring.h).  A message is
 * one allocation that travels out and comes back: a command sent to its
 * shard's owner (XM_EXEC) returns as XM_DONE carrying the reply, a hold
 * request (XM_HOLD) returns as XM_GRANT.  Sends are staged and published
 * once per loop turn (xcore_flush), which is also when a sleeping peer is
 * woken; a full ring never blocks, the message waits in a per-peer overflow
 * list that keeps its order.
 *
 * Holds give multi-key commands Redis's atomicity across shards.  The
 * coordinating core asks each involved owner, itself included, for a hold
 * in ascending core order; an owner that grants spins on its rings,
 * deferring new commands and hold requests until the holder releases it;
 * the coordinator then runs the command over all held shards and releases
 * them.  Ascending order makes cycles impossible: a coordinator below its
 * own number in the order may still be lent to others (it holds nothing
 * they need yet), and once it has taken itself it defers every request.
 * Deferred work is kept in one FIFO so a sender's commands and holds are served
 * in the order it sent them, which is what makes read-your-writes hold through
 * a hold.
 *
 * Threading: every function runs on the worker it is given.
 */
#ifndef CACHALOT_XCORE_H
#define CACHALOT_XCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "resp/resp.h"

struct worker;
struct conn;
struct cmd_def;

enum xmsg_type {
	XM_EXEC = 1, /* run cmd on my shard, reply into out */
	XM_DONE,     /* EXEC came back */
	XM_HOLD,     /* stop touching your shard until RELEASE */
	XM_GRANT,    /* HOLD came back */
	XM_RELEASE,
	XM_KILL, /* close client arg64 */
};

struct xmsg {
	uint8_t type;
	uint8_t from;
	uint8_t proto;
	uint8_t db;
	int argc;
	const struct cmd_def *cmd;
	struct conn *conn; /* opaque to the receiver */
	void *slot;	   /* opaque to the receiver */
	uint64_t arg64;
	struct resp_arg *argv; /* into data[] */
	struct resp_out out;
	struct xmsg *next; /* deferred FIFO / overflow list */
	char data[];
};

/** Allocate the rings between n workers.  Returns 0 or -errno. */
int xcore_setup(struct worker **ws, unsigned n);
void xcore_teardown(void);

/** A message with room for extra bytes in data[]; NULL on failure. */
struct xmsg *xcore_msg_new(size_t extra);
void xcore_msg_free(struct xmsg *m);

/** Stage m for worker `to`.  Never fails; published by xcore_flush(). */
void xcore_send(struct worker *w, unsigned to, struct xmsg *m);
/** Publish staged messages and wake sleeping receivers. */
void xcore_flush(struct worker *w);
/** Handle every message waiting for w.  Returns how many. */
unsigned xcore_poll(struct worker *w);
/** True when w has messages or deferred work (do not sleep). */
bool xcore_busy(struct worker *w);

/** Hold every core in mask (bit i = worker i), ascending; returns with all
 * held.  The caller then runs its command and calls xcore_release. */
void xcore_hold(struct worker *w, uint64_t mask);
void xcore_release(struct worker *w, uint64_t mask);

#endif
