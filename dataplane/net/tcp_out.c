/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP output.  Nothing is sent while segments are being received: input
 * and the application only mark a TCB (tcb_queue) and tcp_flush, at the
 * end of the turn, emits for each marked TCB what the windows allow.  So a
 * request's ACK rides on its reply, and one turn's segments leave in one
 * burst.  The exceptions are segments without a TCB (RST, SYN cookies)
 * and the duplicate ACKs of out-of-order data, which the peer counts.
 */
#include <string.h>

#include "tcp_pvt.h"

/* ---- headers ---------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	o[0] = TCP_OPT_NOP;
	o[1] = TCP_OPT_NOP;
	o[2] = TCP_OPT_TS;
	o[3] = 10;
	put32(o + 4, tsval);
	put32(o + 8, tsecr);
	return 12;
}

static size_t opt_syn(uint8_t *o, uint16_t mss, bool ts, uint32_t tsval,
		      uint32_t tsecr, bool ws, uint8_t wscale)
{
	size_t n = 4;

	o[0] = TCP_OPT_MSS;
	o[1] = 4;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	if (ts)
		n += opt_ts(o + n, tsval, tsecr);
	if (ws) {
		o[n] = TCP_OPT_NOP;
		o[n + 1] = TCP_OPT_WSCALE;
		o[n + 2] = 3;
		o[n + 3] = wscale;
		n += 4;
	}
	return n;
}

static void hdr_fill(struct tcp_hdr *th, uint16_t sport, uint16_t dport,
		     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     size_t optlen)
{
	th->sport = __builtin_bswap16(sport);
	th->dport = __builtin_bswap16(dport);
	th->seq = __builtin_bswap32(seq);
	th->ack = __builtin_bswap32(ack);
	th->off = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
	th->flags = flags;
	th->win = __builtin_bswap16(win);
	th->csum = 0;
	th->urp = 0;
}

/* A segment without a TCB (RST, cookie SYN-ACK). */
static void raw_send(struct net_stack *s, const struct tcp_seg *sg,
		     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     const uint8_t *opt, size_t optlen)
{
	struct net_buf *b;
	size_t room;
	uint8_t *p = net_ip_alloc(s, &b, &room);

	if (!p)
		return;
	hdr_fill((struct tcp_hdr *)p, sg->dport, sg->sport, seq, ack, flags,
		 win, optlen);
	if (optlen)
		memcpy(p + TCP_HLEN, opt, optlen);
	s->st.tcp_out_segs++;
	if (flags & TCP_RST)
		s->st.tcp_out_rsts++;
	net_ip_send(s, b, sg->src, IP4_PROTO_TCP, TCP_HLEN + optlen);
}

/* RFC 9293 (3.10.7.1): the reset for a segment that has no connection. */
void tcp_send_rst(struct net_stack *s, const struct tcp_seg *sg)
{
	if (sg->flags & TCP_RST)
		return;
	if (sg->flags & TCP_ACK) {
		raw_send(s, sg, sg->ack, 0, TCP_RST, 0, NULL, 0);
		return;
	}
	uint32_t ack = sg->seq + sg->len + !!(sg->flags & TCP_SYN) +
		       !!(sg->flags & TCP_FIN);

	raw_send(s, sg, 0, ack, TCP_RST | TCP_ACK, 0, NULL, 0);
}

void tcp_send_cookie_synack(struct net_stack *s, const struct tcp_seg *sg,
			    uint32_t iss, uint32_t tsval, uint16_t mss)
{
	struct tcp_state *ts = s->tcp;
	uint8_t opt[20];
	uint16_t ours = ts->our_mss < mss ? ts->our_mss : mss;
	size_t n = opt_syn(opt, ours, sg->has_ts, tsval, sg->tsval,
			   sg->has_ts && sg->has_ws, ts->rcv_ws);
	uint32_t win = s->conf.rcvbuf > 0xffff ? 0xffff : s->conf.rcvbuf;

	raw_send(s, sg, iss, sg->seq + 1, TCP_SYN | TCP_ACK, (uint16_t)win, opt,
		 n);
}

/* RFC 5961 (7): at most TCP_CHALLENGE_PER_S challenge ACKs per second. */
bool tcp_challenge_ok(struct net_stack *s)
{
	struct tcp_state *ts = s->tcp;

	if (s->now_us - ts->chal_start_us >= 1000000) {
		ts->chal_start_us = s->now_us;
		ts->chal_count = 0;
	}
	if (ts->chal_count >= TCP_CHALLENGE_PER_S)
		return false;
	ts->chal_count++;
	s->st.tcp_challenge_acks++;
	return true;
}

/* ---- receive window ---------------------------------------------------- */

/*
 * The window field for a segment sent now: receive buffer minus what the
 * application holds, scaled, never moving the right edge left (RFC 9293
 * 3.8.6.2.2).  A TCB that advertises less than half the buffer joins the
 * small-window list so tcp_flush can announce the window reopening.
 */
