/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP connections: the per-stack table (a chained hash on the 4-tuple,
 * seeded from the secret so a peer cannot aim at one chain), the TCB pool
 * (slabs, a free list; no allocation per packet), the send buffer, state
 * accounting, and the net_tcp_* calls of the application.
 *
 * A TCB freed during a turn (a reset, an abort from inside an upcall)
 * becomes a zombie: state CLOSED, out of the table, timers cancelled, but
 * its memory stays valid until the end of the turn (tcp_flush), so code
 * that just made an upcall only has to check t->state.
 */
#include <errno.h>
#include <string.h>

#include <mimalloc.h>

#include "tcp_pvt.h"

#define TCP_SLAB_TCBS 64

#define TCP_TW_SLAB 256

struct tcp_slab {
	struct tcp_slab *next;
	struct tcb t[TCP_SLAB_TCBS];
};

struct tcp_tw_slab {
	struct tcp_tw_slab *next;
	struct tcp_tw tw[TCP_TW_SLAB];
};

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

int tcp_init(struct net_stack *s)
{
	struct tcp_state *ts = mi_zalloc(sizeof(*ts));
	uint32_t n = pow2_at_least(s->conf.max_conns ? s->conf.max_conns : 1);

	if (!ts)
		return -ENOMEM;
	if (n < 64)
		n = 64;
	ts->ht = mi_calloc(n, sizeof(*ts->ht));
	if (!ts->ht) {
		mi_free(ts);
		return -ENOMEM;
	}
	ts->ht_mask = n - 1;
	memcpy(ts->isn_key, s->conf.secret, 16);
	memcpy(ts->cookie_key, s->conf.secret + 16, 16);
	ts->hseed = tcp_siphash(ts->isn_key, "tcp-table", 9) | 1;
	ts->qtail = &ts->qhead;
	ts->rtail = &ts->rhead;
	ts->s = s;
	ts->our_mss = s->conf.mtu > 40 + 64 ? s->conf.mtu - 40 : 536;
	/* The smallest scale that lets the whole receive buffer show. */
	while (ts->rcv_ws < TCP_MAX_WSCALE &&
	       (s->conf.rcvbuf >> ts->rcv_ws) > 0xffff)
		ts->rcv_ws++;
	s->tcp = ts;
	return 0;
}

void tcp_fini(struct net_stack *s)
{
	struct tcp_state *ts = s->tcp;

	if (!ts)
		return;
	for (uint32_t i = 0; i <= ts->ht_mask; i++) {
		while (ts->ht[i]) {
			struct tcb *t = ts->ht[i];

			if (t->state != TCPS_SYN_RCVD)
				tcp_send_rst_tcb(t);
			tcb_destroy(t, ESHUTDOWN);
		}
	}
	tcb_release_zombies(ts);
	timer_cancel(&ts->tw_timer);
	while (ts->tw_slabs) {
		struct tcp_tw_slab *sl = ts->tw_slabs;

		ts->tw_slabs = sl->next;
		mi_free(sl);
	}
	mi_free(ts->tw_ht);
	while (ts->slabs) {
		struct tcp_slab *sl = ts->slabs;

		ts->slabs = sl->next;
		mi_free(sl);
	}
	mi_free(ts->ht);
	mi_free(ts);
	s->tcp = NULL;
}

bool tcp_listening(const struct net_stack *s, uint16_t port)
{
	for (unsigned i = 0; i < s->conf.nports; i++)
		if (s->conf.ports[i] == port)
			return true;
	return false;
}

/* ---- table ----------------------------------------------------------- */

static void tcb_unhash(struct tcb *t)
{
	struct tcp_state *ts = t->s->tcp;
	struct tcb **pp =
	    &ts->ht[tcb_hash(ts, t->rip, t->rport, t->lip, t->lport)];

	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
}

static struct tcb *tcb_alloc(struct tcp_state *ts)
{
	if (!ts->pool) {
		struct tcp_slab *sl = mi_malloc(sizeof(*sl));

		if (!sl)
			return NULL;
		sl->next = ts->slabs;
		ts->slabs = sl;
		for (int i = TCP_SLAB_TCBS - 1; i >= 0; i--) {
			sl->t[i].qnext = ts->pool;
			ts->pool = &sl->t[i];
		}
	}
	struct tcb *t = ts->pool;

	ts->pool = t->qnext;
	memset(t, 0, sizeof(*t));
	return t;
}

