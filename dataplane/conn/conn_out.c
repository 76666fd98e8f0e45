/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output: while no reply slot is pending, replies are written straight
 * into `out`.  A command sent to another core takes a slot; so does every
 * command after it until the slot queue drains.  When a slot at the head
 * becomes ready its bytes move to `out`: copied, or for a large remote
 * reply that finds `out` empty, its buffer handed over (the message gets
 * out's old one).  Slots are recycled through the worker's free list.
 */
#include <string.h>

#include <mimalloc.h>

#include "conn_pvt.h"

/*
 * A pipeline of multi-core commands runs one command per hold, over as
 * many loop turns: sending each reply as it comes would cost a send (and
 * the client a read) per command where redis-server sends the batch at
 * once.  While the next command waits for its holds, replies so far stay
 * queued, up to this much; they go with the reply that ends the run.
 */
#define CONN_HOLD_TX_BATCH (16 * 1024)

/* Free slots a worker keeps, and the reply buffer each may keep: enough
 * for deep pipelines of small replies without pinning much memory. */
#define CONN_SLOT_POOL 4096
#define CONN_SLOT_KEEP 512

const char *conn_tx_data(struct conn *c, size_t *len)
{
	size_t n = c->out.len - c->opos;

	/* Redis sends nothing more to a client it is closing for its
	 * output: it may be a reply with a hole. */
	if (c->obuf_kill || (c->in_hold && n < CONN_HOLD_TX_BATCH))
		n = 0;
	*len = n;
	return c->out.buf + c->opos;
}

void conn_tx_done(struct conn *c, size_t n)
{
	conn_rbuf_sent(c, conn_pending(c), n);
	c->opos += n;
	c->w->st.net_output_bytes += n;
	/* A client still reading a long reply is not idle (`timeout`). */
	c->cl.last_ms = c->w->now_ms;
	if (c->opos == c->out.len) {
		c->opos = c->out.len = 0;
		if (c->out.cap > CONN_OBUF_KEEP || c->out.oom) {
			int proto = c->out.proto;
			resp_out_free(&c->out);
			resp_out_init(&c->out, proto);
		}
	} else if (c->opos >= CONN_OBUF_KEEP && c->opos >= c->out.len / 2) {
		/* A reader that keeps up only just would otherwise keep every
		 * byte it was sent: the buffer empties only when it drains. */
		c->out.len -= c->opos;
		memmove(c->out.buf, c->out.buf + c->opos, c->out.len);
		c->opos = 0;
	}
	conn_mem_sync(c);
}

bool conn_tx_close(const struct conn *c)
{
	return c->obuf_kill ||
	       (c->cl.close_after_reply && !c->qhead && c->inflight_total == 0);
}

static void conn_slot_put(struct worker *w, struct rslot *s)
{
	if (s->m) {
		xcore_msg_put(w, s->m);
		s->m = NULL;
	}
	/* As xcore_msg_put: a clipped cap is not worth a lookup. */
	if (s->out.buf && (s->out.cap > CONN_SLOT_KEEP || s->out.oom))
		resp_out_free(&s->out);
	if (w->slot_nfree >= CONN_SLOT_POOL) {
		resp_out_free(&s->out);
		mi_free(s);
		return;
	}
	s->next = w->slot_free;
	w->slot_free = s;
	w->slot_nfree++;
}

/* The bytes of a ready slot into out: a large remote reply finding out
 * empty is handed over rather than copied. */
static void conn_slot_emit(struct conn *c, struct rslot *s)
{
	struct resp_out *o = s->m ? &s->m->out : &s->out;

	if (!o->len)
		return;
	if (s->m && o->len > XMSG_OUT_KEEP && !o->oom && !c->out.oom &&
	    c->out.len == c->opos) {
		char *buf = c->out.buf;
		size_t cap = c->out.cap;

		c->out.buf = o->buf;
		c->out.cap = o->cap;
		c->out.len = o->len;
		c->opos = 0;
		o->buf = buf;
		o->cap = cap;
		o->len = 0;
		return;
	}
	resp_out_raw(&c->out, o->buf, o->len);
}

/* Move the ready prefix of the slot queue into out.  The bytes were
 * counted as pending already: moving them needs no limit. */
void conn_drain_slots(struct conn *c)
{
	struct rslot *s;

	c->out.limit = 0;
	while ((s = c->qhead) != NULL && s->ready) {
		size_t len = s->m ? s->m->out.len : s->out.len;

		conn_slot_emit(c, s);
		c->qhead = s->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->oslots -= len;
		c->oslot_mem -= s->acct;
		c->nslots--;
		conn_slot_put(c->w, s);
	}
	worker_mark_dirty(c->w, c);
}

struct rslot *conn_slot_new(struct conn *c)
{
	struct worker *w = c->w;
	struct rslot *s = w->slot_free;

	if (s) {
		w->slot_free = s->next;
		w->slot_nfree--;
	} else {
		s = mi_malloc(sizeof(*s));
		if (!s)
			return NULL;
		w->slot_allocs++;
		resp_out_init(&s->out, 2);
	}
	s->next = NULL;
	s->m = NULL;
	s->acct = 0;
	s->ready = false;
	s->discard = false;
	s->out.len = 0;
	s->out.oom = 0;
	s->out.proto = c->cl.proto;
	s->out.limit = conn_obuf_room(c);
	/* Room kept from an earlier reply must not let this one past its
	 * limit without growing (resp_out checks the limit on growth). */
	if (s->out.limit && s->out.cap > s->out.limit)
		s->out.cap = s->out.limit;
	conn_slot_acct(c, s);
	c->nslots++;
	if (c->qtail)
		c->qtail->next = s;
	else
		c->qhead = s;
	c->qtail = s;
	return s;
}

/* A released connection's slots, ready or not, back to the pool; their
 * remote replies, if any came back, with them. */
void conn_slots_drop(struct conn *c)
{
	struct rslot *s, *next;

	for (s = c->qhead; s; s = next) {
		next = s->next;
		conn_slot_put(c->w, s);
	}
	c->qhead = c->qtail = NULL;
	c->oslots = c->oslot_mem = c->nslots = 0;
}

void conn_slots_teardown(struct worker *w)
{
	struct rslot *s;

	while ((s = w->slot_free) != NULL) {
		w->slot_free = s->next;
		resp_out_free(&s->out);
		mi_free(s);
	}
	w->slot_nfree = 0;
}

/* Where the next reply goes: out, or a fresh slot behind pending ones. */
struct resp_out *conn_reply_target(struct conn *c, struct rslot **sp)
{
	*sp = NULL;
	if (!c->qhead) {
		c->out.proto = c->cl.proto;
		c->out.limit = c->ohard ? c->opos + conn_obuf_cap(c) : 0;
		return &c->out;
	}
	*sp = conn_slot_new(c);
	return *sp ? &(*sp)->out : &c->out;
}

/* CLIENT REPLY: whether the command just run (or just sent) answers.
 * SKIP silences itself and the command after it. */
bool conn_reply_suppressed(struct client *cl)
{
	if (cl->reply == CLIENT_REPLY_OFF)
		return true;
	if (cl->reply == CLIENT_REPLY_SKIP) {
		cl->reply = CLIENT_REPLY_ON;
		cl->skip_next = true;
		return true;
	}
	if (cl->skip_next) {
		cl->skip_next = false;
		return true;
	}
	return false;
}

void conn_reply_done(struct conn *c, struct rslot *s, struct resp_out *o,
		     size_t start)
{
	int oom = o->oom; /* o may be a slot that the drain frees */

	if (unlikely_suppress(c) && conn_reply_suppressed(&c->cl))
		o->len = start;
	if (s) {
		s->ready = true;
		c->oslots += s->out.len;
		conn_slot_acct(c, s);
		if (c->qhead == s)
			conn_drain_slots(c);
	} else {
		worker_mark_dirty(c->w, c);
	}
	conn_obuf_check(c, oom);
}

/* A slot that carries nothing: its request blocked, and answers later in a
 * slot of its own (CLIENT REPLY's state is left for that answer). */
void conn_slot_skip(struct conn *c, struct rslot *s)
{
	s->out.len = 0;
	s->ready = true;
	conn_slot_acct(c, s);
	if (c->qhead == s)
		conn_drain_slots(c);
}

void conn_count_error(struct wstats *st, const struct resp_out *o, size_t start)
{
	const char *p = o->buf + start + 1;
	size_t n = o->len - start - 1;

	st->total_error_replies++;
	stats_error(st, p, n);
}

/* An error produced by conn itself (unknown command, arity, auth...). */
void conn_reply_error(struct conn *c, const char *text)
{
	struct rslot *s;
	struct resp_out *o = conn_reply_target(c, &s);
	size_t start = o->len;

	resp_error(o, text);
	conn_count_error(&c->w->st, o, start);
	conn_reply_done(c, s, o, start);
}
