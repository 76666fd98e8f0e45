/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp_pvt: TCP's insides, shared by tcp_in.c (receive path and state
 * machine), tcp_out.c (segment output, flush), tcp_timer.c (RTO, persist,
 * delayed ACK, keepalive, TIME_WAIT), tcp_conn.c (connection table, TCB
 * pool, send buffer, the net_tcp_* API) and tcp_cookie.c (SipHash, ISNs,
 * SYN cookies).
 *
 * Threading: a struct tcp_state and its TCBs belong to one stack, hence
 * to one worker; nothing here is shared.
 */
#ifndef CACHALOT_TCP_PVT_H
#define CACHALOT_TCP_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_pvt.h"

/* Sequence-space comparisons (RFC 9293 modular arithmetic). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

#define TCP_OOO_MAX 4		 /* out-of-order segments kept per TCB */
#define TCP_DEFAULT_MSS 536	 /* RFC 9293 when the peer sends no MSS */
#define TCP_IW_SEGS 10		 /* RFC 6928 initial window */
#define TCP_RTO_INIT_US 1000000	 /* RFC 6298 (2.1) */
#define TCP_KA_PROBES 3		 /* keepalive probes before ETIMEDOUT */
#define TCP_CHALLENGE_PER_S 1000 /* RFC 5961 (7) challenge ACKs per stack */
#define TCP_SB_MIN 4096		 /* first send buffer, grown by doubling */
#define TCP_TS_OPTLEN 12	 /* NOP NOP TS */
#define TCP_MAX_WSCALE 14
#define TCP_COOKIE_MAXAGE 2 /* 64 s periods a SYN cookie stays valid */

enum tcp_st {
	TCPS_CLOSED, /* freed, waiting for the end of the turn */
	TCPS_SYN_RCVD,
	TCPS_ESTABLISHED,
	TCPS_CLOSE_WAIT,
	TCPS_FIN_WAIT_1,
	TCPS_FIN_WAIT_2,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_TIME_WAIT,
};

/* tcb.flags */
#define TF_QUEUED (1u << 0)	 /* on the flush list */
#define TF_ACKNOW (1u << 1)	 /* an ACK is owed this turn */
#define TF_DELACK (1u << 2)	 /* an ACK is owed, delayed */
#define TF_TS (1u << 3)		 /* RFC 7323 timestamps negotiated */
#define TF_WS (1u << 4)		 /* RFC 7323 window scaling negotiated */
#define TF_APP_GONE (1u << 5)	 /* net_tcp_close()d: no more upcalls */
#define TF_FIN_PENDING (1u << 6) /* send FIN after the queued data */
#define TF_FIN_ACKED (1u << 7)
#define TF_RECOVERY (1u << 8) /* NewReno fast recovery */
#define TF_SB_FULL (1u << 9)  /* net_tcp_send() refused: writable() owed */
#define TF_RTT (1u << 10)     /* timing rtt_seq (no timestamps) */
#define TF_PERSIST (1u << 11) /* rtx timer is the persist timer */
#define TF_WLOW (1u << 12)    /* on the small-window list */
#define TF_RCVD_FIN (1u << 13)
#define TF_SRTT (1u << 14) /* srtt_us holds a measurement */

/* One out-of-order segment: its bytes stay in the received frame. */
struct tcp_ooo {
	uint32_t seq;
	uint32_t len;
	const uint8_t *data;
	struct net_buf *b;
	bool fin;
};

struct tcb {
	struct tcb *hnext; /* connection table chain */
	struct tcb *qnext; /* flush list / zombie list / pool free list */
	struct tcb *wnext; /* small-window list */
	struct net_stack *s;
	void *app;
	uint32_t rip, lip; /* host order */
	uint16_t rport, lport;
	uint8_t state;
	uint8_t snd_ws, rcv_ws; /* shift counts (0 when not negotiated) */
	uint8_t retries;	/* RTO / SYN-ACK / persist back-off count */
	uint8_t ka_probes;
	uint8_t dupacks;
	uint8_t nooo;
	uint32_t flags;

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_sndwnd, snd_wl1, snd_wl2;
	uint32_t smss; /* payload bytes per segment (MSS minus options) */
	uint32_t cwnd, ssthresh, recover, ca_acked;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq;
	uint64_t rto_at; /* when the RTO is due (the timer may be earlier) */
	uint64_t rtt_start_us;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv, rcv_unacked;
	uint32_t last_ack_sent;
	uint32_t ts_recent, ts_off;
	uint64_t last_rx_us;

	/* send buffer: a ring of sb_cap (a power of two) bytes; sb_len
	 * bytes from snd_una (acked bytes leave it), at offset sb_off. */
	uint8_t *sb;
	uint32_t sb_cap, sb_off, sb_len;

