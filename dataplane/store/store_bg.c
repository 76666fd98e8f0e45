/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_bg: the store's background thread, for the two jobs that may take
 * milliseconds and so must never run on a worker:
 *
 *  - resizing a shard table.  The tables do not resize themselves (see
 *    STORE_HT_FLAGS); their owner, which knows its exact key count, asks
 *    for twice or half the buckets and this thread runs cds_lfht_resize(),
 *    concurrently with the owner's updates and everyone's lookups.  It is
 *    the only thread that ever resizes a table, so it never waits for the
 *    resize mutex, and it calls cds_lfht_resize() online: the bucket
 *    population walks the lists under that protection, and a shrink's
 *    synchronize_rcu() takes the caller offline by itself.
 *
 *  - reclaiming flushed tables.  After a grace period no reader can be
 *    inside an old table; the thread empties each table
 *    (cds_lfht_destroy() refuses a non-empty one), freeing the objects as
 *    it goes, and destroys it.  With CDS_LFHT_AUTO_RESIZE,
 *    cds_lfht_destroy() of liburcu 0.13 waits for the resize worker, which
 *    waits for grace periods, so it must run offline: a call_rcu callback
 *    runs online and would deadlock.  This thread goes offline around it
 *    (harmless without the flag, needed if it ever comes back).
 *
 * Resizes go first: they are short, and a table left small while keys
 * pour in (FLUSHALL then a bulk load) degrades every operation on it, so
 * the thread also serves pending resizes between batches of a long
 * reclaim.  A resize works on the table published at that moment, and only
 * this thread destroys tables, so a table is never resized while or after
 * it is destroyed.  The thread is started at setup, so no job ever has to
 * create one.
 */
#include "store_pvt.h"

#include <errno.h>
#include <stdlib.h>

/* Objects deleted between two quiescent states while emptying a table. */
#define RECLAIM_BATCH 1024

/* A resize request or a batch of flushed tables. */
struct bg_job {
	struct bg_job *next;
	struct shard_db *sd; /* resize: whose table */
	unsigned n;	     /* reclaim: tables in tab[] */
	struct store_table *tab[];
};

struct bg_queue {
	struct bg_job *head;
	struct bg_job **tail;
};

struct store_bg {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t work; /* jobs queued or stop asked */
	pthread_cond_t done; /* jobs finished */
	struct bg_queue resize;
	struct bg_queue reclaim;
	uint64_t queued;
	uint64_t finished;
	bool stop;
};

static void q_init(struct bg_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

static void q_push(struct bg_queue *q, struct bg_job *job)
{
	job->next = NULL;
	*q->tail = job;
	q->tail = &job->next;
}

/* Take the whole queue (take_all) or its first job.  Caller holds lock. */
static struct bg_job *q_take(struct bg_queue *q, bool take_all)
{
	struct bg_job *job = q->head;

	if (!job)
		return NULL;
	if (take_all || !job->next) {
		q_init(q);
	} else {
		q->head = job->next;
		job->next = NULL;
	}
	return job;
}

static void bg_finished(struct store_bg *bg, uint64_t n)
{
	pthread_mutex_lock(&bg->lock);
	bg->finished += n;
	pthread_cond_broadcast(&bg->done);
	pthread_mutex_unlock(&bg->lock);
}

/*
 * Resize sd's current table to the size its owner wants now (not when it
 * asked: requests are coalesced, see table_resize()).  Context: the bg
 * thread, online.
 */
static void bg_do_resize(struct shard_db *sd)
{
	struct store_table *t;
	unsigned long size;

	__atomic_store_n(&sd->resize_pending, 0, __ATOMIC_SEQ_CST);
	size = __atomic_load_n(&sd->ht_size, __ATOMIC_SEQ_CST);
	t = rcu_dereference(sd->tab);
	if (t) /* else flushed: the next table starts at its initial size */
		cds_lfht_resize(t->ht, size);
}

/* Run every pending resize.  Context: the bg thread, online. */
static void bg_serve_resizes(struct store_bg *bg)
{
	struct bg_job *job, *next;
	uint64_t n = 0;

	pthread_mutex_lock(&bg->lock);
	job = q_take(&bg->resize, true);
	pthread_mutex_unlock(&bg->lock);
	for (; job; job = next, n++) {
		next = job->next;
		bg_do_resize(job->sd);
		free(job);
	}
	if (n)
		bg_finished(bg, n);
}

/*
 * Empty and destroy a table nobody can reach any more (a grace period has
 * passed since it was unpublished), freeing each object right after
 * unlinking it: no other thread can hold it, and the walk has already
 * stepped past it.  The deletes run in batches with quiescent states
 * between them, so a huge table does not hold up every other grace period,
 * and pending resizes are served between batches when bg is given.
 * Context: RCU-online thread; goes offline during cds_lfht_destroy().
 */
void reclaim_table(struct store_table *t, struct store_bg *bg)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	unsigned n = 0;

	cds_lfht_first(t->ht, &iter);
	while ((node = cds_lfht_iter_get_node(&iter)) != NULL) {
		cds_lfht_next(t->ht, &iter);
		cds_lfht_del(t->ht, node);
		if (!store_is_anchor(t, node))
			sobj_destroy(sobj_of_node(node));
		if (++n % RECLAIM_BATCH == 0) {
			rcu_quiescent_state();
			if (bg)
				bg_serve_resizes(bg);
		}
	}
	rcu_thread_offline();
	cds_lfht_destroy(t->ht, NULL);
	rcu_thread_online();
	mi_free(t);
}

