/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dataplane/store/store_slab.c: every size class, reuse,
 * frees from other threads, parked caches, purging, teardown, and the
 * store's accounting with sobj_alloc_size().
 *
 * The slab allocator is process-global: every test ends with
 * store_teardown() (which calls slab_release_all()), so each starts with
 * no slab mapped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_pvt.h"

#define SLAB 65536 /* store_slab.c's slab size */
#define KEEP 16	   /* and its resident empty slabs per cache */

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 1, .ndbs = 1};

	(void)state;
	return store_setup(&conf);
}

static int teardown(void **state)
{
	(void)state;
	store_teardown();
	return 0;
}

static struct slab_stats stats(void)
{
	struct slab_stats st;

	slab_stats(&st);
	return st;
}

/* Fill p[0..size) with a pattern of its own. */
static void fill(void *p, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed * 31 + i);
}

static bool intact(const void *p, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		if (((const unsigned char *)p)[i] !=
		    (unsigned char)(seed * 31 + i))
			return false;
	return true;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a;
	uintptr_t y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

/* Every class: objects 8-aligned, disjoint, intact; reuse after free. */
static void test_every_class(void **state)
{
	enum { N = 2000 };
	static void *p[N], *order[N];
	struct slab_stats st;
	void *q;

	(void)state;
	for (size_t size = 8; size <= SLAB_MAX; size += 8) {
		for (unsigned i = 0; i < N; i++) {
			p[i] = slab_alloc(size);
			assert_non_null(p[i]);
			assert_int_equal((uintptr_t)p[i] % 8, 0);
			fill(p[i], size, i);
		}
		memcpy(order, p, sizeof(p));
		for (unsigned i = 0; i < N; i++)
			assert_true(intact(p[i], size, i));
		qsort(p, N, sizeof(p[0]), ptr_cmp);
		for (unsigned i = 1; i < N; i++)
			assert_true((char *)p[i - 1] + size <= (char *)p[i]);
		/* no object crosses a slab; none in a chunk's first slab
		 * (the descriptors) */
		for (unsigned i = 0; i < N; i++)
			assert_true((uintptr_t)p[i] % SLAB + size <= SLAB &&
				    (uintptr_t)p[i] % (32u << 20) >= SLAB);
		for (unsigned i = 0; i < N; i++)
			slab_free(order[i]);
		/* LIFO: the next one is the last freed (current slab's) */
		q = slab_alloc(size);
		assert_ptr_equal(q, order[N - 1]);
		slab_free(q);
	}
	st = stats();
	/* one current slab per class, the rest empty (some purged) */
	assert_int_equal(st.slabs_used, SLAB_MAX / 8);
	assert_int_equal(st.caches, 1);
}

/* A freed slab is reused by another class without mapping more. */
static void test_reuse_across_classes(void **state)
{
	enum { N = 20000 };
	static void *p[N];
	uint64_t mapped;

	(void)state;
	for (unsigned i = 0; i < N; i++)
		assert_non_null(p[i] = slab_alloc(64));
	for (unsigned i = 0; i < N; i++)
		slab_free(p[i]);
	mapped = stats().mapped;
	assert_true(stats().slabs_empty >= 15);
	for (unsigned i = 0; i < N / 2; i++)
		assert_non_null(p[i] = slab_alloc(128));
	assert_int_equal(stats().mapped, mapped);
	for (unsigned i = 0; i < N / 2; i++)
		slab_free(p[i]);
}

struct freer {
	void **p;
	unsigned from, to;
	pthread_barrier_t *go;
};

static void *free_range(void *arg)
{
	struct freer *f = arg;

	if (f->go)
		pthread_barrier_wait(f->go);
	for (unsigned i = f->from; i < f->to; i++)
		slab_free(f->p[i]);
	return NULL;
}

/* Wait until the purge thread has nothing in hand. */
static void purge_wait(void)
{
	for (int i = 0; i < 5000 && stats().slabs_purging; i++)
		usleep(1000);
	assert_int_equal(stats().slabs_purging, 0);
}

/*
 * Four threads free all of one thread's objects at once; the owner takes
 * them back in slab_collect(), empties go to the purge thread beyond the
 * ones kept, and allocating again maps nothing new.
 */
static void test_cross_thread_frees(void **state)
{
	enum { N = 200000, T = 4 };
	void **p = calloc(N, sizeof(*p));
	struct freer f[T];
	pthread_t tid[T];
	pthread_barrier_t go;
	struct slab_stats st;
	uint64_t mapped, slabs;

	(void)state;
	assert_non_null(p);
	for (unsigned i = 0; i < N; i++) {
		p[i] = slab_alloc(72);
		assert_non_null(p[i]);
		fill(p[i], 72, i);
	}
	st = stats();
	slabs = st.slabs_used;
	mapped = st.mapped;
	assert_true(slabs >= N / (SLAB / 72));
	pthread_barrier_init(&go, NULL, T);
	for (unsigned t = 0; t < T; t++) {
		f[t] = (struct freer){.p = p,
				      .from = t * (N / T),
				      .to = (t + 1) * (N / T),
				      .go = &go};
		assert_int_equal(
		    pthread_create(&tid[t], NULL, free_range, &f[t]), 0);
	}
	for (unsigned t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	pthread_barrier_destroy(&go);
	/* Nothing comes back until the owner collects. */
	assert_int_equal(stats().slabs_used, slabs);
	slab_collect();
	purge_wait();
	st = stats();
	assert_int_equal(st.slabs_used, 1); /* the current slab */
	assert_int_equal(st.slabs_empty, KEEP);
	assert_int_equal(st.slabs_purged, slabs - 1 - KEEP);
	/* Purged memory reads as zeroes: it went back to the kernel. */
	{
		unsigned char vec[SLAB / 4096];
		uintptr_t s = (uintptr_t)p[0] & ~(uintptr_t)(SLAB - 1);
		unsigned resident = 0, purged = 0;

		for (unsigned i = 0; i < N; i += SLAB / 72) {
			s = (uintptr_t)p[i] & ~(uintptr_t)(SLAB - 1);
			assert_int_equal(mincore((void *)s, SLAB, vec), 0);
			if (vec[1] & 1)
				resident++;
			else
				purged++;
		}
		assert_true(purged >= (slabs - 1 - KEEP) * 9 / 10);
		(void)resident;
	}
	/* Allocating again takes kept and purged slabs: no new mapping. */
	for (unsigned i = 0; i < N; i++) {
		p[i] = slab_alloc(72);
		assert_non_null(p[i]);
		fill(p[i], 72, i);
	}
	for (unsigned i = 0; i < N; i++)
		assert_true(intact(p[i], 72, i));
	st = stats();
	assert_int_equal(st.mapped, mapped);
	assert_int_equal(st.slabs_purged, 0);
	for (unsigned i = 0; i < N; i++)
		slab_free(p[i]);
	free(p);
}

/*
 * The owner allocates and frees while other threads free its objects:
 * after everything is freed and collected, every object came back once
 * (the counts add up, nothing is handed out twice).
 */
struct churn {
	void **p;
	unsigned n;
	unsigned head; /* next index to free, shared */
	unsigned bad;  /* objects found overwritten (no asserts off main) */
};

static void *churn_freer(void *arg)
{
	struct churn *c = arg;
	unsigned i;
	void *q;

	while ((i = __atomic_fetch_add(&c->head, 1, __ATOMIC_RELAXED)) < c->n) {
		/* wait for the owner to publish p[i] */
		while (!(q = __atomic_load_n(&c->p[i], __ATOMIC_ACQUIRE)))
			sched_yield();
		if (!intact(q, 40, i))
			__atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
		slab_free(q);
	}
	return NULL;
}

static void test_concurrent_remote_and_local(void **state)
{
	enum { N = 64 * 4096, T = 3 };
	void **p = calloc(N, sizeof(*p));
	struct churn c = {.p = p, .n = N};
	pthread_t tid[T];
	void *mine[64];

	(void)state;
	assert_non_null(p);
	for (unsigned t = 0; t < T; t++)
		assert_int_equal(pthread_create(&tid[t], NULL, churn_freer, &c),
				 0);
	for (unsigned i = 0; i < N; i++) {
		void *q = slab_alloc(40);

		assert_non_null(q);
		fill(q, 40, i);
		__atomic_store_n(&p[i], q, __ATOMIC_RELEASE);
		/* some local traffic in the same class */
		mine[i % 64] = slab_alloc(40);
		assert_non_null(mine[i % 64]);
		fill(mine[i % 64], 40, 7);
		if (i % 64 == 63)
			for (unsigned j = 0; j < 64; j++) {
				assert_true(intact(mine[j], 40, 7));
				slab_free(mine[j]);
			}
		if (i % 1000 == 0)
			slab_collect();
	}
	for (unsigned t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	assert_int_equal(c.bad, 0);
	slab_collect();
	purge_wait();
	assert_int_equal(stats().slabs_used, 1);
	free(p);
}

/* A thread's cache is parked when it exits and adopted by the next. */
static void *alloc_some(void *arg)
{
	void **p = arg;

	for (unsigned i = 0; i < 1000; i++)
		if (!(p[i] = slab_alloc(72)))
			return (void *)1;
	return NULL;
}

static void *alloc_one_free(void *arg)
{
	void **p = arg;
	void *q = slab_alloc(72);

	if (!q)
		return (void *)1;
	/* adopted: this thread's frees of the old objects are local now */
	for (unsigned i = 0; i < 1000; i++)
		slab_free(p[i]);
	slab_free(q);
	return NULL;
}

static void test_thread_exit_parks_cache(void **state)
{
	static void *p[1000];
	pthread_t tid;
	void *ret;
	struct slab_stats st;

	(void)state;
	assert_non_null(slab_alloc(8)); /* this thread's cache: 1 slab */
	assert_int_equal(stats().caches, 1);
	assert_int_equal(pthread_create(&tid, NULL, alloc_some, p), 0);
	pthread_join(tid, &ret);
	assert_null(ret);
	/* 1000 objects of 72 bytes: one full slab and a current one */
	st = stats();
	assert_int_equal(st.caches, 2);
	assert_int_equal(st.slabs_used, 3);
	assert_int_equal(pthread_create(&tid, NULL, alloc_one_free, p), 0);
	pthread_join(tid, &ret);
	assert_null(ret);
	/* no new cache; the full slab emptied by local frees */
	st = stats();
	assert_int_equal(st.caches, 2);
	assert_int_equal(st.slabs_used, 2);
	assert_int_equal(st.slabs_empty, 1);
}

/* Teardown unmaps everything; the next setup starts afresh. */
static void test_release_all(void **state)
{
	struct store_conf conf = {.nshards = 1, .ndbs = 1};
	void *p;

	(void)state;
	for (unsigned i = 0; i < 10000; i++)
		assert_non_null(slab_alloc(200));
	assert_true(stats().mapped > 0);
	store_teardown();
	assert_int_equal(stats().mapped, 0);
	assert_int_equal(stats().caches, 0);
	assert_int_equal(store_setup(&conf), 0);
	p = slab_alloc(200);
	assert_non_null(p);
	fill(p, 200, 1);
	assert_int_equal(stats().caches, 1);
	slab_free(p);
}

/* sobj sizes: 8-byte classes up to SLAB_MAX, mimalloc beyond. */
static void test_sobj_alloc_size(void **state)
{
	static char big[4096];
	const size_t klens[] = {0, 1, 16, 100, 255, 256, 300};
	const size_t vlens[] = {0, 1, 7, 32, 200, 255, 256, 480, 1000};

	(void)state;
	memset(big, 'x', sizeof(big));
	for (unsigned a = 0; a < sizeof(klens) / sizeof(klens[0]); a++)
		for (unsigned b = 0; b < sizeof(vlens) / sizeof(vlens[0]); b++)
			for (int ttl = 0; ttl < 2; ttl++) {
				struct skey k;
				struct sobj *o;
				size_t n;

				skey_init(&k, big, klens[a]);
				o = sobj_new_string(&k, big, vlens[b], ttl);
				assert_non_null(o);
				n = sobj_bytes(o);
				if (n <= SLAB_MAX)
					assert_int_equal(sobj_alloc_size(o),
							 (n + 7) & ~7ul);
				else
					assert_true(sobj_alloc_size(o) >= n);
				sobj_free_unpublished(o);
			}
}

/* The store's used_bytes is exactly the sum of sobj_alloc_size(). */
static uint64_t used_bytes(void)
{
	struct store_stats st;

	store_shard_stats(0, &st);
	return st.used_bytes;
}

static void test_accounting_exact(void **state)
{
	enum { N = 3000 }; /* under 2 keys per initial bucket: no resize */
	static char val[700];
	char key[32];
	uint64_t base, sum = 0;
	struct skey k;

	(void)state;
	memset(val, 'v', sizeof(val));
	skey_init(&k, "first", 5);
	assert_non_null(
	    store_put(0, sobj_new_string(&k, "x", 1, false), STORE_NO_EXPIRE));
	base = used_bytes();
	for (unsigned i = 0; i < N; i++) {
		struct sobj *o;

		snprintf(key, sizeof(key), "key:%u", i);
		skey_init(&k, key, strlen(key));
		o = sobj_new_string(&k, val, i % 700, i % 3 == 0);
		assert_non_null(o);
		sum += sobj_alloc_size(o);
		assert_non_null(store_put(0, o, STORE_NO_EXPIRE));
	}
	assert_int_equal(used_bytes(), base + sum);
	/* replace half with other sizes */
	for (unsigned i = 0; i < N; i += 2) {
		struct sobj *o, *old;

		snprintf(key, sizeof(key), "key:%u", i);
		skey_init(&k, key, strlen(key));
		old = store_find(0, &k, 0);
		assert_non_null(old);
		sum -= sobj_alloc_size(old);
		o = sobj_new_string(&k, val, (i * 7) % 700, false);
		assert_non_null(o);
		sum += sobj_alloc_size(o);
		assert_non_null(store_put(0, o, STORE_NO_EXPIRE));
	}
	assert_int_equal(used_bytes(), base + sum);
	for (unsigned i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key:%u", i);
		skey_init(&k, key, strlen(key));
		assert_int_equal(store_delete(0, &k, 0), 1);
		if (i % 256 == 0) {
			store_retire_flush();
			rcu_quiescent_state();
		}
	}
	assert_int_equal(used_bytes(), base);
	store_retire_flush();
}

/* FLUSHALL: the background thread frees, the owner collects, RSS falls. */
static void test_flush_gives_memory_back(void **state)
{
	enum { N = 100000 };
	char key[32], val[32];
	struct slab_stats st;

	(void)state;
	memset(val, 'v', sizeof(val));
	for (unsigned i = 0; i < N; i++) {
		struct skey k;

		snprintf(key, sizeof(key), "key:%012u", i);
		skey_init(&k, key, 16);
		assert_non_null(store_put(
		    0, sobj_new_string(&k, val, 32, false), STORE_NO_EXPIRE));
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	assert_true(stats().slabs_used >= N / (SLAB / 72));
	store_flush(UINT32_MAX);
	store_bg_wait();
	slab_collect();
	purge_wait();
	st = stats();
	assert_true(st.slabs_used <= 2);
	assert_true(st.slabs_empty <= KEEP);
	assert_true(st.slabs_purged >= N / (SLAB / 72) - KEEP - 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_class, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reuse_across_classes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cross_thread_frees, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_remote_and_local,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thread_exit_parks_cache, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_release_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sobj_alloc_size, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_accounting_exact, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flush_gives_memory_back, setup,
					    teardown),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_barrier();
	rcu_unregister_thread();
	return ret;
}
