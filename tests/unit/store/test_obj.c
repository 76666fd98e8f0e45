/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for typed store objects: the pointer form (a header whose
 * value is an owner-side body), its per-type destructor and the size-delta
 * accounting of store_obj_resize().
 *
 * The body type is the test's own: a malloc'd block with a magic number,
 * registered as SOBJ_LIST's destructor (no real list exists yet).  The
 * test thread has no reclaim home, so retired objects are freed by the
 * call_rcu thread; wait_reclaim() waits for that.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_pvt.h"

#define T0 1700000000000LL
#define BODY_MAGIC 0x7e57b0d7u

struct test_body {
	uint32_t magic;
	char bytes[];
};

static unsigned destroyed;
static void *last_destroyed;

static void test_body_free(void *p)
{
	struct test_body *b = p;

	assert_int_equal(b->magic, BODY_MAGIC);
	b->magic = 0;
	__atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&last_destroyed, p, __ATOMIC_SEQ_CST);
	free(b);
}

static struct test_body *body_new(size_t n)
{
	struct test_body *b = malloc(sizeof(*b) + n);

	assert_non_null(b);
	b->magic = BODY_MAGIC;
	return b;
}

static unsigned ndestroyed(void)
{
	return __atomic_load_n(&destroyed, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 2, .ndbs = 2};

	(void)state;
	destroyed = 0;
	last_destroyed = NULL;
	assert_int_equal(store_type_register(SOBJ_LIST, test_body_free), 0);
	return store_setup(&conf);
}

static int teardown(void **state)
{
	(void)state;
	store_teardown();
	store_type_register(SOBJ_LIST, NULL);
	return 0;
}

/* Every retired object of this thread has been freed. */
static void wait_reclaim(void)
{
	store_retire_flush();
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
}

static struct sobj *new_list(struct skey *k, const char *key,
			     struct test_body *b, uint64_t bytes)
{
	struct sobj *o;

	skey_init(k, key, strlen(key));
	o = sobj_new_ptr(k, SOBJ_LIST, SOBJ_ENC_QUICKLIST, b, bytes);
	assert_non_null(o);
	return o;
}

/* A string in the same db and shard first, so the table exists and the
 * baseline covers it. */
static uint64_t baseline(unsigned db, const struct skey *like)
{
	char key[32];
	struct skey k;
	unsigned i;

	for (i = 0;; i++) {
		snprintf(key, sizeof(key), "base:%u", i);
		skey_init(&k, key, strlen(key));
		if (store_owner(k.slot) == store_owner(like->slot))
			break;
	}
	assert_non_null(
	    store_put(db, sobj_new_string(&k, "v", 1, false), STORE_NO_EXPIRE));
	return store_shard_used(store_owner(like->slot));
}

static void test_type_register(void **state)
{
	(void)state;
	assert_int_equal(store_type_register(SOBJ_STRING, test_body_free),
			 -EINVAL);
	assert_int_equal(
	    store_type_register((enum sobj_type)SOBJ_NTYPES, test_body_free),
	    -EINVAL);
	assert_int_equal(store_type_register(SOBJ_HASH, NULL), 0);
}

static void test_ptr_layout(void **state)
{
	struct test_body *b = body_new(10);
	struct skey k;
	struct sobj *o, *s;
	char key[300];

	(void)state;
	o = new_list(&k, "list:1", b, 10);
	assert_int_equal(sobj_type(o), SOBJ_LIST);
	assert_int_equal(sobj_enc(o), SOBJ_ENC_QUICKLIST);
	assert_true(sobj_is_ptr(o));
	assert_true(sobj_has_ext(o));
	assert_false(sobj_flags(o) & SOBJ_F_LONG);
	assert_ptr_equal(sobj_body(o), b);
	assert_int_equal(sobj_body_bytes(o), 10);
	assert_int_equal(sobj_klen(o), 6);
	assert_memory_equal(sobj_key(o), "list:1", 6);
	assert_int_equal(sobj_expire(o), STORE_NO_EXPIRE);
	assert_int_equal(sobj_usage(o), sobj_alloc_size(o) + 10);
	/* 24 header + 12 extension + 6 key + 16 pointer and size. */
	assert_int_equal(sobj_alloc_size(o), 64);
	/* Touching from any core rewrites the meta word with the flags it
	 * read: type and encoding survive. */
	store_touch(o, T0 + 5000);
	assert_int_equal(sobj_type(o), SOBJ_LIST);
	assert_int_equal(sobj_enc(o), SOBJ_ENC_QUICKLIST);
	/* Never published: the body goes at once. */
	sobj_free_unpublished(o);
	assert_int_equal(ndestroyed(), 1);
	assert_ptr_equal(last_destroyed, b);

	/* A long key. */
	memset(key, 'k', sizeof(key));
	skey_init(&k, key, sizeof(key));
	b = body_new(1);
	o = sobj_new_ptr(&k, SOBJ_LIST, SOBJ_ENC_LISTPACK, b, 1);
	assert_non_null(o);
	assert_true(sobj_flags(o) & SOBJ_F_LONG);
	assert_int_equal(sobj_klen(o), sizeof(key));
	assert_ptr_equal(sobj_body(o), b);
	assert_int_equal(sobj_enc(o), SOBJ_ENC_LISTPACK);
	sobj_free_unpublished(o);
	assert_int_equal(ndestroyed(), 2);

	/* Strings are untouched by the new bits. */
	skey_init(&k, "str", 3);
	s = sobj_new_string(&k, "value", 5, false);
	assert_int_equal(sobj_type(s), SOBJ_STRING);
	assert_int_equal(sobj_enc(s), SOBJ_ENC_STRING);
	assert_false(sobj_is_ptr(s));
	assert_int_equal(sobj_usage(s), sobj_alloc_size(s));
	sobj_free_unpublished(s);
	assert_int_equal(ndestroyed(), 2);

	/* No pointer-form string. */
	assert_null(sobj_new_ptr(&k, SOBJ_STRING, SOBJ_ENC_STRING, b, 1));
	assert_int_equal(errno, EINVAL);
}

