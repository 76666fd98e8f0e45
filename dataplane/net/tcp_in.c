/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP input: the receive half of the RFC 9293 state machine, server side.
 *
 * Design.  A stack has no listening sockets, only the list of ports in
 * its configuration: a SYN to one of them creates a TCB in SYN_RCVD (or,
 * past conf.syn_backlog half-open TCBs, nothing at all: a SYN cookie
 * carries the state, see tcp_cookie.c).  The application hears of a
 * connection only once it is ESTABLISHED (accept), so it never sees a
 * half-open one and a SYN flood costs it nothing.
 *
 * A segment for a known connection goes through the checks of RFC 9293
 * 3.10.7.4 in their order -- sequence number (with PAWS, RFC 7323), RST,
 * SYN, ACK, data, FIN -- hardened as RFC 5961 asks: a RST resets only at
 * exactly rcv_nxt, a RST elsewhere in the window or any SYN draws a
 * (rate-limited) challenge ACK, and an ACK for data never sent or older
 * than a window is dropped.  Before all that, header prediction takes the
 * two segments an ESTABLISHED connection mostly receives: a pure ACK for
 * new data and the next in-order data with nothing else to do.
 *
 * Data is never buffered in order: the bytes at rcv_nxt go straight to
 * the application (recv), which copies them, and the window we advertise
 * is what its buffer can still take.  Only out-of-order segments are
 * kept, as the received frames themselves, in a small sorted array per
 * connection; they are delivered when the hole fills.
 *
 * Output is deferred: input marks the TCB (ACK owed, data to send) and
 * tcp_flush emits at the end of the turn, so the ACK of a request rides
 * on its reply.  So is the application's work: recv only copies, and the
 * TCB joins the readable list (tcb_readable), which tcp_readable turns
 * into readable() and eof() upcalls once the driver has given the turn's
 * frames (net_readable).  What the application does there -- run
 * requests, close the connection or another -- then never happens to a
 * TCB in the middle of one of its segments, between a delivery and the
 * out-of-order drain or the FIN that follow it.  Inside input, upcalls
 * only take note (writable, closed), copy (recv; it may abort), or
 * refuse a connection (accept, which may send and close; tcp_establish
 * checks).  After each the code checks whether the TCB died (state
 * CLOSED; its memory stays valid until the flush).
 */
#include <errno.h>
#include <string.h>

#include "tcp_pvt.h"

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4); /* one unaligned load */
	return __builtin_bswap32(v);
}

static void parse_opts(struct tcp_seg *sg, const uint8_t *o, size_t n)
{
	/* What nearly every segment of a connection carries. */
	if (n == 12 && o[0] == TCP_OPT_NOP && o[1] == TCP_OPT_NOP &&
	    o[2] == TCP_OPT_TS && o[3] == 10) {
		sg->has_ts = true;
		sg->tsval = get32(o + 4);
		sg->tsecr = get32(o + 8);
		return;
	}
	for (size_t i = 0; i < n;) {
		uint8_t kind = o[i], len;

		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		len = o[i + 1];
		if (len < 2 || i + len > n)
			break;
		if (kind == TCP_OPT_MSS && len == 4) {
			sg->has_mss = true;
			sg->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
		} else if (kind == TCP_OPT_WSCALE && len == 3) {
			sg->has_ws = true;
			sg->ws = o[i + 2];
		} else if (kind == TCP_OPT_SACK_OK && len == 2) {
			sg->sack_ok = true;
		} else if (kind == TCP_OPT_TS && len == 10) {
			sg->has_ts = true;
			sg->tsval = get32(o + i + 2);
			sg->tsecr = get32(o + i + 6);
		} else if (kind == TCP_OPT_SACK && len >= 10 &&
			   !((len - 2) & 7)) {
			unsigned nb = (len - 2u) / 8u;

			if (nb > TCP_SACK_MAXBLK)
				nb = TCP_SACK_MAXBLK;
			for (unsigned j = 0; j < nb; j++) {
				sg->sack[j].start = get32(o + i + 2 + 8 * j);
				sg->sack[j].end = get32(o + i + 6 + 8 * j);
			}
			sg->nsack = (uint8_t)nb;
		}
		i += len;
	}
}

static int tcp_parse(struct tcp_seg *sg, uint32_t src, uint32_t dst,
		     const uint8_t *seg, size_t len)
{
	const struct tcp_hdr *th = (const struct tcp_hdr *)seg;
	size_t hl;

	if (len < TCP_HLEN)
		return -EINVAL;
	hl = (size_t)(th->off >> 4) * 4;
	if (hl < TCP_HLEN || hl > len)
		return -EINVAL;
	sg->src = src;
	sg->dst = dst;
	sg->sport = __builtin_bswap16(th->sport);
	sg->dport = __builtin_bswap16(th->dport);
	sg->seq = __builtin_bswap32(th->seq);
	sg->ack = __builtin_bswap32(th->ack);
	sg->win = __builtin_bswap16(th->win);
	sg->flags = th->flags;
	sg->has_mss = sg->has_ws = sg->has_ts = sg->sack_ok = false;
	sg->nsack = 0;
	sg->data = seg + hl;
	sg->len = (uint32_t)(len - hl);
	sg->had_data = sg->len != 0;
	sg->kept = false;
	if (hl > TCP_HLEN)
		parse_opts(sg, seg + TCP_HLEN, hl - TCP_HLEN);
	return 0;
}

