/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dataplane/store: slot hashing, objects, expiry, walks,
 * flush and concurrent readers.
 *
 * The test thread is registered with urcu-qsbr and online; long loops call
 * rcu_quiescent_state() so call_rcu and the store thread make progress, and it
 * goes offline whenever it waits for other threads.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_pvt.h"

#define T0 1700000000000LL /* a fixed "now", unix ms */

static uint64_t test_rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	test_rng ^= test_rng << 13;
	test_rng ^= test_rng >> 7;
	test_rng ^= test_rng << 17;
	return test_rng;
}

static int setup_with(unsigned nshards, unsigned ndbs)
{
	struct store_conf conf = {.nshards = nshards, .ndbs = ndbs};

	return store_setup(&conf);
}

static int setup_1x4(void **state)
{
	(void)state;
	return setup_with(1, 4);
}

static int setup_with_2x1(void **state)
{
	(void)state;
	return setup_with(2, 1);
}

static int setup_4x16(void **state)
{
	(void)state;
	return setup_with(4, 16);
}

static int teardown(void **state)
{
	(void)state;
	store_teardown();
	return 0;
}

static struct sobj *put(unsigned db, const char *key, const char *val,
			int64_t expire)
{
	struct skey k;
	struct sobj *o;

	skey_init(&k, key, strlen(key));
	o = sobj_new_string(&k, val, strlen(val), expire != STORE_NO_EXPIRE);
	assert_non_null(o);
	assert_ptr_equal(store_put(db, o, expire), o);
	return o;
}

static struct sobj *find(unsigned db, const char *key, int64_t now)
{
	struct skey k;

	skey_init(&k, key, strlen(key));
	return store_find(db, &k, now);
}

/* A key's index after its prefix; keys are not NUL-terminated. */
static unsigned key_index(const struct sobj *o, size_t prefix)
{
	char buf[32];
	size_t n =
	    sobj_klen(o) < sizeof(buf) - 1 ? sobj_klen(o) : sizeof(buf) - 1;

	memcpy(buf, sobj_key(o), n);
	buf[n] = 0;
	return (unsigned)strtoul(buf + prefix, NULL, 10);
}

static bool val_is(const struct sobj *o, const char *val)
{
	return o && sobj_vlen(o) == strlen(val) &&
	       memcmp(sobj_val(o), val, sobj_vlen(o)) == 0;
}

static uint64_t used_bytes(void)
{
	struct store_stats st;
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < store_nshards(); i++) {
		store_shard_stats(i, &st);
		n += st.used_bytes;
	}
	return n;
}

/* Bytes of a table at its initial size (buckets, anchors): any one. */
static uint64_t table_bytes(void)
{
	unsigned i, d;

	for (i = 0; i < store_nshards(); i++)
		for (d = 0; d < store_ndbs(); d++)
			if (store_st.shard[i].db[d].tab)
				return STORE_HT_INIT * STORE_BUCKET_BYTES +
				       mi_usable_size(
					   store_st.shard[i].db[d].tab);
	fail_msg("no table");
	return 0;
}

static uint64_t expired_keys(void)
{
	struct store_stats st;
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < store_nshards(); i++) {
		store_shard_stats(i, &st);
		n += st.expired_keys;
	}
	return n;
}

/* ---- slot ------------------------------------------------------------ */

static uint16_t crc16_bitwise(const uint8_t *p, size_t n)
{
	uint16_t c = 0;
	int i;

	while (n--) {
		c ^= (uint16_t)(*p++ << 8);
		for (i = 0; i < 8; i++)
			c = c & 0x8000 ? (uint16_t)(c << 1) ^ 0x1021
				       : (uint16_t)(c << 1);
	}
	return c;
}

static uint16_t slot_s(const char *s)
{
	return slot_of(s, strlen(s));
}

static void test_slot_vectors(void **state)
{
	(void)state;
	assert_int_equal(slot_crc16("123456789", 9), 0x31c3);
	assert_int_equal(slot_crc16("", 0), 0);
	assert_int_equal(slot_s("foo"), 12182);
	assert_int_equal(slot_s("bar"), 5061);
	assert_int_equal(slot_s("123456789"), 0x31c3 & 16383);
	assert_int_equal(slot_s(""), 0);
}

static void test_slot_hash_tags(void **state)
{
	(void)state;
	assert_int_equal(slot_s("{user1000}.following"),
			 slot_s("{user1000}.followers"));
	assert_int_equal(slot_s("{user1000}.following"), slot_s("user1000"));
	/* Empty tag: the whole key. */
	assert_int_equal(slot_s("foo{}{bar}"),
			 slot_crc16("foo{}{bar}", 10) & 16383);
	/* First '}' after the first '{'. */
	assert_int_equal(slot_s("foo{{bar}}zap"),
			 slot_crc16("{bar", 4) & 16383);
	assert_int_equal(slot_s("a{b}c{d}"), slot_s("b"));
	/* No closing brace: the whole key. */
	assert_int_equal(slot_s("{abc"), slot_crc16("{abc", 4) & 16383);
	assert_int_equal(slot_s("}abc{"), slot_crc16("}abc{", 5) & 16383);
	assert_int_equal(slot_s("{}"), slot_crc16("{}", 2) & 16383);
}

static void test_slot_crc_matches_bitwise(void **state)
{
	uint8_t buf[200];
	size_t n, i;

	(void)state;
	for (n = 0; n < sizeof(buf); n++) {
		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		assert_int_equal(slot_crc16(buf, n), crc16_bitwise(buf, n));
	}
}

static void test_skey(void **state)
{
	struct skey a, b, c;

	(void)state;
	skey_init(&a, "user:1", 6);
	skey_init(&b, "user:1", 6);
	skey_init(&c, "user:2", 6);
	assert_int_equal(a.len, 6);
	assert_ptr_equal(a.ptr, "user:1");
	assert_int_equal(a.slot, slot_of("user:1", 6));
	assert_true(a.hash == b.hash);
	assert_true(a.hash != c.hash);
	/* Length is part of the hash, even for a zero-padded twin. */
	skey_init(&b, "user:1\0", 7);
	assert_true(a.hash != b.hash);
}

