/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mimalloc.h>

#include "conn.h"
#include "ring.h"
#include "worker_pvt.h"
#include "xcore.h"

#define XCORE_RING_ORDER 12

/* Waiting for another core.  Workers own their cores, so this is a short
 * spin; but when cores are oversubscribed (kernel mode on a busy box, the
 * unit test) the peer may not be running at all, so a long wait lets the
 * scheduler run it instead of burning our time slice. */
static inline void cpu_relax(unsigned *spins)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
	if (++*spins % 256 == 0)
		sched_yield();
}

static struct worker **xc_workers;
static unsigned xc_n;

int xcore_setup(struct worker **ws, unsigned n)
{
	xc_workers = ws;
	xc_n = n;
	for (unsigned to = 0; to < n; to++) {
		for (unsigned from = 0; from < n; from++) {
			if (from == to)
				continue;
			struct ring *r = ring_new(XCORE_RING_ORDER);
			if (!r)
				return -ENOMEM;
			ws[to]->in[from] = r;
			ws[from]->out[to] = r;
		}
		ws[to]->held_by = -1;
	}
	return 0;
}

void xcore_teardown(void)
{
	for (unsigned to = 0; to < xc_n; to++)
		for (unsigned from = 0; from < xc_n; from++)
			if (from != to)
				ring_free(xc_workers[to]->in[from]);
	xc_workers = NULL;
	xc_n = 0;
}

struct xmsg *xcore_msg_new(size_t extra)
{
	struct xmsg *m = mi_malloc(sizeof(*m) + extra);

	if (m)
		memset(m, 0, sizeof(*m));
	return m;
}

void xcore_msg_free(struct xmsg *m)
{
	resp_out_free(&m->out);
	mi_free(m);
}

static void fifo_push(struct xfifo *f, struct xmsg *m)
{
	m->next = NULL;
	if (f->tail)
		f->tail->next = m;
	else
		f->head = m;
	f->tail = m;
}

static struct xmsg *fifo_pop(struct xfifo *f)
{
	struct xmsg *m = f->head;

	if (m) {
		f->head = m->next;
		if (!f->head)
			f->tail = NULL;
	}
	return m;
}

void xcore_send(struct worker *w, unsigned to, struct xmsg *m)
{
	m->from = (uint8_t)w->id;
	w->st.xcore_msgs_sent++;
	/* Once anything overflowed, later messages queue behind it so the
	 * peer sees this core's messages in the order they were sent. */
	if (w->overflow[to].head || !ring_put(w->out[to], m))
		fifo_push(&w->overflow[to], m);
	w->staged_to |= 1ull << to;
}

