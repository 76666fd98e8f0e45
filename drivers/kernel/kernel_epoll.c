/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The epoll transport: readiness-driven, level-triggered.  One read per
 * readable socket per turn, one write per dirty connection per turn (after
 * the whole batch ran, so pipelined replies leave in one segment), EPOLLOUT
 * only while a socket's send buffer is full.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mimalloc.h>

#include "cfg.h"
#include "conn.h"
#include "kernel_pvt.h"
#include "log.h"
#include "transport.h"
#include "worker_pvt.h"

#define EP_EVENTS 256
#define EP_TAG_LISTEN 1
#define EP_TAG_WAKE 2

struct ep_conn {
	struct conn *c; /* NULL once closed */
	int fd;
	bool want_out;
	bool rx_hold; /* conn_rx_hold: no EPOLLIN until ep_rx_resume */
	struct ep_conn *next_dead;
};

struct ep_worker {
	int epfd;
	int nev;
	/* Closed this turn: events already collected may still name them. */
	struct ep_conn *dead;
	uint32_t resting; /* listeners taken out of epoll (EMFILE) */
	struct kernel_accept_rest rest;
	struct epoll_event ev[EP_EVENTS];
};

static int ep_attach(struct worker *w)
{
	struct ep_worker *ep = calloc(1, sizeof(*ep));
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	if (!ep)
		return -ENOMEM;
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ep->epfd < 0) {
		free(ep);
		return -errno;
	}
	for (int i = 0; i < w->nlisten; i++) {
		ev.data.u64 = EP_TAG_LISTEN | ((uint64_t)i << 8);
		if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, w->listen_fd[i], &ev))
			goto fail;
	}
	ev.data.u64 = EP_TAG_WAKE;
	if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev))
		goto fail;
	w->tpd = ep;
	stats_gauge_add(&w->st.mem_transport, (int64_t)sizeof(*ep));
	return 0;
fail:
	rc = -errno;
	close(ep->epfd);
	free(ep);
	return rc;
}

/* Put resting listeners back once a descriptor may be free. */
static void ep_wake_listeners(struct worker *w, struct ep_worker *ep)
{
	if (!kernel_accept_wake(&ep->rest, worker_now_ms(w)))
		return;
	for (int i = 0; i < w->nlisten; i++) {
		struct epoll_event ev = {
		    .events = EPOLLIN,
		    .data.u64 = EP_TAG_LISTEN | ((uint64_t)i << 8),
		};
		if (ep->resting & (1u << i))
			epoll_ctl(ep->epfd, EPOLL_CTL_ADD, w->listen_fd[i],
				  &ev);
	}
	ep->resting = 0;
}

static int ep_wait(struct worker *w, int timeout_ms)
{
	struct ep_worker *ep = w->tpd;
	int n;

	if (__builtin_expect(ep->resting != 0, 0))
		ep_wake_listeners(w, ep);
	n = epoll_wait(ep->epfd, ep->ev, EP_EVENTS, timeout_ms);

	ep->nev = n < 0 ? 0 : n;
	return ep->nev;
}

static void ep_close(struct worker *w, struct conn *c)
{
	struct ep_worker *ep = w->tpd;
	struct ep_conn *e = conn_tp(c);

	if (!e)
		return;
	epoll_ctl(ep->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	kernel_fd_closed();
	conn_set_tp(c, NULL);
	e->c = NULL;
	e->fd = -1;
	e->next_dead = ep->dead;
	ep->dead = e;
	conn_closed(c);
}

static void ep_accept(struct worker *w, int li)
{
	struct ep_worker *ep = w->tpd;
	int lfd = w->listen_fd[li];

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ep_conn *e;
		struct conn *c;

		if (fd < 0) {
			/* Level-triggered: a listener left in epoll while
			 * out of descriptors would wake every turn. */
			if (kernel_accept_rest(&ep->rest, errno,
					       worker_now_ms(w)) &&
			    !(ep->resting & (1u << li))) {
				epoll_ctl(ep->epfd, EPOLL_CTL_DEL, lfd, NULL);
				ep->resting |= 1u << li;
			}
			return;
		}
		getsockname(fd, (struct sockaddr *)&local, &llen);
		kernel_tune_socket(fd);
		c = conn_new(w, fd, (struct sockaddr *)&peer,
			     (struct sockaddr *)&local);
		if (!c) {
			kernel_reject(fd, errno);
			continue;
		}
		e = mi_malloc(sizeof(*e));
		if (!e) {
			conn_closed(c);
			close(fd);
			continue;
		}
		stats_gauge_add(&w->st.mem_clients, (int64_t)mi_usable_size(e));
		/* Every field: the block may be a closed connection's,
		 * rx_hold still set (its next EPOLL_CTL_MOD then dropped
		 * EPOLLIN for good). */
		*e = (struct ep_conn){.c = c, .fd = fd};
		conn_set_tp(c, e);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
		if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			ep_close(w, c);
			continue;
		}
	}
}