static void test_owner(void **state)
{
	unsigned s, prev = 0;

	(void)state;
	assert_int_equal(setup_with(3, 1), 0);
	assert_int_equal(store_nshards(), 3);
	assert_int_equal(store_ndbs(), 1);
	for (s = 0; s < SLOT_COUNT; s++) {
		unsigned o = store_owner((uint16_t)s);

		assert_int_equal(o, s * 3 / SLOT_COUNT);
		assert_true(o == prev || o == prev + 1);
		prev = o;
	}
	assert_int_equal(store_owner(0), 0);
	assert_int_equal(store_owner(SLOT_COUNT - 1), 2);
	store_teardown();

	{
		struct store_conf bad = {.nshards = 0, .ndbs = 16};

		assert_int_equal(store_setup(&bad), -EINVAL);
		bad.nshards = STORE_MAX_SHARDS + 1;
		assert_int_equal(store_setup(&bad), -EINVAL);
		bad.nshards = 1;
		bad.ndbs = 257;
		assert_int_equal(store_setup(&bad), -EINVAL);
	}
}

/* ---- basic operations ------------------------------------------------ */

static void test_put_find_replace_delete(void **state)
{
	struct skey k;
	struct sobj *o;
	uint64_t used1;

	(void)state;
	assert_null(find(0, "k", T0));
	o = put(0, "k", "v1", STORE_NO_EXPIRE);
	assert_int_equal(o->slot, slot_s("k"));
	assert_true(val_is(find(0, "k", T0), "v1"));
	assert_ptr_equal(find(0, "k", T0), o);
	assert_int_equal(store_dbsize(0), 1);
	assert_int_equal(store_slot_keys(0, slot_s("k")), 1);
	used1 = used_bytes();
	assert_true(used1 >= sizeof(struct sobj) + 3);

	/* Replace with a much larger value. */
	{
		char big[1000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		put(0, "k", big, STORE_NO_EXPIRE);
		assert_true(val_is(find(0, "k", T0), big));
		assert_int_equal(store_dbsize(0), 1);
		assert_int_equal(store_slot_keys(0, slot_s("k")), 1);
		assert_true(used_bytes() >= used1 + 990);
	}
	put(0, "k", "v3", STORE_NO_EXPIRE);
	assert_true(val_is(find(0, "k", T0), "v3"));
	assert_int_equal(used_bytes(), used1);

	/* Databases are separate keyspaces. */
	assert_null(find(1, "k", T0));
	put(1, "k", "other", STORE_NO_EXPIRE);
	assert_true(val_is(find(1, "k", T0), "other"));
	assert_true(val_is(find(0, "k", T0), "v3"));
	assert_int_equal(store_dbsize(1), 1);
	assert_int_equal(store_slot_keys(0, slot_s("k")), 1);

	skey_init(&k, "k", 1);
	assert_int_equal(store_delete(0, &k, T0), 1);
	assert_null(find(0, "k", T0));
	assert_int_equal(store_delete(0, &k, T0), 0);
	assert_int_equal(store_dbsize(0), 0);
	assert_int_equal(store_slot_keys(0, slot_s("k")), 0);

	o = store_find_w(1, &k, T0);
	assert_non_null(o);
	store_delete_obj(1, o);
	assert_null(find(1, "k", T0));
	assert_int_equal(store_dbsize(1), 0);
	/* What is left is tables (buckets, anchors), no object. */
	assert_int_equal(used_bytes(), 2 * table_bytes());

	/* Empty key and empty value are legal. */
	put(2, "", "", STORE_NO_EXPIRE);
	assert_true(val_is(find(2, "", T0), ""));
	rcu_quiescent_state();
}

static void test_new_fill_in_place(void **state)
{
	struct skey k;
	struct sobj *o;

	(void)state;
	skey_init(&k, "filled", 6);
	o = sobj_new_string(&k, NULL, 5, false);
	assert_non_null(o);
	memcpy(sobj_val_w(o), "hello", 5);
	assert_memory_equal(sobj_key(o), "filled", 6);
	store_put(0, o, STORE_NO_EXPIRE);
	assert_true(val_is(find(0, "filled", T0), "hello"));

	o = sobj_new_string(&k, "never", 5, false);
	assert_non_null(o);
	sobj_free_unpublished(o);
	assert_true(val_is(find(0, "filled", T0), "hello"));
}

static void test_many_keys(void **state)
{
	char key[32], val[32];
	unsigned i;

	(void)state;
	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "key:%u", i);
		snprintf(val, sizeof(val), "val:%u", i * 7);
		put(i % 3, key, val, STORE_NO_EXPIRE);
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	assert_int_equal(store_dbsize(0) + store_dbsize(1) + store_dbsize(2),
			 50000);
	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "key:%u", i);
		snprintf(val, sizeof(val), "val:%u", i * 7);
		assert_true(val_is(find(i % 3, key, T0), val));
		assert_null(find((i + 1) % 3, key, T0));
	}
}

/* ---- expiry ---------------------------------------------------------- */

static void test_expire_semantics(void **state)
{
	struct skey k;
	struct sobj *o;

	(void)state;
	o = put(0, "e", "v", T0 + 100);
	assert_int_equal(store_db_expires(0), 1);
	assert_ptr_equal(find(0, "e", T0), o);
	assert_ptr_equal(find(0, "e", T0 + 99), o);
	assert_null(find(0, "e", T0 + 100));  /* expire <= now */
	assert_int_equal(store_dbsize(0), 1); /* find deletes nothing */
	assert_int_equal(store_next_expire(0), T0 + 100);

	skey_init(&k, "e", 1);
	assert_ptr_equal(store_find_w(0, &k, T0 + 99), o);
	assert_null(store_find_w(0, &k, T0 + 100));
	assert_int_equal(store_dbsize(0), 0);
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(expired_keys(), 1);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);

	/* DEL of an expired key: absent, but counted as expired. */
	put(0, "e", "v", T0 + 100);
	assert_int_equal(store_delete(0, &k, T0 + 200), 0);
	assert_int_equal(expired_keys(), 2);
	assert_int_equal(store_dbsize(0), 0);

	/* EXPIRE / PERSIST on a live key. */
	o = put(0, "e", "v", STORE_NO_EXPIRE);
	assert_int_equal(store_db_expires(0), 0);
	o = store_set_expire(0, o, T0 + 50);
	assert_non_null(o);
	assert_int_equal(store_db_expires(0), 1);
	assert_int_equal(store_next_expire(0), T0 + 50);
	assert_null(find(0, "e", T0 + 50));
	assert_ptr_equal(store_set_expire(0, o, STORE_NO_EXPIRE), o);
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	assert_ptr_equal(find(0, "e", T0 + 50), o);

	/* Overwrite drops or keeps the expiry as told. */
	put(0, "e", "v2", T0 + 10);
	assert_int_equal(store_db_expires(0), 1);
	assert_int_equal(store_next_expire(0), T0 + 10);
	put(0, "e", "v3", T0 + 20);
	assert_int_equal(store_db_expires(0), 1);
	assert_int_equal(store_next_expire(0), T0 + 20);
	put(0, "e", "v4", STORE_NO_EXPIRE);
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	assert_int_equal(store_active_expire(0, T0 + 1000, 100), 0);
	assert_true(val_is(find(0, "e", T0 + 1000), "v4"));
}