/* Options of the SYN that opened t (RFC 9293 3.7.1, RFC 7323). */
void tcp_apply_syn_opts(struct tcb *t, const struct tcp_seg *sg)
{
	struct net_stack *s = t->s;
	uint32_t mss = sg->has_mss ? sg->mss : TCP_DEFAULT_MSS;
	uint32_t win = s->conf.rcvbuf > 0xffff ? 0xffff : s->conf.rcvbuf;

	if (mss > s->tcp->our_mss)
		mss = s->tcp->our_mss;
	if (mss < 64)
		mss = 64; /* no tiny-MSS amplification */
	t->ts_off = tcp_ts_offset(s, t->rip, t->rport, t->lip, t->lport);
	if (sg->has_ts) {
		t->flags |= TF_TS;
		t->ts_recent = sg->tsval;
	}
	if (sg->sack_ok)
		t->flags |= TF_SACK;
	if (sg->has_ws) {
		t->flags |= TF_WS;
		t->snd_ws = sg->ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : sg->ws;
		t->rcv_ws = s->tcp->rcv_ws;
	}
	t->smss = mss - (sg->has_ts ? TCP_TS_OPTLEN : 0);
	t->cwnd = TCP_IW_SEGS * t->smss;
	t->rcv_adv = t->rcv_nxt + win;
}

static inline void ack_now(struct tcb *t)
{
	t->flags |= TF_ACKNOW;
	tcb_queue(t);
}

/* ---- LISTEN / CLOSED ---------------------------------------------------- */

static void tcp_passive_open(struct net_stack *s, struct tcp_seg *sg)
{
	struct tcb *t;

	if (s->tcp->half_open >= s->conf.syn_backlog) {
		tcp_cookie_synack(s, sg);
		return;
	}
	t = tcb_new(s, sg);
	if (!t)
		return;
	t->recover = t->iss;
	ack_now(t); /* tcp_output sends the SYN-ACK */
	tcp_arm_rto(t);
}

static void tcp_input_conn(struct tcb *t, struct tcp_seg *sg);

/* A segment for no connection: a listening port, or a reset. */
static void tcp_input_listen(struct net_stack *s, struct tcp_seg *sg)
{
	uint8_t f = sg->flags;

	if (f & TCP_RST)
		return;
	if (!tcp_listening(s, sg->dport)) {
		tcp_send_rst(s, sg);
		return;
	}
	if (f & TCP_ACK) {
		struct tcb *t = NULL;

		if (!(f & TCP_SYN))
			t = tcp_cookie_accept(s, sg);
		if (t)
			tcp_input_conn(t, sg);
		else
			tcp_send_rst(s, sg);
		return;
	}
	if (f & TCP_SYN)
		tcp_passive_open(s, sg);
}

/* ---- the checks of RFC 9293 3.10.7.4 ---------------------------------------
 */

static bool tcp_check_seq(struct tcb *t, struct tcp_seg *sg)
{
	struct net_stack *s = t->s;
	uint32_t wnd =
	    SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t slen = sg->len + !!(sg->flags & TCP_FIN);
	uint32_t off = sg->seq - t->rcv_nxt; /* from the window's left edge */
	bool ok;

	/* PAWS (RFC 7323 5.3): an old timestamp is an old duplicate. */
	if ((t->flags & TF_TS) && sg->has_ts && !(sg->flags & TCP_RST) &&
	    SEQ_LT(sg->tsval, t->ts_recent)) {
		s->st.tcp_dup_segs++;
		ack_now(t);
		return false;
	}
	if (!slen)
		ok = wnd ? off < wnd : off == 0;
	else if (!wnd)
		ok = false;
	else
		ok = off < wnd || (uint32_t)(off + slen - 1) < wnd;
	if (!ok && slen && !wnd && off == 0) {
		/* Zero window: still take the ACK (and RST), not the data. */
		sg->len = 0;
		sg->flags &= (uint8_t)~TCP_FIN;
		ack_now(t);
		return true;
	}
	if (!ok && !(sg->flags & TCP_RST)) {
		if (slen && SEQ_LEQ(sg->seq + slen, t->rcv_nxt))
			s->st.tcp_dup_segs++;
		ack_now(t);
	}
	return ok;
}

/* RFC 5961 (3.2): reset only at exactly rcv_nxt. */
static void tcp_rcv_rst(struct tcb *t, struct tcp_seg *sg)
{
	if (sg->seq != t->rcv_nxt) {
		if (tcp_challenge_ok(t->s))
			ack_now(t);
		return;
	}
	tcb_destroy(t, ECONNRESET);
}

