/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <mimalloc.h>
#include <urcu-qsbr.h>

#include "clock.h"
#include "cfg.h"
#include "cmd/cmd.h"
#include "cmd/cmd_host.h"
#include "conn.h"
#include "ctlq.h"
#include "log.h"
#include "timer.h"
#include "transport.h"
#include "worker_pvt.h"
#include "xcore.h"

/* Keys deleted per turn by active expiry: small enough to keep a turn
 * short, large enough that a million expiring keys go within seconds. */
#define WORKER_EXPIRE_BATCH 200
#define WORKER_MAX_SLEEP_MS 100
/*
 * Eviction per turn: keys per store_evict() call, and the time after which
 * the rest waits for the next turn: a fixed part, so that a large excess
 * (maxmemory lowered) goes in steps while requests keep being served, plus
 * twice the time the turn took so far, so that eviction keeps pace with
 * however many writes a turn brought, within a ceiling.
 */
#define WORKER_EVICT_CHUNK 64
#define WORKER_EVICT_BUDGET_US 1000
/* ... and at most this: a turn slowed by the kernel (a send() on loopback
 * delivers to the reader) must not make the next step long too. */
#define WORKER_EVICT_MAX_US 4000

static struct worker **workers;
static unsigned nworkers;
static int shutdown_flag;
static int stop_flag;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static unsigned started;

/* The parameters the loop reads, as its own cfg view. */
struct worker_params {
	long long hz;
	long long kernel_poll_us;
	uint64_t maxmemory; /* 0 = none */
	bool noeviction;
};

static int worker_params_id = -1;

static void worker_params_build(const struct cfg *c, void *view)
{
	struct worker_params *p = view;

	p->hz = c->hz > 0 ? c->hz : 10;
	p->kernel_poll_us = c->kernel_poll_us;
	p->maxmemory = (uint64_t)c->maxmemory;
	p->noeviction = c->maxmemory_policy == CFG_POLICY_NOEVICTION;
}

static inline const struct worker_params *worker_params(void)
{
	return cfg_view(worker_params_id);
}

unsigned worker_count(void)
{
	return nworkers;
}
struct worker *worker_get(unsigned id)
{
	return workers[id];
}
unsigned worker_id(const struct worker *w)
{
	return w->id;
}
struct wstats *worker_stats(struct worker *w)
{
	return &w->st;
}
int64_t worker_now_ms(const struct worker *w)
{
	return w->now_ms;
}
uint64_t *worker_rng(struct worker *w)
{
	return &w->rng;
}

const char *worker_transport_name(void)
{
	return nworkers ? workers[0]->tp->name : "none";
}

static struct wstats *worker_stats_of(unsigned i)
{
	return worker_stats(worker_get(i));
}

void worker_cmd_host(struct cmd_host *h)
{
	h->workers = worker_count;
	h->stats = worker_stats_of;
	h->request_shutdown = worker_request_shutdown;
	h->transport_name = worker_transport_name;
	h->clients = conn_count;
	h->clients_mem = conn_mem_bytes;
	h->obuf_disconnections = conn_obuf_disconnections;
	h->clients_recent_max = conn_recent_max;
	h->visit_clients = conn_visit_all;
	h->client_info = conn_info;
	h->client_conn = client_conn;
	h->kill_client = conn_kill;
	h->unblock_client = conn_unblock_id;
	h->blocked_clients = conn_blocked_count;
}

void worker_request_shutdown(void)
{
	__atomic_store_n(&shutdown_flag, 1, __ATOMIC_SEQ_CST);
}

bool worker_shutdown_requested(void)
{
	return __atomic_load_n(&shutdown_flag, __ATOMIC_SEQ_CST);
}

struct worker_listen {
	int n;
	int fds[16];
};

static __thread struct worker *worker_self; /* the worker of this thread */
static void worker_take_listeners(struct worker *w);