	struct timer rtx;    /* RTO, SYN-ACK retransmission or persist */
	struct timer delack; /* delayed ACK */
	struct timer ka;     /* keepalive, FIN_WAIT_2 and TIME_WAIT expiry */

	struct tcp_ooo ooo[TCP_OOO_MAX];
};

#define tcb_of(ptr, member)                                                    \
	((struct tcb *)((char *)(ptr)-offsetof(struct tcb, member)))

struct tcp_slab;

struct tcp_state {
	struct tcb **ht;
	uint32_t ht_mask;
	uint64_t hseed;
	struct tcb *pool;	    /* free TCBs */
	struct tcp_slab *slabs;	    /* where TCBs come from */
	struct tcb *qhead, **qtail; /* flush list */
	struct tcb *zombies;	    /* freed this turn */
	struct tcb *wlow;	    /* advertised a small window */
	unsigned half_open;
	uint32_t chal_count;
	uint64_t chal_start_us;
	uint32_t cookie_last; /* 64 s period a cookie was last sent */
	bool cookie_sent;
	uint8_t rcv_ws;	  /* our window scale when the peer scales */
	uint16_t our_mss; /* mtu - 40 */
	uint8_t isn_key[16], cookie_key[16];
};

/* Parsed view of a received segment. */
struct tcp_seg {
	uint32_t src, dst; /* host order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win; /* raw field, unscaled */
	uint8_t flags;
	bool has_mss, has_ws, has_ts, sack_ok;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	const uint8_t *data;
	uint32_t len;  /* payload bytes */
	bool had_data; /* len > 0 before a zero window trimmed it */
	struct net_buf *b;
	bool kept; /* b now belongs to the out-of-order queue */
};

static inline uint32_t tcp_ts_now(const struct net_stack *s)
{
	return (uint32_t)(s->now_us >> 10); /* ~1 ms ticks, no division */
}

static inline bool tcp_st_active(uint8_t st)
{
	return st >= TCPS_ESTABLISHED && st != TCPS_TIME_WAIT;
}

/* Bytes sent and not acknowledged. */
static inline uint32_t tcp_flight(const struct tcb *t)
{
	return t->snd_max - t->snd_una;
}

/* tcp_conn.c */
struct tcb *tcb_lookup(struct tcp_state *ts, uint32_t rip, uint16_t rport,
		       uint32_t lip, uint16_t lport);
struct tcb *tcb_new(struct net_stack *s, const struct tcp_seg *sg);
void tcb_set_state(struct tcb *t, uint8_t st);
void tcb_destroy(struct tcb *t, int err);
void tcb_queue(struct tcb *t);
void tcb_release_zombies(struct tcp_state *ts);
void tcb_ooo_clear(struct tcb *t);
void tcb_sb_release(struct tcb *t);
void tcb_sb_acked(struct tcb *t, uint32_t n);
bool tcp_listening(const struct net_stack *s, uint16_t port);

/* tcp_in.c */
void tcp_apply_syn_opts(struct tcb *t, const struct tcp_seg *sg);

/* tcp_out.c */
void tcp_output(struct tcb *t);
void tcp_send_ack(struct tcb *t);
void tcp_send_synack(struct tcb *t);
void tcp_send_probe(struct tcb *t);
void tcp_send_rst_tcb(struct tcb *t);
void tcp_send_rst(struct net_stack *s, const struct tcp_seg *sg);
void tcp_send_cookie_synack(struct net_stack *s, const struct tcp_seg *sg,
			    uint32_t iss, uint32_t tsval, uint16_t mss);
bool tcp_challenge_ok(struct net_stack *s);
void tcp_retransmit_una(struct tcb *t);
uint16_t tcp_window_field(struct tcb *t);

/* tcp_timer.c */
void tcp_rtt_sample(struct tcb *t, uint32_t rtt_us);
void tcp_arm_rto(struct tcb *t);
void tcp_arm_persist(struct tcb *t);
void tcp_arm_delack(struct tcb *t);
void tcp_start_delack(struct tcb *t);
void tcp_arm_keepalive(struct tcb *t);
void tcp_enter_time_wait(struct tcb *t);
void tcp_arm_fin_wait_2(struct tcb *t);

/* tcp_cookie.c */
uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_isn(struct net_stack *s, const struct tcp_seg *sg);
uint32_t tcp_ts_offset(struct net_stack *s, uint32_t rip, uint16_t rport,
		       uint32_t lip, uint16_t lport);
uint32_t tcp_cookie_make(struct net_stack *s, const struct tcp_seg *sg,
			 uint16_t *mss);
int tcp_cookie_check(struct net_stack *s, const struct tcp_seg *sg,
		     uint16_t *mss);
void tcp_cookie_synack(struct net_stack *s, const struct tcp_seg *sg);
struct tcb *tcp_cookie_accept(struct net_stack *s, const struct tcp_seg *sg);

#endif
