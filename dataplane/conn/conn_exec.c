/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running commands: route (route.h) decides where a request runs and
 * conn_dispatch carries that out: here (conn_exec_local), on its owner
 * (conn_send_remote, answered in conn_remote_done), on the control thread
 * (conn_send_control), here under holds of several owners
 * (conn_hold_start), or later (parked until the writes in
 * flight, the holds or the lent shard are back).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "conn_pvt.h"
#include "ctlq.h"
#include "route/route.h"

#include <urcu/compiler.h>

static void conn_account(struct wstats *st, const struct cmd_def *d,
			 const struct resp_out *o, size_t start, uint64_t ns)
{
	struct cmdstat *cs = &st->cmd[d->id];

	cs->calls++;
	cs->nsec += ns;
	st->total_commands++;
	if (o->len > start && o->buf[start] == '-') {
		cs->failed_calls++;
		conn_count_error(st, o, start);
	}
}

/*
 * Run a request here.  Returns false when its handler blocked the client
 * (cmd_block; only when may_block): nothing was answered or counted, and
 * the request runs again when woken (conn_block.c).  Redis counts a
 * blocked command's call once, when it answers.
 */
bool conn_exec_local(struct conn *c, const struct cmd_def *d, int argc,
		     const struct resp_arg *argv, bool may_block)
{
	struct worker *w = c->w;
	struct rslot *s;
	struct resp_out *o = conn_reply_target(c, &s);
	size_t start = o->len;
	struct cmd_ctx ctx = {
	    .w = w,
	    .cl = &c->cl,
	    .st = &w->st,
	    .db = c->cl.db,
	    .argc = argc,
	    .argv = argv,
	    .out = o,
	    .now_ms = w->now_ms,
	    .rng = &w->rng,
	    .wake = (enum cmd_wake)c->wake,
	    .may_block = may_block && !c->wake,
	};
	uint64_t t0 = clock_ticks();

	if (caa_unlikely(c->wake == CONN_WAKE_ERROR))
		resp_error(o, CONN_UNBLOCKED_ERROR);
	else
		d->fn(&ctx);
	c->wake = CMD_WAKE_NONE;
	if (caa_unlikely(ctx.block)) {
		if (s)
			conn_slot_skip(c, s);
		conn_block(c, ctx.block_until_ms);
		return false;
	}
	conn_account(&w->st, d, o, start,
		     clock_ticks_to_ns(clock_ticks() - t0));
	conn_reply_done(c, s, o, start);
	return true;
}

/* A message carrying the request to another thread, with the reply slot
 * its answer goes to; NULL (the client has Redis's OOM error) without
 * memory. */
static struct xmsg *conn_msg_new(struct conn *c, const struct cmd_def *d,
				 int argc, const struct resp_arg *argv)
{
	size_t bytes = (size_t)argc * sizeof(struct resp_arg);
	struct xmsg *m;
	struct rslot *s;
	char *p;

	for (int i = 0; i < argc; i++)
		bytes += argv[i].len;
	/* Steady state: both from this worker's free lists.  A large value
	 * may need memory; without it the client gets Redis's OOM error. */
	m = xcore_msg_get(c->w, bytes);
	s = m ? conn_slot_new(c) : NULL;
	if (!s) {
		if (m)
			xcore_msg_put(c->w, m);
		conn_reply_error(c, CONN_OOM_ERROR);
		return NULL;
	}
	m->type = XM_EXEC;
	m->proto = c->cl.proto;
	m->db = (uint8_t)c->cl.db;
	m->cmd = d;
	m->conn = c;
	m->slot = s;
	m->arg64 = s->out.limit; /* the reply's room: conn_msg_out_ready */
	m->argc = argc;
	m->argv = (struct resp_arg *)xcore_msg_args(m);
	p = (char *)(m->argv + argc);
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].ptr, argv[i].len);
		m->argv[i].ptr = p;
		m->argv[i].len = argv[i].len;
		p += argv[i].len;
	}
	if (unlikely_suppress(c))
		s->discard = conn_reply_suppressed(&c->cl);
	return m;
}

