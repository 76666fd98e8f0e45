/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic_port: EAL start-up and the configuration of one ethdev port.
 *
 * Every failure here is an operator's problem (wrong PCI address, device
 * not bound, no hugepages, not enough memory for the mbufs, more workers
 * than the port has queues), so each one ends in a message that says what
 * was found and what to change, and start-up exits; nothing waits without
 * a bound.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mimalloc.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "log.h"
#include "net/net.h"
#include "nic.h"
#include "transport.h"

#define NIC_LINK_WAIT_MS 3000

/*
 * A symmetric Toeplitz key (0x6d5a repeated, Woo and Park): both directions
 * of a flow hash alike and flows spread evenly over the RETA.
 */
static const uint8_t nic_rss_key[52] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
    0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
    0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static bool nic_eal_up;

int nic_eal_init(const char *args, char *err, size_t errlen)
{
	cpu_set_t saved;
	char **words, **argv;
	int n, rc;

	n = cfg_split_args(args, &words);
	if (n < 0) {
		snprintf(err, errlen, "dpdk-args '%s': %s", args,
			 n == -EINVAL ? "unterminated quote" : strerror(-n));
		return n;
	}
	argv = mi_calloc((size_t)n + 2, sizeof(*argv));
	if (!argv) {
		mi_free(words);
		return -ENOMEM;
	}
	argv[0] = "cachalot";
	memcpy(argv + 1, words, (size_t)n * sizeof(*argv));
	/* The EAL pins the caller to the main lcore; the control thread
	 * (and the workers it creates) must not all end up on that CPU. */
	pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
	rc = rte_eal_init(n + 1, argv);
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	mi_free(argv);
	mi_free(words);
	if (rc < 0) {
		int e = rte_errno;

		snprintf(err, errlen,
			 "DPDK EAL initialisation failed with dpdk-args '%s': "
			 "%s%s",
			 args, rte_strerror(e),
			 e == EACCES || e == ENOMEM
			     ? " (no usable hugepages? reserve some, e.g. "
			       "echo 512 > /proc/sys/vm/nr_hugepages, or add "
			       "--no-huge -m 512 to dpdk-args)"
			     : "");
		return e > 0 ? -e : -EINVAL;
	}
	nic_eal_up = true;
	return 0;
}

unsigned nic_eal_lcores(void)
{
	return rte_lcore_count();
}

void nic_eal_cleanup(void)
{
	if (nic_eal_up)
		rte_eal_cleanup();
	nic_eal_up = false;
}

/* dpdk-port: "" = the first available port, else an id or a name. */
static int nic_find_port(const char *want, uint16_t *port, char *err,
			 size_t errlen)
{
	uint16_t id, n = rte_eth_dev_count_avail();
	char *end;
	unsigned long v;

	if (n == 0) {
		snprintf(err, errlen,
			 "DPDK found no Ethernet port: check the -a <PCI "
			 "address> (bound to vfio-pci or uio, see "
			 "dpdk-devbind.py --status) or the --vdev of "
			 "dpdk-args");
		return -ENODEV;
	}
	if (!want || !*want) {
		RTE_ETH_FOREACH_DEV(id)
		{
			*port = id;
			return 0;
		}
	}
	v = strtoul(want, &end, 10);
	if (*end == '\0' && v < RTE_MAX_ETHPORTS &&
	    rte_eth_dev_is_valid_port((uint16_t)v)) {
		*port = (uint16_t)v;
		return 0;
	}
	if (rte_eth_dev_get_port_by_name(want, port) == 0)
		return 0;
	snprintf(err, errlen,
		 "dpdk-port '%s' is not a DPDK port (%u port%s found; give a "
		 "port id or a device name)",
		 want, n, n == 1 ? "" : "s");
	return -ENODEV;
}

/* Worker q runs on the CPUs of the q-th EAL lcore (modulo their count). */
static void nic_lcore_cpus(struct nic_port *p)
{
	unsigned lcores[RTE_MAX_LCORE], n = 0, id;

	RTE_LCORE_FOREACH(id)
	{
		lcores[n++] = id;
	}
	for (unsigned q = 0; q < p->nqueues; q++) {
		rte_cpuset_t set = rte_lcore_cpuset(lcores[q % n]);

		memcpy(&p->cpus[q], &set, sizeof(p->cpus[q]));
	}
}