uint16_t tcp_window_field(struct tcb *t)
{
	struct net_stack *s = t->s;
	uint32_t buf = s->conf.rcvbuf;
	uint32_t pend = t->app ? (uint32_t)s->app.pending(t->app) : 0;
	uint32_t win = pend < buf ? buf - pend : 0;
	uint32_t cur =
	    SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t field;

	if (win < cur) {
		uint32_t m = (1u << t->rcv_ws) - 1;

		win = (cur + m) & ~m;
	}
	field = win >> t->rcv_ws;
	if (field > 0xffff)
		field = 0xffff;
	if (SEQ_GT(t->rcv_nxt + (field << t->rcv_ws), t->rcv_adv))
		t->rcv_adv = t->rcv_nxt + (field << t->rcv_ws);
	if (win < buf / 2 && !(t->flags & TF_WLOW) && t->app) {
		t->flags |= TF_WLOW;
		t->wnext = s->tcp->wlow;
		s->tcp->wlow = t;
	}
	return (uint16_t)field;
}

/* Send a window update for TCBs whose window reopened substantially. */
static void tcp_check_wlow(struct tcp_state *ts)
{
	struct tcb **pp = &ts->wlow;

	while (*pp) {
		struct tcb *t = *pp;
		uint32_t buf = t->s->conf.rcvbuf, pend, cur, win, step;

		if (t->state == TCPS_CLOSED || !t->app) {
			t->flags &= ~TF_WLOW;
			*pp = t->wnext;
			continue;
		}
		pend = (uint32_t)t->s->app.pending(t->app);
		win = pend < buf ? buf - pend : 0;
		cur = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt
						     : 0;
		step = 2u * t->s->tcp->our_mss;
		if (step > buf / 2)
			step = buf / 2;
		if (win >= cur + step) {
			t->flags |= TF_ACKNOW;
			tcb_queue(t);
		}
		if (win >= buf / 2) {
			t->flags &= ~TF_WLOW;
			*pp = t->wnext;
			continue;
		}
		pp = &t->wnext;
	}
}

/* ---- segments of a connection ----------------------------------------- */

static void copy_out(const struct tcb *t, uint8_t *dst, uint32_t seq,
		     uint32_t n)
{
	uint32_t pos = (t->sb_off + (seq - t->snd_una)) & (t->sb_cap - 1);
	uint32_t first = t->sb_cap - pos;

	if (first > n)
		first = n;
	memcpy(dst, t->sb + pos, first);
	memcpy(dst + first, t->sb, n - first);
}

/* After any segment carrying our current ACK. */
static void acked_now(struct tcb *t)
{
	t->flags &= ~(TF_ACKNOW | TF_DELACK);
	if (timer_armed(&t->delack))
		timer_cancel(&t->delack);
	t->rcv_unacked = 0;
	t->last_ack_sent = t->rcv_nxt;
}

/*
 * Emit one segment of t: n payload bytes from the send buffer at seq
 * (seq >= snd_una), with flags.  Advances snd_nxt when seq is snd_nxt;
 * counts retransmissions; starts an RTT measurement when it can.
 */
