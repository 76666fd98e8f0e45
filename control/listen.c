/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "listen.h"
#include "log.h"
#include "transport.h"
#include "worker.h"

struct listen_set {
	int nb;
	int port;
	char addr[CFG_BIND_MAX][64];
	int claim[CFG_BIND_MAX];
	int *fds; /* nworkers * nb, worker-major */
};

static struct listen_set cur;
static unsigned listen_nworkers;

static void set_addrs(struct listen_set *s, const struct cfg *cfg)
{
	s->nb = cfg->nbind > 0 ? cfg->nbind : 1;
	s->port = (int)cfg->port;
	for (int b = 0; b < s->nb; b++)
		snprintf(s->addr[b], sizeof(s->addr[b]), "%s",
			 cfg->nbind > 0 ? cfg->bind[b] : "0.0.0.0");
}

/* Index of addr:port in s, or -1. */
static int set_find(const struct listen_set *s, const char *addr, int port)
{
	for (int b = 0; b < s->nb; b++)
		if (s->port == port && !strcmp(s->addr[b], addr))
			return b;
	return -1;
}

/* Close what s holds of address b, unless keep (another set took it). */
static void set_drop(struct listen_set *s, int b)
{
	if (s->claim[b] >= 0)
		close(s->claim[b]);
	s->claim[b] = -1;
	for (unsigned w = 0; s->fds && w < listen_nworkers; w++) {
		int *fd = &s->fds[w * (unsigned)s->nb + (unsigned)b];
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static void set_free(struct listen_set *s)
{
	for (int b = 0; b < s->nb; b++)
		set_drop(s, b);
	free(s->fds);
	s->fds = NULL;
	s->nb = 0;
}

/*
 * Fill s's sockets: those of old (if any) for every address and port it
 * has too, new claims and listeners for the rest.  Returns 0, or -errno
 * with *failed naming the address that could not be had.
 */
static int set_open(struct listen_set *s, struct listen_set *old, int backlog,
		    const char **failed)
{
	unsigned nw = listen_nworkers, nb = (unsigned)s->nb;

	s->fds = malloc((size_t)nw * nb * sizeof(int));
	if (!s->fds)
		return -ENOMEM;
	for (unsigned i = 0; i < nw * nb; i++)
		s->fds[i] = -1;
	for (unsigned b = 0; b < nb; b++) {
		int ob = old ? set_find(old, s->addr[b], s->port) : -1;

		s->claim[b] = -1;
		if (ob >= 0) { /* stays: take its sockets over */
			s->claim[b] = old->claim[ob];
			old->claim[ob] = -1;
			for (unsigned w = 0; w < nw; w++) {
				s->fds[w * nb + b] =
				    old->fds[w * (unsigned)old->nb +
					     (unsigned)ob];
				old->fds[w * (unsigned)old->nb + (unsigned)ob] =
				    -1;
			}
			continue;
		}
		*failed = s->addr[b];
		s->claim[b] = kernel_listen_claim(s->addr[b], s->port);
		if (s->claim[b] < 0)
			return s->claim[b];
		for (unsigned w = 0; w < nw; w++) {
			int fd = kernel_listen(s->addr[b], s->port, backlog);
			if (fd < 0)
				return fd;
			s->fds[w * nb + b] = fd;
		}
	}
	return 0;
}

/* Give back to old what s took from it (a failed CONFIG SET). */
static void set_return(struct listen_set *s, struct listen_set *old)
{
	for (int b = 0; b < s->nb; b++) {
		int ob = set_find(old, s->addr[b], s->port);

		if (ob < 0 || old->claim[ob] >= 0)
			continue;
		old->claim[ob] = s->claim[b];
		s->claim[b] = -1;
		for (unsigned w = 0; w < listen_nworkers; w++) {
			old->fds[w * (unsigned)old->nb + (unsigned)ob] =
			    s->fds[w * (unsigned)s->nb + (unsigned)b];
			s->fds[w * (unsigned)s->nb + (unsigned)b] = -1;
		}
	}
}

int listen_open(const struct cfg *cfg, unsigned nworkers)
{
	const char *failed = "";
	int rc;

	listen_nworkers = nworkers;
	set_addrs(&cur, cfg);
	rc = set_open(&cur, NULL, (int)cfg->tcp_backlog, &failed);
	if (rc) {
		log_warning("Warning: Could not create server TCP listening "
			    "socket %s:%lld: bind: %s",
			    failed, cfg->port, strerror(-rc));
		log_warning("Failed listening on port %lld (tcp), aborting.",
			    cfg->port);
		set_free(&cur);
		return rc;
	}
	return cur.nb;
}

int *listen_fds(void)
{
	return cur.fds;
}

int listen_apply(const struct cfg *newc, char *err, size_t len)
{
	struct listen_set next = {0};
	const char *failed = "";
	bool port_changed = newc->port != cur.port;
	int rc;

	if (newc->transport == CFG_TRANSPORT_DPDK) {
		snprintf(err, len,
			 "the dpdk transport listens on 'ip' and "
			 "'port' as it started");
		return -EINVAL;
	}
	set_addrs(&next, newc);
	if (next.port == 0)
		rc = -EINVAL;
	else
		rc = set_open(&next, &cur, (int)newc->tcp_backlog, &failed);
	if (rc == 0)
		rc = worker_relisten(next.fds, next.nb);
	if (rc) {
		log_warning("Could not listen on %s:%d: %s", failed, next.port,
			    strerror(-rc));
		set_return(&next, &cur);
		set_free(&next);
		snprintf(err, len, "%s",
			 port_changed ? "Unable to listen on this port. Check "
					"server logs."
				      : "Failed to bind to specified "
					"addresses.");
		return rc;
	}
	/* The workers own the old sockets now (they close those that went);
	 * only the claims of addresses that went are still mine. */
	for (int b = 0; b < cur.nb; b++)
		if (cur.claim[b] >= 0)
			close(cur.claim[b]);
	free(cur.fds);
	cur = next;
	for (int b = 0; b < cur.nb; b++)
		log_notice("Listening on %s:%d", cur.addr[b], cur.port);
	return 0;
}

void listen_close(void)
{
	set_free(&cur);
}
