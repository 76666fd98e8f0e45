/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dataplane/store/store_evict.c and the sampling cursor:
 * what each maxmemory-policy evicts, byte and key budgets, the counters,
 * the keyspace-event hook, and that the cursor sweeps every key.
 *
 * The test thread is the owner of every shard (nothing else writes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_pvt.h"

#define T0 1700000000000LL /* a fixed "now", unix ms */
#define NKEYS 2000

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 1, .ndbs = 4};

	(void)state;
	store_evict_conf(STORE_EVICT_NONE, 5);
	store_set_lfu(false, 10, 1);
	return store_setup(&conf);
}

static int teardown(void **state)
{
	(void)state;
	store_door_setup(NULL);
	store_teardown();
	return 0;
}

static struct sobj *put_at(unsigned db, unsigned i, const char *prefix,
			   int64_t expire, int64_t stamp_ms)
{
	char key[32];
	struct skey k;
	struct sobj *o;
	int n = snprintf(key, sizeof(key), "%s:%u", prefix, i);

	skey_init(&k, key, (size_t)n);
	o = sobj_new_string(&k, "value", 5, expire != STORE_NO_EXPIRE);
	assert_non_null(o);
	store_stamp(o, stamp_ms);
	o = store_put(db, o, expire);
	assert_non_null(o);
	return o;
}

static bool present(unsigned db, const char *prefix, unsigned i)
{
	char key[32];
	struct skey k;
	int n = snprintf(key, sizeof(key), "%s:%u", prefix, i);

	skey_init(&k, key, (size_t)n);
	return store_find(db, &k, T0) != NULL;
}

static unsigned count(unsigned db, const char *prefix, unsigned n)
{
	unsigned c = 0;

	for (unsigned i = 0; i < n; i++)
		c += present(db, prefix, i);
	return c;
}

static uint64_t evicted(void)
{
	struct store_stats st;

	store_shard_stats(0, &st);
	return st.evicted_keys;
}

static void test_none_and_budgets(void **state)
{
	uint64_t freed = 1, before;

	(void)state;
	for (unsigned i = 0; i < NKEYS; i++)
		put_at(0, i, "k", STORE_NO_EXPIRE, T0);
	assert_int_equal(store_evict(0, 1 << 20, 100, T0, &freed), -1);
	assert_int_equal(freed, 0);

	store_evict_conf(STORE_EVICT_ALLKEYS_RANDOM, 5);
	/* the key budget stops it */
	assert_int_equal(store_evict(0, UINT64_MAX, 10, T0, &freed), 10);
	assert_int_equal(store_dbsize(0), NKEYS - 10);
	assert_int_equal(evicted(), 10);
	/* the byte budget stops it: freed is what the accounting lost */
	before = store_shard_used(0);
	assert_true(store_evict(0, 1000, 1000, T0, &freed) > 0);
	assert_true(freed >= 1000 && freed < 1200);
	assert_int_equal(before - store_shard_used(0), freed);
	/* nothing asked, nothing done, and that is not a failure */
	assert_int_equal(store_evict(0, 0, 10, T0, NULL), 0);
}

/* Old keys go first: 2000 idle for 100 s, 2000 fresh, evict 1000. */
static void test_allkeys_lru(void **state)
{
	(void)state;
	store_evict_conf(STORE_EVICT_ALLKEYS_LRU, 5);
	for (unsigned i = 0; i < NKEYS; i++) {
		put_at(0, i, "old", STORE_NO_EXPIRE, T0 - 100000);
		put_at(1, i, "new", STORE_NO_EXPIRE, T0);
	}
	assert_int_equal(store_evict(0, UINT64_MAX, 1000, T0, NULL), 1000);
	/* the pool keeps the oldest seen: nearly none of the fresh go */
	assert_true(count(1, "new", NKEYS) >= NKEYS - 20);
	assert_true(count(0, "old", NKEYS) <= NKEYS - 980);
	assert_int_equal(evicted(), 1000);
}

static void test_allkeys_lfu(void **state)
{
	(void)state;
	store_set_lfu(true, 10, 1);
	store_evict_conf(STORE_EVICT_ALLKEYS_LFU, 5);
	for (unsigned i = 0; i < NKEYS; i++) {
		struct sobj *o = put_at(0, i, "hot", STORE_NO_EXPIRE, T0);

		for (int j = 0; j < 200; j++)
			store_touch(o, T0);
		put_at(0, i, "cold", STORE_NO_EXPIRE, T0);
	}
	assert_int_equal(store_evict(0, UINT64_MAX, 1500, T0, NULL), 1500);
	assert_true(count(0, "hot", NKEYS) >= NKEYS - 20);
}

