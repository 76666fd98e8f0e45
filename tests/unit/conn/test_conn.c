/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn over a fake transport: one worker (never started: the test thread
 * plays it), a one-shard store and the real command table, config, route
 * stage and reply path.  The transport is a byte pipe in memory, so each
 * test feeds requests in any split it likes and reads back the exact
 * bytes a client would receive, and sees when conn asks for a close.
 * What needs several cores (remote commands, holds) is the integration
 * suite's; here it is conn's own work: framing, pipelining, ordering of
 * replies, errors, limits, CLIENT REPLY, QUIT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu-qsbr.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/cmd_host.h"
#include "conn.h"
#include "route/route.h"
#include "store/store.h"
#include "timer.h"
#include "transport.h"
#include "worker.h"
#include "worker_pvt.h"

/* ---- the fake transport ------------------------------------------- */

static int closes;

static void ft_close(struct worker *w, struct conn *c)
{
	(void)w;
	closes++;
	conn_closed(c);
}

static const struct transport_ops fake_tp = {
    .name = "fake",
    .close = ft_close,
};

/* What the server commands see: this worker and its clients, as in the
 * server (worker_cmd_host), without a transport's gauges. */
static struct cmd_host host;

/* ---- environment --------------------------------------------------- */

static struct worker *w;
static struct conn *c;
static char out[1 << 22];
static size_t outlen;

static int setup_all(void **state)
{
	struct store_conf sc = {.nshards = 1, .ndbs = 16};
	struct worker_conf wc = {.count = 1, .tp = &fake_tp};
	(void)state;

	rcu_register_thread();
	if (cfg_setup() || store_setup(&sc) || cmd_setup() || conn_setup() ||
	    route_setup() || worker_setup(&wc))
		return -1;
	worker_cmd_host(&host);
	cmd_host_set(&host);
	w = worker_get(0);
	w->now_ms = 1700000000000LL;
	return 0;
}

static int setup(void **state)
{
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(40000)};
	(void)state;

	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c = conn_new(w, 99, (struct sockaddr *)&peer, (struct sockaddr *)&peer);
	closes = 0;
	outlen = 0;
	return c ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (!closes)
		ft_close(w, c);
	w->dirty = NULL;
	rcu_quiescent_state();
	return 0;
}

/* Send bytes as one read, run the turn's flush, return what went out. */
static void feed_n(const char *p, size_t n)
{
	while (n) {
		size_t avail;
		char *dst = conn_rx_space(c, &avail);
		size_t k = n < avail ? n : avail;

		assert_non_null(dst);
		memcpy(dst, p, k);
		conn_rx_done(c, k);
		p += k;
		n -= k;
		if (closes)
			break;
	}
}

static void feed(const char *s)
{
	feed_n(s, strlen(s));
}

static const char *drain(void)
{
	size_t len;
	const char *p;

	if (!closes)
		while ((p = conn_tx_data(c, &len)), len > 0) {
			assert_true(outlen + len < sizeof(out));
			memcpy(out + outlen, p, len);
			outlen += len;
			conn_tx_done(c, len);
		}
	w->dirty = NULL;
	out[outlen] = '\0';
	rcu_quiescent_state();
	return out;
}

static void expect(const char *req, const char *reply)
{
	outlen = 0;
	feed(req);
	assert_string_equal(drain(), reply);
}

static void set_cfg(const char *name, const char *value)
{
	char err[256];

	assert_int_equal(cfg_set(1, &name, &value, err, sizeof(err)), 0);
}

/* ---- tests --------------------------------------------------------- */

static void test_pipeline_in_one_read(void **state)
{
	(void)state;
	expect("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n"
	       "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nECHO \"a b\"\r\n",
	       "+OK\r\n$2\r\nv1\r\n+PONG\r\n$3\r\na b\r\n");
}

/* A request cut at every byte gives the same replies. */
static void test_split_at_every_byte(void **state)
{
	const char *req = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n"
			  "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
	(void)state;

	outlen = 0;
	for (const char *p = req; *p; p++)
		feed_n(p, 1);
	assert_string_equal(drain(), "+OK\r\n$5\r\nhello\r\n");
}

static void test_errors_in_a_pipeline_keep_order(void **state)
{
	(void)state;
	expect("PING\r\nNOSUCH a\r\nGET\r\nSET k v\r\nINCR k\r\nGET k\r\n",
	       "+PONG\r\n"
	       "-ERR unknown command 'NOSUCH', with args beginning with: "
	       "'a' \r\n"
	       "-ERR wrong number of arguments for 'get' command\r\n"
	       "+OK\r\n"
	       "-ERR value is not an integer or out of range\r\n"
	       "$1\r\nv\r\n");
}

