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

static inline void put32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4); /* one unaligned store */
}

static size_t opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	static const uint8_t head[4] = {TCP_OPT_NOP, TCP_OPT_NOP, TCP_OPT_TS,
					10};

	memcpy(o, head, 4);
	put32(o + 4, tsval);
	put32(o + 8, tsecr);
	return 12;
}

/* MSS, SACK-permitted, timestamps, window scale: Linux's layout. */
static size_t opt_syn(uint8_t *o, uint16_t mss, bool sack, bool ts,
		      uint32_t tsval, uint32_t tsecr, bool ws, uint8_t wscale)
{
	size_t n = 4;

	o[0] = TCP_OPT_MSS;
	o[1] = 4;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	if (ts) {
		n += opt_ts(o + n, tsval, tsecr);
		if (sack) { /* in place of the two NOPs */
			o[4] = TCP_OPT_SACK_OK;
			o[5] = 2;
		}
	} else if (sack) {
		o[n] = TCP_OPT_NOP;
		o[n + 1] = TCP_OPT_NOP;
		o[n + 2] = TCP_OPT_SACK_OK;
		o[n + 3] = 2;
		n += 4;
	}
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
	net_ip_send(s, b, p, sg->src, IP4_PROTO_TCP, TCP_HLEN + optlen);
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

/* The ACK of a connection in TIME_WAIT (a retransmitted FIN, data, an
 * old SYN's challenge). */
void tcp_tw_send_ack(struct net_stack *s, const struct tcp_tw *tw)
{
	struct net_buf *b;
	size_t room, optlen = 0;
	uint8_t *p = net_ip_alloc(s, &b, &room);
	uint32_t win = s->conf.rcvbuf >> tw->rcv_ws;

	if (!p)
		return;
	if (tw->ts)
		optlen = opt_ts(p + TCP_HLEN, tcp_ts_now(s) + tw->ts_off,
				tw->ts_recent);
	hdr_fill((struct tcp_hdr *)p, tw->lport, tw->rport, tw->snd_nxt,
		 tw->rcv_nxt, TCP_ACK, (uint16_t)(win > 0xffff ? 0xffff : win),
		 optlen);
	s->st.tcp_out_segs++;
	net_ip_send(s, b, p, tw->rip, IP4_PROTO_TCP, TCP_HLEN + optlen);
}

void tcp_send_cookie_synack(struct net_stack *s, const struct tcp_seg *sg,
			    uint32_t iss, uint32_t tsval, uint16_t mss)
{
	struct tcp_state *ts = s->tcp;
	uint8_t opt[20];
	uint16_t ours = ts->our_mss < mss ? ts->our_mss : mss;
	/* SACK-permitted rides in TSval like the window scale: only with
	 * timestamps (tcp_cookie.c) */
	size_t n =
	    opt_syn(opt, ours, sg->has_ts && sg->sack_ok, sg->has_ts, tsval,
		    sg->tsval, sg->has_ts && sg->has_ws, ts->rcv_ws);
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
static uint16_t tcp_window_field(struct tcb *t)
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

	if (first >= n) {
		net_copy(dst, t->sb + pos, n);
		return;
	}
	memcpy(dst, t->sb + pos, first);
	memcpy(dst + first, t->sb, n - first);
}

/* RFC 2018 (3, 4): the out-of-order ranges, most recent first, as many
 * as fit the option space and the frame. */
static size_t opt_sack(const struct tcb *t, uint8_t *o, size_t space)
{
	size_t optmax = (t->flags & TF_TS) ? 40 - TCP_TS_OPTLEN : 40;
	unsigned nb = t->nrcv_rng;

	if (space > optmax)
		space = optmax;
	if (space < 12)
		return 0;
	if (nb > (space - 4) / 8)
		nb = (unsigned)((space - 4) / 8);
	o[0] = TCP_OPT_NOP;
	o[1] = TCP_OPT_NOP;
	o[2] = TCP_OPT_SACK;
	o[3] = (uint8_t)(2 + 8 * nb);
	for (unsigned i = 0; i < nb; i++) {
		put32(o + 4 + 8 * i, t->rcv_rng[i].start);
		put32(o + 8 + 8 * i, t->rcv_rng[i].end);
	}
	return 4 + 8 * nb;
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
 * counts retransmissions; starts an RTT measurement when it can.  False
 * when no buffer was left: the caller stops sending for this turn.
 */
static bool tcp_xmit(struct tcb *t, uint32_t seq, uint8_t flags, uint32_t n)
{
	struct net_stack *s = t->s;
	struct net_buf *b;
	size_t room, optlen = 0;
	uint8_t *p = net_ip_alloc(s, &b, &room);
	uint32_t ack = (flags & TCP_ACK) ? t->rcv_nxt : 0;

	if (!p)
		return false; /* like a loss: the RTO sends it again */
	if (flags & TCP_SYN)
		optlen =
		    opt_syn(p + TCP_HLEN, s->tcp->our_mss, t->flags & TF_SACK,
			    t->flags & TF_TS, tcp_ts_now(s) + t->ts_off,
			    t->ts_recent, t->flags & TF_WS, t->rcv_ws);
	else if (t->flags & TF_TS)
		optlen = opt_ts(p + TCP_HLEN, tcp_ts_now(s) + t->ts_off,
				t->ts_recent);
	if (t->nrcv_rng && (t->flags & TF_SACK) &&
	    (flags & (TCP_ACK | TCP_SYN | TCP_RST)) == TCP_ACK &&
	    room >= TCP_HLEN + optlen + n)
		optlen += opt_sack(t, p + TCP_HLEN + optlen,
				   room - TCP_HLEN - optlen - n);
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
	net_path_send(s, &t->path, b, p, TCP_HLEN + optlen + n);
	return true;
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

/* Send again n bytes at seq (snd_una <= seq < snd_max), with the FIN if
 * they end where it was sent. */
void tcp_resend(struct tcb *t, uint32_t seq, uint32_t n)
{
	uint32_t dend = t->snd_una + t->sb_len;
	bool fin = (t->flags & TF_FIN_PENDING) && seq + n == dend &&
		   SEQ_GT(t->snd_max, dend);

	if (!n && !fin)
		return;
	tcp_xmit(t, seq,
		 TCP_ACK | (n && seq + n == dend ? TCP_PSH : 0) |
		     (fin ? TCP_FIN : 0),
		 n);
}

/* Send again the first unacknowledged segment (fast retransmit, partial
 * ACK, or the RTO with snd_nxt pulled back). */
void tcp_retransmit_una(struct tcb *t)
{
	tcp_resend(t, t->snd_una, t->sb_len < t->smss ? t->sb_len : t->smss);
}

/* RFC 8985 (7.3) tail loss probe: the last segment sent, again, so that
 * the peer's SACK shows what before it is missing (tcp_sack_lost_to). */
void tcp_send_tlp(struct tcb *t)
{
	uint32_t dend = t->snd_una + t->sb_len;
	uint32_t sent = SEQ_LT(t->snd_max, dend) ? t->snd_max : dend;
	uint32_t n = sent - t->snd_una;

	if (n > t->smss)
		n = t->smss;
	t->flags |= TF_TLP_SENT;
	tcp_resend(t, sent - n, n);
}

/* ---- SACK loss recovery (RFC 6675) --------------------------------------- */

/* The first byte at or after from that the peer has not SACKed; *end is
 * where that hole ends. */
static uint32_t sack_hole(const struct tcb *t, uint32_t from, uint32_t *end)
{
	for (unsigned i = 0; i < t->nsnd_rng; i++) {
		const struct tcp_rng *r = &t->snd_rng[i];

		if (SEQ_LEQ(r->end, from))
			continue;
		if (SEQ_LEQ(r->start, from)) {
			from = r->end;
			continue;
		}
		*end = r->start;
		return from;
	}
	*end = t->snd_max;
	return from;
}

/* RFC 6675 SetPipe: what is in flight, less the SACKed bytes and the lost
 * holes not sent again yet. */
static uint32_t sack_pipe(const struct tcb *t, uint32_t lost_to)
{
	uint32_t pipe = tcp_flight(t) - t->sacked, seq = t->high_rxt, end;

	for (;;) {
		seq = sack_hole(t, seq, &end);
		if (!SEQ_LT(seq, lost_to))
			break;
		if (SEQ_GT(end, lost_to))
			end = lost_to;
		pipe -= end - seq;
		seq = end;
	}
	return pipe;
}

/*
 * In recovery, while pipe leaves room for a segment, RFC 6675 NextSeg:
 * (1) the first lost hole not resent yet, (2) new data, (3) a hole below
 * SACKed data, though not yet deemed lost.  Every hole is resent within
 * the round trip, not one per round trip as NewReno does.
 */
bool tcp_sack_output(struct tcb *t)
{
	uint32_t lost_to = tcp_sack_lost_to(t);
	uint32_t pipe = sack_pipe(t, lost_to);
	uint32_t top =
	    t->nsnd_rng ? t->snd_rng[t->nsnd_rng - 1].start : t->snd_una;
	uint32_t dend = t->snd_una + t->sb_len;
	bool sent = false;

	while (pipe + t->smss <= t->cwnd) {
		uint32_t end, seq = sack_hole(t, t->high_rxt, &end), n;

		if (!SEQ_LT(seq, lost_to)) {
			uint32_t off = t->snd_nxt - t->snd_una;

			if (off < t->sb_len && off < t->snd_wnd &&
			    t->snd_nxt == t->snd_max) {
				uint32_t avail = t->sb_len - off;
				uint32_t room = t->snd_wnd - off;

				n = avail < t->smss ? avail : t->smss;
				n = n < room ? n : room;
				if (!tcp_xmit(
					t, t->snd_nxt,
					TCP_ACK | (n == avail ? TCP_PSH : 0) |
					    ((t->flags & TF_FIN_PENDING) &&
						     n == avail
						 ? TCP_FIN
						 : 0),
					n))
					break;
				pipe += n;
				sent = true;
				continue;
			}
			if (!SEQ_LT(seq, top))
				break;
		}
		if (SEQ_GT(end, dend))
			end = SEQ_GT(dend, seq) ? dend : seq;
		n = end - seq < t->smss ? end - seq : t->smss;
		tcp_resend(t, seq, n);
		t->high_rxt = n ? seq + n : seq + 1;
		t->rxt_fence = t->snd_max;
		pipe += n;
		sent = true;
	}
	return sent;
}

/* ---- output ------------------------------------------------------------ */

/* Send new data (and FIN) as snd_wnd and cwnd allow; true if anything
 * went out. */
static bool tcp_output_data(struct tcb *t)
{
	bool sent = false;
	bool idle = !tcp_flight(t);
	uint32_t cw = t->cwnd, wnd;

	/* RFC 3042 limited transmit: what duplicate ACKs show has left the
	 * network may be replaced by new data before recovery starts (with
	 * SACK, the SACKed bytes: RFC 6675 5 (1)). */
	if (!(t->flags & TF_RECOVERY))
		cw += (t->flags & TF_SACK)
			  ? t->sacked
			  : (t->dupacks < 2 ? t->dupacks : 2) * t->smss;
	wnd = t->snd_wnd < cw ? t->snd_wnd : cw;

	if ((t->flags & (TF_RECOVERY | TF_SACK)) == (TF_RECOVERY | TF_SACK)) {
		sent = tcp_sack_output(t);
		wnd = 0; /* pipe, not the window, decided */
	}
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

		if (!tcp_xmit(t, t->snd_nxt,
			      TCP_ACK | (n == avail ? TCP_PSH : 0) |
				  (fin ? TCP_FIN : 0),
			      n))
			break;
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

static void tcp_output(struct tcb *t)
{
	switch (t->state) {
	case TCPS_CLOSED:
		return;
	case TCPS_SYN_RCVD:
		if (t->flags & TF_ACKNOW)
			tcp_send_synack(t);
		return;
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

	if (ts->rhead) /* the driver did not: before any zombie goes */
		tcp_readable(ts);
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