/* Everything a queue's pool must cover; log the sum. */
static int nic_size_pools(struct nic_port *p, const struct nic_conf *conf,
			  char *err, size_t errlen)
{
	unsigned caches =
	    NIC_POOL_CACHE * 3 / 2 * (rte_lcore_count() + p->nqueues);
	unsigned need =
	    p->nb_rxd + p->nb_txd + NIC_STEER_RING + 4 * NIC_BURST + caches;

	if (conf->mbufs && conf->mbufs < need) {
		snprintf(err, errlen,
			 "too few mbufs: dpdk-mbufs %u is below the %u each "
			 "worker's queue needs (RX ring %u + TX ring %u + "
			 "steering ring %u + bursts %u + mempool caches %u); "
			 "use 0 to size it automatically",
			 conf->mbufs, need, p->nb_rxd, p->nb_txd,
			 NIC_STEER_RING, 4 * NIC_BURST, caches);
		return -EINVAL;
	}
	p->mbufs = conf->mbufs ? conf->mbufs : need + NIC_OOO_MBUFS;
	log_notice("DPDK mbufs per worker: %u of %u bytes (RX ring %u + TX "
		   "ring %u + steering ring %u + bursts %u + caches %u + "
		   "out-of-order %u)%s",
		   p->mbufs, p->buf_size, p->nb_rxd, p->nb_txd, NIC_STEER_RING,
		   4 * NIC_BURST, caches, p->mbufs > need ? p->mbufs - need : 0,
		   conf->mbufs ? " (dpdk-mbufs)" : "");
	return 0;
}

static void nic_pool_chunk(struct rte_mempool *mp, void *arg,
			   struct rte_mempool_memhdr *memhdr, unsigned idx)
{
	(void)mp;
	(void)idx;
	*(uint64_t *)arg += memhdr->len;
}

/* What a queue's pool and steering ring take from the EAL's memory: the
 * pool's object chunks and its ring (INFO mem_dpdk_mempools). */
static uint64_t nic_pool_bytes(struct rte_mempool *mp, unsigned steer_size)
{
	uint64_t n = 0;
	ssize_t ring = rte_ring_get_memsize(steer_size);

	rte_mempool_mem_iter(mp, nic_pool_chunk, &n);
	n += sizeof(*mp) + (uint64_t)mp->size * sizeof(void *);
	return n + (ring > 0 ? (uint64_t)ring : 0);
}