static void test_active_expire_bounded(void **state)
{
	char key[32];
	unsigned i, s, n, total = 0, calls = 0;

	(void)state;
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "x:%u", i);
		put(0, key, "v", T0 + 1 + (int64_t)(i % 1000));
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "keep:%u", i);
		put(0, key, "v", STORE_NO_EXPIRE);
	}
	assert_int_equal(store_dbsize(0), 101000);
	assert_int_equal(store_db_expires(0), 100000);

	/* Half of them are due at T0 + 500. */
	for (s = 0; s < store_nshards(); s++) {
		while ((n = store_active_expire(s, T0 + 500, 1000)) != 0) {
			assert_true(n <= 1000);
			total += n;
			calls++;
			rcu_quiescent_state();
		}
	}
	assert_int_equal(total, 50000);
	assert_true(calls >= 50);
	assert_int_equal(store_dbsize(0), 51000);
	for (s = 0; s < store_nshards(); s++)
		assert_true(store_next_expire(s) > T0 + 500);

	for (s = 0; s < store_nshards(); s++) {
		while ((n = store_active_expire(s, T0 + 5000, 777)) != 0) {
			assert_true(n <= 777);
			total += n;
			rcu_quiescent_state();
		}
		assert_int_equal(store_next_expire(s), STORE_NO_EXPIRE);
	}
	assert_int_equal(total, 100000);
	assert_int_equal(expired_keys(), 100000);
	assert_int_equal(store_dbsize(0), 1000);
	assert_int_equal(store_db_expires(0), 0);
	assert_non_null(find(0, "keep:999", T0 + 5000));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

#define HEAP_KEYS 5000

static void test_heap_order(void **state)
{
	static int64_t want[HEAP_KEYS], sorted[HEAP_KEYS];
	struct sobj *obj[HEAP_KEYS];
	char key[32];
	unsigned i, j, nexp = 0, nkeep = 0;

	(void)state;
	for (i = 0; i < HEAP_KEYS; i++) {
		snprintf(key, sizeof(key), "h:%u", i);
		want[i] = i % 10 == 0 ? STORE_NO_EXPIRE
				      : T0 + (int64_t)(rnd() % 100000);
		obj[i] = put(0, key, "v", want[i]);
	}
	/* Move a third of them: later, earlier, none, or from none. */
	for (i = 0; i < HEAP_KEYS; i += 3) {
		int64_t e = rnd() % 5 == 0 ? STORE_NO_EXPIRE
					   : T0 + (int64_t)(rnd() % 100000);

		obj[i] = store_set_expire(0, obj[i], e);
		assert_non_null(obj[i]);
		want[i] = e;
	}
	for (i = 0; i < HEAP_KEYS; i++) {
		if (want[i] == STORE_NO_EXPIRE)
			nkeep++;
		else
			sorted[nexp++] = want[i];
	}
	qsort(sorted, nexp, sizeof(sorted[0]), cmp_i64);
	assert_int_equal(store_db_expires(0), nexp);

	/* One at a time, the earliest first. */
	for (j = 0; j < nexp; j++) {
		assert_int_equal(store_next_expire(0), sorted[j]);
		assert_int_equal(store_active_expire(0, sorted[j], 1), 1);
		if (j % 512 == 0)
			rcu_quiescent_state();
	}
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	assert_int_equal(store_dbsize(0), nkeep);
	for (i = 0; i < HEAP_KEYS; i++) {
		snprintf(key, sizeof(key), "h:%u", i);
		if (want[i] == STORE_NO_EXPIRE)
			assert_non_null(find(0, key, T0 + 200000));
		else
			assert_null(find(0, key, T0));
	}
}

static void test_heap_across_dbs(void **state)
{
	(void)state;
	put(0, "a", "v", T0 + 30);
	put(1, "b", "v", T0 + 10);
	put(2, "c", "v", T0 + 20);
	put(3, "d", "v", STORE_NO_EXPIRE);
	assert_int_equal(store_next_expire(0), T0 + 10);
	assert_int_equal(store_active_expire(0, T0 + 20, 100), 2);
	assert_null(find(1, "b", T0));
	assert_null(find(2, "c", T0));
	assert_non_null(find(0, "a", T0));
	assert_int_equal(store_next_expire(0), T0 + 30);
	assert_int_equal(store_active_expire(0, T0 + 100, 100), 1);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	assert_int_equal(store_dbsize(3), 1);
}

/* ---- counters -------------------------------------------------------- */

static void test_counters(void **state)
{
	struct store_stats st;
	char key[32];
	unsigned i, s;
	uint64_t keys = 0, expires = 0;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "c:%u", i);
		put(i % 2 ? 5 : 7, key, "v",
		    i % 3 ? STORE_NO_EXPIRE : T0 + 1000);
	}
	assert_int_equal(store_dbsize(5), 1500);
	assert_int_equal(store_dbsize(7), 1500);
	assert_int_equal(store_db_expires(5) + store_db_expires(7), 1000);
	assert_int_equal(store_dbsize(0), 0);
	for (s = 0; s < store_nshards(); s++) {
		store_shard_stats(s, &st);
		assert_true(st.keys > 0); /* the keys spread over shards */
		keys += st.keys;
		expires += st.expires;
	}
	assert_int_equal(keys, 3000);
	assert_int_equal(expires, 1000);
}

/* ---- walks and random ------------------------------------------------ */

static void count_cb(const struct sobj *o, void *arg)
{
	(void)o;
	(*(unsigned *)arg)++;
}

struct tag_check {
	uint16_t slot;
	unsigned n;
};

static void slot_cb(const struct sobj *o, void *arg)
{
	struct tag_check *c = arg;

	assert_int_equal(o->slot, c->slot);
	assert_memory_equal(sobj_key(o), "{tag}", 5);
	c->n++;
}

