/* SPDX-License-Identifier: BSD-3-Clause */
/* "transport dpdk" in a build without libdpdk: say so and how to fix it. */
#include <errno.h>

#include "dpdk.h"
#include "log.h"

int dpdk_setup(const struct cfg *cfg, unsigned *nworkers,
	       const struct transport_ops **tp)
{
	(void)cfg;
	(void)nworkers;
	(void)tp;
	log_warning("transport dpdk: DPDK was not built in (libdpdk was not "
		    "found at build time: install libdpdk-dev and rebuild), "
		    "use 'transport kernel'");
	return -ENOTSUP;
}

void dpdk_teardown(void) {}