/* A TCB in SYN_RCVD for the SYN sg, in the table.  NULL when the table is
 * full (counted in tcp_syn_drops) or out of memory. */
struct tcb *tcb_new(struct net_stack *s, const struct tcp_seg *sg)
{
	struct tcp_state *ts = s->tcp;
	uint32_t h = tcb_hash(ts, sg->src, sg->sport, sg->dst, sg->dport);

	if (s->st.tcp_conns >= s->conf.max_conns && ts->tw_head)
		tcp_tw_free(ts, ts->tw_head); /* make room: the oldest */
	if (s->st.tcp_conns >= s->conf.max_conns) {
		s->st.tcp_syn_drops++;
		return NULL;
	}
	struct tcb *t = tcb_alloc(ts);

	if (!t) {
		s->st.tcp_syn_drops++;
		return NULL;
	}
	t->s = s;
	t->rip = sg->src;
	t->rport = sg->sport;
	t->lip = sg->dst;
	t->lport = sg->dport;
	t->irs = sg->seq;
	t->rcv_nxt = sg->seq + 1;
	t->last_ack_sent = t->rcv_nxt;
	t->iss = tcp_isn(s, sg);
	t->snd_una = t->snd_nxt = t->snd_max = t->iss; /* SYN not sent yet */
	t->rto_us = TCP_RTO_INIT_US;
	t->ssthresh = UINT32_MAX;
	t->last_rx_us = s->now_us;
	net_path_init(s, &t->path, t->rip, IP4_PROTO_TCP);
	tcp_apply_syn_opts(t, sg);
	t->hnext = ts->ht[h];
	ts->ht[h] = t;
	s->st.tcp_conns++;
	tcb_set_state(t, TCPS_SYN_RCVD);
	return t;
}

/* Every state change goes through here so the counters stay exact. */
void tcb_set_state(struct tcb *t, uint8_t st)
{
	struct net_stats *ns = &t->s->st;
	uint8_t old = t->state;

	if (old == st)
		return;
	if (old == TCPS_SYN_RCVD)
		t->s->tcp->half_open--;
	if (st == TCPS_SYN_RCVD)
		t->s->tcp->half_open++;
	if (tcp_st_active(old) && !tcp_st_active(st))
		ns->tcp_active_conns--;
	if (!tcp_st_active(old) && tcp_st_active(st))
		ns->tcp_active_conns++;
	if (old != TCPS_CLOSED && old < NET_TCP_NSTATES)
		ns->tcp_in_state[old]--;
	if (st != TCPS_CLOSED && st < NET_TCP_NSTATES)
		ns->tcp_in_state[st]++;
	t->state = st;
}

void tcb_ooo_clear(struct tcb *t)
{
	struct tcp_ooo *o = t->ooo_head;

	while (o) {
		struct tcp_ooo *next = o->next;

		t->s->io.free(t->s->io.drv, o->b); /* o was in it */
		o = next;
	}
	t->s->tcp->ooo_frames -= t->nooo;
	t->ooo_head = t->ooo_tail = NULL;
	t->nooo = 0;
	t->nrcv_rng = 0;
}

void tcb_sb_release(struct tcb *t)
{
	mi_free(t->sb);
	t->sb = NULL;
	t->sb_cap = t->sb_off = t->sb_len = 0;
}

/*
 * The connection is over: out of the table, timers off, buffers freed.
 * err != 0 tells a still-attached application why (closed() upcall).
 * The memory is reused only after the turn (see the top of this file).
 */
void tcb_destroy(struct tcb *t, int err)
{
	struct tcp_state *ts = t->s->tcp;
	void *app = t->app;

	if (t->state == TCPS_CLOSED)
		return;
	tcb_unhash(t);
	t->s->st.tcp_conns--;
	tcb_set_state(t, TCPS_CLOSED);
	timer_cancel(&t->rtx);
	timer_cancel(&t->delack);
	timer_cancel(&t->ka);
	tcb_ooo_clear(t);
	tcb_sb_release(t);
	t->app = NULL;
	if (t->flags & TF_WLOW) {
		struct tcb **pp = &ts->wlow;

		while (*pp != t)
			pp = &(*pp)->wnext;
		*pp = t->wnext;
		t->flags &= ~TF_WLOW;
	}
	if (!(t->flags & TF_QUEUED)) {
		t->qnext = ts->zombies;
		ts->zombies = t;
	}
	/* A queued zombie goes back to the pool from tcp_flush. */
	if (app && err && !(t->flags & TF_APP_GONE))
		t->s->app.closed(app, err);
}