int worker_relisten(const int *fds, int n)
{
	if (!nworkers || !workers[0]->tp->relisten)
		return -ENOTSUP;
	if (n < 1 || n > 16)
		return -EINVAL;
	/* A worker still holding the last set (stuck in a long command):
	 * one change at a time, or sockets would change hands twice. */
	for (unsigned i = 0; i < nworkers; i++)
		if (__atomic_load_n(&workers[i]->relisten, __ATOMIC_ACQUIRE))
			return -EBUSY;
	struct worker_listen *ls = mi_calloc(nworkers, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	for (unsigned i = 0; i < nworkers; i++) {
		ls[i].n = n;
		memcpy(ls[i].fds, fds + (size_t)i * (size_t)n,
		       (size_t)n * sizeof(int));
	}
	for (unsigned i = 0; i < nworkers; i++) {
		__atomic_store_n(&workers[i]->relisten, &ls[i],
				 __ATOMIC_RELEASE);
		worker_wake(workers[i]);
	}
	/*
	 * Return once every worker listens on the new sockets and has closed
	 * the old ones, as redis-server's CONFIG SET does: the caller's own
	 * worker at once, the others at the top of their next turn.  No
	 * worker ever waits for another, so this ends; the bound is for one
	 * stuck in a long command (DEBUG SLEEP), which swaps when it is done.
	 */
	if (worker_self)
		worker_take_listeners(worker_self);
	for (int64_t end = clock_mono_us() + 1000000; clock_mono_us() < end;) {
		unsigned pending = 0;
		for (unsigned i = 0; i < nworkers; i++)
			pending += __atomic_load_n(&workers[i]->relisten,
						   __ATOMIC_ACQUIRE) != NULL;
		if (!pending) {
			mi_free(ls);
			return 0;
		}
		struct timespec ts = {.tv_nsec = 100000};
		nanosleep(&ts, NULL);
	}
	return 0; /* ls goes with the process: a worker may still read it */
}

/* At the top of a turn: new listeners from worker_relisten? */
static void worker_take_listeners(struct worker *w)
{
	struct worker_listen *l =
	    __atomic_load_n(&w->relisten, __ATOMIC_ACQUIRE);

	if (!l)
		return;
	w->tp->relisten(w, l->fds, l->n);
	/* Only now: worker_relisten's caller answers once the old
	 * listeners are gone. */
	__atomic_store_n(&w->relisten, NULL, __ATOMIC_RELEASE);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warning("wake of worker %u failed: %s", w->id,
			    strerror(errno));
}

int worker_setup(const struct worker_conf *conf)
{
	unsigned n = conf->count;

	if (n == 0 || n > STORE_MAX_SHARDS)
		return -EINVAL;
	worker_params_id = cfg_view_register(sizeof(struct worker_params),
					     worker_params_build);
	if (worker_params_id < 0)
		return worker_params_id;
	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = mi_zalloc_aligned(sizeof(*w), 64);

		if (!w)
			return -ENOMEM;
		workers[i] = w;
		w->id = i;
		w->n = n;
		w->cpu = conf->pin ? (int)i : -1;
		w->tp = conf->tp;
		w->nlisten = conf->nlisten;
		for (int j = 0; j < conf->nlisten; j++)
			w->listen_fd[j] =
			    conf->listen_fds[i * conf->nlisten + j];
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0)
			return -errno;
		w->rng =
		    0x9E3779B97F4A7C15ull * (i + 1) ^ (uint64_t)clock_unix_us();
		w->held_by = -1;
		w->hold_wait = -1;
		w->tw = timer_wheel_new((uint64_t)clock_mono_us());
		if (!w->tw)
			return -ENOMEM;
		CDS_INIT_LIST_HEAD(&w->clients);
		resp_limits_default(&w->lim);
		w->st.cmd = calloc(cmd_count(), sizeof(struct cmdstat));
		if (!w->st.cmd)
			return -ENOMEM;
	}
	nworkers = n;
	return xcore_setup(workers, n, &conn_xcore);
}

/* The CPUs the process was given (taskset), captured before the main
 * thread narrowed its own set (worker_isolate_helpers). */
static cpu_set_t worker_cpus;
static bool worker_cpus_set;