static void ep_update(struct worker *w, struct ep_conn *e)
{
	struct ep_worker *ep = w->tpd;
	struct epoll_event ev = {
	    .events = (e->rx_hold ? 0 : EPOLLIN) | (e->want_out ? EPOLLOUT : 0),
	    .data.ptr = e,
	};

	epoll_ctl(ep->epfd, EPOLL_CTL_MOD, e->fd, &ev);
}

static void ep_read(struct worker *w, struct ep_conn *e)
{
	struct conn *c = e->c;
	size_t avail;
	char *p = conn_rx_space(c, &avail);
	ssize_t n;

	if (!p) {
		ep_close(w, c);
		return;
	}
	/* Paused: read no further than the hold, or a buffer grown by one
	 * full read doubles at the next (test_memory's fast pipeliner saw
	 * 32 MB) while TCP could have held the client back. */
	if (avail > conn_rx_room(c))
		avail = conn_rx_room(c);
	n = read(e->fd, p, avail);
	w->st.io_reads++;
	if (n > 0) {
		conn_rx_done(c, (size_t)n);
		/* Input waits for commands on other cores: stop reading, so
		 * the socket's window holds the client back. */
		if (e->c && !e->rx_hold && conn_rx_hold(c)) {
			e->rx_hold = true;
			ep_update(w, e);
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ep_close(w, c);
}

static void ep_dispatch(struct worker *w)
{
	struct ep_worker *ep = w->tpd;

	for (int i = 0; i < ep->nev; i++) {
		struct epoll_event *ev = &ep->ev[i];

		if (ev->data.u64 == EP_TAG_WAKE) {
			uint64_t v;
			if (read(w->wake_fd, &v, sizeof(v)) < 0)
				continue;
			continue;
		}
		if ((ev->data.u64 & 0xff) == EP_TAG_LISTEN &&
		    ev->data.u64 < 0x10000) {
			ep_accept(w, (int)(ev->data.u64 >> 8));
			continue;
		}
		struct ep_conn *e = ev->data.ptr;
		if (!e->c)
			continue;
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ep_read(w, e);
		else if (ev->events & EPOLLOUT)
			worker_mark_dirty(w, e->c);
	}
	ep->nev = 0;
}

static void ep_set_out(struct worker *w, struct ep_conn *e, bool on)
{
	if (e->want_out == on)
		return;
	e->want_out = on;
	ep_update(w, e);
}

static void ep_rx_resume(struct worker *w, struct conn *c)
{
	struct ep_conn *e = conn_tp(c);

	if (!e || !e->rx_hold)
		return;
	e->rx_hold = false;
	ep_update(w, e);
}

static void ep_send(struct worker *w, struct conn *c)
{
	struct ep_conn *e = conn_tp(c);
	size_t len;
	const char *p;

	if (!e)
		return;
	while ((p = conn_tx_data(c, &len)), len > 0) {
		ssize_t n = send(e->fd, p, len, MSG_NOSIGNAL);
		w->st.io_writes++;
		if (n > 0) {
			conn_tx_done(c, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ep_set_out(w, e, true);
			return;
		}
		ep_close(w, c);
		return;
	}
	ep_set_out(w, e, false);
	if (conn_tx_close(c))
		ep_close(w, c);
}

static void ep_flush(struct worker *w)
{
	struct ep_worker *ep = w->tpd;
	struct conn *c = w->dirty;

	w->dirty = NULL;
	while (c) {
		struct conn *next = conn_next_dirty(c);
		ep_send(w, c);
		conn_flushed(c);
		c = next;
	}
	while (ep->dead) {
		struct ep_conn *e = ep->dead;
		ep->dead = e->next_dead;
		stats_gauge_add(&w->st.mem_clients,
				-(int64_t)mi_usable_size(e));
		mi_free(e);
	}
}

static void ep_detach(struct worker *w)
{
	struct ep_worker *ep = w->tpd;

	if (!ep)
		return;
	ep_flush(w);
	close(ep->epfd);
	free(ep);
	w->tpd = NULL;
	__atomic_store_n(&w->st.mem_transport, 0, __ATOMIC_RELAXED);
}

static void ep_relisten(struct worker *w, const int *fds, int n)
{
	struct ep_worker *ep = w->tpd;

	for (int i = 0; i < w->nlisten; i++) {
		if (!(ep->resting & (1u << i)))
			epoll_ctl(ep->epfd, EPOLL_CTL_DEL, w->listen_fd[i],
				  NULL);
		if (!kernel_fd_in(w->listen_fd[i], fds, n))
			kernel_listen_drop(w->listen_fd[i]);
	}
	ep->resting = 0;
	ep->rest.resting = false;
	w->nlisten = n;
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {
		    .events = EPOLLIN,
		    .data.u64 = EP_TAG_LISTEN | ((uint64_t)i << 8),
		};
		w->listen_fd[i] = fds[i];
		if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fds[i], &ev))
			log_warning("listener %d of worker %u: %s", i, w->id,
				    strerror(errno));
	}
}

const struct transport_ops kernel_epoll_ops = {
    .name = "epoll",
    .attach = ep_attach,
    .wait = ep_wait,
    .dispatch = ep_dispatch,
    .flush = ep_flush,
    .close = ep_close,
    .rx_resume = ep_rx_resume,
    .detach = ep_detach,
    .relisten = ep_relisten,
};