static void test_visit(void **state)
{
	struct tag_check c = {.slot = slot_s("tag")};
	char key[32];
	unsigned i, n = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "{tag}k%u", i);
		put(0, key, "v", i < 100 ? T0 - 1 : STORE_NO_EXPIRE);
	}
	for (i = 0, n = 0; n < 2000; i++) {
		snprintf(key, sizeof(key), "other:%u", i);
		if (slot_s(key) == c.slot)
			continue;
		put(0, key, "v", STORE_NO_EXPIRE);
		n++;
	}
	n = 0;
	put(1, "{tag}x", "v", STORE_NO_EXPIRE);

	assert_int_equal(store_slot_keys(0, c.slot), 1000);
	assert_int_equal(store_visit_slot(0, c.slot, T0, slot_cb, &c), 900);
	assert_int_equal(c.n, 900);
	assert_int_equal(store_visit_slot(1, c.slot, T0, count_cb, &n), 1);
	n = 0;
	store_visit_all(0, T0, count_cb, &n);
	assert_int_equal(n, 2900);

	/* Every slot's count adds up to dbsize. */
	{
		uint64_t sum = 0, visited = 0;
		unsigned s, m;

		for (s = 0; s < SLOT_COUNT; s++) {
			sum += store_slot_keys(0, (uint16_t)s);
			m = 0;
			visited +=
			    store_visit_slot(0, (uint16_t)s, T0, count_cb, &m);
			assert_int_equal(m, store_visit_slot(0, (uint16_t)s, T0,
							     count_cb,
							     &(unsigned){0}));
		}
		assert_int_equal(sum, 3000);
		assert_int_equal(visited, 2900);
	}
	/* A slot that never held a key. */
	assert_int_equal(store_visit_slot(3, 42, T0, count_cb, &n), 0);
}

static void test_random(void **state)
{
	uint64_t rng = 12345;
	const struct sobj *o;
	char key[32];
	unsigned i, seen[100] = {0}, distinct = 0;

	(void)state;
	assert_null(store_random(0, T0, &rng));
	put(0, "only", "v", STORE_NO_EXPIRE);
	for (i = 0; i < 20; i++) {
		o = store_random(0, T0, &rng);
		assert_non_null(o);
		assert_memory_equal(sobj_key(o), "only", 4);
	}
	/* Expired keys are never returned. */
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "dead:%u", i);
		put(0, key, "v", T0 - 1);
	}
	for (i = 0; i < 50; i++) {
		o = store_random(0, T0, &rng);
		assert_non_null(o);
		assert_memory_equal(sobj_key(o), "only", 4);
	}
	store_flush(0);
	assert_null(store_random(0, T0, &rng));

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "r:%u", i);
		put(0, key, "v", STORE_NO_EXPIRE);
	}
	for (i = 0; i < 3000; i++) {
		unsigned idx;

		o = store_random(0, T0, &rng);
		assert_non_null(o);
		assert_true(sobj_klen(o) > 2 && sobj_klen(o) < 6);
		idx = key_index(o, 2);
		assert_true(idx < 100);
		if (!seen[idx]++)
			distinct++;
	}
	assert_true(distinct > 90);
	store_bg_wait();
}

/* ---- flush ----------------------------------------------------------- */

static void test_flush(void **state)
{
	char key[32];
	unsigned i, s;
	uint64_t used0;
	struct store_stats st;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "f:%u", i);
		put(i % 2, key, "some value",
		    i % 4 ? STORE_NO_EXPIRE : T0 + 1000);
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	put(0, "{t}a", "v", STORE_NO_EXPIRE);
	put(1, "{t}b", "v", STORE_NO_EXPIRE);
	assert_int_equal(store_dbsize(0), 10001);
	assert_int_equal(store_dbsize(1), 10001);

	store_flush(1);
	assert_int_equal(store_dbsize(1), 0);
	assert_int_equal(store_db_expires(1), 0);
	assert_int_equal(store_dbsize(0), 10001);
	assert_int_equal(store_slot_keys(1, slot_s("t")), 0);
	assert_int_equal(store_slot_keys(0, slot_s("t")), 1);
	assert_null(find(1, "{t}b", T0));
	assert_non_null(find(0, "{t}a", T0));
	assert_null(find(1, "f:1", T0));
	assert_non_null(find(0, "f:0", T0));
	used0 = used_bytes();
	assert_true(used0 > 0);

	/* Tables work after a flush. */
	put(1, "f:1", "again", STORE_NO_EXPIRE);
	assert_true(val_is(find(1, "f:1", T0), "again"));
	assert_int_equal(store_dbsize(1), 1);

	store_flush(UINT32_MAX);
	assert_int_equal(used_bytes(), 0); /* at once, not after reclaim */
	for (s = 0; s < store_nshards(); s++) {
		store_shard_stats(s, &st);
		assert_int_equal(st.keys, 0);
		assert_int_equal(st.expires, 0);
		assert_int_equal(store_next_expire(s), STORE_NO_EXPIRE);
		assert_int_equal(store_active_expire(s, T0 + 5000, 100), 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(store_dbsize(i), 0);
	assert_int_equal(store_slot_keys(0, slot_s("t")), 0);
	{
		unsigned n = 0;

		store_visit_all(0, T0, count_cb, &n);
		assert_int_equal(n, 0);
		assert_int_equal(
		    store_visit_slot(0, slot_s("t"), T0, count_cb, &n), 0);
	}

	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "f:%u", i);
		put(0, key, "new", i % 2 ? T0 + 10 : STORE_NO_EXPIRE);
	}
	assert_int_equal(store_dbsize(0), 1000);
	assert_true(val_is(find(0, "f:3", T0), "new"));
	for (s = 0; s < store_nshards(); s++)
		while (store_active_expire(s, T0 + 10, 64))
			;
	assert_int_equal(store_dbsize(0), 500);
	store_bg_wait();
	/* Everything flushed is freed by now (ASan would report a leak). */
	assert_int_equal(store_dbsize(0), 500);
	store_flush(0);
	store_flush(0);
	assert_int_equal(used_bytes(), 0);
	store_bg_wait();
}

/* ---- concurrent readers ---------------------------------------------- */

#define MT_KEYS 512
#define MT_HDR 12

struct mt_ctx {
	int stop;
	uint32_t nkeys; /* key space */
	bool waves;	/* writer fills then empties the key space */
	uint64_t reads;
	uint64_t hits;
	uint64_t writes;
	uint64_t bad;
};

/* Value: key index, sequence, length, then (seq + i) bytes: any torn or
 * recycled value fails the check. */
static void mt_fill(char *v, uint32_t idx, uint32_t seq, uint32_t len)
{
	uint32_t i;

	memcpy(v, &idx, 4);
	memcpy(v + 4, &seq, 4);
	memcpy(v + 8, &len, 4);
	for (i = MT_HDR; i < len; i++)
		v[i] = (char)(seq + i);
}