int worker_isolate_helpers(unsigned n)
{
	cpu_set_t rest;
	unsigned seen = 0;

	if (sched_getaffinity(0, sizeof(worker_cpus), &worker_cpus) != 0)
		return 0;
	worker_cpus_set = true;
	if ((unsigned)CPU_COUNT(&worker_cpus) <= n)
		return 0;
	CPU_ZERO(&rest);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &worker_cpus) && seen++ >= n)
			CPU_SET(cpu, &rest);
	if (sched_setaffinity(0, sizeof(rest), &rest) != 0)
		return 0;
	return CPU_COUNT(&rest);
}

/* The i-th CPU this process may run on, so `taskset` is respected. */
static int worker_cpu_for(unsigned i)
{
	cpu_set_t set;
	unsigned seen = 0;

	if (worker_cpus_set)
		set = worker_cpus;
	else if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	unsigned total = (unsigned)CPU_COUNT(&set);
	if (total == 0)
		return -1;
	i %= total;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (seen++ == i)
			return cpu;
	}
	return -1;
}

/*
 * A burst leaves freed pages in this thread's mimalloc heap (cross-core
 * messages and reply buffers of a deep pipeline); once the worker has
 * served nothing for a cron period, hand them back to the kernel.  Idle
 * only: the walk over the heap is not free.
 */
static void worker_trim(struct worker *w)
{
	uint64_t seen = w->st.total_commands + w->st.xcore_msgs_sent;

	if (seen != w->trim_seen) {
		w->trim_seen = seen;
		w->trimmed = false;
	} else if (!w->trimmed) {
		mi_collect(false);
		w->trimmed = true;
	}
}

static void worker_cron(struct worker *w)
{
	long long hz = worker_params()->hz;

	conn_cron(w);
	worker_trim(w);
	w->next_cron_ms = w->now_ms + 1000 / hz;
}

/*
 * When a worker sleeps.  A kernel-transport worker with nothing to do
 * blocks in its transport's wait, and whoever brings it work pays for the
 * wake-up: a client's send, or another core's eventfd write (xcore_flush),
 * tens of microseconds of latency on a VM and several of CPU on each side.
 * So after work that more work usually follows it polls a while first,
 * with sched_yield between looks, and sleeps once the window has passed:
 *
 *  1. kernel-poll-us after a turn with transport events (I/O, and also a
 *     wake-up by another core: an owner woken for a batch of commands
 *     polls that long for the next batch), so that a busy client's next
 *     send finds it awake (cachalot.conf says why).
 *  2. WORKER_HOLD_POLL_US after each hold message (a request, a grant, a
 *     release): its loop keeps serving I/O meanwhile, and the next message
 *     (a grant due within microseconds from a busy peer) finds it awake.
 *     A sleeping peer needs none to be held (xcore_park).
 *
 * Past its window a worker sleeps and is woken by the next message or
 * I/O, so a peer that has no CPU right now (kernel mode on a busy host)
 * gets ours.  A sleeper is woken once per sleep however many peers publish
 * to it before it runs (worker_wake_sleeper).
 *
 * sched_yield defers only to threads of the worker's own scheduling group.
 * Against a busy thread in another cgroup or autogroup (another session)
 * on the same CPU, a polling worker takes its fair share of the CPU: a
 * thread that works 40 us per message echoed through a pipe answered in
 * 131 us beside a sched_yield loop of its own session, in 248 us beside
 * one started with setsid.  That is why the owner does not also poll
 * after every command another core sends it (a window that restarts with
 * each batch), nor leaves the time it yields out of its window: both were
 * tried with remote SETs on two CPUs, the generator sharing the owner's
 * CPU (bench/remote_bench.py).  With server and generator in one session
 * they cut the server CPU per remote SET at pipeline 16 by about 10% (the
 * owner stayed awake through the generator's turn instead of being woken
 * for 40% of the batches); with the server in its own session, as the
 * bench starts it, pipeline 16 did not change beyond the noise and
 * pipeline 1 cost 10% more, the owner's polling holding the generator off
 * its CPU.
 */
#define WORKER_HOLD_POLL_US 50
#define WORKER_POLL (-2) /* worker_timeout: poll, nothing pending */

