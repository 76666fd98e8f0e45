/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Input: received bytes accumulate in ib[0..ilen); requests are parsed
 * from ipos in place (resp_parse puts its cursor back when a request is
 * incomplete).  A large bulk announces its size, so the buffer grows once
 * to hold it.  `client-query-buffer-limit` bounds what Redis would hold in
 * its query buffer: Redis turns every complete argument into an object as
 * it arrives, so only the part of a request after ipart (the incomplete
 * argument, resp_req.partial) counts, checked after each read as Redis
 * does; an MSET of three 400 MB values passes a 1 GB limit.
 *
 * A request that cannot run yet (its holds, or my shard lent to another
 * core) stays parsed and parked; the connection stops parsing until it
 * runs, and its transport stops reading past CONN_RX_HOLD.
 */
#include <string.h>

#include <mimalloc.h>

#include "conn_pvt.h"
#include "log.h"
#include "transport.h"

static struct resp_arg *conn_argv_grow(void *arg, struct resp_arg *old,
				       int want)
{
	struct conn *c = arg;
	struct resp_arg *n;
	int cap = want < 64 ? 64 : want;

	(void)old;
	if (c->argv_big_cap >= want)
		return c->argv_big;
	n = mi_realloc(c->argv_big, (size_t)cap * sizeof(*n));
	if (!n)
		return NULL;
	c->argv_big = n;
	c->argv_big_cap = cap;
	return n;
}

char *conn_rx_space(struct conn *c, size_t *avail)
{
	if (!c->ib) {
		c->ib = mi_malloc(CONN_IBUF_INIT);
		if (!c->ib) {
			*avail = 0;
			return NULL;
		}
		c->icap = CONN_IBUF_INIT;
	}
	if (c->icap - c->ilen < 1024 && c->ipos > 0) {
		memmove(c->ib, c->ib + c->ipos, c->ilen - c->ipos);
		c->ilen -= c->ipos;
		c->ipos = 0;
	}
	if (c->icap - c->ilen < 1024) {
		size_t cap = c->icap * 2;
		char *n = mi_realloc(c->ib, cap);
		if (!n) {
			*avail = 0;
			return NULL;
		}
		c->ib = n;
		c->icap = cap;
	}
	*avail = c->icap - c->ilen;
	return c->ib + c->ilen;
}

/* Redis readQueryFromClient's check: its query buffer holds the
 * unparsed input from the incomplete argument on.  Context: after a read,
 * before parsing. */
static bool conn_qbuf_over(struct conn *c)
{
	long long limit = conn_params()->qbuf_limit;

	if ((long long)(c->ilen - c->ipos - c->ipart) <= limit)
		return false;
	log_msg(LOG_WARNING, 'W',
		"Closing client that reached max query buffer length: "
		"id=%llu addr=%s",
		(unsigned long long)c->cl.id, c->cl.addr);
	return true;
}

/*
 * The request at ipos waits for a bulk that ends at need: grow once to
 * hold it, as Redis sizes its buffer for a big argument when it reads the
 * header.  The part past ipart is bounded by the query buffer limit, so
 * the buffer never grows further than that limit allows.
 */
static bool conn_grow_for(struct conn *c, size_t need)
{
	long long limit = conn_params()->qbuf_limit;
	size_t pending = c->ilen - c->ipos;
	size_t most = c->ipart + (size_t)limit + 1;

	if (need > most)
		need = most;
	if (c->ipos > 0) {
		memmove(c->ib, c->ib + c->ipos, pending);
		c->ilen = pending;
		c->ipos = 0;
	}
	if (need + 1024 > c->icap) {
		char *n = mi_realloc(c->ib, need + 1024);
		if (!n)
			return false;
		c->ib = n;
		c->icap = need + 1024;
	}
	return true;
}

/* A request that had to wait (conn_dispatch) is kept parsed: parsing again
 * is not possible because inline requests are unquoted in place.  Its
 * arguments are stored as offsets from ipos, which survive the buffer
 * moving or growing while the connection waits. */
static void conn_park(struct conn *c, int argc, struct resp_arg *argv,
		      size_t used)
{
	for (int i = 0; i < argc; i++)
		argv[i].ptr =
		    (const char *)(uintptr_t)(argv[i].ptr - (c->ib + c->ipos));
	c->parked_argv = argv;
	c->parked_argc = argc;
	c->parked_used = used;
	c->paused = true;
}

static struct resp_arg *conn_parked_args(struct conn *c)
{
	struct resp_arg *argv = c->parked_argv;

	for (int i = 0; i < c->parked_argc; i++)
		argv[i].ptr = c->ib + c->ipos + (uintptr_t)argv[i].ptr;
	return argv;
}

static bool conn_unpark(struct conn *c)
{
	struct resp_arg *argv = conn_parked_args(c);
	int argc = c->parked_argc;

	if (!conn_dispatch(c, argc, argv)) {
		conn_park(c, argc, argv, c->parked_used);
		return false;
	}
	c->ipos += c->parked_used;
	c->parked_argv = NULL;
	return true;
}