static bool mt_check(const struct sobj *o, uint32_t idx)
{
	const char *v = sobj_val(o);
	uint32_t i, id, seq, len;

	if (sobj_vlen(o) < MT_HDR)
		return false;
	memcpy(&id, v, 4);
	memcpy(&seq, v + 4, 4);
	memcpy(&len, v + 8, 4);
	if (id != idx || len != sobj_vlen(o))
		return false;
	for (i = MT_HDR; i < len; i++)
		if (v[i] != (char)(seq + i))
			return false;
	return true;
}

static void mt_key(char *buf, size_t n, uint32_t idx, struct skey *k)
{
	int len = snprintf(buf, n, "mt:%u", idx);

	skey_init(k, buf, (size_t)len);
}

static void mt_put(uint32_t idx, uint32_t seq, uint32_t len, int64_t expire)
{
	char key[32], val[300];
	struct skey k;
	struct sobj *o;

	mt_key(key, sizeof(key), idx, &k);
	mt_fill(val, idx, seq, len);
	o = sobj_new_string(&k, val, len, expire != STORE_NO_EXPIRE);
	if (o)
		store_put(0, o, expire);
}

/*
 * Fill the key space, then empty it, again and again: the tables grow
 * and shrink (background resizes) under the readers' feet.
 */
static void mt_waves(struct mt_ctx *c)
{
	uint32_t seq = 0, i;
	char key[32];
	struct skey k;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < c->nkeys; i++) {
			seq++;
			mt_put(i, seq, MT_HDR + seq % 100, STORE_NO_EXPIRE);
			if (i % 64 == 0)
				rcu_quiescent_state();
		}
		for (i = 0; i < c->nkeys; i++) {
			mt_key(key, sizeof(key), i, &k);
			store_delete(0, &k, T0);
			if (i % 64 == 0)
				rcu_quiescent_state();
		}
		__atomic_add_fetch(&c->writes, 2 * c->nkeys, __ATOMIC_RELAXED);
	}
}

static void *mt_writer(void *arg)
{
	struct mt_ctx *c = arg;
	uint64_t rng = 0x1234567;
	uint32_t seq = 0;
	char key[32];
	struct skey k;

	rcu_register_thread();
	if (c->waves) {
		mt_waves(c);
		store_retire_flush();
		rcu_unregister_thread();
		return NULL;
	}
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint32_t idx, len;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		idx = (uint32_t)(rng % c->nkeys);
		mt_key(key, sizeof(key), idx, &k);
		if (rng % 8 == 0) {
			store_delete(0, &k, T0);
		} else {
			len = MT_HDR + (uint32_t)((rng >> 20) % 250);
			mt_put(idx, ++seq, len,
			       rng % 16 == 1 ? T0 + 1000 : STORE_NO_EXPIRE);
		}
		if (rng % 16 == 5) {
			/* EXPIRE / PERSIST: may swap in a copy with room */
			struct sobj *o = store_find_w(0, &k, T0);

			if (o)
				store_set_expire(0, o,
						 (rng >> 9) % 2
						     ? T0 + 1000
						     : STORE_NO_EXPIRE);
		}
		if (rng % 64 == 3)
			store_active_expire(store_owner(k.slot), T0, 8);
		if (__atomic_add_fetch(&c->writes, 1, __ATOMIC_RELAXED) % 64 ==
		    0) {
			/* as a worker does at the end of each turn */
			store_retire_flush();
			rcu_quiescent_state();
		}
	}
	store_retire_flush();
	rcu_unregister_thread();
	return NULL;
}

static void mt_visit_cb(const struct sobj *o, void *arg)
{
	uint32_t idx = key_index(o, 3);

	if (!mt_check(o, idx))
		(*(uint64_t *)arg)++;
}

static void *mt_reader(void *arg)
{
	struct mt_ctx *c = arg;
	uint64_t rng = (uint64_t)(uintptr_t)&rng | 1, reads = 0, hits = 0;
	uint64_t bad = 0;
	char key[32];
	struct skey k;

	rcu_register_thread();
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint32_t idx;
		struct sobj *o;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		idx = (uint32_t)(rng % c->nkeys);
		mt_key(key, sizeof(key), idx, &k);
		o = store_find(0, &k, T0);
		reads++;
		if (o) {
			hits++;
			if (!mt_check(o, idx))
				bad++;
			store_touch(o, T0);
		}
		if (rng % 256 == 0)
			store_visit_slot(0, k.slot, T0, mt_visit_cb, &bad);
		if (rng % 1024 == 1) {
			const struct sobj *r = store_random(0, T0, &rng);

			if (r)
				mt_visit_cb(r, &bad);
		}
		if (reads % 32 == 0) {
			__atomic_fetch_add(&c->reads, 32, __ATOMIC_RELAXED);
			rcu_quiescent_state();
		}
	}
	__atomic_fetch_add(&c->reads, reads % 32, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->hits, hits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bad, bad, __ATOMIC_RELAXED);
	rcu_unregister_thread();
	return NULL;
}