/* SYN_RCVD: the handshake's ACK.  Returns false if t is gone. */
static bool tcp_establish(struct tcb *t, struct tcp_seg *sg)
{
	struct net_stack *s = t->s;
	void *app;

	if (SEQ_LEQ(sg->ack, t->snd_una) || SEQ_GT(sg->ack, t->snd_max)) {
		tcp_send_rst(s, sg);
		return false;
	}
	timer_cancel(&t->rtx);
	t->retries = 0;
	t->snd_una = t->snd_nxt = t->snd_max = sg->ack;
	t->recover = t->snd_una;
	t->snd_wnd = (uint32_t)sg->win << t->snd_ws;
	t->max_sndwnd = t->snd_wnd;
	t->snd_wl1 = sg->seq;
	t->snd_wl2 = sg->ack;
	if ((t->flags & TF_TS) && sg->has_ts && sg->tsecr)
		tcp_rtt_sample(t, (tcp_ts_now(s) + t->ts_off - sg->tsecr)
				      << 10);
	tcb_set_state(t, TCPS_ESTABLISHED);
	app = s->app.accept(s->app_arg, t, t->rip, t->rport, t->lip, t->lport);
	if (t->state == TCPS_CLOSED)
		return false;
	if (t->flags & TF_APP_GONE) {
		/* Refused with a message and closed: it leaves with the FIN;
		 * the ACK goes on in FIN_WAIT_1, data after it draws a RST. */
		s->st.tcp_passive_opens++;
		return true;
	}
	if (!app) {
		t->flags |= TF_APP_GONE;
		tcp_send_rst_tcb(t);
		tcb_destroy(t, 0);
		return false;
	}
	t->app = app;
	s->st.tcp_passive_opens++;
	tcp_arm_keepalive(t);
	return true;
}

/* ---- SACK scoreboard (RFC 2018, RFC 6675) ---------------------------------
 *
 * The scoreboard is what the peer reported holding above snd_una: at most
 * TCP_SND_RNG sorted, disjoint ranges (a loss rate that needs more is one
 * where the RTO is the answer anyway; the highest range is forgotten, which
 * only costs a needless retransmission).  Nothing is kept per segment: the
 * send buffer is a byte ring, and a hole is just the gap between ranges.
 * high_rxt marks how far the holes were retransmitted in this recovery.
 */

/* Merge [s, e) into the scoreboard; true if it added bytes. */
static bool sack_insert(struct tcb *t, uint32_t s, uint32_t e)
{
	struct tcp_rng tmp[TCP_SND_RNG + 1];
	unsigned n = 0;
	bool placed = false;

	for (unsigned i = 0; i < t->nsnd_rng; i++) {
		struct tcp_rng r = t->snd_rng[i];

		if (SEQ_LT(r.end, s)) {
			tmp[n++] = r;
		} else if (SEQ_GT(r.start, e)) {
			if (!placed)
				tmp[n++] = (struct tcp_rng){s, e};
			placed = true;
			tmp[n++] = r;
		} else {
			if (SEQ_LEQ(r.start, s) && SEQ_GEQ(r.end, e))
				return false; /* nothing new */
			if (SEQ_LT(r.start, s))
				s = r.start;
			if (SEQ_GT(r.end, e))
				e = r.end;
		}
	}
	if (!placed)
		tmp[n++] = (struct tcp_rng){s, e};
	if (n > TCP_SND_RNG)
		n = TCP_SND_RNG; /* forget the highest */
	memcpy(t->snd_rng, tmp, n * sizeof(tmp[0]));
	t->nsnd_rng = (uint8_t)n;
	return true;
}

static void sack_count(struct tcb *t)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < t->nsnd_rng; i++)
		sum += t->snd_rng[i].end - t->snd_rng[i].start;
	t->sacked = sum;
}

/* The SACK blocks of an ACK; true if they reported anything new (what
 * makes an ACK a duplicate in RFC 6675's sense: a copy of an ACK, as a
 * duplicating network makes, is not one). */
static bool tcp_sack_update(struct tcb *t, const struct tcp_seg *sg)
{
	uint32_t low = SEQ_GT(sg->ack, t->snd_una) ? sg->ack : t->snd_una;
	bool added = false;

	for (unsigned i = 0; i < sg->nsack; i++) {
		uint32_t s = sg->sack[i].start, e = sg->sack[i].end;

		/* D-SACK (RFC 2883), stale or invalid blocks tell nothing */
		if (!SEQ_LT(s, e) || SEQ_LEQ(e, low) || SEQ_GT(e, t->snd_max))
			continue;
		if (SEQ_LT(s, low))
			s = low;
		added |= sack_insert(t, s, e);
	}
	if (added)
		sack_count(t);
	return added;
}

/* snd_una moved: drop what it passed. */
static void tcp_sack_trim(struct tcb *t)
{
	unsigned i = 0, n = 0;

	for (; i < t->nsnd_rng; i++) {
		struct tcp_rng r = t->snd_rng[i];

		if (SEQ_LEQ(r.end, t->snd_una))
			continue;
		if (SEQ_LT(r.start, t->snd_una))
			r.start = t->snd_una;
		t->snd_rng[n++] = r;
	}
	t->nsnd_rng = (uint8_t)n;
	sack_count(t);
	if (SEQ_LT(t->high_rxt, t->snd_una))
		t->high_rxt = t->snd_una;
}

/*
 * RFC 6675 IsLost as a boundary: the holes below the returned sequence
 * number are lost.  A hole is lost with DupThresh SACKed segments or more
 * than (DupThresh - 1) * SMSS SACKed bytes above it -- so a segment that
 * is merely reordered is not.  Two refinements: RFC 5827 early retransmit
 * (with less than four segments out and nothing new to send, all but one
 * SACKed is enough) and the tail loss probe (a SACK of the probe, sent a
 * PTO after everything else, shows what was before it lost: tlp_lost).
 */
