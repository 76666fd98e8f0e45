/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mimalloc.h>
#include <urcu-qsbr.h>

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
static unsigned xc_limit; /* xcore_msg_limit, 0 = none */
/* Shutdown (xcore_quiesce): workers out of their loop, and workers with
 * nothing of their own in flight. */
static unsigned xc_stopped, xc_drained;

static struct xmsg *xcore_fixed_new(void);
static const struct xcore_handlers *xc_h;

int xcore_setup(struct worker **ws, unsigned n, const struct xcore_handlers *h)
{
	xc_h = h;
	xc_workers = ws;
	xc_n = n;
	xc_stopped = xc_drained = 0;
	for (unsigned to = 0; to < n; to++) {
		for (unsigned from = 0; from < n; from++) {
			if (from == to)
				continue;
			struct ring *r = ring_new(XCORE_RING_ORDER);
			if (!r)
				return -ENOMEM;
			ws[to]->in[from] = r;
			ws[from]->out[to] = r;
			/* from's hold and release messages for to */
			ws[from]->hold_msg[to] = xcore_fixed_new();
			ws[from]->rel_msg[to] = xcore_fixed_new();
			if (!ws[from]->hold_msg[to] || !ws[from]->rel_msg[to])
				return -ENOMEM;
		}
		ws[to]->held_by = -1;
		ws[to]->hold_wait = -1;
	}
	return 0;
}

static struct xmsg *xcore_fixed_new(void)
{
	struct xmsg *m = mi_zalloc(sizeof(*m));

	if (m)
		m->kind = XMSG_FIXED;
	return m;
}

static void xcore_pool_free(struct xpool *p)
{
	for (unsigned k = 0; k < XPOOL_CLASSES; k++) {
		struct xmsg *m;

		while ((m = p->free[k]) != NULL) {
			p->free[k] = m->next;
			resp_out_free(&m->out);
			mi_free(m);
		}
		p->nfree[k] = 0;
	}
}

void xcore_teardown(void)
{
	for (unsigned to = 0; to < xc_n; to++) {
		struct worker *w = xc_workers[to];

		for (unsigned from = 0; from < xc_n; from++) {
			if (from == to)
				continue;
			ring_free(w->in[from]);
			mi_free(w->hold_msg[from]);
			mi_free(w->rel_msg[from]);
			w->in[from] = w->out[from] = NULL;
			w->hold_msg[from] = w->rel_msg[from] = NULL;
		}
		xcore_pool_free(&w->pool);
	}
	xc_workers = NULL;
	xc_n = 0;
}

/*
 * The pools.  A free message keeps its reply buffer (len 0, cap kept)
 * and nothing else that matters: xcore_msg_get sets every field a sender
 * or receiver reads.
 */
#define XCORE_POOL_KEEP 4096

static const size_t xc_room[XPOOL_CLASSES] = {XMSG_SMALL, XMSG_BIG};

void xcore_msg_limit(unsigned max)
{
	xc_limit = max;
}

struct xmsg *xcore_msg_get(struct worker *w, size_t bytes)
{
	struct xpool *p = &w->pool;
	unsigned k = bytes <= XMSG_SMALL ? XMSG_POOL_SMALL : XMSG_POOL_BIG;
	struct xmsg *m;

	if (xc_limit && p->out >= xc_limit) {
		errno = ENOBUFS;
		return NULL;
	}
	m = p->free[k];
	if (m) {
		p->free[k] = m->next;
		p->nfree[k]--;
	} else {
		m = mi_malloc(sizeof(*m) + xc_room[k]);
		if (!m)
			return NULL;
		p->allocs++;
		m->kind = (uint8_t)k;
		resp_out_init(&m->out, 2);
	}
	m->ext = NULL;
	if (bytes > XMSG_BIG) {
		/* A 10 MB SET: one area, the only allocation of its trip. */
		m->ext = mi_malloc(bytes);
		if (!m->ext) {
			m->next = p->free[k];
			p->free[k] = m;
			p->nfree[k]++;
			return NULL;
		}
		p->allocs++;
	}
	m->type = 0;
	m->from = (uint8_t)w->id;
	m->argc = 0;
	m->cmd = NULL;
	m->conn = NULL;
	m->slot = NULL;
	m->arg64 = 0;
	m->argv = NULL;
	m->next = NULL;
	m->out.len = 0;
	m->out.limit = 0;
	m->out.oom = 0;
	p->out++;
	return m;
}

