/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Routing (the rules are in cmd.h): dispatch() finds the command, checks
 * arity and authentication, computes the owners of its keys and then runs
 * it here, sends it to its owner, or holds several owners and runs it
 * here.  Local reads stay lock-free under RCU; a client with writes in
 * flight to an owner sends its next commands for that owner there too, so
 * the ring's FIFO order gives read-your-writes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn_pvt.h"

/* Command timing for commandstats.  clock_gettime() cost ~10% of a
 * pipelined GET under perf; the TSC, scaled once at start-up, does not. */
static double tsc_ns_per_tick = 1.0;
static bool tsc_usable;

void conn_clock_setup(void)
{
#if defined(__x86_64__)
	struct timespec a, b, pause = {.tv_nsec = 20 * 1000 * 1000};
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __builtin_ia32_rdtsc();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = __builtin_ia32_rdtsc();
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 +
		    (double)(b.tv_nsec - a.tv_nsec);
	if (t1 > t0 && ns > 0) {
		tsc_ns_per_tick = ns / (double)(t1 - t0);
		tsc_usable = true;
	}
#endif
}

static inline uint64_t clock_ticks(void)
{
#if defined(__x86_64__)
	if (tsc_usable)
		return __builtin_ia32_rdtsc();
#endif
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks_to_ns(uint64_t t)
{
	return tsc_usable ? (uint64_t)((double)t * tsc_ns_per_tick) : t;
}

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
	} else if (d->flags & CMD_WRITE) {
		st->dirty++;
	}
}

void conn_exec_local(struct conn *c, const struct cmd_def *d, int argc,
		     const struct resp_arg *argv)
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
	};
	uint64_t t0 = clock_ticks();

	d->fn(&ctx);
	conn_account(&w->st, d, o, start, ticks_to_ns(clock_ticks() - t0));
	conn_reply_done(c, s, o, start);
}

static void conn_send_remote(struct conn *c, const struct cmd_def *d, int argc,
			     const struct resp_arg *argv, unsigned owner)
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
		return;
	}
	m->type = XM_EXEC;
	m->proto = c->cl.proto;
	m->db = (uint8_t)c->cl.db;
	m->cmd = d;
	m->conn = c;
	m->slot = s;
	m->arg64 = s->out.limit; /* the reply's room, see conn_exec_remote */
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
	c->inflight[owner]++;
	c->inflight_total++;
	xcore_send(c->w, owner, m);
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

	/* The message's buffer, kept from an earlier reply, and the client's
	 * output limit as its own core computed it: within the buffer's room
	 * resp_out checks no limit, so the room must not pass it. */
	m->out.proto = m->proto;
	m->out.limit = (size_t)m->arg64;
	if (m->out.limit && m->out.cap > m->out.limit)
		m->out.cap = m->out.limit;
	d->fn(&ctx);
	conn_account(&w->st, d, &m->out, 0, ticks_to_ns(clock_ticks() - t0));
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