/* volatile-*: keys without a TTL are never candidates. */
static void test_volatile_only_ttl(void **state)
{
	static const enum store_policy pol[] = {
	    STORE_EVICT_VOLATILE_LRU, STORE_EVICT_VOLATILE_LFU,
	    STORE_EVICT_VOLATILE_RANDOM, STORE_EVICT_VOLATILE_TTL};

	(void)state;
	for (unsigned i = 0; i < NKEYS; i++)
		put_at(0, i, "keep", STORE_NO_EXPIRE, T0);
	for (unsigned p = 0; p < 4; p++) {
		store_evict_conf(pol[p], 5);
		assert_int_equal(store_evict(0, UINT64_MAX, 10, T0, NULL), -1);
	}
	for (unsigned i = 0; i < 400; i++)
		put_at(2, i, "ttl", T0 + 100000 + i, T0);
	for (unsigned p = 0; p < 4; p++) {
		store_evict_conf(pol[p], 5);
		assert_int_equal(store_evict(0, UINT64_MAX, 100, T0, NULL),
				 100);
	}
	assert_int_equal(count(2, "ttl", 400), 0);
	assert_int_equal(count(0, "keep", NKEYS), NKEYS);
	assert_int_equal(store_evict(0, UINT64_MAX, 10, T0, NULL), -1);
}

/* volatile-ttl is exact: the nearest expiries, in order, over all dbs. */
static void test_volatile_ttl_order(void **state)
{
	(void)state;
	store_evict_conf(STORE_EVICT_VOLATILE_TTL, 5);
	for (unsigned i = 0; i < 1000; i++)
		put_at(i % 3, i, "t", T0 + 1000000 - 1000 * (int64_t)i, T0);
	assert_int_equal(store_evict(0, UINT64_MAX, 300, T0, NULL), 300);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(present(i % 3, "t", i), i < 700);
}

struct seen {
	unsigned expired, evicted;
};
static struct seen seen;

/* Expired and evicted keys raise their events through the change door,
 * with the object still readable. */
static void hook(void *arg, const struct store_change *ch, unsigned db,
		 const char *name, const char *key, uint32_t klen)
{
	(void)arg;
	(void)key;
	assert_int_equal(db, 0);
	if (ch->kind == STORE_CHG_PUT)
		return;
	assert_true(sobj_klen(ch->old) == klen && klen > 0);
	if (strcmp(name, "expired") == 0) {
		assert_int_equal(ch->kind, STORE_CHG_EXPIRED);
		seen.expired++;
	} else {
		assert_string_equal(name, "evicted");
		assert_int_equal(ch->kind, STORE_CHG_EVICTED);
		seen.evicted++;
	}
}

static void test_notify_hook(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	store_door_setup(&(struct store_door_hooks){.event = hook});
	for (unsigned i = 0; i < 100; i++)
		put_at(0, i, "e", T0 + 10, T0);
	for (unsigned i = 0; i < 100; i++)
		put_at(0, i, "k", STORE_NO_EXPIRE, T0);
	assert_int_equal(store_active_expire(0, T0 + 20, 1000), 100);
	assert_int_equal(seen.expired, 100);
	store_evict_conf(STORE_EVICT_ALLKEYS_RANDOM, 5);
	assert_int_equal(store_evict(0, UINT64_MAX, 30, T0 + 20, NULL), 30);
	assert_int_equal(seen.evicted, 30);
}

/*
 * The cursor visits every key once per sweep, even as keys go: resuming
 * by lookup (a new generation per call) or on its iterator (same
 * generation, keys deleted under it).
 */
static void cursor_sweep(unsigned gen_every);

static void test_cursor_sweeps_all(void **state)
{
	(void)state;
	cursor_sweep(1);
}

static void test_cursor_sweeps_all_same_gen(void **state)
{
	(void)state;
	cursor_sweep(5);
}

static void cursor_sweep(unsigned gen_every)
{
	static uint8_t hits[NKEYS];
	struct walk_cursor cur = {.pos = 12345, .hint = NULL};
	uint64_t gen = 0;
	struct store_table *t;
	struct sobj *out[7];
	unsigned total = 0, calls = 0;

	for (unsigned i = 0; i < NKEYS; i++)
		put_at(0, i, "s", STORE_NO_EXPIRE, T0);
	t = store_st.shard[0].db[0].tab;
	memset(hits, 0, sizeof(hits));
	while (total < NKEYS) {
		unsigned n = walk_cursor_sample(
		    t, &cur, 1, gen += (calls++ % gen_every == 0), 7, out, T0);

		assert_int_equal(n, 7);
		for (unsigned i = 0; i < n && total < NKEYS; i++, total++) {
			char buf[16] = {0};

			memcpy(buf, sobj_key(out[i]) + 2,
			       sobj_klen(out[i]) - 2);
			hits[atoi(buf)]++;
		}
		/* the node the cursor rests on goes away: it must resume */
		if (cur.hint && total % 3 == 0) {
			struct sobj *o = sobj_of_node(cur.hint);

			if (!store_is_anchor(t, cur.hint)) {
				unsigned idx;
				char buf[16] = {0};

				memcpy(buf, sobj_key(o) + 2, sobj_klen(o) - 2);
				idx = (unsigned)atoi(buf);
				store_delete_obj(0, o);
				hits[idx]++; /* counts as seen */
				total++;
			}
		}
		if (calls % gen_every == 0)
			rcu_quiescent_state();
	}
	for (unsigned i = 0; i < NKEYS; i++)
		assert_int_equal(hits[i], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_none_and_budgets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_allkeys_lru, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_allkeys_lfu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_volatile_only_ttl, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_volatile_ttl_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_hook, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor_sweeps_all, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cursor_sweeps_all_same_gen,
					    setup, teardown),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_barrier();
	rcu_unregister_thread();
	return ret;
}