void xcore_flush(struct worker *w)
{
	uint64_t mask = w->staged_to;

	while (mask) {
		unsigned to = (unsigned)__builtin_ctzll(mask);
		struct worker *peer = xc_workers[to];
		struct ring *r = w->out[to];

		mask &= mask - 1;
		while (w->overflow[to].head &&
		       ring_put(r, w->overflow[to].head))
			fifo_pop(&w->overflow[to]);
		ring_publish(r);
		if (!w->overflow[to].head)
			w->staged_to &= ~(1ull << to);
		/* Pairs with the fence in worker's sleep path: either the
		 * peer sees our entries before it blocks, or we see it
		 * sleeping and wake it. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&peer->sleeping, __ATOMIC_RELAXED))
			worker_wake(peer);
	}
}

static void xcore_held_loop(struct worker *w);

/* Work that must respect holds: run it now or after the holds end. */
static void xcore_do(struct worker *w, struct xmsg *m)
{
	switch (m->type) {
	case XM_EXEC:
		conn_exec_remote(w, m);
		break;
	case XM_HOLD:
		w->held_by = m->from;
		w->st.xcore_holds++;
		m->type = XM_GRANT;
		xcore_send(w, m->from, m);
		xcore_flush(w);
		xcore_held_loop(w);
		break;
	case XM_KILL:
		conn_kill_local(w, m->arg64);
		xcore_msg_free(m);
		break;
	default:
		xcore_msg_free(m);
		break;
	}
}

static void xcore_handle(struct worker *w, struct xmsg *m)
{
	switch (m->type) {
	case XM_DONE:
		conn_remote_done(w, m);
		return;
	case XM_GRANT:
		w->grants |= 1ull << m->from;
		xcore_msg_free(m);
		return;
	case XM_RELEASE:
		w->held_by = -1;
		xcore_msg_free(m);
		return;
	default:
		break;
	}
	/* Inside a held loop even a just-released core defers: the loop
	 * returns first, so holds never nest on the stack. */
	if (w->held_by >= 0 || w->self_held || w->deferred.head || w->in_held)
		fifo_push(&w->deferred, m);
	else
		xcore_do(w, m);
}

static unsigned xcore_drain_rings(struct worker *w)
{
	unsigned n = 0;

	for (unsigned from = 0; from < w->n; from++) {
		struct ring *r = w->in[from];
		struct xmsg *m;

		if (from == w->id)
			continue;
		while ((m = ring_get(r)) != NULL) {
			xcore_handle(w, m);
			n++;
		}
	}
	return n;
}

static void xcore_drain_deferred(struct worker *w)
{
	struct xmsg *m;

	while (w->held_by < 0 && !w->self_held &&
	       (m = fifo_pop(&w->deferred)) != NULL)
		xcore_do(w, m);
}

/* My shard is lent to another core: touch nothing of it, only collect
 * messages until the holder lets go.  Holds last one command. */
static void xcore_held_loop(struct worker *w)
{
	unsigned spins = 0;

	w->in_held = true;
	while (w->held_by >= 0) {
		if (!xcore_drain_rings(w))
			cpu_relax(&spins);
		xcore_flush(w);
	}
	w->in_held = false;
}

unsigned xcore_poll(struct worker *w)
{
	unsigned n = xcore_drain_rings(w);

	xcore_drain_deferred(w);
	return n;
}

bool xcore_busy(struct worker *w)
{
	if (w->deferred.head || w->staged_to)
		return true;
	for (unsigned from = 0; from < w->n; from++)
		if (from != w->id && ring_readable(w->in[from]))
			return true;
	return false;
}

void xcore_hold(struct worker *w, uint64_t mask)
{
	unsigned spins = 0;

	/* The coordinator always takes itself, in order like any other core:
	 * once it holds a core above itself it is self-held and defers every
	 * hold request, so it can never be held while others wait on what it
	 * holds (that cycle deadlocked an earlier version). */
	mask |= 1ull << w->id;
	while (mask) {
		unsigned k = (unsigned)__builtin_ctzll(mask);
		struct xmsg *m;

		mask &= mask - 1;
		if (k == w->id) {
			w->self_held = true;
			continue;
		}
		m = xcore_msg_new(0);
		if (!m)
			abort(); /* a hold cannot be given up half way */
		m->type = XM_HOLD;
		xcore_send(w, k, m);
		xcore_flush(w);
		while (!(w->grants & (1ull << k))) {
			/* Not yet holding myself, so deferred holds from lower
			 * cores may run (and must, or we could wait on each
			 * other). */
			if (!xcore_poll(w))
				cpu_relax(&spins);
			xcore_flush(w);
		}
		w->grants &= ~(1ull << k);
	}
}

void xcore_release(struct worker *w, uint64_t mask)
{
	mask |= 1ull << w->id;
	while (mask) {
		unsigned k = (unsigned)__builtin_ctzll(mask);

		mask &= mask - 1;
		if (k == w->id) {
			w->self_held = false;
			continue;
		}
		struct xmsg *m = xcore_msg_new(0);
		if (!m)
			abort();
		m->type = XM_RELEASE;
		xcore_send(w, k, m);
	}
	xcore_flush(w);
	xcore_drain_deferred(w);
}