static void mt_run(struct mt_ctx *c)
{
	pthread_t w, r[2];
	struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
	unsigned i, ticks;

	rcu_thread_offline(); /* we only wait: let grace periods pass */
	assert_int_equal(pthread_create(&w, NULL, mt_writer, c), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&r[i], NULL, mt_reader, c), 0);
	/*
	 * About a second; longer only on a machine so slow (sanitizers,
	 * valgrind) that too little happened by then, at most 10 s.
	 */
	for (ticks = 0; ticks < 100; ticks++) {
		nanosleep(&ts, NULL);
		if (ticks >= 9 &&
		    __atomic_load_n(&c->writes, __ATOMIC_RELAXED) > 10000 &&
		    __atomic_load_n(&c->reads, __ATOMIC_RELAXED) > 10000)
			break;
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
	pthread_join(w, NULL);
	for (i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	rcu_thread_online();

	print_message("mt: %llu writes, %llu reads, %llu hits\n",
		      (unsigned long long)c->writes,
		      (unsigned long long)c->reads,
		      (unsigned long long)c->hits);
	assert_int_equal(c->bad, 0);
	assert_true(c->writes > 10000);
	assert_true(c->reads > 10000);
	assert_true(c->hits > 0);
}

static void test_concurrent_readers(void **state)
{
	struct mt_ctx c = {.nkeys = MT_KEYS};
	unsigned n = 0;

	(void)state;
	mt_run(&c);
	/* The counters agree with what a walk finds. */
	store_visit_all(0, T0 - 1000000, count_cb, &n);
	assert_int_equal(n, store_dbsize(0));
	assert_true(n <= MT_KEYS);
}

/* Resizes (grow and shrink) run while readers look keys up. */
static void test_resize_under_readers(void **state)
{
	struct mt_ctx c = {.nkeys = 30000, .waves = true};

	(void)state;
	mt_run(&c);
	assert_int_equal(store_dbsize(0), 0);
}

static unsigned long ht_size_of(unsigned db, unsigned shard)
{
	return __atomic_load_n(&store_st.shard[shard].db[db].ht_size,
			       __ATOMIC_RELAXED);
}

static void test_table_sizing(void **state)
{
	char key[32];
	unsigned i;
	struct skey k;

	(void)state;
	assert_int_equal(ht_size_of(0, 0), STORE_HT_INIT);
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		put(0, key, "v", STORE_NO_EXPIRE);
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	/* At most two keys per bucket, at least one. */
	assert_true(2 * ht_size_of(0, 0) >= 100000);
	assert_true(ht_size_of(0, 0) < 100000);
	store_bg_wait();
	for (i = 0; i < 99000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		skey_init(&k, key, strlen(key));
		assert_int_equal(store_delete(0, &k, T0), 1);
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	assert_true(ht_size_of(0, 0) <= 8 * 1000);
	store_bg_wait();
	for (i = 99000; i < 100000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		assert_non_null(find(0, key, T0));
	}
	store_flush(0);
	assert_int_equal(ht_size_of(0, 0), STORE_HT_INIT);
	store_bg_wait();
}

/* ---- object layout --------------------------------------------------- */

static struct sobj *mk(const char *key, size_t klen, const char *val,
		       size_t vlen, bool ttl)
{
	struct skey k;
	struct sobj *o;

	skey_init(&k, key, klen);
	o = sobj_new_string(&k, val, vlen, ttl);
	assert_non_null(o);
	assert_int_equal(sobj_klen(o), klen);
	assert_int_equal(sobj_vlen(o), vlen);
	assert_memory_equal(sobj_key(o), key, klen);
	if (vlen)
		assert_memory_equal(sobj_val(o), val, vlen);
	assert_int_equal(sobj_type(o), SOBJ_STRING);
	assert_int_equal(o->slot, k.slot);
	return o;
}

static size_t key_off(const struct sobj *o)
{
	return (size_t)(sobj_key(o) - (const char *)o);
}

static void test_layout(void **state)
{
	static char big[100000];
	struct sobj *o;

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(sizeof(struct sobj), 24);

	/* 16-byte key, 32-byte value: short form, no extension, 72 bytes */
	o = mk("0123456789abcdef", 16, big, 32, false);
	assert_false(sobj_flags(o) & (SOBJ_F_LONG | SOBJ_F_EXT));
	assert_int_equal(key_off(o), 24);
	assert_int_equal(sobj_val(o) - sobj_key(o), 16);
	assert_true(sobj_expire(o) == STORE_NO_EXPIRE);
	assert_int_equal(sobj_alloc_size(o), 72); /* the 72-byte slab class */
	sobj_free_unpublished(o);

	/* with an expiry: 12 more bytes, expire 8-byte aligned */
	o = mk("0123456789abcdef", 16, big, 32, true);
	assert_int_equal(sobj_flags(o) & (SOBJ_F_LONG | SOBJ_F_EXT),
			 SOBJ_F_EXT);
	assert_int_equal(key_off(o), 36);
	assert_int_equal((uintptr_t)sobj_expire_p(o) % 8, 0);
	assert_true(sobj_expire(o) == STORE_NO_EXPIRE);
	assert_int_equal(*sobj_heap_idx_p(o), HEAP_NONE);
	sobj_free_unpublished(o);

	/* 255 is the last short length, either way */
	o = mk(big, 255, big, 255, false);
	assert_false(sobj_flags(o) & SOBJ_F_LONG);
	sobj_free_unpublished(o);
	o = mk(big, 256, "v", 1, false);
	assert_int_equal(sobj_flags(o) & (SOBJ_F_LONG | SOBJ_F_EXT),
			 SOBJ_F_LONG | SOBJ_F_EXT);
	assert_int_equal(key_off(o), 44);
	assert_int_equal((uintptr_t)sobj_expire_p(o) % 8, 0);
	sobj_free_unpublished(o);
	/* a long value always carries the extension */
	o = mk("k", 1, big, 256, false);
	assert_true(sobj_has_ext(o));
	assert_true(sobj_flags(o) & SOBJ_F_LONG);
	sobj_free_unpublished(o);
	o = mk("k", 1, big, sizeof(big), false);
	assert_true(sobj_has_ext(o));
	sobj_free_unpublished(o);
	o = mk("", 0, "", 0, false);
	assert_int_equal(key_off(o), 24);
	sobj_free_unpublished(o);

	/* published, both forms read back through a lookup */
	put(0, "short", "value", STORE_NO_EXPIRE);
	o = mk("long", 4, big, 70000, false);
	assert_ptr_equal(store_put(0, o, T0 + 5), o);
	assert_true(val_is(find(0, "short", T0), "value"));
	o = find(0, "long", T0);
	assert_non_null(o);
	assert_int_equal(sobj_vlen(o), 70000);
	assert_true(sobj_expire(o) == T0 + 5);
	assert_null(find(0, "long", T0 + 5));
}

/* Access bits change from any core without touching the flags. */
static void test_access_keeps_flags(void **state)
{
	static char big[300];
	struct sobj *o;
	unsigned i, flags;

	(void)state;
	memset(big, 'x', sizeof(big));
	o = put(0, "k", "v", T0 + 100000);
	flags = sobj_flags(o);
	for (i = 0; i < 1000; i++)
		store_touch(o, T0 + (int64_t)i * 997);
	assert_int_equal(sobj_flags(o), flags);
	assert_true(val_is(o, "v"));
	assert_true(sobj_expire(o) == T0 + 100000);

	store_set_lfu(true, 0, 1); /* factor 0: every access counts */
	for (i = 0; i < 300; i++)
		store_touch(o, T0);
	assert_int_equal(store_lfu_freq(o, T0), 255);
	assert_int_equal(sobj_flags(o), flags);
	assert_true(val_is(o, "v"));
	store_set_lfu(false, 10, 1);

	/* RENAME-style copy of the access bits keeps the target's flags */
	{
		struct sobj *n = mk("n", 1, big, sizeof(big), false);

		flags = sobj_flags(n);
		store_touch(o, T0 + 7000);
		sobj_copy_access(n, o);
		assert_int_equal(sobj_flags(n), flags);
		assert_int_equal(sobj_access(n), sobj_access(o));
		sobj_free_unpublished(n);
	}
}

/* ---- expiry extension ------------------------------------------------ */

static void test_expire_adds_ext(void **state)
{
	struct sobj *o, *n;
	uint64_t used;
	struct skey k;

	(void)state;
	o = put(0, "plain", "value", STORE_NO_EXPIRE);
	assert_false(sobj_has_ext(o));
	/* PERSIST on a key without expiry changes nothing */
	assert_ptr_equal(store_set_expire(0, o, STORE_NO_EXPIRE), o);
	store_touch(o, T0 - 30000);
	used = used_bytes();

	/* EXPIRE swaps in a copy with the extension */
	n = store_set_expire(0, o, T0 + 100);
	assert_non_null(n);
	assert_ptr_not_equal(n, o);
	assert_true(sobj_has_ext(n));
	assert_ptr_equal(find(0, "plain", T0), n);
	assert_true(val_is(n, "value"));
	assert_int_equal(store_idle_seconds(n, T0), 30); /* access kept */
	assert_true(sobj_expire(n) == T0 + 100);
	assert_int_equal(store_dbsize(0), 1);
	assert_int_equal(store_db_expires(0), 1);
	assert_int_equal(store_slot_keys(0, slot_s("plain")), 1);
	assert_int_equal(store_next_expire(0), T0 + 100);
	assert_true(used_bytes() > used);
	/* the old one stays readable until this thread's quiescent state */
	assert_true(val_is(o, "value"));

	/* now in place: PERSIST keeps the extension, EXPIRE reuses it */
	assert_ptr_equal(store_set_expire(0, n, STORE_NO_EXPIRE), n);
	assert_true(sobj_has_ext(n));
	assert_true(sobj_expire(n) == STORE_NO_EXPIRE);
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	assert_ptr_equal(store_set_expire(0, n, T0 + 50), n);
	assert_int_equal(store_next_expire(0), T0 + 50);
	assert_int_equal(store_active_expire(0, T0 + 50, 10), 1);
	assert_null(find(0, "plain", T0));
	assert_int_equal(store_dbsize(0), 0);

	/* store_put with an expiry copies an object built without room */
	skey_init(&k, "p2", 2);
	o = sobj_new_string(&k, "v", 1, false);
	assert_non_null(o);
	n = store_put(0, o, T0 + 10);
	assert_non_null(n);
	assert_true(sobj_has_ext(n));
	assert_ptr_equal(find(0, "p2", T0), n);
	assert_true(sobj_expire(n) == T0 + 10);
	assert_int_equal(store_db_expires(0), 1);

	/* an overwrite without expiry drops it from the heap */
	o = put(0, "p2", "w", STORE_NO_EXPIRE);
	assert_false(sobj_has_ext(o));
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(store_next_expire(0), STORE_NO_EXPIRE);
	rcu_quiescent_state();
}

/* ---- positions, walks, sampling -------------------------------------- */

struct seen {
	uint8_t *cnt; /* per key index */
	unsigned nkeys;
	size_t prefix;
	uint64_t other; /* keys not of this set */
	uint64_t calls;
};

static void seen_cb(const struct sobj *o, void *arg)
{
	struct seen *s = arg;
	unsigned i;

	s->calls++;
	if (sobj_klen(o) <= s->prefix || sobj_key(o)[0] != 's') {
		s->other++;
		return;
	}
	i = key_index(o, s->prefix);
	if (i < s->nkeys && s->cnt[i] < 255)
		s->cnt[i]++;
}

/* A whole SCAN-like walk of db: every shard, resuming at pos rounded
 * down to 64 as a SCAN cursor does; returns the calls made. */
static unsigned scan_like(unsigned db, uint64_t budget, struct seen *s)
{
	unsigned shard, calls = 0;

	for (shard = 0; shard < store_nshards(); shard++) {
		uint64_t pos = 0, last = 0, stepped;

		for (;;) {
			bool more = store_walk_shard(shard, db, &pos, budget,
						     T0, seen_cb, s, &stepped);

			calls++;
			if (!more)
				break;
			assert_true(stepped >= budget);
			assert_true(pos > last);
			last = pos;
			pos = pos >> 6 << 6;
			if (calls % 64 == 0)
				rcu_quiescent_state();
		}
	}
	return calls;
}

static void test_walk_positions(void **state)
{
	static uint8_t cnt[5000];
	struct seen s = {.cnt = cnt, .nkeys = 5000, .prefix = 2};
	uint64_t budgets[] = {1, 2, 7, 100, 4999, 5000, 100000};
	char key[32];
	unsigned i, b, calls;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		put(0, key, "v", i % 10 == 0 ? T0 - 1 : STORE_NO_EXPIRE);
		if (i % 1024 == 0)
			rcu_quiescent_state();
	}
	store_bg_wait(); /* the tables grew meanwhile */
	for (b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		memset(cnt, 0, sizeof(cnt));
		s.other = 0;
		calls = scan_like(0, budgets[b], &s);
		/* without writers: every live key exactly once, no anchor */
		for (i = 0; i < 5000; i++)
			assert_int_equal(cnt[i], i % 10 == 0 ? 0 : 1);
		assert_int_equal(s.other, 0);
		if (budgets[b] == 1)
			assert_true(calls >= 5000);
	}
	/* an empty db and an unknown position */
	s.calls = 0;
	assert_int_equal(scan_like(1, 10, &s), store_nshards());
	assert_int_equal(s.calls, 0);
	{
		uint64_t pos = UINT64_MAX;

		assert_false(
		    store_walk_shard(0, 0, &pos, 10, T0, seen_cb, &s, NULL));
	}
}

struct churn_ctx {
	int stop;
	uint64_t rounds;
};

/* Adds and removes 20000 keys again and again (the tables grow and
 * shrink), overwrites the stable keys and gives some an expiry. */
static void *churn_writer(void *arg)
{
	struct churn_ctx *c = arg;
	char key[32], val[300];
	uint64_t rng = 777;
	unsigned i, n = 0;
	struct skey k;
	struct sobj *o;

	rcu_register_thread();
	memset(val, 'z', sizeof(val));
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 20000; i++) {
			int len = snprintf(key, sizeof(key), "c:%u", i);

			skey_init(&k, key, (size_t)len);
			o = sobj_new_string(&k, val, 1 + i % 299, false);
			store_put(0, o, STORE_NO_EXPIRE);
			if (i % 8 == 0) {
				rng ^= rng << 13, rng ^= rng >> 7,
				    rng ^= rng << 17;
				len = snprintf(key, sizeof(key), "s:%u",
					       (unsigned)(rng % 3000));
				skey_init(&k, key, (size_t)len);
				if (rng % 3 == 0) {
					o = store_find_w(0, &k, T0);
					if (o)
						store_set_expire(0, o,
								 T0 + 1000000);
				} else {
					o = sobj_new_string(&k, val, rng % 300,
							    false);
					store_put(0, o, STORE_NO_EXPIRE);
				}
			}
			if (++n % 64 == 0) {
				store_retire_flush();
				rcu_quiescent_state();
			}
		}
		for (i = 0; i < 20000; i++) {
			int len = snprintf(key, sizeof(key), "c:%u", i);

			skey_init(&k, key, (size_t)len);
			store_delete(0, &k, T0);
			if (++n % 64 == 0) {
				store_retire_flush();
				rcu_quiescent_state();
			}
		}
		__atomic_add_fetch(&c->rounds, 1, __ATOMIC_RELAXED);
	}
	store_retire_flush();
	rcu_unregister_thread();
	return NULL;
}