uint32_t tcp_sack_lost_to(const struct tcb *t)
{
	uint32_t lost = t->snd_una, bytes = 0, segs = 0;
	uint32_t flight = tcp_flight(t);

	if (!t->nsnd_rng)
		return lost;
	for (int i = t->nsnd_rng - 1; i >= 0; i--) {
		uint32_t len = t->snd_rng[i].end - t->snd_rng[i].start;

		bytes += len;
		segs += len > 2 * t->smss ? 3 : len > t->smss ? 2 : 1;
		if (segs >= TCP_DUPTHRESH ||
		    bytes > (TCP_DUPTHRESH - 1) * t->smss) {
			lost = t->snd_rng[i].start;
			break;
		}
	}
	if (flight < 4 * t->smss && flight - t->sacked <= t->smss &&
	    t->snd_max - t->snd_una >= t->sb_len &&
	    SEQ_LT(lost, t->snd_rng[0].start))
		lost = t->snd_rng[0].start; /* early retransmit */
	if (SEQ_GT(t->tlp_lost, lost) && SEQ_LEQ(t->tlp_lost, t->snd_max))
		lost = t->tlp_lost;
	return lost;
}

/* RFC 6675 (5) step 4: the first hole is lost; halve, resend. */
static void tcp_sack_recovery(struct tcb *t)
{
	uint32_t half = tcp_flight(t) / 2;

	t->s->st.tcp_fast_retrans++;
	t->ssthresh = half > 2 * t->smss ? half : 2 * t->smss;
	t->cwnd = t->ssthresh;
	t->recover = t->snd_max;
	t->high_rxt = t->snd_una;
	t->flags |= TF_RECOVERY;
	t->flags &= ~TF_RTT;
	/* the first retransmission goes whatever pipe says (step 4.3) */
	uint32_t end = t->nsnd_rng ? t->snd_rng[0].start : t->snd_max;
	uint32_t n = end - t->snd_una;

	if (n > t->sb_len)
		n = t->sb_len; /* the FIN's sequence number */
	if (n > t->smss)
		n = t->smss;
	tcp_resend(t, t->snd_una, n);
	t->high_rxt = t->snd_una + (n ? n : 1);
	t->rxt_fence = t->snd_max;
	tcp_arm_rto(t); /* the recovery probe (tcp_timer.c) */
	tcb_queue(t);	/* the other holes, as pipe allows (tcp_sack_output) */
}

/* ---- ACK processing ---------------------------------------------------------
 */

static void tcp_cc_ack(struct tcb *t, uint32_t ack, uint32_t acked)
{
	if (t->flags & TF_RECOVERY) {
		if (SEQ_GEQ(ack, t->recover)) {
			/* RFC 6582 (3.2 step 3): full ACK, deflate. */
			uint32_t fl = tcp_flight(t);

			fl = (fl > t->smss ? fl : t->smss) + t->smss;
			t->cwnd = t->ssthresh < fl ? t->ssthresh : fl;
			t->flags &= ~TF_RECOVERY;
			t->dupacks = 0;
			t->tlp_lost = t->snd_una;
		} else if (t->flags & TF_SACK) {
			if (!t->nsnd_rng && SEQ_GEQ(t->snd_una, t->high_rxt)) {
				/* no SACK blocks: NewReno's guess */
				uint32_t n =
				    t->sb_len < t->smss ? t->sb_len : t->smss;

				tcp_retransmit_una(t);
				t->high_rxt = t->snd_una + n;
			}
			tcb_queue(t); /* pipe shrank: tcp_sack_output */
		} else {
			/* Partial ACK: the next hole is lost too. */
			tcp_retransmit_una(t);
			t->cwnd = t->cwnd > acked ? t->cwnd - acked : 0;
			if (acked >= t->smss)
				t->cwnd += t->smss;
			if (t->cwnd < t->smss)
				t->cwnd = t->smss;
			tcp_arm_rto(t);
		}
		return;
	}
	t->dupacks = 0;
	if (t->cwnd < t->ssthresh) {
		t->cwnd += acked < t->smss ? acked : t->smss; /* slow start */
	} else {
		t->ca_acked += acked; /* congestion avoidance, no division */
		if (t->ca_acked >= t->cwnd) {
			t->ca_acked -= t->cwnd;
			t->cwnd += t->smss;
		}
	}
}

/* ack acknowledges new data (snd_una < ack <= snd_max).  Returns false if
 * t died in an upcall. */
