/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_lib on its own: the whole command table (cmd_setup), linked with
 * store, resp, route's key specs and cfg but no conn, worker or driver,
 * runs INFO through a host table (cmd_host.h) whose answers the test
 * chooses, and INFO reports exactly those: the server families reach the
 * process only through that table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu-qsbr.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "cmd/cmd_host.h"
#include "stats.h"
#include "store/store.h"

static struct wstats st[2];

static unsigned two(void)
{
	return 2;
}
static struct wstats *stats_of(unsigned i)
{
	return &st[i];
}
static uint64_t u0(void)
{
	return 0;
}
static unsigned seven(void)
{
	return 7;
}
static unsigned five(void)
{
	return 5;
}
static unsigned long obufs(void)
{
	return 3;
}
static const char *fake_name(void)
{
	return "fake";
}
static void recent(uint64_t *in, uint64_t *out)
{
	*in = 11;
	*out = 12;
}

static const struct cmd_host host = {
    .workers = two,
    .stats = stats_of,
    .transport_name = fake_name,
    .transport_mem = u0,
    .mempool_mem = u0,
    .clients = seven,
    .clients_mem = u0,
    .obuf_disconnections = obufs,
    .clients_recent_max = recent,
    .blocked_clients = five,
};

static char *info(const char *section)
{
	struct resp_arg argv[2] = {{"INFO", 4}, {section, strlen(section)}};
	static uint64_t rng = 1;
	struct resp_out out;
	struct cmd_ctx c = {.st = &st[0],
			    .argc = 2,
			    .argv = argv,
			    .out = &out,
			    .now_ms = 1700000000000LL,
			    .rng = &rng};
	const struct cmd_def *d = cmd_lookup("info", 4);
	char *s;

	assert_non_null(d);
	resp_out_init(&out, 2);
	d->fn(&c);
	s = strndup(out.buf, out.len);
	resp_out_free(&out);
	return s;
}

static void test_info_reads_the_host(void **state)
{
	char *s;
	(void)state;

	st[0].total_commands = 40;
	st[1].total_commands = 2;
	s = info("server");
	assert_non_null(strstr(s, "multiplexing_api:fake\r\n"));
	assert_non_null(strstr(s, "cachalot_workers:2\r\n"));
	free(s);
	s = info("clients");
	assert_non_null(strstr(s, "connected_clients:7\r\n"));
	assert_non_null(strstr(s, "client_recent_max_input_buffer:11\r\n"));
	assert_non_null(strstr(s, "blocked_clients:5\r\n"));
	free(s);
	s = info("stats");
	assert_non_null(strstr(s, "total_commands_processed:42\r\n"));
	assert_non_null(
	    strstr(s, "client_output_buffer_limit_disconnections:3"));
	free(s);
}

int main(void)
{
	struct store_conf sc = {.nshards = 2, .ndbs = 16};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_info_reads_the_host),
	};

	rcu_register_thread();
	if (cfg_setup() || store_setup(&sc) || cmd_setup())
		return 1;
	cmd_host_set(&host);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