static void conn_send_remote(struct conn *c, const struct cmd_def *d, int argc,
			     const struct resp_arg *argv, unsigned owner)
{
	struct xmsg *m = conn_msg_new(c, d, argc, argv);

	if (!m)
		return;
	c->inflight[owner]++;
	c->inflight_total++;
	xcore_send(c->w, owner, m);
}

/* Before a message's command runs on the receiving thread: the message's
 * buffer, kept from an earlier reply, and the client's output limit as its
 * own core computed it (conn_msg_new).  Within the buffer's room resp_out
 * checks no limit, so the room must not pass it. */
static void conn_msg_out_ready(struct xmsg *m)
{
	m->out.proto = m->proto;
	m->out.limit = (size_t)m->arg64;
	if (m->out.limit && m->out.cap > m->out.limit)
		m->out.cap = m->out.limit;
}

void conn_exec_remote(struct worker *w, struct xmsg *m)
{
	const struct cmd_def *d = m->cmd;
	struct cmd_ctx ctx = {
	    .w = w,
	    .cl = NULL,
	    .st = &w->st,
	    .db = m->db,
	    .argc = m->argc,
	    .argv = m->argv,
	    .out = &m->out,
	    .now_ms = w->now_ms,
	    .rng = &w->rng,
	};
	uint64_t t0 = clock_ticks();

	conn_msg_out_ready(m);
	d->fn(&ctx);
	conn_account(&w->st, d, &m->out, 0,
		     clock_ticks_to_ns(clock_ticks() - t0));
	m->type = XM_DONE;
	xcore_send(w, m->from, m);
}

void conn_pause_list_add(struct worker *w, struct conn *c)
{
	if (c->in_paused)
		return;
	c->in_paused = true;
	c->next_paused = w->paused;
	w->paused = c;
}

/* A reply from another thread: into its slot, in the client's order. */
static void conn_reply_arrived(struct worker *w, struct conn *c, struct xmsg *m)
{
	struct rslot *s = m->slot;
	int oom = m->out.oom;

	s->ready = true;
	c->inflight_total--;
	if (c->closed) {
		xcore_msg_put(w, m);
		conn_maybe_release(c);
		return;
	}
	/* The reply stays in its message until the slot's turn comes: at
	 * once when it is the head, the usual case; nothing is copied twice
	 * and the message goes back to the pool with the slot. */
	if (s->discard)
		m->out.len = 0;
	s->m = m;
	c->oslots += m->out.len;
	conn_slot_acct(c, s);
	if (c->qhead == s)
		conn_drain_slots(c);
	conn_mem_sync(c);
	conn_obuf_check(c, oom);
	/* Over its limit: closed from conn_resume_paused, a safe point. */
	if (c->obuf_kill ||
	    (c->paused && (c->inflight_total < CONN_MAX_INFLIGHT / 2 ||
			   c->inflight_total == 0)))
		conn_pause_list_add(w, c);
}

void conn_remote_done(struct worker *w, struct xmsg *m)
{
	m->conn->inflight[m->from]--;
	conn_reply_arrived(w, m->conn, m);
}

/*
 * Control commands (CMD_CONTROL): the message goes to the control thread
 * as a ctlq job, runs there, and comes back to the client's worker as
 * another.  The command's time is counted on the client's worker, so
 * INFO commandstats sums cores as for every command.
 */
static void conn_control_done(struct ctlq_job *j)
{
	struct xmsg *m = caa_container_of(j, struct xmsg, job);
	struct conn *c = m->conn;
	struct worker *w = c->w;

	conn_account(&w->st, m->cmd, &m->out, 0, m->arg64);
	/* Nothing else of c was in flight (route): a paused c resumes. */
	c->ctl_inflight = false;
	conn_reply_arrived(w, c, m);
}

static uint64_t conn_control_rng = 0x9e3779b97f4a7c15ull; /* control's */