static bool tcp_ack_new(struct tcb *t, const struct tcp_seg *sg)
{
	struct net_stack *s = t->s;
	uint32_t acked = sg->ack - t->snd_una;
	uint32_t data = acked < t->sb_len ? acked : t->sb_len;

	if (acked > data)
		t->flags |= TF_FIN_ACKED;
	tcb_sb_acked(t, data);
	t->snd_una = sg->ack;
	if (SEQ_LT(t->snd_nxt, t->snd_una))
		t->snd_nxt = t->snd_una;
	if (t->nsnd_rng)
		tcp_sack_trim(t);
	if ((t->flags & TF_TS) && sg->has_ts && sg->tsecr) {
		/* TSecr ticks are ~1 ms: one sample per tick and echo is
		 * as good as one per ACK (RFC 7323 4.2), and cheaper. */
		uint32_t now = tcp_ts_now(s) + t->ts_off;

		if (sg->tsecr != t->rtt_seq || now != t->rtt_tick) {
			t->rtt_seq = sg->tsecr;
			t->rtt_tick = now;
			tcp_rtt_sample(t, (now - sg->tsecr) << 10);
		}
	} else if ((t->flags & TF_RTT) && SEQ_GEQ(sg->ack, t->rtt_seq)) {
		t->flags &= ~TF_RTT;
		tcp_rtt_sample(t, (uint32_t)(s->now_us - t->rtt_start_us));
	}
	t->retries = 0;
	t->tlp_probes = 0;
	tcp_cc_ack(t, sg->ack, acked);
	if (tcp_flight(t))
		tcp_arm_rto(t); /* else the armed RTO fires once, for nothing */
	if (t->sb_len > t->snd_nxt - t->snd_una || (t->flags & TF_FIN_PENDING))
		tcb_queue(t);
	if ((t->flags & TF_SB_FULL) && t->app && t->sb_len < s->conf.sndbuf) {
		t->flags &= ~TF_SB_FULL;
		s->app.writable(t->app);
		return t->state != TCPS_CLOSED;
	}
	return true;
}

/* RFC 5681 (2, 3.2) duplicate ACK; fast retransmit on the third. */
static void tcp_dupack(struct tcb *t, const struct tcp_seg *sg)
{
	struct net_stack *s = t->s;

	t->dupacks++;
	if (t->flags & TF_RECOVERY) {
		if (!(t->flags & TF_SACK))
			t->cwnd += t->smss; /* each dup ACK: a segment left */
		tcb_queue(t);
		return;
	}
	if (t->dupacks < TCP_DUPTHRESH && t->sb_len > tcp_flight(t))
		tcb_queue(t); /* RFC 3042 limited transmit (tcp_output) */
	if (t->flags & TF_SACK)
		return; /* tcp_rcv_ack decides from the scoreboard */
	if (t->dupacks != TCP_DUPTHRESH || !SEQ_GT(sg->ack, t->recover))
		return;
	uint32_t half = tcp_flight(t) / 2;

	s->st.tcp_fast_retrans++;
	t->ssthresh = half > 2 * t->smss ? half : 2 * t->smss;
	t->recover = t->snd_max;
	t->flags |= TF_RECOVERY;
	t->flags &= ~(TF_RTT | TF_TLP);
	tcp_retransmit_una(t);
	t->cwnd = t->ssthresh + 3 * t->smss;
}

/* The ACK field of an acceptable segment.  Returns false when the segment
 * is done with (dropped, or t gone). */
static bool tcp_rcv_ack(struct tcb *t, struct tcp_seg *sg)
{
	uint32_t ack = sg->ack, win = (uint32_t)sg->win << t->snd_ws;
	bool sacked = false;

	if (SEQ_GT(ack, t->snd_max)) {
		ack_now(t); /* acknowledges what we never sent */
		return false;
	}
	if (SEQ_LT(ack, t->snd_una - t->max_sndwnd)) {
		if (tcp_challenge_ok(t->s)) /* RFC 5961 (5.2) */
			ack_now(t);
		return false;
	}
	/* RFC 7323 (4.3): TS.Recent from the segment our last ACK asked. */
	if (sg->has_ts && SEQ_LEQ(sg->seq, t->last_ack_sent) &&
	    SEQ_GEQ(sg->tsval, t->ts_recent))
		t->ts_recent = sg->tsval;
	if (sg->nsack && (t->flags & TF_SACK) && tcp_flight(t))
		sacked = tcp_sack_update(t, sg);
	if (SEQ_GT(ack, t->snd_una)) {
		if (!tcp_ack_new(t, sg))
			return false;
	} else if (ack == t->snd_una && tcp_flight(t) && !sg->had_data &&
		   !(sg->flags & (TCP_SYN | TCP_FIN)) &&
		   ((t->flags & TF_SACK) && sg->nsack ? sacked
						      : win == t->snd_wnd)) {
		tcp_dupack(t, sg);
	}
	if ((t->flags & (TF_SACK | TF_RECOVERY)) == (TF_SACK | TF_RECOVERY) &&
	    sacked && t->nsnd_rng && SEQ_LT(t->snd_una, t->high_rxt) &&
	    SEQ_GT(t->snd_rng[t->nsnd_rng - 1].end, t->rxt_fence)) {
		/* Data first sent after the holes were resent arrived, the
		 * hole at snd_una did not: that retransmission was lost too
		 * (Linux's lost-retransmit check).  Resend the holes now, not
		 * after an RTO. */
		t->high_rxt = t->snd_una;
		t->rxt_fence = t->snd_max;
		tcb_queue(t);
	}
	if ((t->flags & TF_TLP_SENT) && t->nsnd_rng) {
		t->tlp_lost = t->snd_rng[t->nsnd_rng - 1].start;
		if (t->flags & TF_RECOVERY)
			tcb_queue(t);
	}
	if ((t->flags & (TF_SACK | TF_RECOVERY)) == TF_SACK && tcp_flight(t) &&
	    SEQ_GEQ(t->snd_una, t->recover)) {
		if (t->dupacks >= TCP_DUPTHRESH ||
		    (t->nsnd_rng && tcp_sack_lost_to(t) != t->snd_una))
			tcp_sack_recovery(t);
	}
	t->flags &= ~TF_TLP_SENT;
	if (SEQ_LT(t->snd_wl1, sg->seq) ||
	    (t->snd_wl1 == sg->seq && SEQ_LEQ(t->snd_wl2, ack))) {
		if (win && !t->snd_wnd)
			tcb_queue(t); /* the window opened */
		t->snd_wnd = win;
		t->snd_wl1 = sg->seq;
		t->snd_wl2 = ack;
		if (win > t->max_sndwnd)
			t->max_sndwnd = win;
	}
	if (t->flags & TF_PERSIST)
		t->retries = 0; /* the peer answers our probes */
	if (!(t->flags & TF_FIN_ACKED))
		return true;
	switch (t->state) {
	case TCPS_FIN_WAIT_1:
		tcb_set_state(t, TCPS_FIN_WAIT_2);
		tcp_arm_fin_wait_2(t);
		return true;
	case TCPS_CLOSING:
		tcp_enter_time_wait(t);
		return false;
	case TCPS_LAST_ACK:
		tcb_destroy(t, 0);
		return false;
	default:
		return true;
	}
}