void xcore_msg_put(struct worker *w, struct xmsg *m)
{
	struct xpool *p = &w->pool;
	unsigned k = m->kind;

	if (m->kind == XMSG_HEAP) {
		resp_out_free(&m->out);
		mi_free(m);
		return;
	}
	if (m->kind == XMSG_FIXED)
		return;
	p->out--;
	if (m->ext) {
		mi_free(m->ext);
		m->ext = NULL;
	}
	/* A cap clipped by a limit stays clipped: growing past it later is
	 * a realloc within the block, cheaper than asking its size here. */
	if (m->out.buf && (m->out.cap > XMSG_OUT_KEEP || m->out.oom))
		resp_out_free(&m->out);
	if (p->nfree[k] >= XCORE_POOL_KEEP) {
		resp_out_free(&m->out);
		mi_free(m);
		return;
	}
	m->next = p->free[k];
	p->free[k] = m;
	p->nfree[k]++;
}

struct xmsg *xcore_msg_heap(void)
{
	struct xmsg *m = mi_zalloc(sizeof(*m));

	if (m)
		m->kind = XMSG_HEAP;
	return m;
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
	if (m->type == XM_EXEC)
		w->execs_out++;
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
		 * asleep and wake it, or we see it WOKEN: then the write of
		 * whoever woke it is still to wake it, and it looks at its
		 * rings again before it blocks again (an entry it misses on
		 * waking is found there), so one write per sleep is enough. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (worker_wake_sleeper(peer))
			w->st.xcore_wakeups++;
	}
}

static void hold_advance(struct worker *w);

/*
 * w->park: RUNNING while the owner may use its shard, PARKED while it
 * sleeps and lends it to whoever takes it, TAKEN(x) once core x took it
 * that way, SEEN(x) once the owner woke and noticed (x then releases with
 * a message).  Only the owner moves RUNNING <-> PARKED and TAKEN -> SEEN;
 * only a taker moves PARKED -> TAKEN and TAKEN -> PARKED.
 */
#define PARK_RUNNING 0
#define PARK_PARKED 1
#define PARK_TAKEN(x) (2 + 2 * (int)(x))
#define PARK_SEEN(x) (3 + 2 * (int)(x))

