/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker context, shared by the dataplane files and the transports.
 * Cache-line aligned; everything here is touched only by its own thread
 * except `sleeping`, the rings' shared indexes and the stats.
 */
#ifndef CACHALOT_WORKER_PVT_H
#define CACHALOT_WORKER_PVT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include "resp/resp.h"
#include "ring.h"
#include "stats.h"
#include "store/store.h"
#include "store/store_evict.h"
#include "worker.h"

struct conn;
struct rslot;
struct xmsg;
struct xhold;

struct xfifo {
	struct xmsg *head;
	struct xmsg *tail;
};

/* A worker's message pool (xcore.c), one free list per size class. */
#define XPOOL_CLASSES 2
struct xpool {
	struct xmsg *free[XPOOL_CLASSES];
	unsigned nfree[XPOOL_CLASSES];
	unsigned out;	 /* taken and not yet put back */
	uint64_t allocs; /* messages and argument areas from the allocator */
};

struct worker {
	unsigned id;
	unsigned n;
	int cpu;
	pthread_t thread;
	const struct transport_ops *tp;
	void *tpd; /* transport's per-worker state */
	int listen_fd[16];
	int nlisten;
	struct worker_listen *relisten; /* atomic mailbox (worker_relisten) */
	int wake_fd;			/* eventfd other cores write */
	int sleeping;			/* atomic: enum worker_sleep */
	uint64_t evict_owed;	/* atomic: bytes owed to the eviction round */
	struct timer_wheel *tw; /* blocked clients' deadlines (conn_block.c) */
	int64_t now_ms;
	uint64_t rng;
	struct wstats st;
	struct resp_limits lim;

	/* xcore */
	struct ring *in[STORE_MAX_SHARDS];  /* from worker i to me */
	struct ring *out[STORE_MAX_SHARDS]; /* from me to worker i */
	struct xfifo overflow[STORE_MAX_SHARDS];
	uint64_t staged_to; /* peers with unpublished messages */
	struct xfifo deferred;
	struct xpool pool;
	/* Per peer: my HOLD (it comes back as the GRANT) and my RELEASE. */
	struct xmsg *hold_msg[STORE_MAX_SHARDS];
	struct xmsg *rel_msg[STORE_MAX_SHARDS];
	int held_by;	 /* -1, or the core my shard is lent to */
	int park;	 /* atomic, xcore.c: free while I sleep, or taken */
	uint64_t stolen; /* cores of the running batch taken parked */
	bool self_held;	 /* taken for the head command of my hold queue */
	/* My commands waiting for holds (xcore_hold), the head in progress:
	 * cores still to take, and the one whose grant is on its way. */
	struct xhold *hold_head, *hold_tail;
	uint64_t hold_left;
	int hold_wait;
	bool hold_started;
	bool hold_running;	 /* inside hold_advance */
	struct xhold *hold_sync; /* xcore_hold's, if it completes at once */
	uint64_t batch_mask;	 /* cores held for the batch running now */
	unsigned batch_left;	 /* commands it may still take */
	struct conn *lent_wait;	 /* connections waiting for my shard back */
	int64_t hold_event_us; /* last hold message, 0 = long ago (worker.c) */
	int64_t io_event_us;   /* last turn with I/O, 0 = long ago */
	int64_t turn_us;       /* monotonic us at the start of this turn */
	unsigned execs_out;    /* XM_EXEC sent, XM_DONE not yet back */

	/* connections */
	struct cds_list_head clients; /* RCU list, for CLIENT LIST */
	struct conn *dirty;	      /* output to flush this turn */
	struct conn *paused;	      /* waiting for in-flight commands */
	struct rslot *slot_free;      /* reply slots to reuse (conn_out.c) */
	unsigned slot_nfree;
	uint64_t slot_allocs; /* reply slots that came from the allocator */
	int64_t next_cron_ms;
	int64_t next_expire_ms;
	bool evicting;	    /* over maxmemory after this turn's budget */
	uint64_t trim_seen; /* work counters at the last cron (worker_trim) */
	bool trimmed;
	int start_rc; /* 0, or -errno if setup failed */
	bool started;
} __attribute__((aligned(64)));

/*
 * worker.sleeping.  The worker moves AWAKE -> ASLEEP before it blocks and
 * back to AWAKE when it wakes.  A peer that finds it ASLEEP moves it to
 * WOKEN and writes its eventfd; the others find it WOKEN and write
 * nothing.  A wake-up takes tens of microseconds on a VM, several turns of
 * a busy peer, and each of them used to write again.
 */
enum worker_sleep { WORKER_AWAKE, WORKER_ASLEEP, WORKER_WOKEN };

/**
 * Wake w if it sleeps and nobody has woken it yet; returns whether this
 * call did.  Call after publishing what w must see, and a seq_cst fence
 * that pairs with the one of w's sleep path.  Context: any thread.
 */
static inline bool worker_wake_sleeper(struct worker *w)
{
	int v = WORKER_ASLEEP;

	if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED) != WORKER_ASLEEP ||
	    !__atomic_compare_exchange_n(&w->sleeping, &v, WORKER_WOKEN, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return false;
	worker_wake(w);
	return true;
}

/** Add c to the turn's flush list.  Context: owner. */
void worker_mark_dirty(struct worker *w, struct conn *c);

#endif
