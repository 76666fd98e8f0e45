/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for cmd_memory.c: the derived figures (overhead, dataset,
 * peak), MEMORY DOCTOR's choice of report for each condition and its
 * behaviour with a short buffer, and MEMORY USAGE over a one-shard store
 * (sizes, nil, Redis 7.0's error replies for SAMPLES).
 *
 * The connection and transport gauges come from a host table (cmd_host.h)
 * with nothing behind it, and cmd_reply_help is stubbed, so the linker
 * takes cmd_memory.o and cmd_string.o (for SET) out of cmd_lib without
 * the server-side files.  The configuration is the real one (cfg_setup,
 * and the families' view that cmd_setup would register).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu-qsbr.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "cmd/cmd_host.h"
#include "cmd/cmd_pvt.h"
#include "stats.h"

#define T0 1700000000000LL
#define MB (1024ull * 1024)

/* What cmd_memory.c reads outside cmd_lib: no clients, no transport. */
static uint64_t zero64(void)
{
	return 0;
}
static unsigned zero(void)
{
	return 0;
}

static const struct cmd_host host = {
    .clients = zero,
    .clients_mem = zero64,
    .transport_mem = zero64,
    .mempool_mem = zero64,
};

void cmd_reply_help(struct cmd_ctx *c, const char *const *lines, size_t n)
{
	resp_array(c->out, (long)n);
	for (size_t i = 0; i < n; i++)
		resp_simple(c->out, lines[i]);
}

void cmd_set(struct cmd_ctx *c);
void cmd_memory_usage(struct cmd_ctx *c);

static struct wstats st;
static uint64_t rng = 88172645463325252ULL;
static struct resp_out out;
static struct resp_arg args[16];

/* Run a handler on space-separated words (no quoting needed here). */
static void run(void (*fn)(struct cmd_ctx *), const char *line)
{
	static char buf[1 << 16];
	struct cmd_ctx c = {.st = &st, .out = &out, .now_ms = T0, .rng = &rng};
	char *w = buf;

	resp_out_free(&out);
	resp_out_init(&out, 2);
	for (const char *s = line; *s;) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		args[c.argc].ptr = w;
		while (*s && *s != ' ')
			*w++ = *s++;
		args[c.argc].len = (size_t)(w - args[c.argc].ptr);
		c.argc++;
	}
	c.argv = args;
	fn(&c);
	rcu_quiescent_state();
}

static void expect(void (*fn)(struct cmd_ctx *), const char *line,
		   const char *want)
{
	run(fn, line);
	if (out.len != strlen(want) || memcmp(out.buf, want, out.len) != 0)
		fail_msg("%s\n  want: %s\n  got:  %.*s", line, want,
			 (int)out.len, out.buf);
}

static long long run_int(void (*fn)(struct cmd_ctx *), const char *line)
{
	long long v = -1;

	run(fn, line);
	if (out.len < 3 || out.buf[0] != ':' ||
	    sscanf(out.buf + 1, "%lld", &v) != 1)
		fail_msg("%s: not an integer: %.*s", line, (int)out.len,
			 out.buf);
	return v;
}

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 1, .ndbs = 16};

	(void)state;
	cmd_host_set(&host);
	return store_setup(&conf);
}

static int teardown(void **state)
{
	(void)state;
	resp_out_free(&out);
	resp_out_init(&out, 2);
	store_teardown();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return cfg_setup() || cmd_params_setup() ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cfg_teardown();
	return 0;
}

/* ---- figures ---------------------------------------------------------- */

static void test_derive(void **state)
{
	struct cmd_mem m = {.store = 100 * MB,
			    .tables = 10 * MB,
			    .clients = 2 * MB,
			    .startup = 1 * MB};

	(void)state;
	cmd_mem_derive(&m);
	assert_int_equal(m.used, 102 * MB);
	assert_int_equal(m.overhead, 13 * MB);
	assert_int_equal(m.dataset, 89 * MB);
	assert_int_equal(m.peak, m.used); /* a peak is never below used */
	m.peak = 500 * MB;
	m.tables = 200 * MB; /* overhead over used: no negative dataset */
	cmd_mem_derive(&m);
	assert_int_equal(m.dataset, 0);
	assert_int_equal(m.peak, 500 * MB);
}

/* ---- MEMORY DOCTOR ---------------------------------------------------- */

static const char *doctor(const struct cmd_mem *m, uint64_t maxmemory,
			  int policy)
{
	static char buf[4096];
	int n = cmd_mem_doctor(m, maxmemory, policy, buf, sizeof(buf));

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(strlen(buf), (size_t)n);
	assert_true(buf[n - 1] == '\n');
	return buf;
}

/* A healthy 100 MB instance: RSS a little over used, 10 clients. */
static struct cmd_mem healthy(void)
{
	struct cmd_mem m = {.store = 100 * MB,
			    .tables = 5 * MB,
			    .clients = 200 * 1024,
			    .rss = 120 * MB,
			    .committed = 30 * MB,
			    .transport = 2 * MB,
			    .nclients = 10};

	cmd_mem_derive(&m);
	return m;
}