void tcb_free_zombies(struct tcp_state *ts)
{
	while (ts->zombies) {
		struct tcb *t = ts->zombies;

		ts->zombies = t->qnext;
		t->qnext = ts->pool;
		ts->pool = t;
	}
}

/* ---- TIME_WAIT ------------------------------------------------------ */

struct tcp_tw *tcp_tw_lookup(struct tcp_state *ts, uint32_t rip, uint16_t rport,
			     uint32_t lip, uint16_t lport)
{
	struct tcp_tw *tw;

	if (!ts->tw_head)
		return NULL;
	tw = ts->tw_ht[tcb_hash(ts, rip, rport, lip, lport)];
	while (tw && (tw->rip != rip || tw->rport != rport ||
		      tw->lport != lport || tw->lip != lip))
		tw = tw->hnext;
	return tw;
}

static void tw_arm(struct tcp_state *ts);

static void tw_expire(struct timer *tm)
{
	struct tcp_state *ts =
	    (struct tcp_state *)((char *)tm -
				 offsetof(struct tcp_state, tw_timer));

	while (ts->tw_head && ts->tw_head->expire_us <= ts->s->now_us)
		tcp_tw_free(ts, ts->tw_head);
	tw_arm(ts);
}

static void tw_arm(struct tcp_state *ts)
{
	if (ts->tw_head && (!timer_armed(&ts->tw_timer) ||
			    ts->tw_timer.expire_us > ts->tw_head->expire_us))
		timer_arm(ts->s->tw, &ts->tw_timer, ts->tw_head->expire_us,
			  tw_expire);
	else if (!ts->tw_head && timer_armed(&ts->tw_timer))
		timer_cancel(&ts->tw_timer);
}

static void tw_append(struct tcp_state *ts, struct tcp_tw *tw)
{
	tw->expire_us =
	    ts->s->now_us + (uint64_t)ts->s->conf.time_wait_ms * 1000;
	tw->next = NULL;
	tw->prev = ts->tw_tail;
	if (ts->tw_tail)
		ts->tw_tail->next = tw;
	else
		ts->tw_head = tw;
	ts->tw_tail = tw;
}

static void tw_unlink(struct tcp_state *ts, struct tcp_tw *tw)
{
	if (tw->prev)
		tw->prev->next = tw->next;
	else
		ts->tw_head = tw->next;
	if (tw->next)
		tw->next->prev = tw->prev;
	else
		ts->tw_tail = tw->prev;
}

static struct tcp_tw *tw_alloc(struct tcp_state *ts)
{
	if (!ts->tw_ht) {
		ts->tw_ht = mi_calloc(ts->ht_mask + 1, sizeof(*ts->tw_ht));
		if (!ts->tw_ht)
			return NULL;
	}
	if (!ts->tw_pool) {
		struct tcp_tw_slab *sl = mi_malloc(sizeof(*sl));

		if (!sl)
			return NULL;
		sl->next = ts->tw_slabs;
		ts->tw_slabs = sl;
		for (int i = TCP_TW_SLAB - 1; i >= 0; i--) {
			sl->tw[i].next = ts->tw_pool;
			ts->tw_pool = &sl->tw[i];
		}
	}
	struct tcp_tw *tw = ts->tw_pool;

	ts->tw_pool = tw->next;
	return tw;
}

/*
 * t enters TIME_WAIT (RFC 9293: the FIN of the peer, our FIN acked): a
 * record takes its place and the TCB is freed.  An ACK t owes goes now.
 * Without memory for the record, the connection just ends.
 */
void tcp_tw_enter(struct tcb *t)
{
	struct net_stack *s = t->s;
	struct tcp_state *ts = s->tcp;
	struct tcp_tw *tw = tw_alloc(ts);
	bool ack = t->flags & TF_ACKNOW;

	if (tw) {
		tw->rip = t->rip;
		tw->lip = t->lip;
		tw->rport = t->rport;
		tw->lport = t->lport;
		tw->snd_nxt = t->snd_max;
		tw->rcv_nxt = t->rcv_nxt;
		tw->ts_recent = t->ts_recent;
		tw->ts_off = t->ts_off;
		tw->ts = t->flags & TF_TS;
		tw->rcv_ws = t->rcv_ws;
	}
	t->flags &= ~(TF_ACKNOW | TF_DELACK);
	tcb_destroy(t, 0);
	if (!tw)
		return;
	struct tcp_tw **head =
	    &ts->tw_ht[tcb_hash(ts, tw->rip, tw->rport, tw->lip, tw->lport)];

	tw->hnext = *head;
	*head = tw;
	tw_append(ts, tw);
	tw_arm(ts);
	s->st.tcp_time_wait++;
	s->st.tcp_conns++;
	if (ack)
		tcp_tw_send_ack(s, tw);
}