static void bg_do_reclaim(struct store_bg *bg, struct bg_job *job)
{
	unsigned i;

	synchronize_rcu();
	for (i = 0; i < job->n; i++)
		reclaim_table(job->tab[i], bg);
	free(job);
	bg_finished(bg, 1);
}

static void *bg_main(void *arg)
{
	struct store_bg *bg = arg;
	struct bg_job *job;

	rcu_register_thread();
	rcu_thread_offline();
	pthread_mutex_lock(&bg->lock);
	for (;;) {
		while (!bg->resize.head && !bg->reclaim.head && !bg->stop)
			pthread_cond_wait(&bg->work, &bg->lock);
		if (bg->resize.head) {
			pthread_mutex_unlock(&bg->lock);
			rcu_thread_online();
			bg_serve_resizes(bg);
		} else if ((job = q_take(&bg->reclaim, false))) {
			pthread_mutex_unlock(&bg->lock);
			rcu_thread_online();
			bg_do_reclaim(bg, job);
		} else {
			break; /* stop asked and nothing left */
		}
		rcu_thread_offline();
		pthread_mutex_lock(&bg->lock);
	}
	pthread_mutex_unlock(&bg->lock);
	rcu_unregister_thread();
	return NULL;
}

int bg_start(void)
{
	struct store_bg *bg = calloc(1, sizeof(*bg));
	int ret;

	if (!bg)
		return -ENOMEM;
	pthread_mutex_init(&bg->lock, NULL);
	pthread_cond_init(&bg->work, NULL);
	pthread_cond_init(&bg->done, NULL);
	q_init(&bg->resize);
	q_init(&bg->reclaim);
	ret = pthread_create(&bg->tid, NULL, bg_main, bg);
	if (ret) {
		free(bg);
		return -ret;
	}
	pthread_setname_np(bg->tid, "store-bg");
	store_st.bg = bg;
	return 0;
}

/* Context: online caller; offline while the thread drains its queues. */
void bg_stop(void)
{
	struct store_bg *bg = store_st.bg;

	if (!bg)
		return;
	pthread_mutex_lock(&bg->lock);
	bg->stop = true;
	pthread_cond_signal(&bg->work);
	pthread_mutex_unlock(&bg->lock);
	rcu_thread_offline();
	pthread_join(bg->tid, NULL);
	rcu_thread_online();
	pthread_cond_destroy(&bg->work);
	pthread_cond_destroy(&bg->done);
	pthread_mutex_destroy(&bg->lock);
	free(bg);
	store_st.bg = NULL;
}

static void bg_queue(struct bg_queue *q, struct bg_job *job)
{
	struct store_bg *bg = store_st.bg;

	pthread_mutex_lock(&bg->lock);
	q_push(q, job);
	bg->queued++;
	pthread_cond_signal(&bg->work);
	pthread_mutex_unlock(&bg->lock);
}

static struct bg_job *bg_job_new(unsigned n)
{
	struct bg_job *job = malloc(sizeof(*job) + n * sizeof(job->tab[0]));

	if (job) {
		job->next = NULL;
		job->sd = NULL;
		job->n = 0;
	}
	return job;
}

struct bg_job *bg_reclaim_new(unsigned max_tables)
{
	return bg_job_new(max_tables);
}

void bg_reclaim_add(struct bg_job *job, struct store_table *t)
{
	job->tab[job->n++] = t;
}

void bg_reclaim_queue(struct bg_job *job)
{
	if (job->n)
		bg_queue(&store_st.bg->reclaim, job);
	else
		free(job);
}

bool bg_resize(struct shard_db *sd)
{
	struct bg_job *job = bg_job_new(0);

	if (!job)
		return false;
	job->sd = sd;
	bg_queue(&store_st.bg->resize, job);
	return true;
}

void store_bg_wait(void)
{
	struct store_bg *bg = store_st.bg;
	bool online = rcu_read_ongoing();
	uint64_t target;

	if (!bg)
		return;
	if (online)
		rcu_thread_offline();
	pthread_mutex_lock(&bg->lock);
	target = bg->queued;
	while (bg->finished < target)
		pthread_cond_wait(&bg->done, &bg->lock);
	pthread_mutex_unlock(&bg->lock);
	if (online)
		rcu_thread_online();
}
