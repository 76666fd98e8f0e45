/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic: the DPDK side of the packet seam.  nic_port.c starts the EAL from
 * the dpdk-args string and configures one ethdev port with one RX/TX queue
 * pair per worker (RSS over TCP/IPv4 when the port has it, checksum
 * offloads when it reports them, the MTU, a mempool and a steering ring
 * per queue).  nic_fault.c wraps a queue's rx/tx bursts with seeded
 * faults.  The transport (dpdk_transport.c) drives the queues.
 *
 * Threading: nic_eal_*() and nic_port_open/close run on the control
 * thread at start and stop.  Queue q, its mempool's allocations, its
 * fault state and the dequeue side of steer[q] belong to worker q; any
 * worker may free an mbuf of any pool and enqueue on any steering ring.
 */
#ifndef CACHALOT_NIC_H
#define CACHALOT_NIC_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "cfg.h"

#define NIC_MAX_QUEUES 64 /* STORE_MAX_SHARDS: one queue per worker */
#define NIC_BURST 32
#define NIC_STEER_RING 1024 /* frames waiting for another worker */
#define NIC_RING_DESC 1024  /* RX and TX descriptors, before the PMD's say */
#define NIC_POOL_CACHE 256  /* per-lcore mempool cache */
#define NIC_OOO_MBUFS 4096  /* out-of-order data TCP may hold per worker */

struct nic_conf {
	const char *port; /* "" = first available; port id or device name */
	unsigned workers; /* 0 = one per EAL lcore */
	unsigned mtu;	  /* IP MTU */
	unsigned mbufs;	  /* per queue, 0 = sized here */
};

/** The port as configured; read-only once nic_port_open() returned. */
struct nic_port {
	uint16_t port_id;
	unsigned nqueues;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[64];
	uint8_t mac[6];
	uint16_t mtu;
	uint16_t nb_rxd, nb_txd;
	unsigned mbufs;	   /* per queue */
	uint16_t buf_size; /* mbuf data room */
	/* Steering the NIC does: reta[hash % reta_size] is the queue. */
	bool rss;
	const char *no_rss; /* why not, for the log */
	uint8_t rss_key[40];
	uint16_t reta[512];
	unsigned reta_size;
	unsigned tx_offloads; /* NET_TX_* */
	bool rx_csum;	      /* NET_RX_*_CSUM_* are filled */
	/* A virtual device (bus "vdev": af_packet, tap, af_xdp ...): frames
	 * may come from a kernel on this host, unfinished (net_conf's
	 * rx_csum_partial).  A PCI NIC's come from a wire. */
	bool local;
	char ifname[32]; /* the kernel interface under it, "" if none */
	bool started;
	struct rte_mempool *pool[NIC_MAX_QUEUES];
	struct rte_ring *steer[NIC_MAX_QUEUES];
	uint64_t pool_bytes; /* pools and rings, given to transport.h */
	/* The CPUs of the EAL lcore worker q runs on. */
	cpu_set_t cpus[NIC_MAX_QUEUES];
};

/**
 * Start the EAL with args split like a shell command line ("cachalot" is
 * argv[0]; nothing is added).  The control thread keeps the CPU affinity
 * it had.  Returns 0, or -errno with the reason in err.  Once only.
 */
int nic_eal_init(const char *args, char *err, size_t errlen);
/** EAL lcores (the -l / --lcores list). */
unsigned nic_eal_lcores(void);
void nic_eal_cleanup(void);

/**
 * Probe and configure the port, its queues and pools, start it and wait
 * (boundedly) for the link.  Returns 0, or -errno with a message in err
 * naming what is wrong and what to change.
 */
int nic_port_open(struct nic_port *p, const struct nic_conf *conf, char *err,
		  size_t errlen);
/** Stop and close the port, free pools and rings (mbufs left in the
 * steering rings included).  Safe on a half-opened port. */
void nic_port_close(struct nic_port *p);

/* ---- fault injection (nic_fault.c) -------------------------------- */

struct nic_fault;

/** Counters of one queue and direction. */
struct nic_fault_stats {
	uint64_t dropped, duplicated, reordered, corrupted, delayed;
};

/** Fault state of queue q; mp gives the duplicates.  NULL on ENOMEM. */
struct nic_fault *nic_fault_new(const struct cfg_fault *conf, unsigned q,
				struct rte_mempool *mp);
/** Frees the frames it still holds. */
void nic_fault_free(struct nic_fault *f);
/**
 * rte_eth_rx_burst() through the faults: frames held back (delay,
 * reorder) come out when due.  Returns the frames in pkts (at most n).
 */
uint16_t nic_fault_rx(struct nic_fault *f, uint16_t port, uint16_t q,
		      struct rte_mbuf **pkts, uint16_t n, uint64_t now_us);
/**
 * The TX side: takes the n frames of pkts (all of them), and returns in
 * out (room for cap, >= 2n + 2) the frames to transmit now, faults
 * applied and held frames that became due.
 */
unsigned nic_fault_tx(struct nic_fault *f, struct rte_mbuf **pkts, unsigned n,
		      struct rte_mbuf **out, unsigned cap, uint64_t now_us);
/** True while frames are held (the worker must not nap past them). */
bool nic_fault_holding(const struct nic_fault *f);
const struct nic_fault_stats *nic_fault_rx_stats(const struct nic_fault *f);
const struct nic_fault_stats *nic_fault_tx_stats(const struct nic_fault *f);

#endif
