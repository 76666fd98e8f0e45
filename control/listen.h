/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * listen: the kernel listeners of the bind addresses and port.
 *
 * Each address is claimed first (kernel_listen_claim: no other process
 * listens there, none can join), then gets one SO_REUSEPORT socket per
 * worker.  CONFIG SET port / bind builds the new set beside the old one,
 * keeping the sockets of every address and port that stays, hands it to
 * the workers (worker_relisten) and only then lets the old ones go; if
 * any new address cannot be had, nothing changes, as in redis-server.
 *
 * Threading: listen_open and listen_close on the control thread, before
 * the workers start and after they stopped; listen_apply is the cfg apply
 * hook, run by the worker that runs CONFIG SET under the cfg writer lock.
 */
#ifndef CACHALOT_LISTEN_H
#define CACHALOT_LISTEN_H

#include <stddef.h>

struct cfg;

/** Claim and open cfg's addresses for n workers.  Returns the number of
 * addresses, or -errno after logging redis-server's lines. */
int listen_open(const struct cfg *cfg, unsigned nworkers);
/** The sockets listen_open made: worker i's are fds[i * nb .. + nb). */
int *listen_fds(void);
/** The cfg hook of port and bind: 0, or -errno with redis's reason. */
int listen_apply(const struct cfg *newc, char *err, size_t len);
/** Close every listener and claim. */
void listen_close(void);

#endif