static void test_doctor_empty_and_fine(void **state)
{
	struct cmd_mem m = {.store = 1 * MB, .rss = 50 * MB, .nclients = 1};
	struct cmd_mem ok = healthy();

	(void)state;
	cmd_mem_derive(&m);
	assert_true(strncmp(doctor(&m, 0, 0), "Hi Sam, this instance is empty",
			    30) == 0);
	assert_string_equal(doctor(&ok, 0, 0),
			    "Hi Sam, I can't find any memory issue in your "
			    "instance. I can only account for what occurs on "
			    "this base.\n");
	/* a limit far away, or an eviction policy, is no issue */
	assert_non_null(strstr(doctor(&ok, 1000 * MB, 0), "can't find"));
	assert_non_null(strstr(doctor(&ok, 101 * MB, 1), "can't find"));
}

static void test_doctor_issues(void **state)
{
	struct cmd_mem m;
	const char *t;

	(void)state;
	m = healthy();
	m.peak = 200 * MB;
	t = doctor(&m, 0, 0);
	assert_true(strncmp(t, "Sam, I detected a few issues", 28) == 0);
	assert_non_null(strstr(t, "Peak memory"));
	assert_null(strstr(t, "High total RSS"));
	assert_non_null(strstr(t, "I'm here to keep you safe, Sam."));

	m = healthy();
	m.rss = 300 * MB;
	t = doctor(&m, 0, 0);
	assert_non_null(strstr(t, "High total RSS"));
	assert_null(strstr(t, "Peak memory"));

	m = healthy();
	m.clients = 10 * MB; /* 1 MB per client */
	cmd_mem_derive(&m);
	assert_non_null(strstr(doctor(&m, 0, 0), "Big client buffers: 10"));

	m = healthy();
	t = doctor(&m, 105 * MB, 0); /* noeviction at 97% */
	assert_non_null(strstr(t, "Near the limit"));

	m = healthy();
	m.mempools = 500 * MB;
	t = doctor(&m, 0, 0);
	assert_non_null(strstr(t, "Transport buffers"));
}

static void test_doctor_short_buffer(void **state)
{
	struct cmd_mem m = healthy();
	char small[32];
	int n;

	(void)state;
	m.peak = 1000 * MB;
	m.rss = 2000 * MB;
	memset(small, 'x', sizeof(small));
	n = cmd_mem_doctor(&m, 0, 0, small, 16);
	assert_true(n > 100);		     /* what it needed */
	assert_int_equal(strlen(small), 15); /* cut and terminated */
	assert_true(small[16] == 'x');	     /* nothing past size */
}

/* ---- MEMORY USAGE ----------------------------------------------------- */

static void test_usage(void **state)
{
	long long small, ttl, big;
	char line[8 + 600 + 1];

	(void)state;
	expect(cmd_set, "SET small bar", "+OK\r\n");
	expect(cmd_set, "SET ttl bar EX 100", "+OK\r\n");
	memset(line, 'x', sizeof(line) - 1);
	memcpy(line, "SET big ", 8);
	line[sizeof(line) - 1] = '\0'; /* a 600-byte value: mi_malloc */
	expect(cmd_set, line, "+OK\r\n");
	small = run_int(cmd_memory_usage, "MEMORY USAGE small");
	/* 24-byte header, key, value, one bucket; no expiry extension */
	assert_true(small >= 24 + 5 + 3 + 16 && small <= 24 + 5 + 3 + 16 + 16);
	ttl = run_int(cmd_memory_usage, "MEMORY USAGE ttl");
	/* the expiry extension and a heap slot */
	assert_true(ttl >= small + 12 + 8);
	big = run_int(cmd_memory_usage, "MEMORY USAGE big");
	/* the long form's lengths and expiry extension, mimalloc's bins
	 * (up to a quarter more) */
	assert_true(big >= 24 + 8 + 12 + 3 + 600 + 16 &&
		    big <= (24 + 8 + 12 + 3 + 600) * 5 / 4 + 16);
	assert_int_equal(
	    run_int(cmd_memory_usage, "MEMORY USAGE small SAMPLES 0 samples 7"),
	    small);
	expect(cmd_memory_usage, "MEMORY USAGE nokey", "$-1\r\n");
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect(cmd_set, "SET foo bar", "+OK\r\n");
	expect(cmd_memory_usage, "MEMORY USAGE foo SAMPLES",
	       "-ERR syntax error\r\n");
	expect(cmd_memory_usage, "MEMORY USAGE foo SAMPLES -1",
	       "-ERR syntax error\r\n");
	expect(cmd_memory_usage, "MEMORY USAGE foo SAMPLES 1 x",
	       "-ERR syntax error\r\n");
	expect(cmd_memory_usage, "MEMORY USAGE foo COUNT 1",
	       "-ERR syntax error\r\n");
	expect(cmd_memory_usage, "MEMORY USAGE nokey SAMPLES 1x",
	       "-ERR value is not an integer or out of range\r\n");
	expect(cmd_memory_usage,
	       "MEMORY USAGE foo SAMPLES 99999999999999999999",
	       "-ERR value is not an integer or out of range\r\n");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_doctor_empty_and_fine),
	    cmocka_unit_test(test_doctor_issues),
	    cmocka_unit_test(test_doctor_short_buffer),
	    T(test_usage),
	    T(test_usage_errors),
	};
#undef T
	int rc;

	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	rcu_unregister_thread();
	return rc;
}
