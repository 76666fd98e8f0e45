/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic_fault: seeded network faults between a queue and the stack, for
 * testing TCP against a real peer on machines without netem.
 *
 * Each queue has its own state per direction (its PRNG, a reordered frame,
 * a FIFO of delayed frames), so a run is reproducible for a given seed and
 * arrival order, and workers share nothing.  A frame meets the faults in
 * this order: drop, corrupt, delay (held for delay_us), reorder (held until
 * the next frame has gone, or NIC_FAULT_REORDER_US at most, so a lone last
 * frame is late rather than lost), then duplicate.  Corruption flips one
 * byte past the Ethernet header and clears the checksum offload flags in
 * that direction so a checksum, not the NIC, is what rejects it.
 *
 * Frames are never allocated except for duplicates, from the queue's pool.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "nic.h"

#define NIC_FAULT_DELAY_MAX 1024 /* delayed frames held per direction */
#define NIC_FAULT_REORDER_US 1000

struct nic_fault_held {
	struct rte_mbuf *m;
	uint64_t due_us;
};

struct nic_fault_dir {
	uint64_t rng;
	struct rte_mbuf *held; /* reordered: goes after the next frame */
	uint64_t held_us;
	unsigned dq_head, dq_len; /* delay FIFO (one delay: ordered by due) */
	struct nic_fault_held dq[NIC_FAULT_DELAY_MAX];
	struct nic_fault_stats st;
	bool tx;
};

struct nic_fault {
	/* Probabilities as thresholds of a 32-bit random number. */
	uint64_t drop, dup, reorder, corrupt, delay;
	uint64_t delay_us;
	struct rte_mempool *mp;
	struct nic_fault_dir rx, tx;
};

static uint64_t nic_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint32_t nic_rand(struct nic_fault_dir *d)
{
	return (uint32_t)(nic_splitmix(&d->rng) >> 32);
}

static inline bool nic_chance(struct nic_fault_dir *d, uint64_t threshold)
{
	return threshold && nic_rand(d) < threshold;
}

static uint64_t nic_threshold(double p)
{
	return p >= 1.0 ? (1ull << 32) : (uint64_t)(p * 4294967296.0);
}

struct nic_fault *nic_fault_new(const struct cfg_fault *conf, unsigned q,
				struct rte_mempool *mp)
{
	struct nic_fault *f = rte_zmalloc("nic_fault", sizeof(*f), 64);

	if (!f)
		return NULL;
	f->drop = nic_threshold(conf->drop);
	f->dup = nic_threshold(conf->dup);
	f->reorder = nic_threshold(conf->reorder);
	f->corrupt = nic_threshold(conf->corrupt);
	f->delay = nic_threshold(conf->delay);
	f->delay_us = conf->delay_us;
	f->mp = mp;
	f->rx.rng = conf->seed ^ ((uint64_t)q << 32);
	f->tx.rng = conf->seed ^ ((uint64_t)q << 32) ^ 0x5555555555555555ull;
	f->tx.tx = true;
	return f;
}

static void nic_fault_dir_free(struct nic_fault_dir *d)
{
	rte_pktmbuf_free(d->held);
	d->held = NULL;
	while (d->dq_len) {
		rte_pktmbuf_free(d->dq[d->dq_head].m);
		d->dq_head = (d->dq_head + 1) % NIC_FAULT_DELAY_MAX;
		d->dq_len--;
	}
}

void nic_fault_free(struct nic_fault *f)
{
	if (!f)
		return;
	nic_fault_dir_free(&f->rx);
	nic_fault_dir_free(&f->tx);
	rte_free(f);
}

bool nic_fault_holding(const struct nic_fault *f)
{
	return f->rx.held || f->rx.dq_len || f->tx.held || f->tx.dq_len;
}

const struct nic_fault_stats *nic_fault_rx_stats(const struct nic_fault *f)
{
	return &f->rx.st;
}

const struct nic_fault_stats *nic_fault_tx_stats(const struct nic_fault *f)
{
	return &f->tx.st;
}