/* A protocol error answers with Redis's text, runs nothing after it and
 * closes once that reply is out. */
static void test_protocol_error_closes_after_reply(void **state)
{
	(void)state;
	expect("PING\r\n*1\r\n$x\r\nPING\r\n",
	       "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
	assert_true(conn_tx_close(c));
}

static void test_quit(void **state)
{
	(void)state;
	expect("QUIT\r\nPING\r\n", "+OK\r\n");
	assert_true(conn_tx_close(c));
}

static void test_client_reply_off_and_skip(void **state)
{
	(void)state;
	expect("CLIENT REPLY OFF\r\nSET a 1\r\nPING\r\n", "");
	expect("CLIENT REPLY ON\r\n", "+OK\r\n");
	expect("CLIENT REPLY SKIP\r\nPING\r\nECHO x\r\n", "$1\r\nx\r\n");
}

/* A request bigger than client-query-buffer-limit closes the client
 * before it is buffered whole. */
static void test_query_buffer_limit_closes(void **state)
{
	static char big[3 << 20];
	(void)state;

	set_cfg("client-query-buffer-limit", "1mb");
	int hdr =
	    snprintf(big, 64, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", sizeof(big) - 64);

	memset(big + hdr, 'x', sizeof(big) - (size_t)hdr);
	outlen = 0;
	feed_n(big, sizeof(big));
	assert_int_equal(closes, 1);
	set_cfg("client-query-buffer-limit", "1gb");
}

/* Over the normal class's hard limit: closed, nothing of the reply sent
 * (Redis closes such a client without writing more). */
static void test_output_hard_limit_closes(void **state)
{
	(void)state;
	set_cfg("client-output-buffer-limit", "normal 64kb 0 0");
	expect("SET big \"\"\r\nSETRANGE big 200000 x\r\n",
	       "+OK\r\n:200001\r\n");
	outlen = 0;
	feed("GET big\r\n");
	drain();
	assert_int_equal(closes, 1);
	assert_int_equal(outlen, 0);
	set_cfg("client-output-buffer-limit", "normal 0 0 0");
}

/* CLIENT SETNAME, then CLIENT LIST shows this connection as conn_info
 * formats it, through the host table. */
static void test_client_list_sees_this_client(void **state)
{
	(void)state;
	expect("CLIENT SETNAME unit\r\n", "+OK\r\n");
	outlen = 0;
	feed("CLIENT LIST\r\n");
	drain();
	assert_non_null(strstr(out, " name=unit "));
	assert_non_null(strstr(out, "addr=127.0.0.1:40000 "));
}

/* WAIT with nobody to acknowledge blocks: nothing of the pipeline is
 * answered until its deadline passes on the worker's timer wheel, then
 * both replies come in order; the blocked count follows. */
static void test_blocked_request_holds_the_pipeline(void **state)
{
	(void)state;
	outlen = 0;
	feed("WAIT 1 20\r\nPING\r\n");
	assert_string_equal(drain(), "");
	assert_int_equal(conn_blocked_count(), 1);
	timer_run(w->tw, (uint64_t)clock_mono_us() + 1000);
	conn_resume_paused(w);
	assert_string_equal(drain(), ""); /* not yet */
	timer_run(w->tw, (uint64_t)clock_mono_us() + 30000);
	conn_resume_paused(w);
	assert_string_equal(drain(), ":0\r\n+PONG\r\n");
	assert_int_equal(conn_blocked_count(), 0);
}

/* CLIENT UNBLOCK ERROR answers -UNBLOCKED without running the request; a
 * client that is not blocked is not woken. */
static void test_unblock_error_and_close(void **state)
{
	uint64_t id = conn_client(c)->id;

	(void)state;
	assert_false(conn_unblock_id(w, id, CONN_UNBLOCK_ERROR));
	outlen = 0;
	feed("WAIT 1 0\r\n");
	assert_string_equal(drain(), "");
	assert_true(conn_unblock_id(w, id, CONN_UNBLOCK_ERROR));
	conn_resume_paused(w);
	assert_string_equal(
	    drain(), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
	/* blocked again, then gone: the count goes back */
	feed("WAIT 1 0\r\n");
	assert_int_equal(conn_blocked_count(), 1);
	ft_close(w, c);
	assert_int_equal(conn_blocked_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pipeline_in_one_read, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_split_at_every_byte, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_errors_in_a_pipeline_keep_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_protocol_error_closes_after_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_reply_off_and_skip,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_buffer_limit_closes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_hard_limit_closes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_blocked_request_holds_the_pipeline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unblock_error_and_close, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_client_list_sees_this_client,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, setup_all, NULL);
}
