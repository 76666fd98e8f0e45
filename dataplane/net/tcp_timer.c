/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP timers on the worker's wheel.  Three per TCB, each with several
 * uses that never overlap:
 *   rtx     SYN-ACK retransmission (SYN_RCVD), the RFC 6298 RTO while data
 *           or FIN is in flight, or the persist timer (TF_PERSIST) while
 *           data waits behind a zero window and nothing is in flight;
 *   delack  the delayed ACK, armed at the end of the turn only if no
 *           segment of that turn carried the ACK (tcp_output);
 *   ka      keepalive (ESTABLISHED, CLOSE_WAIT) and the FIN_WAIT_2 timeout
 *           of an application that closed.
 * TIME_WAIT has no TCB, hence no timers: see tcp_tw_enter.
 * Keepalive and the RTO are lazy, to keep timer operations off the
 * request/reply path: segments only move a deadline (last_rx_us, rto_at)
 * and a timer that fires early re-arms itself for it.  An RTO timer left
 * armed when everything is acknowledged just fires once for nothing.
 */
#include <errno.h>

#include "tcp_pvt.h"

static uint32_t clamp_rto(const struct net_stack *s, uint64_t us)
{
	uint64_t lo = (uint64_t)s->conf.rto_min_ms * 1000;
	uint64_t hi = (uint64_t)s->conf.rto_max_ms * 1000;

	if (us < lo)
		us = lo;
	if (us > hi)
		us = hi;
	return (uint32_t)us;
}

/* RFC 6298 (2.2, 2.3) with the usual fixed-point shifts. */
void tcp_rtt_sample(struct tcb *t, uint32_t r)
{
	if (!(t->flags & TF_SRTT)) {
		t->srtt_us = r;
		t->rttvar_us = r / 2;
		t->flags |= TF_SRTT;
	} else {
		uint32_t d = t->srtt_us > r ? t->srtt_us - r : r - t->srtt_us;

		t->rttvar_us = t->rttvar_us - (t->rttvar_us >> 2) + (d >> 2);
		t->srtt_us = t->srtt_us - (t->srtt_us >> 3) + (r >> 3);
	}
	uint32_t var = 4 * t->rttvar_us;

	if (var < TIMER_TICK_US)
		var = TIMER_TICK_US; /* G, the clock granularity */
	t->rto_us = clamp_rto(t->s, (uint64_t)t->srtt_us + var);
}

/* ---- rtx: SYN-ACK, RTO, persist ---------------------------------------- */

static void tcp_synack_timeout(struct tcb *t)
{
	struct net_stack *s = t->s;

	if (t->retries >= s->conf.syn_retries) {
		tcb_destroy(t, 0);
		return;
	}
	t->retries++;
	tcp_send_synack(t);
	uint64_t next = (uint64_t)TCP_RTO_INIT_US << t->retries;

	timer_arm(s->tw, &t->rtx, s->now_us + clamp_rto(s, next), t->rtx.fn);
}

/*
 * The probe timeout, PTO after the last ACK that moved snd_una.  Outside
 * recovery, RFC 8985's tail loss probe.  In SACK recovery, no progress for
 * a PTO means the holes' retransmissions were lost too (what RACK would
 * see from their send times, which we do not keep): resend them, instead
 * of waiting for the RTO and going back to one segment.
 */
static void tcp_probe_timeout(struct tcb *t)
{
	t->tlp_probes++;
	if ((t->flags & TF_RECOVERY) && SEQ_LT(t->snd_una, t->high_rxt)) {
		/* the first hole now, whatever pipe says; the others as
		 * it allows (tcp_sack_output) */
		uint32_t n =
		    t->nsnd_rng ? t->snd_rng[0].start - t->snd_una : t->smss;

		n = n < t->smss ? n : t->smss;
		n = n < t->sb_len ? n : t->sb_len;
		tcp_resend(t, t->snd_una, n);
		t->high_rxt = t->snd_una + (n ? n : 1);
		t->rxt_fence = t->snd_max;
		tcb_queue(t);
	} else {
		tcp_send_tlp(t);
	}
	/* RFC 8985 (7.3): the RTO from the probe; maybe another probe first
	 * (TCP_TLP_MAX, a lost probe should not cost an RTO), backed off */
	tcp_arm_rto(t);
}