/* Walks see every key present throughout at least once while other keys
 * come and go and the tables resize under them. */
static void test_walk_under_churn(void **state)
{
	static uint8_t cnt[3000];
	struct seen s = {.cnt = cnt, .nkeys = 3000, .prefix = 2};
	struct churn_ctx c = {0};
	uint64_t budgets[] = {1, 5, 50, 500}, rng = 99, walks = 0;
	char key[32];
	unsigned i, b;
	pthread_t w;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		put(0, key, "v", STORE_NO_EXPIRE);
	}
	assert_int_equal(pthread_create(&w, NULL, churn_writer, &c), 0);
	while (__atomic_load_n(&c.rounds, __ATOMIC_RELAXED) < 4 || walks < 8) {
		b = (unsigned)(walks % 4);
		memset(cnt, 0, sizeof(cnt));
		scan_like(0, budgets[b], &s);
		for (i = 0; i < 3000; i++)
			assert_true(cnt[i] >= 1);
		walks++;
		/* sampling and random keys stay sane meanwhile */
		{
			struct sobj *out[32];
			unsigned n, j;

			n = store_sample((unsigned)(rng % store_nshards()), 0,
					 32, out, T0, &rng);
			for (j = 0; j < n; j++)
				assert_true(sobj_key(out[j])[0] == 's' ||
					    sobj_key(out[j])[0] == 'c');
			assert_non_null(store_random(0, T0, &rng));
		}
		rcu_quiescent_state();
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	rcu_thread_offline();
	pthread_join(w, NULL);
	rcu_thread_online();
	print_message("churn: %llu walks over %llu writer rounds\n",
		      (unsigned long long)walks, (unsigned long long)c.rounds);
}