static void nic_corrupt(struct nic_fault_dir *d, struct rte_mbuf *m)
{
	uint16_t len = rte_pktmbuf_data_len(m);
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	if (len <= RTE_ETHER_HDR_LEN)
		return;
	p[RTE_ETHER_HDR_LEN + nic_rand(d) % (len - RTE_ETHER_HDR_LEN)] ^=
	    (uint8_t)(1 + nic_rand(d) % 255);
	if (d->tx)
		m->ol_flags &=
		    ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
	else
		m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK |
				 RTE_MBUF_F_RX_L4_CKSUM_MASK);
	d->st.corrupted++;
}

/* Frames whose time came: delayed ones, then a reordered one left alone
 * too long.  At most room. */
static unsigned nic_release(struct nic_fault_dir *d, struct rte_mbuf **out,
			    unsigned room, uint64_t now_us)
{
	unsigned k = 0;

	while (d->dq_len && k < room && d->dq[d->dq_head].due_us <= now_us) {
		out[k++] = d->dq[d->dq_head].m;
		d->dq_head = (d->dq_head + 1) % NIC_FAULT_DELAY_MAX;
		d->dq_len--;
	}
	if (d->held && k < room &&
	    now_us - d->held_us >= NIC_FAULT_REORDER_US) {
		out[k++] = d->held;
		d->held = NULL;
	}
	return k;
}

/* One frame through the faults; appends 0 to 3 frames to out at k. */
static unsigned nic_fault_one(struct nic_fault *f, struct nic_fault_dir *d,
			      struct rte_mbuf *m, struct rte_mbuf **out,
			      unsigned k, uint64_t now_us)
{
	if (nic_chance(d, f->drop)) {
		rte_pktmbuf_free(m);
		d->st.dropped++;
		return k;
	}
	if (nic_chance(d, f->corrupt))
		nic_corrupt(d, m);
	if (nic_chance(d, f->delay) && d->dq_len < NIC_FAULT_DELAY_MAX) {
		unsigned tail = (d->dq_head + d->dq_len) % NIC_FAULT_DELAY_MAX;

		d->dq[tail].m = m;
		d->dq[tail].due_us = now_us + f->delay_us;
		d->dq_len++;
		d->st.delayed++;
		return k;
	}
	if (!d->held && nic_chance(d, f->reorder)) {
		d->held = m;
		d->held_us = now_us;
		d->st.reordered++;
		return k;
	}
	out[k++] = m;
	if (nic_chance(d, f->dup)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, f->mp, 0, UINT32_MAX);

		if (c) {
			c->ol_flags = m->ol_flags;
			c->hash = m->hash;
			c->tx_offload = m->tx_offload;
			out[k++] = c;
			d->st.duplicated++;
		}
	}
	if (d->held) {
		out[k++] = d->held;
		d->held = NULL;
	}
	return k;
}

uint16_t nic_fault_rx(struct nic_fault *f, uint16_t port, uint16_t q,
		      struct rte_mbuf **pkts, uint16_t n, uint64_t now_us)
{
	struct rte_mbuf *in[NIC_BURST];
	unsigned k = nic_release(&f->rx, pkts, n, now_us), want, got;

	/* Each frame may come out as three (itself, a copy, the frame it
	 * releases): ask the port for what surely fits. */
	want = k + 3 <= n ? (n - k - 1) / 2 : 0;
	if (want > NIC_BURST)
		want = NIC_BURST;
	if (!want)
		return (uint16_t)k;
	got = rte_eth_rx_burst(port, q, in, (uint16_t)want);
	for (unsigned i = 0; i < got; i++)
		k = nic_fault_one(f, &f->rx, in[i], pkts, k, now_us);
	return (uint16_t)k;
}

unsigned nic_fault_tx(struct nic_fault *f, struct rte_mbuf **pkts, unsigned n,
		      struct rte_mbuf **out, unsigned cap, uint64_t now_us)
{
	unsigned room = cap > 2 * n + 1 ? cap - 2 * n - 1 : 0;
	unsigned k = nic_release(&f->tx, out, room, now_us);

	for (unsigned i = 0; i < n; i++)
		k = nic_fault_one(f, &f->tx, pkts[i], out, k, now_us);
	return k;
}