/* ---- data and FIN -----------------------------------------------------------
 */

static void tcp_deliver(struct tcb *t, const uint8_t *d, uint32_t len)
{
	t->rcv_nxt += len;
	tcb_readable(t, TF_READABLE);
	t->s->app.recv(t->app, d, len);
}

static void tcp_rcv_fin(struct tcb *t)
{
	t->rcv_nxt++;
	t->flags |= TF_RCVD_FIN;
	ack_now(t);
	switch (t->state) {
	case TCPS_SYN_RCVD:
	case TCPS_ESTABLISHED:
		tcb_set_state(t, TCPS_CLOSE_WAIT);
		if (t->app)
			tcb_readable(t, TF_EOF_OWED);
		break;
	case TCPS_FIN_WAIT_1:
		tcb_set_state(t, TCPS_CLOSING);
		break;
	case TCPS_FIN_WAIT_2:
		tcp_enter_time_wait(t);
		break;
	default:
		break;
	}
}

/*
 * Out-of-order data.  A segment past a hole keeps its frame: the record
 * (struct tcp_ooo) goes into the frame itself, over the headers just below
 * the payload -- at least Ethernet + IPv4 + TCP, 54 bytes, are there and
 * were parsed already.  The frames form a list sorted by sequence number
 * (a segment usually lands at its tail), bounded per TCB and per stack,
 * since they come from the driver's pool.  rcv_rng keeps the ranges the
 * list covers, most recently changed first, which are the SACK blocks.
 */
_Static_assert(sizeof(struct tcp_ooo) <= 40, "tcp_ooo fits the headers");

/* Merge [s, e) into the ranges, in front; false if no room for it. */
static bool rcv_rng_add(struct tcb *t, uint32_t s, uint32_t e)
{
	struct tcp_rng keep[TCP_RCV_RNG];
	unsigned n = 0;

	for (unsigned i = 0; i < t->nrcv_rng; i++) {
		struct tcp_rng r = t->rcv_rng[i];

		if (SEQ_LEQ(r.start, e) && SEQ_GEQ(r.end, s)) {
			if (SEQ_LT(r.start, s))
				s = r.start;
			if (SEQ_GT(r.end, e))
				e = r.end;
		} else {
			keep[n++] = r;
		}
	}
	if (n == TCP_RCV_RNG)
		return false;
	t->rcv_rng[0] = (struct tcp_rng){s, e};
	memcpy(&t->rcv_rng[1], keep, n * sizeof(keep[0]));
	t->nrcv_rng = (uint8_t)(n + 1);
	return true;
}

/* rcv_nxt moved: forget the ranges it passed. */
static void rcv_rng_prune(struct tcb *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->nrcv_rng; i++)
		if (SEQ_GT(t->rcv_rng[i].end, t->rcv_nxt))
			t->rcv_rng[n++] = t->rcv_rng[i];
	t->nrcv_rng = (uint8_t)n;
}