static void tcp_xmit(struct tcb *t, uint32_t seq, uint8_t flags, uint32_t n)
{
	struct net_stack *s = t->s;
	struct net_buf *b;
	size_t room, optlen = 0;
	uint8_t *p = net_ip_alloc(s, &b, &room);
	uint32_t ack = (flags & TCP_ACK) ? t->rcv_nxt : 0;

	if (!p)
		return; /* like a loss: the RTO sends it again */
	if (flags & TCP_SYN)
		optlen = opt_syn(p + TCP_HLEN, s->tcp->our_mss,
				 t->flags & TF_TS, tcp_ts_now(s) + t->ts_off,
				 t->ts_recent, t->flags & TF_WS, t->rcv_ws);
	else if (t->flags & TF_TS)
		optlen = opt_ts(p + TCP_HLEN, tcp_ts_now(s) + t->ts_off,
				t->ts_recent);
	/* The window of a SYN is never scaled (RFC 7323 2.2). */
	uint16_t win =
	    (flags & TCP_SYN)
		? (uint16_t)(s->conf.rcvbuf > 0xffff ? 0xffff : s->conf.rcvbuf)
		: tcp_window_field(t);

	hdr_fill((struct tcp_hdr *)p, t->lport, t->rport, seq, ack, flags, win,
		 optlen);
	if (n)
		copy_out(t, p + TCP_HLEN + optlen, seq, n);
	if (SEQ_LT(seq, t->snd_max) && !(flags & TCP_RST) &&
	    (n || (flags & (TCP_SYN | TCP_FIN))))
		s->st.tcp_retrans_segs++;
	else if (n && !(t->flags & (TF_TS | TF_RTT))) {
		t->flags |= TF_RTT;
		t->rtt_seq = seq + n;
		t->rtt_start_us = s->now_us;
	}
	if (seq == t->snd_nxt) {
		t->snd_nxt += n + !!(flags & (TCP_SYN | TCP_FIN));
		if (SEQ_GT(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
	}
	s->st.tcp_out_segs++;
	if (flags & TCP_RST)
		s->st.tcp_out_rsts++;
	if (flags & TCP_ACK)
		acked_now(t);
	net_ip_send(s, b, t->rip, IP4_PROTO_TCP, TCP_HLEN + optlen + n);
}

void tcp_send_ack(struct tcb *t)
{
	tcp_xmit(t, t->snd_nxt, TCP_ACK, 0);
}

void tcp_send_synack(struct tcb *t)
{
	tcp_xmit(t, t->iss, TCP_SYN | TCP_ACK, 0);
}

/* Keepalive and zero-window probe: an old sequence number makes the peer
 * answer with an ACK showing its current state. */
void tcp_send_probe(struct tcb *t)
{
	uint32_t nxt = t->snd_nxt;

	tcp_xmit(t, t->snd_una - 1, TCP_ACK, 0);
	t->snd_nxt = nxt;
}

void tcp_send_rst_tcb(struct tcb *t)
{
	uint32_t nxt = t->snd_nxt;

	tcp_xmit(t, t->snd_max, TCP_RST | TCP_ACK, 0);
	t->snd_nxt = nxt;
}

/* Send again the first unacknowledged segment (fast retransmit, partial
 * ACK, or the RTO with snd_nxt pulled back). */
void tcp_retransmit_una(struct tcb *t)
{
	uint32_t n = t->sb_len < t->smss ? t->sb_len : t->smss;
	bool fin = (t->flags & TF_FIN_PENDING) && n == t->sb_len &&
		   SEQ_GT(t->snd_max, t->snd_una + t->sb_len);

	if (!n && !fin)
		return;
	tcp_xmit(t, t->snd_una,
		 TCP_ACK | (n && n == t->sb_len ? TCP_PSH : 0) |
		     (fin ? TCP_FIN : 0),
		 n);
}

/* ---- output ------------------------------------------------------------ */

/* Send new data (and FIN) as snd_wnd and cwnd allow; true if anything
 * went out. */
static bool tcp_output_data(struct tcb *t)
{
	bool sent = false;
	bool idle = !tcp_flight(t);
	uint32_t wnd = t->snd_wnd < t->cwnd ? t->snd_wnd : t->cwnd;

	for (;;) {
		uint32_t off = t->snd_nxt - t->snd_una;
		uint32_t avail, usable, n;

		if (off >= t->sb_len)
			break;
		avail = t->sb_len - off;
		usable = wnd > off ? wnd - off : 0;
		n = avail < t->smss ? avail : t->smss;
		if (n > usable)
			n = usable;
		/* Sender SWS avoidance (RFC 9293 3.8.6.2.1): no small
		 * segment into a small window while data is in flight. */
		if (!n || (n < avail && n < t->smss && off))
			break;
		bool fin = (t->flags & TF_FIN_PENDING) && n == avail;

		tcp_xmit(t, t->snd_nxt,
			 TCP_ACK | (n == avail ? TCP_PSH : 0) |
			     (fin ? TCP_FIN : 0),
			 n);
		sent = true;
	}
	/* A FIN after all the data: sent even into a zero window. */
	if ((t->flags & TF_FIN_PENDING) &&
	    t->snd_nxt == t->snd_una + t->sb_len &&
	    !(t->flags & TF_FIN_ACKED)) {
		tcp_xmit(t, t->snd_nxt, TCP_ACK | TCP_FIN, 0);
		sent = true;
	}
	if (tcp_flight(t)) {
		if (idle || !timer_armed(&t->rtx) || (t->flags & TF_PERSIST))
			tcp_arm_rto(t);
	} else if (t->sb_len && !timer_armed(&t->rtx)) {
		tcp_arm_persist(t);
	}
	return sent;
}

void tcp_output(struct tcb *t)
{
	switch (t->state) {
	case TCPS_CLOSED:
		return;
	case TCPS_SYN_RCVD:
		if (t->flags & TF_ACKNOW)
			tcp_send_synack(t);
		return;
	case TCPS_TIME_WAIT:
	case TCPS_FIN_WAIT_2:
		break;
	default:
		if (tcp_output_data(t))
			return;
	}
	if (t->flags & TF_ACKNOW)
		tcp_send_ack(t);
	else if (t->flags & TF_DELACK)
		tcp_start_delack(t);
}

void tcp_flush(struct net_stack *s)
{
	struct tcp_state *ts = s->tcp;
	struct tcb *t;

	if (ts->wlow)
		tcp_check_wlow(ts);
	while ((t = ts->qhead)) {
		ts->qhead = t->qnext;
		if (!ts->qhead)
			ts->qtail = &ts->qhead;
		t->flags &= ~TF_QUEUED;
		if (t->state == TCPS_CLOSED) {
			t->qnext = ts->zombies;
			ts->zombies = t;
			continue;
		}
		tcp_output(t);
	}
	tcb_release_zombies(ts);
}
