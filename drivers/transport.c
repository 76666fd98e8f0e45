/* SPDX-License-Identifier: BSD-3-Clause */
/* What every transport shares: the words a refused client gets, and the
 * memory they hold. */
#include <errno.h>
#include <stdint.h>

#include "stats.h"
#include "transport.h"
#include "worker.h"

static uint64_t mempool_bytes;

uint64_t transport_mem_bytes(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum +=
		    __atomic_load_n(&worker_stats(worker_get(i))->mem_transport,
				    __ATOMIC_RELAXED);
	return sum;
}

uint64_t transport_mempool_bytes(void)
{
	return __atomic_load_n(&mempool_bytes, __ATOMIC_RELAXED);
}

void transport_mempool_add(int64_t bytes)
{
	__atomic_add_fetch(&mempool_bytes, (uint64_t)bytes, __ATOMIC_RELAXED);
}

const char *transport_reject_text(int err, size_t *len)
{
	static const char full[] = "-ERR max number of clients reached\r\n";
	static const char denied[] =
	    "-DENIED Redis is running in protected mode because protected "
	    "mode is enabled and no password is set for the default user. "
	    "In this mode connections are only accepted from the loopback "
	    "interface. If you want to connect from external computers to "
	    "Redis you may adopt one of the following solutions: 1) Just "
	    "disable protected mode sending the command 'CONFIG SET "
	    "protected-mode no' from the loopback interface by connecting "
	    "to Redis from the same host the server is running, however "
	    "MAKE SURE Redis is not publicly accessible from internet if "
	    "you do so. Use CONFIG REWRITE to make this change permanent. "
	    "2) Alternatively you can just disable the protected mode by "
	    "editing the Redis configuration file, and setting the "
	    "protected mode option to 'no', and then restarting the server. "
	    "3) If you started the server manually just for testing, "
	    "restart it with the '--protected-mode no' option. 4) Set up an "
	    "authentication password for the default user. NOTE: You only "
	    "need to do one of the above things in order for the server to "
	    "start accepting connections from the outside.\r\n";

	if (err == EACCES) {
		*len = sizeof(denied) - 1;
		return denied;
	}
	if (err == EMFILE) {
		*len = sizeof(full) - 1;
		return full;
	}
	*len = 0;
	return NULL;
}