/* RFC 6298 (5.4-5.7) and RFC 5681 (3.1, eq. 4): back off, shrink cwnd to
 * one segment, go back to snd_una. */
static void tcp_rto(struct tcb *t)
{
	struct net_stack *s = t->s;
	uint32_t flight = tcp_flight(t);

	if (!flight) {
		if (t->sb_len && !t->snd_wnd)
			tcp_arm_persist(t);
		return;
	}
	if (t->flags & TF_TLP) {
		if (s->now_us < t->tlp_at) { /* moved by ACKs since armed */
			timer_arm(s->tw, &t->rtx, t->tlp_at, t->rtx.fn);
			return;
		}
		t->flags &= ~TF_TLP;
		if (s->now_us < t->rto_at) {
			tcp_probe_timeout(t);
			return;
		}
	}
	if (s->now_us < t->rto_at) { /* moved by ACKs since armed */
		timer_arm(s->tw, &t->rtx, t->rto_at, t->rtx.fn);
		return;
	}
	if (t->retries >= s->conf.data_retries) {
		tcb_destroy(t, ETIMEDOUT);
		return;
	}
	s->st.tcp_rto_timeouts++;
	if (!t->retries) {
		uint32_t half = flight / 2;

		t->ssthresh = half > 2 * t->smss ? half : 2 * t->smss;
	}
	t->retries++;
	t->cwnd = t->smss;
	t->recover = t->snd_max;
	t->dupacks = 0;
	t->flags &= ~(TF_RECOVERY | TF_RTT | TF_TLP_SENT); /* Karn */
	/* RFC 2018 (8): after a timeout the SACKs may be reneged */
	t->nsnd_rng = 0;
	t->sacked = 0;
	t->tlp_lost = t->snd_una;
	t->rto_us = clamp_rto(s, (uint64_t)t->rto_us * 2);
	t->snd_nxt = t->snd_una;
	tcp_retransmit_una(t);
	tcp_arm_rto(t);
}

/* A zero window and nothing in flight: probe so that a lost window update
 * cannot leave both sides waiting (RFC 9293 3.8.6.1). */
static void tcp_persist(struct tcb *t)
{
	struct net_stack *s = t->s;

	if (t->snd_wnd || !t->sb_len || tcp_flight(t)) {
		t->flags &= ~TF_PERSIST;
		tcb_queue(t);
		return;
	}
	if (t->retries >= s->conf.data_retries) {
		tcb_destroy(t, ETIMEDOUT);
		return;
	}
	s->st.tcp_zero_window_probes++;
	tcp_send_probe(t);
	t->retries++;
	tcp_arm_persist(t);
}

static void tcp_rtx_fire(struct timer *tm)
{
	struct tcb *t = tcb_of(tm, rtx);

	if (t->state == TCPS_SYN_RCVD)
		tcp_synack_timeout(t);
	else if (t->flags & TF_PERSIST)
		tcp_persist(t);
	else
		tcp_rto(t);
}

/*
 * (Re)start the RTO for the oldest segment in flight (RFC 6298 5.1, 5.3)
 * and, with SACK, the tail loss probe before it (RFC 8985 7.2: PTO is two
 * SRTTs, plus the peer's delayed ACK when one segment is out): a lost
 * last segment of a reply costs a PTO, not an RTO.  Only the deadlines
 * move unless the timer would fire late.
 */
