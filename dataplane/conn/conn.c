/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn: from bytes to commands and back, in order.  This file holds a
 * connection's life (accept, close, release after its last in-flight
 * reply) and the accessors the transports use; the concerns live beside
 * it: conn_in.c (input and parking), conn_exec.c (running a request here
 * or on its owner), conn_out.c (reply slots, in request order),
 * conn_obuf.c (output limits), conn_admin.c (CLIENT LIST, kill, cron).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>

#include "conn_pvt.h"
#include "log.h"
#include "transport.h"

static uint64_t conn_next_id = 1;
static unsigned conn_total;

unsigned conn_count(void)
{
	return __atomic_load_n(&conn_total, __ATOMIC_RELAXED);
}

uint64_t conn_mem_bytes(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum +=
		    __atomic_load_n(&worker_stats(worker_get(i))->mem_clients,
				    __ATOMIC_RELAXED);
	return sum;
}

struct client *conn_client(struct conn *c)
{
	return &c->cl;
}
struct conn *client_conn(struct client *cl)
{
	return (struct conn *)cl;
}
void *conn_tp(struct conn *c)
{
	return c->tp;
}
void conn_set_tp(struct conn *c, void *tp)
{
	c->tp = tp;
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%d", ip, port);
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return in6->sin6_addr.s6_addr[12] == 127;
	}
	return sa->sa_family == AF_UNIX;
}

static int conn_params_id = -1;

static void conn_params_build(const struct cfg *c, void *view)
{
	struct conn_params *p = view;

	p->maxclients = (unsigned long long)c->maxclients;
	p->protected_mode = c->protected_mode;
	p->has_pass = c->requirepass[0] != '\0';
	p->timeout = c->timeout;
	p->qbuf_limit = c->client_query_buffer_limit;
	p->max_bulk_len = c->proto_max_bulk_len;
	memcpy(p->obuf, c->client_obuf, sizeof(p->obuf));
}

int conn_setup(void)
{
	conn_params_id =
	    cfg_view_register(sizeof(struct conn_params), conn_params_build);
	return conn_params_id < 0 ? conn_params_id : 0;
}

const struct conn_params *conn_params(void)
{
	return cfg_view(conn_params_id);
}

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local)
{
	const struct conn_params *cp = conn_params();
	unsigned n = __atomic_add_fetch(&conn_total, 1, __ATOMIC_RELAXED);
	struct conn *c;

	if (n > cp->maxclients) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		w->st.rejected_connections++;
		errno = EMFILE;
		return NULL;
	}
	if (cp->protected_mode && !cp->has_pass && !addr_is_loopback(peer)) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		w->st.rejected_connections++;
		errno = EACCES;
		return NULL;
	}
	c = mi_zalloc_aligned(sizeof(*c), 64);
	if (!c) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	c->w = w;
	c->cl.id = __atomic_fetch_add(&conn_next_id, 1, __ATOMIC_RELAXED);
	c->cl.proto = 2;
	c->cl.authed = !cp->has_pass;
	c->cl.ctime_ms = c->cl.last_ms = w->now_ms;
	c->cl.fd = fd;
	c->cl.worker = w->id;
	addr_str(peer, c->cl.addr, sizeof(c->cl.addr));
	addr_str(local, c->cl.laddr, sizeof(c->cl.laddr));
	resp_out_init(&c->out, 2);
	c->rbs = CONN_RBUF_MAX;
	c->rpeak_ms = w->now_ms;
	conn_obuf_load(c, cp);
	cds_list_add_rcu(&c->link, &w->clients);
	w->st.total_connections++;
	c->mem_self = mi_usable_size(c);
	conn_mem_sync(c);
	return c;
}

static void conn_free_rcu(struct rcu_head *h)
{
	struct conn *c = caa_container_of(h, struct conn, rcu);

	mi_free(c);
}

static void conn_release(struct conn *c)
{
	conn_slots_drop(c);
	resp_out_free(&c->out);
	mi_free(c->ib);
	mi_free(c->argv_big);
	c->ib = NULL;
	c->argv_big = NULL;
	stats_gauge_add(&c->w->st.mem_clients, -(int64_t)c->mem_acct);
	c->mem_acct = 0;
	/* CLIENT LIST on other cores may still be reading it. */
	call_rcu(&c->rcu, conn_free_rcu);
}

void conn_closed(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	conn_block_closed(c);
	cds_list_del_rcu(&c->link);
	__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
	if (c->inflight_total == 0 && !c->in_dirty && !c->in_paused &&
	    !c->in_hold && !c->in_lent_wait)
		conn_release(c);
}

/* A closed connection leaves the dirty or paused list before it goes. */
void conn_maybe_release(struct conn *c)
{
	if (c->closed && c->inflight_total == 0 && !c->in_dirty &&
	    !c->in_paused && !c->in_hold && !c->in_lent_wait)
		conn_release(c);
}

void worker_mark_dirty(struct worker *w, struct conn *c)
{
	if (c->in_dirty || c->closed)
		return;
	c->in_dirty = true;
	c->next_dirty = w->dirty;
	w->dirty = c;
}

void conn_flushed(struct conn *c)
{
	c->in_dirty = false;
	conn_maybe_release(c);
}

struct conn *conn_next_dirty(const struct conn *c)
{
	return c->next_dirty;
}

const struct xcore_handlers conn_xcore = {
    .exec = conn_exec_remote,
    .done = conn_remote_done,
    .kill = conn_kill_local,
    .unblock = conn_unblock_local,
    .granted = conn_holds_granted,
    .shard_back = conn_shard_back,
};
