/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk: the "transport dpdk" entry points for control/main.c.  The EAL,
 * the port and the template of every worker's TCP/IP stack are set up
 * here; the workers then attach through the returned transport_ops.
 *
 * Threading: both functions run on the main (control) thread, setup before
 * the workers start, teardown after they were joined.
 */
#ifndef CACHALOT_DPDK_H
#define CACHALOT_DPDK_H

struct cfg;
struct transport_ops;

/**
 * Start the EAL from dpdk-args, open the port (dpdk-port), check ip,
 * gateway, mtu and dpdk-fault.  On success *nworkers is the number of
 * workers (one per queue pair) and *tp the transport.  Returns 0, or
 * -errno after logging why (DPDK not built in: -ENOTSUP); the caller
 * exits with status 1.
 */
int dpdk_setup(const struct cfg *cfg, unsigned *nworkers,
	       const struct transport_ops **tp);
/** Stop and close the port, free the pools, clean up the EAL. */
void dpdk_teardown(void);

#endif