static void conn_control_exec(struct ctlq_job *j)
{
	struct xmsg *m = caa_container_of(j, struct xmsg, job);
	const struct cmd_def *d = m->cmd;
	struct cmd_ctx ctx = {
	    .db = m->db,
	    .argc = m->argc,
	    .argv = m->argv,
	    .out = &m->out,
	    .now_ms = clock_unix_ms(),
	    .rng = &conn_control_rng,
	};
	uint64_t t0;

	conn_msg_out_ready(m);
	t0 = clock_ticks();
	d->fn(&ctx);
	m->arg64 = clock_ticks_to_ns(clock_ticks() - t0);
	m->job.fn = conn_control_done;
	ctlq_to_worker(m->from, &m->job);
}

static void conn_send_control(struct conn *c, const struct cmd_def *d, int argc,
			      const struct resp_arg *argv)
{
	struct xmsg *m = conn_msg_new(c, d, argc, argv);

	if (!m)
		return;
	m->from = (uint8_t)c->w->id;
	m->job.fn = conn_control_exec;
	c->ctl_inflight = true;
	c->inflight_total++;
	ctlq_to_control(c->w->id, &m->job);
}

/* Keys on several cores, or every shard: park the request until its
 * holds are granted (conn_holds_granted runs it). */
static bool conn_hold_start(struct conn *c, const struct cmd_def *d, int argc,
			    const struct resp_arg *argv, uint64_t mask)
{
	c->xh.mask = mask;
	if (xcore_hold(c->w, &c->xh)) { /* the other cores were idle */
		conn_exec_local(c, d, argc, argv, false);
		xcore_release(c->w, mask);
		return true;
	}
	c->in_hold = true;
	c->hold_cmd = d;
	return false;
}

/* A write for my own shard while another core borrows it: park the
 * request until the shard comes back (conn_shard_back). */
static bool conn_wait_shard(struct conn *c)
{
	struct worker *w = c->w;

	c->in_lent_wait = true;
	c->next_lent = w->lent_wait;
	w->lent_wait = c;
	return false;
}

/*
 * Carry out route's decision (route.h) for one request.  Returns false
 * when the request must be run again later: it waits for this client's
 * writes in flight, for its holds, or for this core's lent shard;
 * everything else, errors included, consumes it.
 */
bool conn_dispatch(struct conn *c, int argc, const struct resp_arg *argv)
{
	struct route_flight fl = {.per_core = c->inflight,
				  .total = c->inflight_total};
	struct route_decision d;

	if (caa_unlikely(c->blocked)) /* woken only by conn_unblock */
		return false;
	fl.control = c->ctl_inflight;
	route_request(c->w, &c->cl, &fl, argc, argv, &d);
	/* A woken request that does not run here now is not the rerun its
	 * wake was for: the next request must not see it. */
	if (caa_unlikely(c->wake) && d.action != ROUTE_RUN_HERE)
		c->wake = CMD_WAKE_NONE;
	switch (d.action) {
	case ROUTE_RUN_HERE:
		c->cl.last_cmd = d.cmd;
		return conn_exec_local(c, d.cmd, argc, argv, true);
	case ROUTE_SEND:
		c->cl.last_cmd = d.cmd;
		conn_send_remote(c, d.cmd, argc, argv, d.owner);
		return true;
	case ROUTE_HOLD:
		c->cl.last_cmd = d.cmd;
		return conn_hold_start(c, d.cmd, argc, argv, d.mask);
	case ROUTE_WAIT_FLIGHT:
		c->cl.last_cmd = d.cmd;
		return false;
	case ROUTE_WAIT_LENT:
		c->cl.last_cmd = d.cmd;
		return conn_wait_shard(c);
	case ROUTE_CONTROL:
		c->cl.last_cmd = d.cmd;
		conn_send_control(c, d.cmd, argc, argv);
		return true;
	case ROUTE_ERROR:
		break;
	}
	if (d.cmd)
		c->w->st.cmd[d.cmd->id].rejected_calls++;
	conn_reply_error(c, d.err);
	return true;
}
