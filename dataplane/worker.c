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

#include "cfg.h"
#include "cmd/cmd.h"
#include "conn.h"
#include "log.h"
#include "transport.h"
#include "worker_pvt.h"
#include "xcore.h"

/* Keys deleted per turn by active expiry: small enough to keep a turn
 * short, large enough that a million expiring keys go within seconds. */
#define WORKER_EXPIRE_BATCH 200
#define WORKER_MAX_SLEEP_MS 100

static struct worker **workers;
static unsigned nworkers;
static int shutdown_flag;
static int stop_flag;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static unsigned started;

int64_t worker_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t worker_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

void worker_request_shutdown(void)
{
	__atomic_store_n(&shutdown_flag, 1, __ATOMIC_SEQ_CST);
}

bool worker_shutdown_requested(void)
{
	return __atomic_load_n(&shutdown_flag, __ATOMIC_SEQ_CST);
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
		w->rng = 0x9E3779B97F4A7C15ull * (i + 1) ^
			 (uint64_t)worker_clock_us();
		w->held_by = -1;
		CDS_INIT_LIST_HEAD(&w->clients);
		resp_limits_default(&w->lim);
		w->st.cmd = calloc(cmd_count(), sizeof(struct cmdstat));
		if (!w->st.cmd)
			return -ENOMEM;
	}
	nworkers = n;
	return xcore_setup(workers, n);
}

/* The i-th CPU this process may run on, so `taskset` is respected. */
static int worker_cpu_for(unsigned i)
{
	cpu_set_t set;
	unsigned seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
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

static void worker_cron(struct worker *w)
{
	const struct cfg *cfg = cfg_cur();
	long long hz = cfg->hz > 0 ? cfg->hz : 10;

	conn_cron(w);
	if (w->id == 0)
		cmd_cron(w->now_ms);
	w->next_cron_ms = w->now_ms + 1000 / hz;
}

/* How long the worker may sleep: until its next timer, never past the
 * earliest key expiry it owns. */
static int worker_timeout(struct worker *w)
{
	int64_t until = w->next_cron_ms;
	int64_t next_exp = store_next_expire(w->id);

	if (w->paused || xcore_busy(w))
		return 0;
	if (next_exp != STORE_NO_EXPIRE && next_exp < until)
		until = next_exp;
	until -= w->now_ms;
	if (until <= 0)
		return 0;
	return until > WORKER_MAX_SLEEP_MS ? WORKER_MAX_SLEEP_MS : (int)until;
}

static void worker_wait(struct worker *w)
{
	int timeout = worker_timeout(w);

	if (timeout == 0 || w->tp->polls) {
		w->tp->wait(w, timeout);
		return;
	}
	/* Going to sleep: announce it, then look at the rings once more so a
	 * message published just before cannot be missed (see xcore_flush). */
	rcu_thread_offline();
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (xcore_busy(w))
		timeout = 0;
	w->tp->wait(w, timeout);
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	rcu_thread_online();
}

static void worker_expire(struct worker *w)
{
	int64_t next = store_next_expire(w->id);

	if (next == STORE_NO_EXPIRE || next > w->now_ms)
		return;
	store_active_expire(w->id, w->now_ms, WORKER_EXPIRE_BATCH);
}

static void worker_loop(struct worker *w)
{
	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		rcu_quiescent_state();
		worker_wait(w);
		w->now_ms = worker_clock_ms();
		w->st.loop_turns++;
		w->tp->dispatch(w);
		xcore_poll(w);
		conn_resume_paused(w);
		w->tp->flush(w);
		xcore_flush(w);
		worker_expire(w);
		if (w->now_ms >= w->next_cron_ms)
			worker_cron(w);
		store_retire_flush();
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	rcu_register_thread();
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
	w->now_ms = worker_clock_ms();
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
		w->tp->detach(w);
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

void worker_stop(void)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nworkers; i++)
		worker_wake(workers[i]);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(workers[i]->thread, NULL);
}

void worker_teardown(void)
{
	xcore_teardown();
	for (unsigned i = 0; i < nworkers; i++) {
		close(workers[i]->wake_fd);
		free(workers[i]->st.cmd);
		mi_free(workers[i]);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}