/* Grow and shrink in place: the shard's used bytes follow exactly; the
 * delete gives every byte back and the destructor runs after the grace
 * period, once. */
static void test_ptr_resize_and_delete(void **state)
{
	struct test_body *b = body_new(100);
	uint64_t start, hdr;
	unsigned sh;
	struct skey k;
	struct sobj *o;

	(void)state;
	o = new_list(&k, "list:grow", b, 100);
	sh = store_owner(k.slot);
	start = baseline(1, &k);
	hdr = sobj_alloc_size(o);
	assert_ptr_equal(store_put(1, o, STORE_NO_EXPIRE), o);
	assert_int_equal(store_shard_used(sh), start + hdr + 100);

	b = realloc(b, sizeof(*b) + 4000);
	assert_non_null(b);
	sobj_set_body(o, b);
	store_obj_resize(1, o, 3900);
	assert_ptr_equal(sobj_body(o), b);
	assert_int_equal(sobj_body_bytes(o), 4000);
	assert_int_equal(sobj_usage(o), hdr + 4000);
	assert_int_equal(store_shard_used(sh), start + hdr + 4000);

	store_obj_resize(1, o, -3950);
	assert_int_equal(sobj_body_bytes(o), 50);
	assert_int_equal(store_shard_used(sh), start + hdr + 50);
	/* The other shard saw nothing. */
	assert_int_equal(store_shard_used(1 - sh) + store_shard_used(sh),
			 store_used());

	assert_ptr_equal(store_find(1, &k, T0), o);
	assert_int_equal(store_delete(1, &k, T0), 1);
	assert_int_equal(store_shard_used(sh), start);
	wait_reclaim();
	assert_int_equal(ndestroyed(), 1);
	assert_ptr_equal(last_destroyed, b);
}

/* A string replacing a list (SET over it) retires the list's body; a list
 * replacing a string accounts its body. */
static void test_ptr_replace(void **state)
{
	struct test_body *b = body_new(500);
	uint64_t start;
	unsigned sh;
	struct skey k;
	struct sobj *o, *s;

	(void)state;
	o = new_list(&k, "list:repl", b, 500);
	sh = store_owner(k.slot);
	start = baseline(0, &k);
	s = sobj_new_string(&k, "str", 3, false);
	assert_ptr_equal(store_put(0, s, STORE_NO_EXPIRE), s);
	assert_int_equal(store_shard_used(sh), start + sobj_alloc_size(s));

	assert_ptr_equal(store_put(0, o, STORE_NO_EXPIRE), o);
	assert_int_equal(store_shard_used(sh), start + sobj_usage(o));
	assert_int_equal(sobj_usage(o), sobj_alloc_size(o) + 500);

	s = sobj_new_string(&k, "again", 5, false);
	assert_ptr_equal(store_put(0, s, STORE_NO_EXPIRE), s);
	assert_int_equal(store_shard_used(sh), start + sobj_alloc_size(s));
	wait_reclaim();
	assert_int_equal(ndestroyed(), 1);
}

/* Expiry, active or lazy, and a flush reclaim bodies too; strings
 * retired in the same batches are plain frees. */
static void test_ptr_expire_and_flush(void **state)
{
	struct skey k;
	struct sobj *o;
	char key[32];
	unsigned i;
	uint64_t before = store_used();

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "l:%u", i);
		o = new_list(&k, key, body_new(8), 8);
		assert_non_null(
		    store_put(0, o, i < 100 ? T0 + 10 : STORE_NO_EXPIRE));
		snprintf(key, sizeof(key), "s:%u", i);
		skey_init(&k, key, strlen(key));
		assert_non_null(store_put(0, sobj_new_string(&k, "v", 1, true),
					  i < 100 ? T0 + 10 : STORE_NO_EXPIRE));
	}
	assert_true(store_used() > before);
	/* Lazy: the owner's lookup deletes it. */
	skey_init(&k, "l:0", 3);
	assert_null(store_find_w(0, &k, T0 + 10));
	for (i = 0; i < store_nshards(); i++)
		while (store_active_expire(i, T0 + 10, 64))
			;
	wait_reclaim();
	assert_int_equal(ndestroyed(), 100);
	assert_int_equal(store_dbsize(0), 400);

	store_flush(UINT32_MAX);
	store_bg_wait();
	assert_int_equal(ndestroyed(), 300);
	assert_int_equal(store_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_type_register, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ptr_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptr_resize_and_delete, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ptr_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptr_expire_and_flush, setup,
					    teardown),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_barrier();
	rcu_unregister_thread();
	return ret;
}