static void tcp_ooo_add(struct tcb *t, struct tcp_seg *sg, uint32_t seq,
			const uint8_t *d, uint32_t len, bool fin)
{
	struct tcp_state *ts = t->s->tcp;
	uint32_t end = seq + len + fin;
	struct tcp_ooo *o, *p;

	t->s->st.tcp_ooo_segs++;
	if (!len && !fin)
		return;
	for (unsigned i = 0; i < t->nrcv_rng; i++)
		if (SEQ_LEQ(t->rcv_rng[i].start, seq) &&
		    SEQ_GEQ(t->rcv_rng[i].end, end))
			return; /* already have it */
	if (t->nooo >= TCP_OOO_SEGS || ts->ooo_frames >= TCP_OOO_FRAMES ||
	    !rcv_rng_add(t, seq, end))
		return; /* dropped: the peer sends it again */
	o = (struct tcp_ooo *)(((uintptr_t)d - sizeof(*o)) &
			       ~(uintptr_t)(_Alignof(struct tcp_ooo) - 1));
	o->b = sg->b;
	o->seq = seq;
	o->len = (uint16_t)len;
	o->doff = (uint16_t)(d - (const uint8_t *)o);
	o->fin = fin;
	for (p = t->ooo_tail; p && SEQ_GT(p->seq, seq); p = p->prev)
		;
	o->prev = p;
	o->next = p ? p->next : t->ooo_head;
	if (o->next)
		o->next->prev = o;
	else
		t->ooo_tail = o;
	if (p)
		p->next = o;
	else
		t->ooo_head = o;
	t->nooo++;
	ts->ooo_frames++;
	sg->kept = true;
}

/* Deliver what the filled hole made in order; returns whether a FIN was
 * reached. */
static bool tcp_ooo_drain(struct tcb *t)
{
	struct net_stack *s = t->s;
	struct tcp_ooo *o;

	while ((o = t->ooo_head) && SEQ_LEQ(o->seq, t->rcv_nxt)) {
		uint32_t cut = t->rcv_nxt - o->seq, len = o->len;
		const uint8_t *d = (const uint8_t *)o + o->doff;
		struct net_buf *b = o->b;
		bool fin = o->fin && cut <= len;

		t->ooo_head = o->next;
		if (t->ooo_head)
			t->ooo_head->prev = NULL;
		else
			t->ooo_tail = NULL;
		t->nooo--;
		s->tcp->ooo_frames--;
		if (cut < len)
			tcp_deliver(t, d + cut, len - cut);
		s->io.free(s->io.drv, b); /* o was in it */
		if (t->state == TCPS_CLOSED)
			return false;
		if (fin) {
			rcv_rng_prune(t);
			return true;
		}
	}
	rcv_rng_prune(t);
	return false;
}

static void tcp_rcv_data(struct tcb *t, struct tcp_seg *sg)
{
	uint32_t seq = sg->seq, len = sg->len;
	const uint8_t *d = sg->data;
	bool fin = sg->flags & TCP_FIN;

	if (t->flags & TF_RCVD_FIN) { /* nothing may follow a FIN */
		ack_now(t);
		return;
	}
	if (len && (t->flags & TF_APP_GONE)) {
		/* Nobody will read it: reset, as Linux does. */
		tcp_send_rst_tcb(t);
		tcb_destroy(t, 0);
		return;
	}
	if (SEQ_LT(seq, t->rcv_nxt)) {
		uint32_t cut = t->rcv_nxt - seq;

		d += cut;
		len -= cut;
		seq = t->rcv_nxt;
	}
	if (SEQ_GT(seq + len, t->rcv_adv)) {
		len = SEQ_GT(t->rcv_adv, seq) ? t->rcv_adv - seq : 0;
		fin = false;
	}
	if (seq != t->rcv_nxt) {
		tcp_ooo_add(t, sg, seq, d, len, fin);
		tcp_send_ack(t); /* now: the peer counts duplicate ACKs */
		return;
	}
	if (len) {
		tcp_deliver(t, d, len);
		if (t->state == TCPS_CLOSED)
			return;
		t->rcv_unacked += len;
	}
	if (t->ooo_head) {
		fin = tcp_ooo_drain(t) || fin;
		if (t->state == TCPS_CLOSED)
			return;
		ack_now(t); /* RFC 5681 (4.2): a filled hole is ACKed now */
	}
	if (fin)
		tcp_rcv_fin(t);
	else if (t->rcv_unacked >= 2 * t->smss)
		ack_now(t);
	else if (len)
		tcp_arm_delack(t);
}

/* ---- per state --------------------------------------------------------------
 */

/*
 * Header prediction: ESTABLISHED, nothing unusual, the next segment in
 * order, window unchanged, not recovering.  Takes a pure ACK of new data
 * and in-order data (a request, which usually acknowledges the previous
 * reply), i.e. what a connection mostly receives.
 */
static bool tcp_fast_path(struct tcb *t, struct tcp_seg *sg)
{
	uint32_t ack = sg->ack;

	if (t->state != TCPS_ESTABLISHED ||
	    (sg->flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_ACK)) !=
		TCP_ACK ||
	    sg->seq != t->rcv_nxt || t->ooo_head || sg->nsack ||
	    (t->flags & (TF_RECOVERY | TF_APP_GONE)) ||
	    ((uint32_t)sg->win << t->snd_ws) != t->snd_wnd ||
	    sg->len > t->rcv_adv - t->rcv_nxt)
		return false;
	if ((t->flags & TF_TS) &&
	    (!sg->has_ts || SEQ_LT(sg->tsval, t->ts_recent)))
		return false;
	if (SEQ_GT(ack, t->snd_una)) {
		if (SEQ_GT(ack, t->snd_max))
			return false;
	} else if (ack != t->snd_una || !sg->len) {
		return false; /* old or duplicate ACK: the slow path counts */
	}
	if ((t->flags & TF_TS) && SEQ_LEQ(sg->seq, t->last_ack_sent))
		t->ts_recent = sg->tsval;
	t->snd_wl1 = sg->seq;
	t->snd_wl2 = ack;
	if (ack != t->snd_una && !tcp_ack_new(t, sg))
		return true;
	if (!sg->len)
		return true;
	tcp_deliver(t, sg->data, sg->len);
	if (t->state == TCPS_CLOSED)
		return true;
	t->rcv_unacked += sg->len;
	if (t->rcv_unacked >= 2 * t->smss)
		ack_now(t);
	else
		tcp_arm_delack(t);
	return true;
}