static void conn_parse_batch(struct conn *c)
{
	struct worker *w = c->w;
	struct resp_req req = {
	    .argv = c->argv_inline,
	    .argv_cap = CONN_ARGV_INLINE,
	    .grow = conn_argv_grow,
	    .grow_arg = c,
	};

	if (c->in_hold || c->in_lent_wait)
		return; /* the parked request is not ready to run */
	if (c->parked_argv && !conn_unpark(c))
		return;
	w->lim.max_bulk_len = conn_params()->max_bulk_len;
	while (c->ipos < c->ilen && !c->rx_stopped && !c->closed) {
		size_t used = 0, need = 0;
		const char *err = NULL;
		int rc;

		if (c->inflight_total >= CONN_MAX_INFLIGHT) {
			c->paused = true;
			return;
		}
		req.argv = c->argv_inline;
		req.argv_cap = CONN_ARGV_INLINE;
		req.checked = c->ipart;
		w->lim.unauth = !c->cl.authed && conn_params()->has_pass;
		rc = resp_parse(c->ib + c->ipos, c->ilen - c->ipos, &w->lim,
				&req, &used, &need, &err);
		if (rc == RESP_AGAIN) {
			c->ipart = req.partial;
			if (need > c->icap - c->ipos && !conn_grow_for(c, need))
				goto fatal;
			break;
		}
		c->ipart = 0;
		if (rc == RESP_ERROR) {
			conn_reply_error(c, err);
			c->cl.close_after_reply = true;
			c->rx_stopped = true;
			break;
		}
		if (req.argc > 0 && !conn_dispatch(c, req.argc, req.argv)) {
			conn_park(c, req.argc, req.argv, used);
			return;
		}
		c->ipos += used;
		if (c->cl.close_after_reply)
			c->rx_stopped = true;
	}
	c->paused = false;
	if (c->ipos == c->ilen)
		c->ipos = c->ilen = 0;
	return;
fatal:
	c->rx_stopped = true;
	c->ipos = c->ilen = c->ipart = 0;
	c->w->tp->close(c->w, c);
}

/* Parse and run what arrived; close c here if its output went over the
 * limit meanwhile (no command of it is running any more). */
static void conn_parse(struct conn *c)
{
	conn_obuf_load(c, conn_params());
	if (!c->obuf_kill)
		conn_parse_batch(c);
	conn_mem_sync(c);
	conn_obuf_close(c);
}

void conn_rx_add(struct conn *c, size_t n)
{
	c->ilen += n;
	c->cl.last_ms = c->w->now_ms;
	c->w->st.net_input_bytes += n;
}

void conn_rx_done(struct conn *c, size_t n)
{
	conn_rx_add(c, n);
	if (c->rx_stopped) {
		c->ipos = c->ilen = 0;
		conn_mem_sync(c); /* conn_rx_space may have grown ib */
		return;
	}
	if (conn_qbuf_over(c)) {
		c->rx_stopped = true;
		c->ipos = c->ilen = c->ipart = 0;
		c->w->tp->close(c->w, c);
		return;
	}
	conn_parse(c); /* syncs the memory gauge after the batch */
}

bool conn_rx_hold(struct conn *c)
{
	if (!c->paused || c->ilen - c->ipos < CONN_RX_HOLD ||
	    !c->w->tp->rx_resume)
		return false;
	c->rx_held = true;
	return true;
}

size_t conn_rx_room(const struct conn *c)
{
	size_t pending = c->ilen - c->ipos;

	if (!c->paused)
		return SIZE_MAX;
	return pending < CONN_RX_HOLD ? CONN_RX_HOLD - pending : 1;
}

size_t conn_rx_pending(const struct conn *c)
{
	/* A request still arriving (a 64 MB value) is being consumed: only
	 * a paused connection holds bytes it will not take yet. */
	return c->paused ? c->ilen - c->ipos : 0;
}

void conn_resume_paused(struct worker *w)
{
	struct conn *c = w->paused;

	w->paused = NULL;
	while (c) {
		struct conn *next = c->next_paused;
		c->in_paused = false;
		if (c->closed)
			conn_maybe_release(c);
		else if (c->paused || c->obuf_kill)
			conn_parse(c);
		if (c->rx_held && !c->paused && !c->closed) {
			c->rx_held = false;
			w->tp->rx_resume(w, c);
		}
		c = next;
	}
}

/*
 * The holds of c's parked request are all granted: run it now, while
 * every shard it touches is held (xcore lets them go afterwards).  A
 * client that went away meanwhile gets nothing run: nobody saw that
 * request acknowledged.  Context: called by xcore from the worker loop's
 * xcore_poll (or xcore_quiesce), outside any command.
 */
void conn_holds_granted(struct worker *w, struct xhold *h)
{
	struct conn *c = caa_container_of(h, struct conn, xh);

	c->in_hold = false;
	if (!c->closed)
		conn_exec_local(c, c->hold_cmd, c->parked_argc,
				conn_parked_args(c), false);
	c->ipos += c->parked_used;
	c->parked_argv = NULL;
	if (c->closed) {
		conn_maybe_release(c);
		return;
	}
	/* Go on with its pipeline now, while the cores are held: commands
	 * over them run at once (xcore_hold_covers). */
	conn_parse(c);
	if (!c->closed)
		conn_pause_list_add(w, c);
}

void conn_shard_back(struct worker *w)
{
	struct conn *c = w->lent_wait;

	w->lent_wait = NULL;
	while (c) {
		struct conn *next = c->next_lent;

		c->in_lent_wait = false;
		if (c->closed)
			conn_maybe_release(c);
		else
			conn_pause_list_add(w, c);
		c = next;
	}
}
