/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arp: the responder and this worker's neighbour cache.
 *
 * The cache is a small open-addressing table probed over a window of
 * ARP_PROBE slots.  Slots are never emptied once used (an entry is only
 * ever replaced by another), so a lookup may stop at the first empty slot
 * and needs no tombstones; when the window is full the least recently
 * confirmed entry is evicted.  A server talks to its clients' next hops,
 * usually one gateway or a handful of on-link hosts, so 256 slots are
 * plenty.
 *
 * Learning follows RFC 826: any ARP frame refreshes the sender's entry if
 * there is one, and one addressed to us creates it.  Every worker learns
 * from every ARP frame (net.c copies them around), since each transmits.
 *
 * An entry is trusted for ARP_REACHABLE_US after it was confirmed.  Used
 * after that, it still sends (like Linux's STALE state) but asks again;
 * ARP_TRIES unanswered requests a second apart make it unusable.  An
 * unknown next hop holds the last ARP_HOLD frames for it meanwhile and
 * drops them when resolution fails.
 *
 * Connections do not look the cache up per packet: their struct net_path
 * keeps the MAC with the cache's generation number, which every change of
 * an entry bumps (ipv4.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <mimalloc.h>

#include "net_link.h"

#define ARP_SLOTS 256 /* power of two */
#define ARP_PROBE 8
#define ARP_HOLD 4
#define ARP_TRIES 3
#define ARP_RETRY_US 1000000ull
#define ARP_REACHABLE_US 300000000ull
#define ARP_LEN (ETH_HLEN + (int)sizeof(struct arp_hdr))

enum arp_state {
	ARP_EMPTY,
	ARP_INCOMPLETE, /* no usable MAC: resolving, or failed */
	ARP_VALID,
};

struct arp_held {
	struct net_buf *b;
	uint8_t *frame;
	uint32_t len;
	unsigned flags;
};

struct arp_entry {
	uint32_t ip;
	uint8_t state;
	uint8_t tries; /* requests sent in this round */
	uint8_t nheld;
	uint8_t mac[6];
	uint64_t confirmed_us;
	struct timer retry;
	struct net_stack *s;
	struct arp_held held[ARP_HOLD];
};

struct arp_table {
	struct arp_entry e[ARP_SLOTS];
};

static const uint8_t arp_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int arp_init(struct net_stack *s)
{
	s->arp = mi_zalloc(sizeof(*s->arp));
	if (!s->arp)
		return -ENOMEM;
	for (unsigned i = 0; i < ARP_SLOTS; i++)
		s->arp->e[i].s = s;
	return 0;
}

static void arp_drop_held(struct net_stack *s, struct arp_entry *e)
{
	for (unsigned i = 0; i < e->nheld; i++) {
		s->io.free(s->io.drv, e->held[i].b);
		s->st.arp_unresolved_drops++;
	}
	e->nheld = 0;
}

void arp_fini(struct net_stack *s)
{
	if (!s->arp)
		return;
	for (unsigned i = 0; i < ARP_SLOTS; i++) {
		struct arp_entry *e = &s->arp->e[i];

		timer_cancel(&e->retry);
		arp_drop_held(s, e);
	}
	mi_free(s->arp);
	s->arp = NULL;
}

static inline unsigned arp_hash(uint32_t ip)
{
	return (ip * 0x9e3779b1u) >> 24; /* 8 bits: ARP_SLOTS */
}

static struct arp_entry *arp_find(struct arp_table *t, uint32_t ip)
{
	unsigned h = arp_hash(ip);

	for (unsigned k = 0; k < ARP_PROBE; k++) {
		struct arp_entry *e = &t->e[(h + k) & (ARP_SLOTS - 1)];

		if (e->state == ARP_EMPTY)
			return NULL;
		if (e->ip == ip)
			return e;
	}
	return NULL;
}

/* A slot for ip, which is not in the table: an empty one, else the least
 * recently confirmed of the window (its held frames dropped). */
static struct arp_entry *arp_insert(struct net_stack *s, uint32_t ip)
{
	unsigned h = arp_hash(ip);
	struct arp_entry *victim = NULL;

	for (unsigned k = 0; k < ARP_PROBE; k++) {
		struct arp_entry *e = &s->arp->e[(h + k) & (ARP_SLOTS - 1)];

		if (e->state == ARP_EMPTY) {
			victim = e;
			break;
		}
		if (!victim || e->confirmed_us < victim->confirmed_us)
			victim = e;
	}
	timer_cancel(&victim->retry);
	arp_drop_held(s, victim);
	s->arp_gen++;
	victim->ip = ip;
	victim->state = ARP_INCOMPLETE;
	victim->tries = 0;
	victim->confirmed_us = 0;
	memset(victim->mac, 0, 6);
	return victim;
}

/* Build an ARP frame; tha NULL means zeros (a request). */
static void arp_build(struct net_stack *s, uint8_t *frame, uint16_t op,
		      const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa)
{
	struct eth_hdr *eth = (struct eth_hdr *)frame;
	struct arp_hdr *a = (struct arp_hdr *)(frame + ETH_HLEN);

	memcpy(eth->dst, eth_dst, 6);
	memcpy(eth->src, s->conf.mac, 6);
	eth->type = htons(ETH_TYPE_ARP);
	a->hw = htons(ARP_HW_ETHER);
	a->proto = htons(ETH_TYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->op = htons(op);
	memcpy(a->sha, s->conf.mac, 6);
	a->spa = htonl(s->conf.ip);
	if (tha)
		memcpy(a->tha, tha, 6);
	else
		memset(a->tha, 0, 6);
	a->tpa = htonl(tpa);
	/* Pad to the Ethernet minimum, as the wire would. */
	memset(frame + ARP_LEN, 0, NET_ETH_MIN - ARP_LEN);
}

static bool arp_send(struct net_stack *s, uint16_t op, const uint8_t *eth_dst,
		     const uint8_t *tha, uint32_t tpa)
{
	uint8_t *data;
	size_t cap;
	struct net_buf *b = s->io.alloc(s->io.drv, &data, &cap);

	if (!b) {
		s->st.tx_alloc_fail++;
		return false;
	}
	if (cap < NET_ETH_MIN) {
		s->io.free(s->io.drv, b);
		s->st.tx_alloc_fail++;
		return false;
	}
	arp_build(s, data, op, eth_dst, tha, tpa);
	net_send_frame(s, b, NET_ETH_MIN, 0);
	return true;
}

static void arp_request(struct net_stack *s, uint32_t ip)
{
	if (arp_send(s, ARP_OP_REQUEST, arp_bcast, NULL, ip))
		s->st.arp_requests_tx++;
}

void net_announce(struct net_stack *s)
{
	/* A gratuitous request (sender = target = us), which every stack
	 * takes as an update of an existing entry. */
	if (arp_send(s, ARP_OP_REQUEST, arp_bcast, NULL, s->conf.ip))
		s->st.arp_requests_tx++;
}

static void arp_retry(struct timer *t)
{
	struct arp_entry *e =
	    (struct arp_entry *)((char *)t - offsetof(struct arp_entry, retry));
	struct net_stack *s = e->s;

	if (e->tries >= ARP_TRIES) {
		/* Unanswered: held frames go, and a stale MAC is no longer
		 * trusted.  The next send starts over. */
		arp_drop_held(s, e);
		e->state = ARP_INCOMPLETE;
		s->arp_gen++;
		return;
	}
	e->tries++;
	arp_request(s, e->ip);
	timer_arm(s->tw, &e->retry, s->now_us + ARP_RETRY_US, arp_retry);
}

/* Start a round of requests unless one is under way. */
static void arp_resolve(struct net_stack *s, struct arp_entry *e)
{
	if (timer_armed(&e->retry))
		return;
	e->tries = 0;
	arp_retry(&e->retry);
}

void arp_output(struct net_stack *s, uint32_t nh, struct net_buf *b,
		uint8_t *frame, size_t len, unsigned txflags)
{
	struct arp_entry *e = arp_find(s->arp, nh);

	if (e && e->state == ARP_VALID) {
		memcpy(((struct eth_hdr *)frame)->dst, e->mac, 6);
		net_send_frame(s, b, len, txflags);
		if (s->now_us - e->confirmed_us >= ARP_REACHABLE_US)
			arp_resolve(s, e);
		return;
	}
	if (!e)
		e = arp_insert(s, nh);
	if (e->nheld == ARP_HOLD) {
		/* Keep the newest: TCP's latest is its most useful. */
		s->io.free(s->io.drv, e->held[0].b);
		s->st.arp_unresolved_drops++;
		memmove(&e->held[0], &e->held[1],
			(ARP_HOLD - 1) * sizeof(e->held[0]));
		e->nheld--;
	}
	e->held[e->nheld++] = (struct arp_held){
	    .b = b, .frame = frame, .len = (uint32_t)len, .flags = txflags};
	arp_resolve(s, e);
}

uint64_t arp_lookup(struct net_stack *s, uint32_t nh, uint8_t mac[6])
{
	const struct arp_entry *e = arp_find(s->arp, nh);

	if (!e || e->state != ARP_VALID)
		return 0;
	memcpy(mac, e->mac, 6);
	return e->confirmed_us + ARP_REACHABLE_US;
}

/* The sender of an ARP frame is at sha: refresh (or with create, add). */
static void arp_learn(struct net_stack *s, uint32_t ip, const uint8_t *mac,
		      bool create)
{
	struct arp_entry *e = arp_find(s->arp, ip);

	if (!e) {
		if (!create)
			return;
		e = arp_insert(s, ip);
	}
	memcpy(e->mac, mac, 6);
	e->state = ARP_VALID;
	e->confirmed_us = s->now_us;
	s->arp_gen++; /* a new MAC, or trusted for longer: paths reload */
	e->tries = 0;
	timer_cancel(&e->retry);
	for (unsigned i = 0; i < e->nheld; i++) {
		struct arp_held *h = &e->held[i];

		memcpy(((struct eth_hdr *)h->frame)->dst, mac, 6);
		net_send_frame(s, h->b, h->len, h->flags);
	}
	e->nheld = 0;
}

void arp_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
	       size_t len, unsigned flags)
{
	const struct arp_hdr *a = (const struct arp_hdr *)(frame + ETH_HLEN);

	if (len < (size_t)ARP_LEN) {
		s->st.rx_bad_len++;
		net_drop(s, b);
		return;
	}
	if (ntohs(a->hw) != ARP_HW_ETHER || ntohs(a->proto) != ETH_TYPE_IPV4 ||
	    a->hlen != 6 || a->plen != 4) {
		s->st.rx_other++;
		net_drop(s, b);
		return;
	}
	bool steered = flags & NET_RX_STEERED;
	if (!steered && s->conf.nworkers > 1 && s->io.steer) {
		/* Every worker's cache learns; the driver copies. */
		if (s->io.steer(s->io.drv, NET_STEER_ALL, b, frame, len))
			s->st.rx_steered_out++;
		else
			s->st.rx_steer_drops++;
	}

	uint16_t op = ntohs(a->op);
	uint32_t spa = ntohl(a->spa), tpa = ntohl(a->tpa);
	bool to_us = tpa == s->conf.ip;
	uint8_t sha[6];

	memcpy(sha, a->sha, 6);
	/* No learning from probes (spa 0), multicast senders, or someone
	 * claiming our own address. */
	if (spa != 0 && spa != s->conf.ip && !(sha[0] & 1))
		arp_learn(s, spa, sha, to_us);
	if (op == ARP_OP_REQUEST && to_us && !steered) {
		s->st.arp_requests_rx++;
		if (arp_send(s, ARP_OP_REPLY, sha, sha, spa))
			s->st.arp_replies_tx++;
	}
	net_drop(s, b);
}