static void test_sample(void **state)
{
	struct sobj *out[64];
	char key[32];
	uint64_t rng = 5;
	unsigned i, j, sh, n, hit[1000] = {0}, distinct = 0;
	struct store_stats st;

	(void)state;
	for (sh = 0; sh < store_nshards(); sh++)
		assert_int_equal(store_sample(sh, 0, 16, out, T0, &rng), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "s:%u", i);
		put(0, key, "v", STORE_NO_EXPIRE);
		snprintf(key, sizeof(key), "dead:%u", i);
		put(0, key, "v", T0 - 1); /* expired: never sampled */
	}
	assert_int_equal(store_sample(0, 0, 0, out, T0, &rng), 0);
	for (i = 0; i < 400; i++) {
		sh = i % store_nshards();
		n = store_sample(sh, 0, 16, out, T0, &rng);
		assert_int_equal(n, 16); /* ~250 live keys per shard */
		for (j = 0; j < n; j++) {
			unsigned idx, m;

			assert_int_equal(store_owner(out[j]->slot), sh);
			assert_memory_equal(sobj_key(out[j]), "s:", 2);
			idx = key_index(out[j], 2);
			assert_true(idx < 1000);
			for (m = 0; m < j; m++) /* distinct within a sample */
				assert_ptr_not_equal(out[m], out[j]);
			if (!hit[idx]++)
				distinct++;
		}
	}
	/* random anchors spread the samples over the keys */
	assert_true(distinct > 900);
	/* asking for more than a shard holds wraps once and stops */
	store_shard_stats(1, &st);
	n = store_sample(1, 0, 64, out, T0, &rng);
	assert_int_equal(n, 64 < st.keys ? 64 : st.keys);
	{
		uint64_t r2 = 1;

		store_flush(0);
		put(0, "s:1", "v", STORE_NO_EXPIRE);
		sh = store_owner(slot_s("s:1"));
		for (i = 0; i < 50; i++) {
			n = store_sample(sh, 0, 8, out, T0, &r2);
			assert_int_equal(n, 1);
			assert_memory_equal(sobj_key(out[0]), "s:1", 3);
		}
	}
	store_bg_wait();
}

static void test_idle(void **state)
{
	struct sobj *o;

	(void)state;
	o = put(0, "lru", "v", STORE_NO_EXPIRE);
	store_touch(o, T0);
	assert_int_equal(store_idle_seconds(o, T0), 0);
	assert_int_equal(store_idle_seconds(o, T0 + 999), 0);
	assert_int_equal(store_idle_seconds(o, T0 + 61000), 61);
	store_touch(o, T0 + 61000);
	assert_int_equal(store_idle_seconds(o, T0 + 61000), 0);
	/* A reader with a clock behind the stamp sees "just used". */
	assert_int_equal(store_idle_seconds(o, T0), 0);
	/* New objects start at the store's clock, not at 1970. */
	o = put(0, "lru2", "v", STORE_NO_EXPIRE);
	assert_true(store_idle_seconds(o, T0 + 61000) < 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot_vectors),
	    cmocka_unit_test(test_slot_hash_tags),
	    cmocka_unit_test(test_slot_crc_matches_bitwise),
	    cmocka_unit_test(test_skey),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test_setup_teardown(test_put_find_replace_delete,
					    setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_new_fill_in_place, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_many_keys, setup_4x16,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expire_semantics, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_active_expire_bounded,
					    setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_heap_order, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_heap_across_dbs, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_counters, setup_4x16,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_visit, setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_random, setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_layout, setup_1x4, teardown),
	    cmocka_unit_test_setup_teardown(test_access_keeps_flags, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expire_adds_ext, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_walk_positions, setup_4x16,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_walk_under_churn, setup_4x16,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sample, setup_4x16, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_readers, setup_4x16,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resize_under_readers,
					    setup_with_2x1, teardown),
	    cmocka_unit_test_setup_teardown(test_table_sizing, setup_1x4,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_idle, setup_1x4, teardown),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_barrier();
	rcu_unregister_thread();
	return ret;
}