/* A retransmitted FIN: 2MSL again (RFC 9293 3.10.7.4). */
void tcp_tw_restart(struct tcp_state *ts, struct tcp_tw *tw)
{
	tw_unlink(ts, tw);
	tw_append(ts, tw);
	tw_arm(ts);
}

void tcp_tw_free(struct tcp_state *ts, struct tcp_tw *tw)
{
	struct tcp_tw **pp =
	    &ts->tw_ht[tcb_hash(ts, tw->rip, tw->rport, tw->lip, tw->lport)];

	while (*pp && *pp != tw)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = tw->hnext;
	tw_unlink(ts, tw);
	tw->next = ts->tw_pool;
	ts->tw_pool = tw;
	ts->s->st.tcp_time_wait--;
	ts->s->st.tcp_conns--;
}

/* ---- send buffer ------------------------------------------------------ */

/* Make the ring hold at least need bytes (need <= conf.sndbuf). */
static int tcb_sb_grow(struct tcb *t, uint32_t need)
{
	uint32_t cap = t->sb_cap ? t->sb_cap : TCP_SB_MIN;

	while (cap < need)
		cap <<= 1;
	uint8_t *n = mi_malloc(cap);

	if (!n)
		return -ENOMEM;
	if (t->sb_len) {
		uint32_t first = t->sb_cap - t->sb_off;

		if (first > t->sb_len)
			first = t->sb_len;
		memcpy(n, t->sb + t->sb_off, first);
		memcpy(n + first, t->sb, t->sb_len - first);
	}
	mi_free(t->sb);
	t->sb = n;
	t->sb_cap = cap;
	t->sb_off = 0;
	return 0;
}

static bool tcb_can_send(const struct tcb *t)
{
	return (t->state == TCPS_ESTABLISHED || t->state == TCPS_CLOSE_WAIT) &&
	       !(t->flags & (TF_APP_GONE | TF_FIN_PENDING));
}

size_t net_tcp_send(struct tcb *t, const void *data, size_t len)
{
	uint32_t room, n, pos, first;

	if (!tcb_can_send(t) || !len)
		return 0;
	room =
	    t->s->conf.sndbuf > t->sb_len ? t->s->conf.sndbuf - t->sb_len : 0;
	n = len < room ? (uint32_t)len : room;
	if (n < len)
		t->flags |= TF_SB_FULL;
	if (!n)
		return 0;
	if (t->sb_len + n > t->sb_cap && tcb_sb_grow(t, t->sb_len + n) < 0) {
		t->flags |= TF_SB_FULL;
		return 0;
	}
	pos = (t->sb_off + t->sb_len) & (t->sb_cap - 1);
	first = t->sb_cap - pos;
	if (first >= n) {
		net_copy(t->sb + pos, data, n);
	} else {
		memcpy(t->sb + pos, data, first);
		memcpy(t->sb, (const uint8_t *)data + first, n - first);
	}
	t->sb_len += n;
	tcb_queue(t);
	return n;
}

void net_tcp_close(struct tcb *t)
{
	t->flags |= TF_APP_GONE | TF_FIN_PENDING;
	t->flags &= ~TF_SB_FULL;
	t->app = NULL;
	if (t->state == TCPS_ESTABLISHED)
		tcb_set_state(t, TCPS_FIN_WAIT_1);
	else if (t->state == TCPS_CLOSE_WAIT)
		tcb_set_state(t, TCPS_LAST_ACK);
	tcb_queue(t);
}

void net_tcp_abort(struct tcb *t)
{
	t->flags |= TF_APP_GONE;
	t->app = NULL;
	tcp_send_rst_tcb(t);
	tcb_destroy(t, 0);
}

size_t net_tcp_unacked(const struct tcb *t)
{
	return t->sb_len;
}
