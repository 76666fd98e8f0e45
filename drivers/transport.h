/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * transport: the byte-stream seam under conn.  A transport accepts
 * connections on the worker's listener, moves received bytes into
 * conn_rx_space()/conn_rx_done() and sends conn_tx_data().  Everything
 * above it (conn, resp, cmd, store) is the same for every transport.
 *
 * The worker splits a turn in two so it can be RCU-offline while it sleeps:
 * wait() blocks up to timeout_ms collecting events, dispatch() handles
 * them with RCU online.
 *
 * Threading: each function runs on the worker it is given.
 */
#ifndef CACHALOT_TRANSPORT_H
#define CACHALOT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;

struct transport_ops {
	const char *name;
	/* A polling transport (DPDK) never sleeps in the kernel: wait() only
	 * polls, or naps briefly when idle, so other cores need not wake it
	 * and the worker stays RCU-online. */
	bool polls;
	/** Per-worker set-up on the worker's thread.  0 or -errno. */
	int (*attach)(struct worker *w);
	/** Block up to timeout_ms (-1 forever, 0 poll) for events. */
	int (*wait)(struct worker *w, int timeout_ms);
	/** Handle the events wait() collected. */
	void (*dispatch)(struct worker *w);
	/** Send the output of every dirty connection. */
	void (*flush)(struct worker *w);
	/** Close a connection's socket (server side). */
	void (*close)(struct worker *w, struct conn *c);
	/** Read again from a connection whose conn_rx_hold() said stop
	 * (optional: a transport that never stops reading leaves it NULL). */
	void (*rx_resume)(struct worker *w, struct conn *c);
	void (*detach)(struct worker *w);
	/** Listen on fds[0..n) instead (CONFIG SET port/bind): stop
	 * accepting on the old listeners and close those not in fds.
	 * Optional: NULL where the transport has no kernel listeners. */
	void (*relisten)(struct worker *w, const int *fds, int n);
	/** Optional (NULL for the kernel transports): INFO's "# Network"
	 * section, one "name:value" line per emit() call.  Reads the other
	 * workers' counters racily; makes no syscall.  Context: any worker. */
	void (*info)(void (*emit)(void *arg, const char *line), void *arg);
};

/**
 * What a client refused by conn_new() is told before the connection is
 * closed: err EMFILE (maxclients) or EACCES (protected mode).  Returns
 * NULL for other errors (nothing is sent).
 */
const char *transport_reject_text(int err, size_t *len);

/** Kernel sockets: io_uring when usable (or when mode says so), epoll
 * otherwise.  mode is enum cfg_kernel_io.  Returns the chosen ops; *why
 * says why io_uring was not used, when it was not. */
const struct transport_ops *kernel_transport(int mode, const char **why);

/** Open a SO_REUSEPORT listener.  Returns the fd or -errno. */
int kernel_listen(const char *addr, int port, int backlog);
/**
 * Before the listeners of addr:port: make sure no other process listens
 * there (-EADDRINUSE if one does or is claiming it right now), and keep
 * others from joining ours.  Returns a descriptor that holds the claim
 * while it stays open, or -errno.  Context: control thread.
 */
int kernel_listen_claim(const char *addr, int port);

/*
 * Memory the transports hold outside the store and the clients (INFO
 * mem_transport_buffers, mem_dpdk_mempools).  Per-connection state is a
 * client's and goes to wstats.mem_clients; fixed per-core buffers (the
 * io_uring ring and its receive buffers) go to wstats.mem_transport; the
 * DPDK packet pools, made once for all cores, are kept here.
 */
/** Bytes of every worker's fixed transport buffers.  Context: any. */
uint64_t transport_mem_bytes(void);
/** Bytes of the DPDK mempools and rings (0 in kernel mode). */
uint64_t transport_mempool_bytes(void);
/** The DPDK port made (bytes > 0) or freed (< 0) pools.  Context: the
 * thread that opens or closes the port. */
void transport_mempool_add(int64_t bytes);

#endif