static int nic_make_pools(struct nic_port *p, int socket, char *err,
			  size_t errlen)
{
	uint64_t bytes;

	for (unsigned q = 0; q < p->nqueues; q++) {
		char name[RTE_MEMPOOL_NAMESIZE];

		snprintf(name, sizeof(name), "cachalot_mb%u", q);
		p->pool[q] = rte_pktmbuf_pool_create(
		    name, p->mbufs, NIC_POOL_CACHE, 0, p->buf_size, socket);
		if (!p->pool[q]) {
			snprintf(err, errlen,
				 "cannot allocate %u mbufs of %u bytes for "
				 "worker %u: %s (give the EAL more memory: "
				 "more hugepages or a larger -m, or lower "
				 "dpdk-mbufs or workers)",
				 p->mbufs, p->buf_size, q,
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		snprintf(name, sizeof(name), "cachalot_steer%u", q);
		p->steer[q] = rte_ring_create(name, NIC_STEER_RING, socket,
					      RING_F_SC_DEQ);
		if (!p->steer[q]) {
			snprintf(err, errlen,
				 "cannot create the steering ring of worker "
				 "%u: %s",
				 q, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		bytes = nic_pool_bytes(p->pool[q], NIC_STEER_RING);
		p->pool_bytes += bytes;
		transport_mempool_add((int64_t)bytes);
	}
	return 0;
}

/* Why RSS over TCP/IPv4 with our key is not possible; NULL when it is. */
static const char *nic_no_rss(const struct rte_eth_dev_info *di, unsigned nq)
{
	if (nq <= 1)
		return "one queue";
	if (!(di->flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
		return "the port does not hash TCP/IPv4";
	if (di->hash_key_size > 52)
		return "the port's hash key is longer than 52 bytes";
	if (di->reta_size == 0 || di->reta_size > 512)
		return di->reta_size ? "the port's RETA is over 512 entries"
				     : "the port has no RETA";
	return NULL;
}

/* Program reta[i] = i % nqueues, so net_flow_worker() agrees. */
static void nic_set_reta(struct nic_port *p, const struct rte_eth_dev_info *di)
{
	struct rte_eth_rss_reta_entry64 conf[512 / RTE_ETH_RETA_GROUP_SIZE];
	unsigned size = di->reta_size;

	memset(conf, 0, sizeof(conf));
	for (unsigned i = 0; i < size; i++) {
		conf[i / RTE_ETH_RETA_GROUP_SIZE].mask = UINT64_MAX;
		conf[i / RTE_ETH_RETA_GROUP_SIZE]
		    .reta[i % RTE_ETH_RETA_GROUP_SIZE] =
		    (uint16_t)(i % p->nqueues);
		p->reta[i] = (uint16_t)(i % p->nqueues);
	}
	if (rte_eth_dev_rss_reta_update(p->port_id, conf, (uint16_t)size)) {
		log_warning("DPDK port %u: cannot program the RSS table; "
			    "flows are steered in software",
			    p->port_id);
		p->rss = false;
		p->no_rss = "the RETA update failed";
		return;
	}
	p->reta_size = size;
	memcpy(p->rss_key, nic_rss_key, sizeof(p->rss_key));
}

static void nic_offloads(struct nic_port *p, const struct rte_eth_dev_info *di,
			 struct rte_eth_conf *ec)
{
	const uint64_t rxc =
	    RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;

	if ((di->rx_offload_capa & rxc) == rxc) {
		ec->rxmode.offloads |= rxc;
		p->rx_csum = true;
	}
	if (p->rss && (di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH))
		ec->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		ec->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->tx_offloads |= NET_TX_IP_CSUM;
	}
	if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) {
		ec->txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
		p->tx_offloads |= NET_TX_TCP_CSUM;
	}
}

static void nic_wait_link(struct nic_port *p)
{
	struct rte_eth_link link;
	struct timespec nap = {.tv_nsec = 50 * 1000 * 1000};

	for (int ms = 0;; ms += 50) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(p->port_id, &link) != 0)
			break;
		if (link.link_status == RTE_ETH_LINK_UP) {
			log_notice("DPDK port %u: link up, %u Mbps, %s-duplex",
				   p->port_id, link.link_speed,
				   link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX
				       ? "full"
				       : "half");
			return;
		}
		if (ms >= NIC_LINK_WAIT_MS)
			break;
		nanosleep(&nap, NULL);
	}
	log_warning("DPDK port %u: link still down after %d ms; serving "
		    "anyway, traffic flows once it comes up",
		    p->port_id, NIC_LINK_WAIT_MS);
}

static int nic_setup_queues(struct nic_port *p, int socket, char *err,
			    size_t errlen)
{
	for (unsigned q = 0; q < p->nqueues; q++) {
		int rc =
		    rte_eth_rx_queue_setup(p->port_id, (uint16_t)q, p->nb_rxd,
					   (unsigned)socket, NULL, p->pool[q]);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->port_id, (uint16_t)q,
						    p->nb_txd, (unsigned)socket,
						    NULL);
		if (rc) {
			snprintf(err, errlen,
				 "DPDK port %u (%s): queue %u set-up failed: "
				 "%s",
				 p->port_id, p->driver, q, rte_strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int nic_configure(struct nic_port *p, const struct nic_conf *conf,
			 const struct rte_eth_dev_info *di, char *err,
			 size_t errlen)
{
	struct rte_eth_conf ec;
	int rc;

	memset(&ec, 0, sizeof(ec));
	p->no_rss = nic_no_rss(di, p->nqueues);
	p->rss = !p->no_rss;
	if (p->rss) {
		ec.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		ec.rx_adv_conf.rss_conf.rss_key = (uint8_t *)nic_rss_key;
		ec.rx_adv_conf.rss_conf.rss_key_len =
		    di->hash_key_size ? di->hash_key_size : 40;
		ec.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_NONFRAG_IPV4_TCP;
	}
	nic_offloads(p, di, &ec);
	ec.rxmode.mtu = (uint32_t)conf->mtu;
	rc = rte_eth_dev_configure(p->port_id, (uint16_t)p->nqueues,
				   (uint16_t)p->nqueues, &ec);
	if (rc) {
		snprintf(err, errlen,
			 "DPDK port %u (%s): configuring %u queue pairs, "
			 "mtu %u failed: %s",
			 p->port_id, p->driver, p->nqueues, conf->mtu,
			 rte_strerror(-rc));
		return rc;
	}
	p->nb_rxd = NIC_RING_DESC;
	p->nb_txd = NIC_RING_DESC;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &p->nb_rxd, &p->nb_txd);
	return 0;
}

static int nic_check(struct nic_port *p, const struct nic_conf *conf,
		     const struct rte_eth_dev_info *di, char *err,
		     size_t errlen)
{
	if (p->nqueues > di->max_rx_queues || p->nqueues > di->max_tx_queues) {
		snprintf(err, errlen,
			 "DPDK port %u (%s) has %u RX / %u TX queues at "
			 "most, and %u workers need one pair each: lower "
			 "workers (or the -l lcores of dpdk-args)%s",
			 p->port_id, p->driver, di->max_rx_queues,
			 di->max_tx_queues, p->nqueues,
			 strstr(p->driver, "af_packet")
			     ? ", or raise qpairs= of the --vdev"
			     : "");
		return -EINVAL;
	}
	/* af_packet's queues are sockets of one fanout group: the kernel
	 * spreads frames over all of them, configured or not. */
	if (p->nqueues < di->max_rx_queues && strstr(p->driver, "af_packet")) {
		snprintf(err, errlen,
			 "DPDK port %u (%s) has %u queue pairs and %u "
			 "worker%s would use %u: the kernel spreads frames "
			 "over all of them and those on unused queues would "
			 "be lost; set qpairs=%u in the --vdev, or workers %u",
			 p->port_id, p->driver, di->max_rx_queues, p->nqueues,
			 p->nqueues == 1 ? "" : "s", p->nqueues, p->nqueues,
			 di->max_rx_queues);
		return -EINVAL;
	}
	if (conf->mtu + RTE_ETHER_HDR_LEN > di->max_rx_pktlen) {
		snprintf(err, errlen,
			 "mtu %u needs frames of %u bytes and DPDK port %u "
			 "(%s) receives %u at most%s",
			 conf->mtu, conf->mtu + RTE_ETHER_HDR_LEN, p->port_id,
			 p->driver, di->max_rx_pktlen,
			 strstr(p->driver, "af_packet")
			     ? " (raise framesz= of the --vdev)"
			     : "");
		return -EINVAL;
	}
	if (conf->mtu < di->min_mtu || conf->mtu > di->max_mtu) {
		snprintf(err, errlen,
			 "mtu %u is outside what DPDK port %u (%s) allows: "
			 "%u to %u",
			 conf->mtu, p->port_id, p->driver, di->min_mtu,
			 di->max_mtu);
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether the port's frames can come unfinished from a kernel on this
 * host.  Decided by the bus, not by a list of driver names: every virtual
 * device (the vdev bus) sits on a kernel interface or on software, new
 * PMDs included, and no PCI NIC hands over a partial checksum from its
 * wire.  No parameter either: the operator this is for does not know the
 * offloads of the far end of a veth exist.
 */
static void nic_port_kind(struct nic_port *p, const struct rte_eth_dev_info *di)
{
	const struct rte_bus *bus = di->device ? rte_dev_bus(di->device) : NULL;
	const char *name = bus ? rte_bus_name(bus) : NULL;
	char ifn[IF_NAMESIZE];

	p->local = name && strcmp(name, "vdev") == 0;
	p->ifname[0] = '\0';
	if (di->if_index && if_indextoname(di->if_index, ifn))
		snprintf(p->ifname, sizeof(p->ifname), "%s", ifn);
}

static void nic_log_port(const struct nic_port *p)
{
	char ol[128], rss[128];

	snprintf(ol, sizeof(ol), "%s%s%s",
		 p->rx_csum ? "rx-ipv4/tcp-cksum " : "",
		 p->tx_offloads & NET_TX_IP_CSUM ? "tx-ipv4-cksum " : "",
		 p->tx_offloads & NET_TX_TCP_CSUM ? "tx-tcp-cksum " : "");
	if (p->rss)
		snprintf(rss, sizeof(rss),
			 "on (TCP/IPv4, symmetric key, RETA of %u)",
			 p->reta_size);
	else if (p->nqueues > 1)
		snprintf(rss, sizeof(rss), "off (%s: software steering)",
			 p->no_rss ? p->no_rss : "?");
	else
		snprintf(rss, sizeof(rss), "off (one queue)");
	log_notice("DPDK port %u: %s, driver %s, MAC "
		   "%02x:%02x:%02x:%02x:%02x:%02x, %u queue pair%s (%u RX / "
		   "%u TX descriptors), mtu %u, RSS %s, offloads: %s%s",
		   p->port_id, p->name, p->driver, p->mac[0], p->mac[1],
		   p->mac[2], p->mac[3], p->mac[4], p->mac[5], p->nqueues,
		   p->nqueues == 1 ? "" : "s", p->nb_rxd, p->nb_txd, p->mtu,
		   rss, ol[0] ? ol : "none (software checksums)",
		   p->local ? "; a virtual device: partial checksums and cut "
			      "TSO/GSO frames of a local kernel accepted"
			    : "");
}

int nic_port_open(struct nic_port *p, const struct nic_conf *conf, char *err,
		  size_t errlen)
{
	struct rte_eth_dev_info di;
	struct rte_ether_addr mac;
	int rc, socket;

	memset(p, 0, sizeof(*p));
	p->port_id = RTE_MAX_ETHPORTS;
	rc = nic_find_port(conf->port, &p->port_id, err, errlen);
	if (rc)
		return rc;
	rc = rte_eth_dev_info_get(p->port_id, &di);
	if (rc) {
		snprintf(err, errlen, "DPDK port %u: no device info: %s",
			 p->port_id, rte_strerror(-rc));
		return rc;
	}
	rte_eth_dev_get_name_by_port(p->port_id, p->name);
	snprintf(p->driver, sizeof(p->driver), "%s",
		 di.driver_name ? di.driver_name : "?");
	nic_port_kind(p, &di);
	p->nqueues = conf->workers ? conf->workers : rte_lcore_count();
	if (p->nqueues > NIC_MAX_QUEUES)
		p->nqueues = NIC_MAX_QUEUES;
	p->mtu = (uint16_t)conf->mtu;
	/* One frame per mbuf: the stack reads frames contiguously. */
	p->buf_size = (uint16_t)RTE_MAX((unsigned)RTE_MBUF_DEFAULT_BUF_SIZE,
					RTE_PKTMBUF_HEADROOM + conf->mtu +
					    RTE_ETHER_HDR_LEN + 8);
	socket = rte_eth_dev_socket_id(p->port_id);
	if (socket < 0)
		socket = (int)rte_socket_id();
	if ((rc = nic_check(p, conf, &di, err, errlen)) ||
	    (rc = nic_configure(p, conf, &di, err, errlen)) ||
	    (rc = nic_size_pools(p, conf, err, errlen)) ||
	    (rc = nic_make_pools(p, socket, err, errlen)) ||
	    (rc = nic_setup_queues(p, socket, err, errlen)))
		return rc;
	rc = rte_eth_dev_start(p->port_id);
	if (rc) {
		snprintf(err, errlen, "DPDK port %u (%s) did not start: %s",
			 p->port_id, p->driver, rte_strerror(-rc));
		return rc;
	}
	p->started = true;
	if (p->rss)
		nic_set_reta(p, &di);
	rc = rte_eth_promiscuous_disable(p->port_id);
	if (rc && rc != -ENOTSUP)
		log_warning("DPDK port %u: promiscuous mode stays on: %s",
			    p->port_id, rte_strerror(-rc));
	rte_eth_macaddr_get(p->port_id, &mac);
	memcpy(p->mac, mac.addr_bytes, sizeof(p->mac));
	nic_lcore_cpus(p);
	nic_log_port(p);
	nic_wait_link(p);
	return 0;
}

void nic_port_close(struct nic_port *p)
{
	if (p->port_id < RTE_MAX_ETHPORTS) {
		if (p->started)
			rte_eth_dev_stop(p->port_id);
		rte_eth_dev_close(p->port_id);
	}
	p->started = false;
	for (unsigned q = 0; q < NIC_MAX_QUEUES; q++) {
		void *m;

		if (p->steer[q]) {
			while (rte_ring_dequeue(p->steer[q], &m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(p->steer[q]);
			p->steer[q] = NULL;
		}
		rte_mempool_free(p->pool[q]);
		p->pool[q] = NULL;
	}
	transport_mempool_add(-(int64_t)p->pool_bytes);
	p->pool_bytes = 0;
	p->port_id = RTE_MAX_ETHPORTS;
}