bool xcore_park(struct worker *w)
{
	int v = PARK_RUNNING;

	if (w->held_by >= 0 || w->self_held || w->deferred.head ||
	    w->batch_mask)
		return false;
	return __atomic_compare_exchange_n(&w->park, &v, PARK_PARKED, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void xcore_unpark(struct worker *w)
{
	for (;;) {
		int v = __atomic_load_n(&w->park, __ATOMIC_ACQUIRE);

		if (v == PARK_PARKED) {
			if (__atomic_compare_exchange_n(
				&w->park, &v, PARK_RUNNING, false,
				__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return;
			continue;
		}
		/* Taken while I slept: as good as a grant of mine. */
		if (__atomic_compare_exchange_n(&w->park, &v, v + 1, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			w->held_by = (v - 2) / 2;
			w->st.xcore_holds++;
			return;
		}
	}
}

/* Take core k without a message if it sleeps with its shard parked and
 * has read everything I sent it. */
static bool xcore_take_parked(struct worker *w, unsigned k)
{
	int v = PARK_PARKED;

	if (w->overflow[k].head || !ring_drained(w->out[k]))
		return false;
	if (__atomic_load_n(&xc_workers[k]->park, __ATOMIC_RELAXED) !=
	    PARK_PARKED)
		return false;
	return __atomic_compare_exchange_n(&xc_workers[k]->park, &v,
					   PARK_TAKEN(w->id), false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Give back a core taken parked: silently if its owner still sleeps. */
static bool xcore_return_parked(struct worker *w, unsigned k)
{
	int v = PARK_TAKEN(w->id);

	return __atomic_compare_exchange_n(&xc_workers[k]->park, &v,
					   PARK_PARKED, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/* Whether m must wait in the deferred FIFO: a command for my shard while
 * it is lent, a hold request while it is lent or taken for my own
 * command, and anything behind something that waits (FIFO per sender). */
static bool xcore_must_wait(const struct worker *w, const struct xmsg *m)
{
	if (w->deferred.head)
		return true;
	if (m->type == XM_HOLD)
		return w->held_by >= 0 || w->self_held;
	return w->held_by >= 0 && m->type == XM_EXEC;
}

/* Work that must respect holds: run it now or after the holds end. */
static void xcore_do(struct worker *w, struct xmsg *m)
{
	switch (m->type) {
	case XM_EXEC:
		xc_h->exec(w, m);
		break;
	case XM_HOLD:
		w->held_by = m->from;
		w->st.xcore_holds++;
		m->type = XM_GRANT;
		xcore_send(w, m->from, m);
		break;
	case XM_KILL:
		xc_h->kill(w, m->arg64);
		xcore_msg_put(w, m);
		break;
	case XM_UNBLOCK:
		xc_h->unblock(w, m->arg64, (unsigned)m->argc);
		xcore_msg_put(w, m);
		break;
	default:
		xcore_msg_put(w, m);
		break;
	}
}

/* Run deferred work in order until its head must wait again. */
static void xcore_drain_deferred(struct worker *w)
{
	struct xmsg *m;

	while ((m = w->deferred.head) != NULL) {
		if (m->type == XM_HOLD ? w->held_by >= 0 || w->self_held
				       : w->held_by >= 0 && m->type == XM_EXEC)
			return;
		fifo_pop(&w->deferred);
		xcore_do(w, m);
	}
}

static void xcore_handle(struct worker *w, struct xmsg *m)
{
	if (m->type >= XM_HOLD && m->type <= XM_RELEASE)
		w->hold_event_us = w->turn_us ? w->turn_us : 1;
	switch (m->type) {
	case XM_DONE:
		w->execs_out--;
		xc_h->done(w, m);
		return;
	case XM_GRANT:
		if ((int)m->from == w->hold_wait)
			w->hold_wait = -1;
		hold_advance(w);
		return;
	case XM_RELEASE:
		w->held_by = -1;
		/* From a core that took me parked, I am SEEN(it): running. */
		if (__atomic_load_n(&w->park, __ATOMIC_RELAXED) != PARK_RUNNING)
			__atomic_store_n(&w->park, PARK_RUNNING,
					 __ATOMIC_RELEASE);
		/* My own command first if it waits for me, then what waited
		 * for my shard (holds the command leaves deferred). */
		hold_advance(w);
		xcore_drain_deferred(w);
		xc_h->shard_back(w);
		return;
	default:
		break;
	}
	if (xcore_must_wait(w, m))
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

unsigned xcore_poll(struct worker *w)
{
	unsigned n = xcore_drain_rings(w);

	xcore_drain_deferred(w);
	return n;
}

bool xcore_busy(struct worker *w)
{
	/* Deferred work that can run now; what waits for a release or a
	 * grant is woken by that message. */
	if (w->staged_to ||
	    (w->deferred.head && w->held_by < 0 && !w->self_held))
		return true;
	for (unsigned from = 0; from < w->n; from++)
		if (from != w->id && ring_readable(w->in[from]))
			return true;
	return false;
}

bool xcore_lent(const struct worker *w)
{
	return w->held_by >= 0;
}

/*
 * The head command holds its cores: run it, then, under the same holds,
 * what else fits in them: the rest of its connection's pipeline (conn
 * asks xcore_hold_covers) and other queued commands over the same cores
 * or fewer, up to XCORE_BATCH commands so a lent core gets its shard back
 * soon.  One grant round trip then serves a run of pipelined multi-key
 * commands instead of one each.
 */
#define XCORE_BATCH 64

static void hold_run_batch(struct worker *w, struct xhold *h)
{
	uint64_t mask = h->mask | (1ull << w->id);
	struct xhold **pp, *p;

	w->batch_mask = mask;
	w->batch_left = XCORE_BATCH - 1;
	xc_h->granted(w, h);
	pp = &w->hold_head;
	while ((p = *pp) != NULL && w->batch_left > 0) {
		if ((p->mask | mask) != mask) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (w->hold_tail == p)
			w->hold_tail =
			    pp == &w->hold_head
				? NULL
				: caa_container_of(pp, struct xhold, next);
		w->batch_left--;
		xc_h->granted(w, p);
		pp = &w->hold_head; /* the callback may have queued more */
	}
	w->batch_mask = 0;
	xcore_release(w, mask);
}

bool xcore_hold_covers(struct worker *w, uint64_t mask)
{
	if (!w->batch_mask || (mask | w->batch_mask) != w->batch_mask ||
	    !w->batch_left)
		return false;
	w->batch_left--;
	return true;
}

/*
 * Take the head command's cores in ascending order, as far as possible
 * without waiting: a hold request goes out and its grant comes back
 * through xcore_handle, which calls this again; my own core is taken at
 * once unless it is lent (then the RELEASE calls this again).  Once all
 * are taken the command runs, and the next queued one starts.  The
 * callback may queue more (the connection goes on parsing): the flag
 * keeps this loop the only one advancing.
 */
static void hold_advance(struct worker *w)
{
	struct xhold *h;

	if (w->hold_running)
		return;
	w->hold_running = true;
	while ((h = w->hold_head) != NULL && w->hold_wait < 0) {
		if (!w->hold_started) {
			w->hold_started = true;
			w->hold_left = h->mask | (1ull << w->id);
		}
		while (w->hold_left) {
			unsigned k = (unsigned)__builtin_ctzll(w->hold_left);
			struct xmsg *m;

			if (k == w->id) {
				if (w->held_by >= 0)
					goto out; /* lent: the RELEASE resumes
						   */
				w->self_held = true;
				w->hold_left &= w->hold_left - 1;
				continue;
			}
			if (xcore_take_parked(w, k)) {
				w->stolen |= 1ull << k;
				w->hold_left &= w->hold_left - 1;
				continue;
			}
			m = w->hold_msg[k]; /* back with the last grant */
			m->type = XM_HOLD;
			xcore_send(w, k, m);
			w->hold_left &= w->hold_left - 1;
			w->hold_wait = (int)k;
			goto out;
		}
		w->hold_head = h->next;
		if (!w->hold_head)
			w->hold_tail = NULL;
		w->hold_started = false;
		if (h == w->hold_sync) { /* xcore_hold's caller runs it */
			w->hold_sync = NULL;
			break;
		}
		hold_run_batch(w, h);
	}
out:
	w->hold_running = false;
}

bool xcore_hold(struct worker *w, struct xhold *h)
{
	h->next = NULL;
	if (w->hold_tail)
		w->hold_tail->next = h;
	else
		w->hold_head = h;
	w->hold_tail = h;
	if (w->hold_running || w->hold_head != h)
		return false; /* behind others: its turn comes from xcore */
	/* Every core it needs may be parked: then it is held on return. */
	w->hold_sync = h;
	hold_advance(w);
	if (w->hold_sync == h) {
		w->hold_sync = NULL;
		return false;
	}
	return true;
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
		if ((w->stolen & (1ull << k)) && xcore_return_parked(w, k))
			continue;
		/* Read and handled by k before it granted this hold. */
		struct xmsg *m = w->rel_msg[k];
		m->type = XM_RELEASE;
		xcore_send(w, k, m);
	}
	w->stolen = 0;
	xcore_flush(w);
	xcore_drain_deferred(w);
}

/*
 * Two counters make the exit safe.  Once every worker has counted itself
 * stopped, no core parses a request, so none starts a hold or sends a
 * command: what is still in flight are commands sent before, their
 * replies, and holds already granted.  A worker then counts itself
 * drained once its own commands are back; it keeps serving the others
 * until all are drained, since their commands may still sit on its
 * rings.  After that no message that needs an answer is in flight.
 */
void xcore_quiesce(struct worker *w)
{
	unsigned spins = 0;
	bool drained = false;

	__atomic_add_fetch(&xc_stopped, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		rcu_quiescent_state();
		if (!xcore_poll(w))
			cpu_relax(&spins);
		xcore_flush(w);
		if (!drained && w->execs_out == 0 && !w->deferred.head &&
		    !w->staged_to && !w->hold_head && w->held_by < 0 &&
		    __atomic_load_n(&xc_stopped, __ATOMIC_SEQ_CST) == xc_n) {
			drained = true;
			__atomic_add_fetch(&xc_drained, 1, __ATOMIC_SEQ_CST);
		}
		if (drained &&
		    __atomic_load_n(&xc_drained, __ATOMIC_SEQ_CST) == xc_n)
			break;
	}
}