void tcp_arm_rto(struct tcb *t)
{
	uint64_t at;

	t->rto_at = t->s->now_us + t->rto_us;
	at = t->rto_at;
	if ((t->flags & (TF_SACK | TF_SRTT)) == (TF_SACK | TF_SRTT) &&
	    !t->retries && t->tlp_probes < TCP_TLP_MAX) {
		uint64_t pto = (2 * (uint64_t)t->srtt_us +
				(tcp_flight(t) > t->smss ? TCP_TLP_MIN_US
							 : TCP_TLP_DELACK_US))
			       << t->tlp_probes;

		if (pto < t->rto_us) {
			t->flags |= TF_TLP;
			t->tlp_at = t->s->now_us + pto;
			at = t->tlp_at;
		} else {
			t->flags &= ~TF_TLP;
		}
	} else {
		t->flags &= ~TF_TLP;
	}
	if (!timer_armed(&t->rtx) || (t->flags & TF_PERSIST) ||
	    t->rtx.expire_us > at) {
		t->flags &= ~TF_PERSIST;
		timer_arm(t->s->tw, &t->rtx, at, tcp_rtx_fire);
	}
}

void tcp_arm_persist(struct tcb *t)
{
	uint32_t sh = t->retries < 12 ? t->retries : 12;

	t->flags |= TF_PERSIST;
	t->flags &= ~TF_TLP;
	timer_arm(t->s->tw, &t->rtx,
		  t->s->now_us + clamp_rto(t->s, (uint64_t)t->rto_us << sh),
		  tcp_rtx_fire);
}

/* ---- delayed ACK --------------------------------------------------------- */

static void tcp_delack_fire(struct timer *tm)
{
	struct tcb *t = tcb_of(tm, delack);

	if (t->flags & TF_DELACK) {
		t->flags |= TF_ACKNOW;
		tcb_queue(t);
	}
}

void tcp_start_delack(struct tcb *t)
{
	if (!timer_armed(&t->delack))
		timer_arm(t->s->tw, &t->delack,
			  t->s->now_us + (uint64_t)t->s->conf.delack_ms * 1000,
			  tcp_delack_fire);
}

/* ---- keepalive, FIN_WAIT_2, TIME_WAIT ------------------------------------ */

static void tcp_keepalive(struct tcb *t)
{
	struct net_stack *s = t->s;
	uint64_t idle = (uint64_t)s->conf.keepalive_s * 1000000;
	uint64_t intvl = idle / 3 >= 1000000 ? idle / 3 : 1000000;

	if (!idle)
		return;
	if (tcp_flight(t) || t->sb_len ||
	    (!t->ka_probes && s->now_us - t->last_rx_us < idle)) {
		/* Busy (the RTO watches the peer) or heard from lately.  A
		 * probe out and nothing heard since (input clears ka_probes)
		 * is neither, however close the last segment was. */
		t->ka_probes = 0;
		uint64_t at = t->last_rx_us + idle;

		if (at <= s->now_us)
			at = s->now_us + idle;
		timer_arm(s->tw, &t->ka, at, t->ka.fn);
		return;
	}
	if (t->ka_probes >= TCP_KA_PROBES) {
		tcp_send_rst_tcb(t);
		tcb_destroy(t, ETIMEDOUT);
		return;
	}
	t->ka_probes++;
	s->st.tcp_keepalive_probes++;
	tcp_send_probe(t);
	timer_arm(s->tw, &t->ka, s->now_us + intvl, t->ka.fn);
}

static void tcp_ka_fire(struct timer *tm)
{
	struct tcb *t = tcb_of(tm, ka);

	switch (t->state) {
	case TCPS_FIN_WAIT_2:
		tcb_destroy(t, 0);
		break;
	case TCPS_ESTABLISHED:
	case TCPS_CLOSE_WAIT:
		tcp_keepalive(t);
		break;
	default:
		break;
	}
}

void tcp_arm_keepalive(struct tcb *t)
{
	struct net_stack *s = t->s;

	if (s->conf.keepalive_s)
		timer_arm(s->tw, &t->ka,
			  s->now_us + (uint64_t)s->conf.keepalive_s * 1000000,
			  tcp_ka_fire);
}

void tcp_arm_fin_wait_2(struct tcb *t)
{
	timer_arm(t->s->tw, &t->ka,
		  t->s->now_us + (uint64_t)t->s->conf.time_wait_ms * 1000,
		  tcp_ka_fire);
}

/* TIME_WAIT is a small record, not the TCB (tcp_tw_enter, tcp_conn.c). */
void tcp_enter_time_wait(struct tcb *t)
{
	tcp_tw_enter(t);
}