/* Whether a poll window opened at *since (0: none) and budget us long is
 * still open; closes it once it is not. */
static bool worker_poll_window(const struct worker *w, int64_t *since,
			       long long budget)
{
	if (!*since)
		return false;
	if (budget > 0 && w->turn_us - *since < budget)
		return true;
	*since = 0;
	return false;
}

/* Bytes this worker owes the eviction round (worker_evict). */
static uint64_t evict_owed(const struct worker *w)
{
	return __atomic_load_n(&w->evict_owed, __ATOMIC_ACQUIRE);
}

/* How long the worker may sleep: until its next timer, never past the
 * earliest key expiry it owns. */
static int worker_timeout(struct worker *w)
{
	int64_t until = w->next_cron_ms;
	/* A lent shard's expiry heap is the holder's to change right now;
	 * its RELEASE wakes us, and the next turn looks again. */
	int64_t next_exp =
	    xcore_lent(w) ? STORE_NO_EXPIRE : store_next_expire(w->id);

	if (w->paused || ((w->evicting || evict_owed(w)) && !xcore_lent(w)) ||
	    xcore_busy(w) || ctlq_worker_pending(w->id))
		return 0;
	/* kernel-poll-us: after I/O too, so that a busy client's next send
	 * finds the worker awake (cachalot.conf says why). */
	if (worker_poll_window(w, &w->hold_event_us, WORKER_HOLD_POLL_US) ||
	    worker_poll_window(w, &w->io_event_us,
			       worker_params()->kernel_poll_us))
		return WORKER_POLL;
	if (next_exp != STORE_NO_EXPIRE && next_exp < until)
		until = next_exp;
	until -= w->now_ms;
	if (caa_unlikely(w->st.blocked_clients)) { /* a deadline first? */
		uint64_t t = timer_next(w->tw), now = (uint64_t)w->turn_us;
		int64_t ms = t > now ? (int64_t)((t - now + 999) / 1000) : 0;

		if (t != UINT64_MAX && ms < until)
			until = ms;
	}
	if (until <= 0)
		return 0;
	return until > WORKER_MAX_SLEEP_MS ? WORKER_MAX_SLEEP_MS : (int)until;
}

/* Wait for events as worker_timeout says; returns how many came. */
static int worker_wait(struct worker *w)
{
	int timeout = worker_timeout(w);
	int events;
	bool parked;

	if (timeout == WORKER_POLL) {
		/* Nothing to do but look again: whatever else wants this CPU
		 * (a client on a small machine) runs first. */
		sched_yield();
		timeout = 0;
	}
	if (timeout == 0 || w->tp->polls) {
		return w->tp->wait(w, timeout);
	}
	/* Going to sleep: announce it, then look at the rings once more so a
	 * message published just before cannot be missed (see xcore_flush). */
	rcu_thread_offline();
	__atomic_store_n(&w->sleeping, WORKER_ASLEEP, __ATOMIC_RELAXED);
	parked = xcore_park(w); /* others take my shard without waking me */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (xcore_busy(w) || evict_owed(w))
		timeout = 0;
	events = w->tp->wait(w, timeout);
	__atomic_store_n(&w->sleeping, WORKER_AWAKE, __ATOMIC_RELAXED);
	if (parked)
		xcore_unpark(w);
	rcu_thread_online();
	return events;
}

static void worker_expire(struct worker *w)
{
	int64_t next = store_next_expire(w->id);

	if (next == STORE_NO_EXPIRE || next > w->now_ms)
		return;
	store_active_expire(w->id, w->now_ms, WORKER_EXPIRE_BATCH);
}

/*
 * maxmemory.  Every worker, each turn, sums the shards' bytes (one word
 * each) and what the connections hold.  When that passes maxmemory, the
 * first to see it opens an eviction round: each shard owes its share of
 * the excess (its share of the store's bytes), and no new round opens
 * until every shard has paid.  Each owner pays from its own shard, within
 * a time budget so that a large excess (CONFIG SET maxmemory halved) goes
 * over several turns while requests keep being served.  The round keeps
 * the shards' choices one global choice: a core that turns more often than
 * another would otherwise give back its share of an excess the other has
 * not paid yet, again and again, and evict keys the others keep (with
 * volatile-ttl, keys far from their expiry while nearer ones stay).
 * Writes are refused (OOM) only when nothing can be evicted: the policy is
 * noeviction, or a volatile policy finds no key with a TTL.
 */
