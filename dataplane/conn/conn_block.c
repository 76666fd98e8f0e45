/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn_block: clients waiting in a blocking command (cmd_block).  The
 * request stays parked (conn_in.c) and the client reads nothing further,
 * as in Redis; its deadline sits in its core's timer wheel.  Waking it (the
 * deadline, CLIENT UNBLOCK) puts it on the paused list, whose resume runs
 * the parked request again with the reason in c->wake.  `blocked` and the
 * per-core count are read by other cores (CLIENT LIST, CLIENT UNBLOCK,
 * INFO): stored atomically.
 */
#include "clock.h"
#include "conn_pvt.h"

#include <urcu/compiler.h>

static void conn_block_set(struct conn *c, bool on)
{
	__atomic_store_n(&c->blocked, on, __ATOMIC_RELAXED);
	stats_gauge_add(&c->w->st.blocked_clients, on ? 1 : -1);
}

static void conn_block_expired(struct timer *t)
{
	conn_unblock(caa_container_of(t, struct conn, block_timer),
		     CMD_WAKE_TIMEOUT);
}

void conn_block(struct conn *c, int64_t until_ms)
{
	struct worker *w = c->w;

	conn_block_set(c, true);
	if (until_ms != CMD_BLOCK_FOREVER) {
		int64_t left = until_ms - w->now_ms;

		timer_arm(
		    w->tw, &c->block_timer,
		    (uint64_t)(clock_mono_us() + (left > 0 ? left * 1000 : 0)),
		    conn_block_expired);
	}
}

void conn_unblock(struct conn *c, unsigned why)
{
	if (!c->blocked || c->closed)
		return;
	conn_block_set(c, false);
	if (timer_armed(&c->block_timer))
		timer_cancel(&c->block_timer);
	c->wake = (uint8_t)why;
	conn_pause_list_add(c->w, c);
}

void conn_block_closed(struct conn *c)
{
	if (!c->blocked)
		return;
	conn_block_set(c, false);
	if (timer_armed(&c->block_timer))
		timer_cancel(&c->block_timer);
}

void conn_unblock_local(struct worker *w, uint64_t id, unsigned why)
{
	struct conn *c;

	cds_list_for_each_entry(c, &w->clients, link)
	{
		if (c->cl.id == id) {
			conn_unblock(c, why);
			return;
		}
	}
}

bool conn_unblock_id(struct worker *w, uint64_t id, unsigned why)
{
	unsigned at;
	struct conn *c = conn_find(id, &at);

	/* As Redis: 1 for a client blocked now.  One on another core may
	 * wake meanwhile; the message then finds it awake, and does
	 * nothing. */
	if (!c || !__atomic_load_n(&c->blocked, __ATOMIC_RELAXED))
		return false;
	if (at == w->id) {
		conn_unblock(c, why);
		return true;
	}
	return conn_admin_send(w, at, XM_UNBLOCK, id, (int)why);
}

unsigned conn_blocked_count(void)
{
	int64_t n = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		n += (int64_t)__atomic_load_n(
		    &worker_stats(worker_get(i))->blocked_clients,
		    __ATOMIC_RELAXED);
	return n > 0 ? (unsigned)n : 0;
}
