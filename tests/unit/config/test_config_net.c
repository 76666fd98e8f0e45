/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dpdk transport's parameters: the value syntaxes of cfg_net.c (ip,
 * gateway, dpdk-args shell words, dpdk-fault) and how the table refuses a
 * bad value, by name, value and what is allowed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mimalloc.h>
#include <urcu-qsbr.h>

#include "cfg.h"

static char err[1024];

static int setup(void **state)
{
	(void)state;
	return cfg_setup();
}

static int teardown(void **state)
{
	(void)state;
	rcu_thread_offline();
	cfg_teardown();
	rcu_thread_online();
	return 0;
}

static int load_args(int n, ...)
{
	char *argv[16] = {"cachalot"};
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i + 1] = va_arg(ap, char *);
	va_end(ap);
	err[0] = '\0';
	return cfg_load_args(n + 1, argv, err, sizeof(err));
}

static void test_ipv4(void **state)
{
	uint32_t ip = 0;
	uint8_t len = 0;

	(void)state;
	assert_int_equal(cfg_parse_ipv4("10.0.0.5", &ip), 0);
	assert_int_equal(ip, 0x0a000005);
	assert_int_equal(cfg_parse_ipv4("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffff);
	assert_int_equal(cfg_parse_ipv4("0.0.0.0", &ip), 0);
	assert_int_equal(ip, 0);
	const char *bad[] = {"",	  "10.0.0",   "10.0.0.5.1", "256.0.0.1",
			     "10.0.0.x",  "10..0.1",  " 10.0.0.1",  "10.0.0.1 ",
			     "010.0.0.1", "-1.0.0.0", "10.0.0.5/24"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfg_parse_ipv4(bad[i], &ip), -EINVAL);

	assert_int_equal(cfg_parse_ipv4_prefix("10.211.0.1/24", &ip, &len), 0);
	assert_int_equal(ip, 0x0ad30001);
	assert_int_equal(len, 24);
	assert_int_equal(cfg_parse_ipv4_prefix("192.168.1.9/32", &ip, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(cfg_parse_ipv4_prefix("1.2.3.4/1", &ip, &len), 0);
	assert_int_equal(len, 1);
	const char *badp[] = {"10.0.0.5",    "10.0.0.5/",   "10.0.0.5/0",
			      "10.0.0.5/33", "10.0.0.5/2x", "/24",
			      "10.0.0/24",   "10.0.0.5/024"};
	for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++)
		assert_int_equal(cfg_parse_ipv4_prefix(badp[i], &ip, &len),
				 -EINVAL);
}

static void expect_words(const char *s, int n, ...)
{
	char **argv = NULL;
	va_list ap;

	assert_int_equal(cfg_split_args(s, &argv), n);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(argv[i], va_arg(ap, const char *));
	va_end(ap);
	assert_null(argv[n]);
	mi_free(argv);
}

static void test_split_args(void **state)
{
	char **argv;

	(void)state;
	expect_words("", 0);
	expect_words("   \t ", 0);
	expect_words("-l 0-3 -a 0000:3b:00.0", 4, "-l", "0-3", "-a",
		     "0000:3b:00.0");
	expect_words("  --no-huge   -m 512  ", 3, "--no-huge", "-m", "512");
	expect_words("--vdev 'net_tap0,iface=a b'", 2, "--vdev",
		     "net_tap0,iface=a b");
	expect_words("--vdev \"x \\\"y\\\" \\\\z\"", 2, "--vdev",
		     "x \"y\" \\z");
	expect_words("a\\ b c", 2, "a b", "c");
	expect_words("pre'fix'\"ed\" ''", 2, "prefixed", "");
	expect_words("'$HOME' \"$HOME\"", 2, "$HOME", "$HOME");
	/* Every character but separators kept verbatim; nothing added. */
	expect_words("-l0-1", 1, "-l0-1");
	assert_int_equal(cfg_split_args("-l 'x", &argv), -EINVAL);
	assert_int_equal(cfg_split_args("\"abc", &argv), -EINVAL);
	assert_int_equal(cfg_split_args("abc\\", &argv), -EINVAL);
}

static void test_fault(void **state)
{
	struct cfg_fault f;
	char why[256];

	(void)state;
	assert_int_equal(cfg_parse_fault("", &f, why, sizeof(why)), 0);
	assert_false(f.on);
	assert_int_equal(f.seed, 1);
	assert_int_equal(
	    cfg_parse_fault(
		"drop=1%,dup=0.5%,reorder=1%,corrupt=0.1%,delay=1%:2ms,seed=42",
		&f, why, sizeof(why)),
	    0);
	assert_true(f.on);
	assert_float_equal(f.drop, 0.01, 1e-12);
	assert_float_equal(f.dup, 0.005, 1e-12);
	assert_float_equal(f.reorder, 0.01, 1e-12);
	assert_float_equal(f.corrupt, 0.001, 1e-12);
	assert_float_equal(f.delay, 0.01, 1e-12);
	assert_int_equal(f.delay_us, 2000);
	assert_int_equal(f.seed, 42);
	/* Fractions, units, last one wins, zero is off. */
	assert_int_equal(cfg_parse_fault("drop=0.05,drop=0.25,delay=100%:1s",
					 &f, why, sizeof(why)),
			 0);
	assert_float_equal(f.drop, 0.25, 1e-12);
	assert_float_equal(f.delay, 1.0, 1e-12);
	assert_int_equal(f.delay_us, 1000000);
	assert_int_equal(cfg_parse_fault("delay=5%:300", &f, why, sizeof(why)),
			 0);
	assert_int_equal(f.delay_us, 300);
	assert_int_equal(cfg_parse_fault("delay=5%:250us", &f, NULL, 0), 0);
	assert_int_equal(f.delay_us, 250);
	assert_int_equal(
	    cfg_parse_fault("drop=0%,seed=7", &f, why, sizeof(why)), 0);
	assert_false(f.on);
	assert_int_equal(f.seed, 7);

	assert_int_equal(cfg_parse_fault("loss=1%", &f, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "unknown fault"));
	assert_non_null(strstr(why, "'loss'"));
	assert_int_equal(cfg_parse_fault("drop=101%", &f, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "'drop=101%'"));
	const char *bad[] = {"drop",	     "drop=",	    "drop=x",
			     "drop=-1%",     "drop=1.5",    "drop=1%%",
			     "delay=1%",     "delay=1%:",   "delay=1%:0ms",
			     "delay=1%:11s", "delay=1%:2h", "delay=:2ms",
			     "seed=",	     "seed=-3",	    "seed=12x",
			     "drop=1%,",     ",drop=1%",    "drop=1% "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cfg_parse_fault(bad[i], &f, why, sizeof(why));

		if (rc != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_defaults(void **state)
{
	const struct cfg *c;

	(void)state;
	assert_int_equal(load_args(0), 0);
	c = cfg_cur();
	assert_string_equal(c->dpdk_args, "");
	assert_string_equal(c->dpdk_port, "");
	assert_string_equal(c->ip, "");
	assert_string_equal(c->gateway, "");
	assert_int_equal(c->mtu, 1500);
	assert_int_equal(c->dpdk_mbufs, 0);
	assert_int_equal(c->dpdk_idle_sleep_us, 0);
	assert_string_equal(c->dpdk_fault, "");
}

/* The command line of the issue, as a user types it. */
static void test_issue_command_line(void **state)
{
	const struct cfg *c;

	(void)state;
	assert_int_equal(load_args(8, "--transport", "dpdk", "--dpdk-args",
				   "-l 0-3 -a 0000:3b:00.0", "--ip",
				   "10.0.0.5/24", "--gateway", "10.0.0.1"),
			 0);
	c = cfg_cur();
	assert_int_equal(c->transport, CFG_TRANSPORT_DPDK);
	assert_string_equal(c->dpdk_args, "-l 0-3 -a 0000:3b:00.0");
	assert_string_equal(c->ip, "10.0.0.5/24");
	assert_string_equal(c->gateway, "10.0.0.1");
}

static void test_file(void **state)
{
	char path[] = "/tmp/cachalot-cfgnet-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	const struct cfg *c;
	char *argv[] = {"cachalot", path};

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("transport dpdk\n"
	      "dpdk-args \"--no-huge -m 512 --vdev "
	      "net_af_packet0,iface=cs0,qpairs=2 -l 0-1\"\n"
	      "dpdk-port net_af_packet0\n"
	      "ip 10.211.0.1/24\n"
	      "gateway 10.211.0.254\n"
	      "mtu 9000\n"
	      "dpdk-mbufs 20000\n"
	      "dpdk-idle-sleep-us 100\n"
	      "dpdk-fault \"drop=1%,seed=3\"\n",
	      f);
	fclose(f);
	assert_int_equal(cfg_load_args(2, argv, err, sizeof(err)), 0);
	c = cfg_cur();
	assert_string_equal(c->dpdk_args, "--no-huge -m 512 --vdev "
					  "net_af_packet0,iface=cs0,qpairs=2 "
					  "-l 0-1");
	assert_string_equal(c->dpdk_port, "net_af_packet0");
	assert_string_equal(c->ip, "10.211.0.1/24");
	assert_string_equal(c->gateway, "10.211.0.254");
	assert_int_equal(c->mtu, 9000);
	assert_int_equal(c->dpdk_mbufs, 20000);
	assert_int_equal(c->dpdk_idle_sleep_us, 100);
	assert_string_equal(c->dpdk_fault, "drop=1%,seed=3");
	unlink(path);
}

static void expect_refused(const char *name, const char *value,
			   const char *reason)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "--%s", name);
	assert_int_equal(load_args(2, opt, value), -EINVAL);
	/* names the parameter and the value, says what is allowed */
	if (!strstr(err, reason) || !strstr(err, name) || !strstr(err, value))
		fail_msg("for %s '%s': %s", name, value, err);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("ip", "10.0.0.5",
		       "argument must be an IPv4 address and prefix length "
		       "like 10.0.0.5/24");
	expect_refused("ip", "10.0.0.300/24", "prefix 1 to 32");
	expect_refused("gateway", "10.0.0.1/24",
		       "argument must be an IPv4 address like 10.0.0.1");
	expect_refused("mtu", "67", "between 68 and 9000");
	expect_refused("mtu", "9001", "between 68 and 9000");
	expect_refused("dpdk-idle-sleep-us", "-1", "between 0 and 1000000");
	expect_refused("dpdk-mbufs", "lots", "couldn't be parsed");
	expect_refused("dpdk-args", "-l 'x", "unterminated quote");
	expect_refused("dpdk-fault", "drop=2",
		       "probability must be 0% to 100%");
	expect_refused("dpdk-fault", "jitter=1%", "unknown fault");
	/* A refused value leaves the current one. */
	assert_string_equal(cfg_cur()->ip, "");
	assert_int_equal(cfg_cur()->mtu, 1500);
}

static void test_set(void **state)
{
	const char *n1[] = {"dpdk-idle-sleep-us"}, *v1[] = {"250"};
	const char *n2[] = {"ip"}, *v2[] = {"10.0.0.9/24"};

	(void)state;
	assert_int_equal(load_args(0), 0);
	/* The idle nap may change at run time; addresses may not. */
	assert_int_equal(cfg_set(1, n1, v1, err, sizeof(err)), 0);
	assert_int_equal(cfg_cur()->dpdk_idle_sleep_us, 250);
	assert_int_equal(cfg_set(1, n2, v2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "can't set immutable config"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_split_args),
	    cmocka_unit_test(test_fault),
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_command_line, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set, setup, teardown),
	};
	int rc;

	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