void conn_remote_done(struct worker *w, struct xmsg *m)
{
	struct conn *c = m->conn;
	struct rslot *s = m->slot;
	unsigned from = m->from;
	int oom = m->out.oom;

	s->ready = true;
	c->inflight[from]--;
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

/* The owners of d's keys: returns how many keys; *mask gets their cores. */
static int conn_key_owners(const struct cmd_def *d, int argc,
			   const struct resp_arg *argv, uint64_t *mask)
{
	int last, nkeys = 0;

	*mask = 0;
	if (d->first_key <= 0 || d->first_key >= argc)
		return 0;
	last = d->last_key < 0 ? argc + d->last_key : d->last_key;
	if (last >= argc)
		last = argc - 1;
	for (int i = d->first_key; i <= last; i += d->key_step) {
		uint16_t slot = slot_of(argv[i].ptr, argv[i].len);
		*mask |= 1ull << store_owner(slot);
		nkeys++;
		if (d->key_step <= 0)
			break;
	}
	return nkeys;
}

/* Keys on several cores, or every shard: park the request until its
 * holds are granted (conn_holds_granted runs it). */
static bool conn_hold_start(struct conn *c, const struct cmd_def *d, int argc,
			    const struct resp_arg *argv, uint64_t mask)
{
	c->xh.mask = mask;
	if (xcore_hold(c->w, &c->xh)) { /* the other cores were idle */
		conn_exec_local(c, d, argc, argv);
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

/* Returns false when the command has to wait: a keyless command that
 * reads the whole keyspace (DBSIZE, KEYS, SCAN, INFO...) must see this
 * client's writes that are still running on other cores; a command over
 * several shards waits for its holds; a write for my shard waits while
 * another core borrows it. */
bool conn_route(struct conn *c, const struct cmd_def *d, int argc,
		const struct resp_arg *argv)
{
	struct worker *w = c->w;
	uint64_t mask;
	unsigned owner;

	if (w->n == 1 || (d->flags & CMD_CLIENT)) {
		conn_exec_local(c, d, argc, argv);
		return true;
	}
	if (d->flags & CMD_ALL_SHARDS) {
		mask = w->n == 64 ? ~0ull : (1ull << w->n) - 1;
		if (xcore_hold_covers(w, mask)) {
			conn_exec_local(c, d, argc, argv);
			return true;
		}
		return conn_hold_start(c, d, argc, argv, mask);
	}
	if (conn_key_owners(d, argc, argv, &mask) == 0) {
		if (c->inflight_total > 0)
			return false;
		conn_exec_local(c, d, argc, argv);
		return true;
	}
	if (mask & (mask - 1)) {
		if (xcore_hold_covers(w, mask)) {
			conn_exec_local(c, d, argc, argv);
			return true;
		}
		return conn_hold_start(c, d, argc, argv, mask);
	}
	owner = (unsigned)__builtin_ctzll(mask);
	if (owner == w->id && (d->flags & CMD_WRITE) &&
	    caa_unlikely(xcore_lent(w)))
		return conn_wait_shard(c);
	if (owner == w->id ||
	    (!(d->flags & CMD_WRITE) && c->inflight[owner] == 0))
		conn_exec_local(c, d, argc, argv);
	else
		conn_send_remote(c, d, argc, argv, owner);
	return true;
}

static void conn_unknown_command(struct conn *c, int argc,
				 const struct resp_arg *argv)
{
	char msg[512];
	size_t n;

	n = (size_t)snprintf(
	    msg, sizeof(msg),
	    "ERR unknown command '%.*s', with args beginning with: ",
	    (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr);
	for (int i = 1; i < argc && n < sizeof(msg) - 1; i++) {
		size_t room = sizeof(msg) - n;
		int len = (int)(argv[i].len > 128 ? 128 : argv[i].len);
		n += (size_t)snprintf(msg + n, room, "'%.*s' ", len,
				      argv[i].ptr);
		if (n >= 128 + 64)
			break;
	}
	conn_reply_error(c, msg);
}

/* Returns false when the request must be run again later (see
 * conn_route); everything else, errors included, consumes it. */
bool conn_dispatch(struct conn *c, int argc, const struct resp_arg *argv)
{
	const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len);
	char msg[256];

	if (!d) {
		conn_unknown_command(c, argc, argv);
		return true;
	}
	if (d->subs && argc >= 2) {
		const struct cmd_def *sub =
		    cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
		if (!sub) {
			char up[32];
			size_t i;
			for (i = 0; d->name[i] && i < sizeof(up) - 1; i++)
				up[i] = (char)(d->name[i] & ~0x20);
			up[i] = '\0';
			snprintf(msg, sizeof(msg),
				 "ERR unknown subcommand '%.*s'. Try %s HELP.",
				 (int)(argv[1].len > 128 ? 128 : argv[1].len),
				 argv[1].ptr, up);
			conn_reply_error(c, msg);
			return true;
		}
		d = sub;
	}
	if ((d->arity > 0 && argc != d->arity) ||
	    (d->arity < 0 && argc < -d->arity) || !d->fn) {
		char name[64];
		cmd_fullname(d, name, sizeof(name));
		snprintf(msg, sizeof(msg),
			 "ERR wrong number of arguments for '%s' command",
			 name);
		c->w->st.cmd[d->id].rejected_calls++;
		conn_reply_error(c, msg);
		return true;
	}
	if (!c->cl.authed && !(d->flags & CMD_NO_AUTH)) {
		if (cfg_cur()->requirepass[0] != '\0') {
			c->w->st.cmd[d->id].rejected_calls++;
			conn_reply_error(c, "NOAUTH Authentication required.");
			return true;
		}
		c->cl.authed = true;
	}
	if ((d->flags & CMD_DENYOOM) && caa_unlikely(worker_mem_oom())) {
		c->w->st.cmd[d->id].rejected_calls++;
		conn_reply_error(c, CONN_OOM_ERROR);
		return true;
	}
	c->cl.last_cmd = d;
	return conn_route(c, d, argc, argv);
}