enum { MEM_OK, MEM_EVICTING, MEM_OOM };
static int mem_state;
static unsigned evict_open; /* atomic: shards that still owe this round */

bool worker_mem_oom(void)
{
	return __atomic_load_n(&mem_state, __ATOMIC_RELAXED) == MEM_OOM;
}

static void mem_state_set(int s)
{
	if (__atomic_load_n(&mem_state, __ATOMIC_RELAXED) != s)
		__atomic_store_n(&mem_state, s, __ATOMIC_RELAXED);
}

/* This shard has paid (or cannot pay) its part of the round. */
static void evict_settle(struct worker *w)
{
	if (!evict_owed(w))
		return;
	__atomic_store_n(&w->evict_owed, 0, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&evict_open, 1, __ATOMIC_RELEASE);
}

/* Open a round for an excess of `excess` bytes over a store of `store`,
 * unless one is open. */
static void evict_round_open(uint64_t excess, uint64_t store)
{
	uint64_t owe[STORE_MAX_SHARDS];
	unsigned k = 0, zero = 0;

	for (unsigned i = 0; i < nworkers; i++) {
		uint64_t mine = store_shard_used(i);

		owe[i] =
		    mine
			? (uint64_t)((unsigned __int128)excess * mine / store) +
			      1
			: 0;
		k += owe[i] != 0;
	}
	if (!k ||
	    !__atomic_compare_exchange_n(&evict_open, &zero, k, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	for (unsigned i = 0; i < nworkers; i++)
		if (owe[i])
			__atomic_store_n(&workers[i]->evict_owed, owe[i],
					 __ATOMIC_RELEASE);
	/* Pairs with the fence of the sleep path (worker_wait). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nworkers; i++)
		if (owe[i] && workers[i] != worker_self)
			worker_wake_sleeper(workers[i]);
}

static void worker_evict(struct worker *w, int64_t turn_start_us)
{
	const struct worker_params *wp = worker_params();
	uint64_t limit = wp->maxmemory, used, store, need, took;
	int64_t start, budget, deadline;
	int n = 0;

	w->evicting = false;
	if (!limit) {
		evict_settle(w);
		mem_state_set(MEM_OK);
		return;
	}
	store = store_used();
	used = store + conn_mem_bytes();
	if (used <= limit) {
		evict_settle(w);
		mem_state_set(MEM_OK);
		return;
	}
	if (wp->noeviction || !store) { /* !store: all of it is clients' */
		evict_settle(w);
		mem_state_set(MEM_OOM);
		return;
	}
	if (!__atomic_load_n(&evict_open, __ATOMIC_ACQUIRE))
		evict_round_open(used - limit, store);
	need = evict_owed(w);
	if (!need) /* paid: the other shards give back the rest */
		return;
	start = clock_mono_us();
	budget = WORKER_EVICT_BUDGET_US + 2 * (start - turn_start_us);
	deadline = start + (budget < WORKER_EVICT_MAX_US ? budget
							 : WORKER_EVICT_MAX_US);
	while (need) {
		uint64_t freed;

		n = store_evict(w->id, need, WORKER_EVICT_CHUNK, w->now_ms,
				&freed);
		if (n <= 0)
			break;
		need -= freed < need ? freed : need;
		if (need && clock_mono_us() >= deadline) {
			w->evicting = true;
			break;
		}
	}
	if (need && n > 0)
		__atomic_store_n(&w->evict_owed, need, __ATOMIC_RELAXED);
	else
		evict_settle(w);
	mem_state_set(n < 0 ? MEM_OOM : MEM_EVICTING);
	took = (uint64_t)(clock_mono_us() - start);
	if (took > w->st.max_evict_us)
		__atomic_store_n(&w->st.max_evict_us, took, __ATOMIC_RELAXED);
}

/* The longest busy stretch of the loop (a turn, waits excluded). */
static void worker_note_gap(struct worker *w, int64_t t0)
{
	uint64_t gap = (uint64_t)(clock_mono_us() - t0);

	if (gap > w->st.max_loop_gap_us)
		w->st.max_loop_gap_us = gap;
}

static void worker_loop(struct worker *w)
{
	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		int64_t t0;
		int events;

		rcu_quiescent_state();
		events = worker_wait(w);
		t0 = clock_mono_us();
		w->turn_us = t0;
		if (events > 0 && !w->tp->polls)
			w->io_event_us = t0;
		w->now_ms = clock_unix_ms();
		w->st.loop_turns++;
		if (__builtin_expect(
			__atomic_load_n(&w->relisten, __ATOMIC_RELAXED) != NULL,
			0))
			worker_take_listeners(w);
		ctlq_worker_poll(w->id);
		timer_run(w->tw, (uint64_t)t0);
		w->tp->dispatch(w);
		xcore_poll(w);
		conn_resume_paused(w);
		w->tp->flush(w);
		xcore_flush(w);
		if (!xcore_lent(w)) { /* expiry and eviction write the shard */
			worker_expire(w);
			worker_evict(w, t0);
		}
		if (w->now_ms >= w->next_cron_ms)
			worker_cron(w);
		store_retire_flush();
		worker_note_gap(w, t0);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	rcu_register_thread();
	worker_self = w;
	if (w->cpu >= 0) {
		int cpu = worker_cpu_for((unsigned)w->cpu);
		cpu_set_t set;

		if (cpu >= 0) {
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			pthread_setaffinity_np(pthread_self(), sizeof(set),
					       &set);
			w->cpu = cpu;
		}
	}
	w->now_ms = clock_unix_ms();
	w->next_cron_ms = w->now_ms;
	rc = store_reclaim_local(true);
	if (rc == 0)
		rc = w->tp->attach(w);
	pthread_mutex_lock(&start_lock);
	w->start_rc = rc;
	w->started = true;
	started++;
	pthread_cond_broadcast(&start_cond);
	pthread_mutex_unlock(&start_lock);
	if (rc == 0) {
		worker_loop(w);
		conn_close_all(w);
		w->tp->flush(w);
		/* Other cores may still wait for this one (a grant, a reply):
		 * serve them until all have stopped, before waiting for grace
		 * periods that need their quiescent states. */
		xcore_quiesce(w);
		w->tp->detach(w);
	} else {
		xcore_quiesce(w); /* the others count on every worker */
	}
	store_reclaim_local(false);
	rcu_unregister_thread();
	return NULL;
}

int worker_start(void)
{
	int rc = 0;

	for (unsigned i = 0; i < nworkers; i++) {
		rc = pthread_create(&workers[i]->thread, NULL, worker_main,
				    workers[i]);
		if (rc)
			return -rc;
	}
	pthread_mutex_lock(&start_lock);
	while (started < nworkers)
		pthread_cond_wait(&start_cond, &start_lock);
	pthread_mutex_unlock(&start_lock);
	for (unsigned i = 0; i < nworkers; i++)
		if (workers[i]->start_rc)
			rc = workers[i]->start_rc;
	return rc;
}

void worker_stop_begin(void)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nworkers; i++)
		worker_wake(workers[i]);
}

static unsigned joined;

bool worker_join(int timeout_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (joined < nworkers) {
		if (pthread_timedjoin_np(workers[joined]->thread, NULL,
					 &until) != 0)
			return false;
		joined++;
	}
	return true;
}

void worker_stop(void)
{
	worker_stop_begin();
	while (!worker_join(1000))
		;
}

void worker_teardown(void)
{
	xcore_teardown();
	for (unsigned i = 0; i < nworkers; i++) {
		conn_slots_teardown(workers[i]);
		timer_wheel_free(workers[i]->tw);
		close(workers[i]->wake_fd);
		free(workers[i]->st.cmd);
		mi_free(workers[i]);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
	joined = 0;
}