static void tcp_input_conn(struct tcb *t, struct tcp_seg *sg)
{
	struct net_stack *s = t->s;

	t->last_rx_us = s->now_us;
	t->ka_probes = 0; /* any segment answers a keepalive probe */
	if (tcp_fast_path(t, sg))
		return;
	if ((sg->flags & (TCP_SYN | TCP_RST)) == TCP_SYN) {
		if (t->state != TCPS_SYN_RCVD) { /* RFC 5961 (4.2) */
			if (tcp_challenge_ok(s))
				ack_now(t);
		} else if (sg->seq == t->irs || (sg->flags & TCP_ACK)) {
			ack_now(t); /* SYN again: SYN-ACK again */
		} else {	    /* a new incarnation of a half-open peer */
			tcb_destroy(t, 0);
			tcp_passive_open(s, sg);
		}
		return;
	}
	if (!tcp_check_seq(t, sg))
		return;
	if (sg->flags & TCP_RST) {
		tcp_rcv_rst(t, sg);
		return;
	}
	if (!(sg->flags & TCP_ACK))
		return;
	if (t->state == TCPS_SYN_RCVD && !tcp_establish(t, sg))
		return;
	if (!tcp_rcv_ack(t, sg))
		return;
	if (sg->len || (sg->flags & TCP_FIN))
		tcp_rcv_data(t, sg);
}

/*
 * The application's turn, after the frames: readable() for each TCB that
 * delivered bytes, then eof() if its FIN came, in the order they first
 * received.  A TCB that died meanwhile (reset, aborted, closed by the
 * application: app is NULL) is skipped; its memory stays valid until
 * tcp_flush, which runs this first.  An upcall may close or abort any
 * connection, this one included, and send on any.
 */
void tcp_readable(struct tcp_state *ts)
{
	struct net_stack *s = ts->s;
	struct tcb *t;

	while ((t = ts->rhead)) {
		uint32_t what = t->flags;

		ts->rhead = t->rnext;
		if (!ts->rhead)
			ts->rtail = &ts->rhead;
		t->flags &= ~(TF_RLIST | TF_READABLE | TF_EOF_OWED);
		if (t->state == TCPS_CLOSED || !t->app)
			continue;
		if ((what & TF_READABLE) && s->app.readable)
			s->app.readable(t->app);
		if ((what & TF_EOF_OWED) && t->state != TCPS_CLOSED && t->app)
			s->app.eof(t->app);
	}
}

/* TIME_WAIT: re-ACK a retransmitted FIN, let a newer SYN reuse the pair
 * (RFC 6191), ignore RSTs (RFC 1337). */
static void tcp_input_time_wait(struct net_stack *s, struct tcp_tw *tw,
				struct tcp_seg *sg)
{
	if (sg->flags & TCP_RST)
		return;
	if ((sg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		bool newer = tw->ts && sg->has_ts
				 ? SEQ_GT(sg->tsval, tw->ts_recent)
				 : SEQ_GT(sg->seq, tw->rcv_nxt);

		if (newer) {
			tcp_tw_free(s->tcp, tw);
			tcp_passive_open(s, sg);
		} else if (tcp_challenge_ok(s)) {
			tcp_tw_send_ack(s, tw);
		}
		return;
	}
	if (sg->flags & TCP_FIN) {
		if (tw->ts && sg->has_ts && SEQ_GEQ(sg->tsval, tw->ts_recent))
			tw->ts_recent = sg->tsval; /* echoed, as Linux does */
		tcp_tw_restart(s->tcp, tw);
		tcp_tw_send_ack(s, tw);
	} else if (sg->len) {
		tcp_tw_send_ack(s, tw);
	}
}

void tcp_input(struct net_stack *s, struct net_buf *b, uint32_t src,
	       uint32_t dst, uint8_t *seg, size_t len)
{
	struct tcp_seg sg;
	struct tcb *t;

	s->st.tcp_in_segs++;
	if (tcp_parse(&sg, src, dst, seg, len) < 0) {
		s->io.free(s->io.drv, b);
		return;
	}
	sg.b = b;
	if (sg.flags & TCP_RST)
		s->st.tcp_in_rsts++;
	t = tcb_lookup(s->tcp, src, sg.sport, dst, sg.dport);
	if (t) {
		tcp_input_conn(t, &sg);
	} else {
		struct tcp_tw *tw =
		    tcp_tw_lookup(s->tcp, src, sg.sport, dst, sg.dport);

		if (tw)
			tcp_input_time_wait(s, tw, &sg);
		else
			tcp_input_listen(s, &sg);
	}
	if (!sg.kept)
		s->io.free(s->io.drv, b);
}
