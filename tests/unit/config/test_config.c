// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests of cfg (table, file, command line, CONFIG GET/SET/REWRITE,
 * RCU publishing) and glob.  Expected error texts were taken from a real
 * redis-server 7.0.15.
 *
 * The test thread is a registered urcu-qsbr reader, like a worker: it stays
 * online and goes offline only around cfg_teardown(), which then waits for
 * the snapshots CONFIG SET handed to call_rcu.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <urcu-qsbr.h>

#include "cfg.h"
#include "glob.h"

static char tmpdir[256];
static char start_cwd[PATH_MAX];
static char err[1024];

/* ---- helpers ---- */

static int setup(void **state)
{
	err[0] = '\0';
	return cfg_setup();
}

static int teardown(void **state)
{
	rcu_thread_offline();
	cfg_teardown();
	rcu_thread_online();
	/* "dir" moves the process; put it back for the next test. */
	return chdir(start_cwd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *tmp_path(const char *name)
{
	static char path[2][512];
	static int k;

	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	return path[k];
}

static int load(const char *file, ...)
{
	char *argv[32] = {"cachalot"};
	int argc = 1;
	va_list ap;

	if (file)
		argv[argc++] = (char *)file;
	va_start(ap, file);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	err[0] = '\0';
	return cfg_load_args(argc, argv, err, sizeof(err));
}

static int set1(const char *name, const char *value)
{
	err[0] = '\0';
	return cfg_set(1, &name, &value, err, sizeof(err));
}

struct got {
	int n;
	char names[64][64];
	char values[64][512];
};

static void collect(const char *name, const char *value, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < 64);
	snprintf(g->names[g->n], sizeof(g->names[0]), "%s", name);
	snprintf(g->values[g->n], sizeof(g->values[0]), "%s", value);
	g->n++;
}

static void get_n(struct got *g, int n, const char *const *pats)
{
	size_t lens[16];

	for (int i = 0; i < n; i++)
		lens[i] = strlen(pats[i]);
	memset(g, 0, sizeof(*g));
	cfg_get(n, pats, lens, collect, g);
}

/* CONFIG GET of one exact name. */
static const char *get1(const char *name)
{
	static struct got g;

	get_n(&g, 1, &name);
	assert_int_equal(g.n, 1);
	return g.values[0];
}

/* ---- defaults and units ---- */

static void test_defaults(void **state)
{
	const struct cfg *c = cfg_cur();
	char cwd[PATH_MAX];

	assert_non_null(c);
	assert_int_equal(c->nbind, 1);
	assert_string_equal(c->bind[0], "127.0.0.1");
	assert_int_equal(c->port, 6379);
	assert_int_equal(c->tcp_backlog, 511);
	assert_int_equal(c->tcp_keepalive, 300);
	assert_int_equal(c->timeout, 0);
	assert_int_equal(c->maxclients, 10000);
	assert_true(c->protected_mode);
	assert_string_equal(c->requirepass, "");
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->transport, CFG_TRANSPORT_KERNEL);
	assert_int_equal(c->kernel_io, CFG_IO_AUTO);
	assert_int_equal(c->databases, 16);
	assert_int_equal(c->hz, 10);
	assert_int_equal(c->proto_max_bulk_len, 512LL << 20);
	assert_int_equal(c->client_query_buffer_limit, 1LL << 30);
	assert_int_equal(c->maxmemory, 0);
	assert_int_equal(c->maxmemory_policy, CFG_POLICY_NOEVICTION);
	assert_int_equal(c->maxmemory_samples, 5);
	assert_int_equal(c->lfu_log_factor, 10);
	assert_int_equal(c->lfu_decay_time, 1);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(c->dir, cwd);
	assert_string_equal(c->dbfilename, "dump.rdb");
	assert_string_equal(c->save, "");
	assert_false(c->appendonly);
	assert_int_equal(c->loglevel, CFG_LOG_NOTICE);
	assert_string_equal(c->logfile, "");
	assert_string_equal(c->notify_keyspace_events, "");
	assert_int_equal(c->slowlog_log_slower_than, 10000);
	assert_int_equal(c->slowlog_max_len, 128);
	assert_string_equal(c->pidfile, "");
	assert_string_equal(cfg_file(), "");

	assert_string_equal(get1("proto-max-bulk-len"), "536870912");
	assert_string_equal(get1("client-query-buffer-limit"), "1073741824");
	assert_string_equal(get1("protected-mode"), "yes");
	assert_string_equal(get1("maxmemory-policy"), "noeviction");
	assert_string_equal(get1("bind"), "127.0.0.1");
	assert_string_equal(get1("transport"), "kernel");
	assert_string_equal(get1("kernel-io"), "auto");
	assert_string_equal(get1("appendonly"), "no");
	assert_string_equal(get1("dir"), cwd);
}

static void test_parse_memory(void **state)
{
	static const struct {
		const char *s;
		unsigned long long v;
	} ok[] = {
	    {"100", 100},
	    {"1k", 1000},
	    {"1kb", 1024},
	    {"1m", 1000000},
	    {"1mb", 1048576},
	    {"1g", 1000000000},
	    {"1gb", 1073741824},
	    {"2GB", 2147483648LL},
	    {"3Mb", 3145728},
	    {"1b", 1},
	    {"007", 7},
	    {"9223372036854775807", LLONG_MAX},
	    /* Redis 7.0.15 memtoull quirks: the digits are optional, */
	    {"", 0},
	    {"kb", 0},
	    /* they saturate (strtoull's ERANGE is not checked), */
	    {"9223372036854775808", 9223372036854775808ULL},
	    {"18446744073709551615", ULLONG_MAX},
	    {"18446744073709551616", ULLONG_MAX},
	    {"99999999999999999999999", ULLONG_MAX},
	    /* and the unit multiplies modulo 2^64. */
	    {"8589934592gb", 9223372036854775808ULL},
	    {"17179869184gb", 0},
	    {"20000000000gb", 3028092406290448384ULL},
	};
	static const char *const bad[] = {
	    "-1", "1x", "1.5gb", " 1", "1 ", "0x10", "+1", "1kbb", "-0",
	};
	char digits[130];
	unsigned long long v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 42;
		assert_int_equal(cfg_parse_memory(ok[i].s, &v), 0);
		assert_true(v == ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfg_parse_memory(bad[i], &v), -EINVAL);
	/* The digits go through a 128-byte buffer. */
	memset(digits, '0', 127);
	digits[127] = '\0';
	assert_int_equal(cfg_parse_memory(digits, &v), 0);
	memset(digits, '0', 128);
	digits[128] = '\0';
	assert_int_equal(cfg_parse_memory(digits, &v), -EINVAL);
}

/* ---- config file ---- */

static void test_file_parse(void **state)
{
	const char *path = tmp_path("parse.conf");
	const struct cfg *c;
	char text[4096];

	snprintf(text, sizeof(text),
		 "# a comment\n"
		 "\n"
		 "   # indented comment\n"
		 "PORT 7000\r\n"
		 "  bind 10.0.0.1   -::1  \n"
		 "maxmemory 2gb\n"
		 "Maxmemory-Policy ALLKEYS-LFU\n"
		 "protected-mode NO\n"
		 "requirepass \"se cr\\x41t\\n\"\n"
		 "logfile ''\n"
		 "dbfilename 'my dump.rdb'\n"
		 "save 3600 1\n"
		 "save 300 100 60 10000\n"
		 "notify-keyspace-events Ex\n"
		 "dir %s\n"
		 "transport dpdk\n"
		 "kernel-io io_uring\n"
		 "workers 4\n"
		 "hz 1000\n"
		 "loglevel warning\n"
		 "slowlog-log-slower-than -1\n",
		 tmpdir);
	write_file(path, text);
	assert_int_equal(load(path, NULL), 0);
	c = cfg_cur();
	assert_int_equal(c->port, 7000);
	assert_int_equal(c->nbind, 2);
	assert_string_equal(c->bind[0], "10.0.0.1");
	assert_string_equal(c->bind[1], "-::1");
	assert_int_equal(c->maxmemory, 2LL << 30);
	assert_int_equal(c->maxmemory_policy, CFG_POLICY_ALLKEYS_LFU);
	assert_false(c->protected_mode);
	assert_string_equal(c->requirepass, "se crAt\n");
	assert_string_equal(c->logfile, "");
	assert_string_equal(c->dbfilename, "my dump.rdb");
	assert_string_equal(c->save, "3600 1 300 100 60 10000");
	assert_string_equal(c->notify_keyspace_events, "xE");
	assert_string_equal(c->dir, tmpdir);
	assert_int_equal(c->transport, CFG_TRANSPORT_DPDK);
	assert_int_equal(c->kernel_io, CFG_IO_URING);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->hz, 500);
	assert_int_equal(c->loglevel, CFG_LOG_WARNING);
	assert_int_equal(c->slowlog_log_slower_than, -1);
	assert_string_equal(cfg_file(), path);
	assert_string_equal(get1("bind"), "10.0.0.1 -::1");
	assert_string_equal(get1("maxmemory"), "2147483648");
	/* Like Redis, a file's dir moves the process. */
	assert_string_equal(getcwd(text, sizeof(text)), tmpdir);
}

/* A save "" line clears; later lines add up again, as in Redis. */
static void test_file_save_reset(void **state)
{
	const char *path = tmp_path("save.conf");

	write_file(path, "save 10 1\nsave \"\"\nsave 20 2\n");
	assert_int_equal(load(path, NULL), 0);
	assert_string_equal(cfg_cur()->save, "20 2");
	write_file(path, "save 10 1\nsave \"\"\n");
	assert_int_equal(load(path, NULL), 0);
	assert_string_equal(cfg_cur()->save, "");
}

static void expect_file_error(const char *line, const char *reason)
{
	const char *path = tmp_path("bad.conf");
	char text[512], want[1024];

	snprintf(text, sizeof(text), "# first\n%s\n", line);
	write_file(path, text);
	assert_int_equal(load(path, NULL), -EINVAL);
	snprintf(want, sizeof(want), "%s at line 2 of %s: '%s'", reason, path,
		 line);
	assert_string_equal(err, want);
}

static void test_file_errors(void **state)
{
	expect_file_error("porrt 7000",
			  "Bad directive or wrong number of arguments");
	expect_file_error("port 70000",
			  "argument must be between 0 and 65535 inclusive");
	expect_file_error("port abc",
			  "argument couldn't be parsed into an integer");
	expect_file_error("port 07", "argument couldn't be parsed into an "
				     "integer");
	expect_file_error("port", "wrong number of arguments");
	expect_file_error("port 1 2", "wrong number of arguments");
	expect_file_error("maxmemory 1x", "argument must be a memory value");
	expect_file_error("maxmemory-policy bad",
			  "argument(s) must be one of the following: "
			  "volatile-lru, volatile-lfu, volatile-random, "
			  "volatile-ttl, allkeys-lru, allkeys-lfu, "
			  "allkeys-random, noeviction");
	expect_file_error("transport rdma", "argument(s) must be one of the "
					    "following: kernel, dpdk");
	expect_file_error("protected-mode maybe",
			  "argument must be 'yes' or 'no'");
	expect_file_error("save 1", "Invalid save parameters");
	expect_file_error("save a b", "Invalid save parameters");
	expect_file_error("save 0 1", "Invalid save parameters");
	expect_file_error("notify-keyspace-events Q",
			  "Invalid event class character. "
			  "Use 'Ag$lshzxeKEtmdn'.");
	expect_file_error("dir /nonexistent/cachalot",
			  "No such file or directory");
	expect_file_error("databases 0",
			  "argument must be between 1 and 256 inclusive");
	expect_file_error("appendonly yes",
			  "argument must be 'no': AOF is not supported");
	expect_file_error("requirepass \"abc",
			  "Unbalanced quotes in configuration line");
	expect_file_error("requirepass \"a\"b",
			  "Unbalanced quotes in configuration line");
	expect_file_error("dbfilename /tmp/x.rdb",
			  "dbfilename can't be a path, just a filename");
}

/* Issue 11: "workers 1000" started 64 workers without a word. */
static void test_workers_above_max_is_refused(void **state)
{
	expect_file_error("workers 1000",
			  "argument must be between 0 and 64 inclusive");
	expect_file_error("workers 65",
			  "argument must be between 0 and 64 inclusive");
	expect_file_error("workers -1",
			  "argument must be between 0 and 64 inclusive");
	assert_int_equal(load(NULL, "--workers", "64", NULL), 0);
	assert_int_equal(cfg_cur()->workers, 64);
	assert_int_equal(load(NULL, "--workers", "1000", NULL), -EINVAL);
	assert_string_equal(err, "argument must be between 0 and 64 inclusive "
				 "in command-line option: '--workers 1000'");
}

/* Issue 11: a config file that is a directory said "Input/output
 * error"; the reason is EISDIR. */
static void test_config_file_is_a_directory(void **state)
{
	char want[1024];

	assert_int_equal(load(tmpdir, NULL), -EISDIR);
	snprintf(want, sizeof(want),
		 "Error reading config file '%s': Is a directory", tmpdir);
	assert_string_equal(err, want);
}

/* Nothing of a bad file is published, not even the good lines. */
static void test_file_error_keeps_current(void **state)
{
	const char *path = tmp_path("half.conf");

	write_file(path, "port 7000\nmaxmemory 1mb\nporrt 1\n");
	assert_int_equal(load(path, NULL), -EINVAL);
	assert_int_equal(cfg_cur()->port, 6379);
	assert_int_equal(cfg_cur()->maxmemory, 0);
	assert_string_equal(cfg_file(), "");
}

static void test_file_missing(void **state)
{
	assert_int_equal(load("/nonexistent/c.conf", NULL), -ENOENT);
	assert_string_equal(err, "Fatal error, can't open config file "
				 "'/nonexistent/c.conf': No such file or "
				 "directory");
}

/* ---- command line ---- */

static void test_args_override_file(void **state)
{
	const char *path = tmp_path("args.conf");
	const struct cfg *c;

	write_file(path, "port 7000\nmaxmemory 1mb\nsave 60 1\n");
	assert_int_equal(load(path, "--port", "7001", "--save", "100", "1",
			      "200", "2", "--maxmemory-policy", "allkeys-lru",
			      "--bind", "1.2.3.4", "5.6.7.8", "--requirepass",
			      "--odd", NULL),
			 0);
	c = cfg_cur();
	assert_int_equal(c->port, 7001);
	assert_int_equal(c->maxmemory, 1 << 20);
	/* Options are appended to the file: save lines add up. */
	assert_string_equal(c->save, "60 1 100 1 200 2");
	assert_int_equal(c->maxmemory_policy, CFG_POLICY_ALLKEYS_LRU);
	assert_int_equal(c->nbind, 2);
	assert_string_equal(c->bind[1], "5.6.7.8");
	/* The word after --name is its value even if it starts with "--". */
	assert_string_equal(c->requirepass, "--odd");
}

static void test_args_only(void **state)
{
	assert_int_equal(
	    load(NULL, "--port 6380", "--save", "--hz", "20", NULL), 0);
	assert_int_equal(cfg_cur()->port, 6380);
	assert_int_equal(cfg_cur()->hz, 20);
	assert_string_equal(cfg_cur()->save, "");
	assert_int_equal(load(NULL, "--save", "5", "1", "--save", NULL), 0);
	assert_string_equal(cfg_cur()->save, "");
	assert_string_equal(cfg_file(), "");
}

static void test_args_errors(void **state)
{
	assert_int_equal(load(NULL, "--port", "70000", NULL), -EINVAL);
	assert_string_equal(err, "argument must be between 0 and 65535 "
				 "inclusive in command-line option: "
				 "'--port 70000'");
	assert_int_equal(load(NULL, "--port", NULL), -EINVAL);
	assert_string_equal(err, "wrong number of arguments in command-line "
				 "option: '--port'");
	assert_int_equal(load(NULL, "--porrt", "1", NULL), -EINVAL);
	assert_string_equal(err, "Bad directive or wrong number of arguments "
				 "in command-line option: '--porrt 1'");
	assert_int_equal(load(tmp_path("none.conf"), NULL), -ENOENT);
	assert_int_equal(load(NULL, "-x", NULL), -EINVAL);
	assert_string_equal(err, "Bad directive or wrong number of arguments "
				 "in command-line option: '-x'");
	assert_int_equal(cfg_cur()->port, 6379);
}

/* ---- CONFIG SET ---- */

#define SETFAIL(arg, why)                                                      \
	"ERR CONFIG SET failed (possibly related to argument '" arg "') "      \
	"- " why

static void expect_set_error(const char *name, const char *value,
			     const char *want)
{
	assert_int_equal(set1(name, value), -EINVAL);
	assert_string_equal(err, want);
}

static void test_set_errors(void **state)
{
	expect_set_error("foo", "1",
			 "ERR Unknown option or number of "
			 "arguments for CONFIG SET - 'foo'");
	expect_set_error("databases", "3",
			 SETFAIL("databases", "can't set immutable config"));
	/* port and bind are mutable (control/listen.c rebinds). */
	expect_set_error("Port", "70000",
			 SETFAIL("port", "argument must be between 0 and 65535 "
					 "inclusive"));
	expect_set_error("maxclients", "0",
			 SETFAIL("maxclients",
				 "argument must be between 1 and 4294967295 "
				 "inclusive"));
	expect_set_error("timeout", "-1",
			 SETFAIL("timeout",
				 "argument must be between 0 and 2147483647 "
				 "inclusive"));
	expect_set_error("slowlog-log-slower-than", "-2",
			 SETFAIL("slowlog-log-slower-than",
				 "argument must be between -1 and "
				 "9223372036854775807 inclusive"));
	expect_set_error("HZ", "abc",
			 SETFAIL("hz", "argument couldn't be "
				       "parsed into an integer"));
	expect_set_error("maxmemory-policy", "bad",
			 SETFAIL("maxmemory-policy",
				 "argument(s) must be one of the following: "
				 "volatile-lru, volatile-lfu, volatile-random, "
				 "volatile-ttl, allkeys-lru, allkeys-lfu, "
				 "allkeys-random, noeviction"));
	expect_set_error(
	    "loglevel", "foo",
	    SETFAIL("loglevel",
		    "argument(s) must be one of the following: debug, "
		    "verbose, notice, warning, nothing"));
	expect_set_error(
	    "protected-mode", "maybe",
	    SETFAIL("protected-mode", "argument must be 'yes' or 'no'"));
	expect_set_error(
	    "maxmemory", "-1",
	    SETFAIL("maxmemory", "argument must be a memory value"));
	expect_set_error(
	    "maxmemory", "1.5gb",
	    SETFAIL("maxmemory", "argument must be a memory value"));
	expect_set_error("proto-max-bulk-len", "100",
			 SETFAIL("proto-max-bulk-len",
				 "argument must be "
				 "between 1048576 and 9223372036854775807 "
				 "inclusive"));
	expect_set_error("notify-keyspace-events", "Q",
			 SETFAIL("notify-keyspace-events",
				 "Invalid event "
				 "class character. Use 'Ag$lshzxeKEtmdn'."));
	expect_set_error("save", "3600 1 300",
			 SETFAIL("save", "Invalid save parameters"));
	expect_set_error("save", "a b",
			 SETFAIL("save", "Invalid save parameters"));
	expect_set_error(
	    "appendonly", "yes",
	    SETFAIL("appendonly",
		    "argument must be 'no': AOF is not supported"));
	expect_set_error("dir", "/nonexistent/cachalot",
			 SETFAIL("dir", "No such file or directory"));
	expect_set_error("dir", "/etc/passwd",
			 SETFAIL("dir", "Not a directory"));
	expect_set_error(
	    "dbfilename", "a/b.rdb",
	    SETFAIL("dbfilename",
		    "dbfilename can't be a path, just a filename"));
}

static void test_set_values(void **state)
{
	assert_int_equal(set1("maxmemory", "2gb"), 0);
	assert_string_equal(get1("maxmemory"), "2147483648");
	assert_int_equal(set1("maxmemory", "1KB"), 0);
	assert_string_equal(get1("maxmemory"), "1024");
	assert_int_equal(set1("hz", "1000"), 0);
	assert_string_equal(get1("hz"), "500");
	assert_int_equal(set1("hz", "0"), 0);
	assert_string_equal(get1("hz"), "1");
	assert_int_equal(set1("notify-keyspace-events", "KEA"), 0);
	assert_string_equal(get1("notify-keyspace-events"), "AKE");
	assert_int_equal(set1("notify-keyspace-events", "An"), 0);
	assert_string_equal(get1("notify-keyspace-events"), "A");
	assert_int_equal(set1("notify-keyspace-events", "gn$K"), 0);
	assert_string_equal(get1("notify-keyspace-events"), "g$nK");
	assert_int_equal(set1("save", "3600 1 300 100"), 0);
	assert_string_equal(get1("save"), "3600 1 300 100");
	assert_int_equal(set1("save", ""), 0);
	assert_string_equal(get1("save"), "");
	assert_int_equal(set1("MAXMEMORY-POLICY", "ALLKEYS-LRU"), 0);
	assert_string_equal(get1("maxmemory-policy"), "allkeys-lru");
	assert_int_equal(set1("protected-mode", "NO"), 0);
	assert_string_equal(get1("protected-mode"), "no");
	assert_int_equal(set1("requirepass", "a b"), 0);
	assert_string_equal(cfg_cur()->requirepass, "a b");
	assert_int_equal(set1("appendonly", "no"), 0);
	assert_int_equal(set1("loglevel", "nothing"), 0);
	assert_int_equal(cfg_cur()->loglevel, CFG_LOG_NOTHING);
	assert_int_equal(set1("dir", tmpdir), 0);
	assert_string_equal(get1("dir"), tmpdir);
	assert_string_equal(getcwd(err, sizeof(err)), tmpdir);
}

/*
 * Issue 11: "maxmemory 9223372036854775808" was refused; Redis's maxmemory
 * is an unsigned long long and CONFIG GET prints it so.  Signed memory
 * parameters see such a value as negative: out of bounds, not "not a
 * memory value".
 */
static void test_maxmemory_beyond_llong_max(void **state)
{
	assert_int_equal(set1("maxmemory", "9223372036854775808"), 0);
	assert_string_equal(get1("maxmemory"), "9223372036854775808");
	assert_int_equal(set1("maxmemory", "18446744073709551616"), 0);
	assert_string_equal(get1("maxmemory"), "18446744073709551615");
	assert_int_equal(set1("maxmemory", "20000000000gb"), 0);
	assert_string_equal(get1("maxmemory"), "3028092406290448384");
	expect_set_error(
	    "maxmemory", "-1",
	    SETFAIL("maxmemory", "argument must be a memory value"));
	expect_set_error("proto-max-bulk-len", "9223372036854775808",
			 SETFAIL("proto-max-bulk-len",
				 "argument must be between 1048576 and "
				 "9223372036854775807 inclusive"));
	expect_set_error("client-query-buffer-limit", "18446744073709551615",
			 SETFAIL("client-query-buffer-limit",
				 "argument must be between 1048576 and "
				 "9223372036854775807 inclusive"));
	assert_int_equal(set1("proto-max-bulk-len", "20000000000gb"), 0);
	assert_string_equal(get1("proto-max-bulk-len"), "3028092406290448384");
}

/* The rewritten line reloads as the same value (Redis writes
 * "maxmemory -1" for 2^64-1, which it then refuses to load). */
static void test_maxmemory_beyond_llong_max_rewrite(void **state)
{
	const char *path = tmp_path("umem.conf");

	write_file(path, "port 7000\n");
	assert_int_equal(load(path, NULL), 0);
	assert_int_equal(set1("maxmemory", "18446744073709551615"), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_non_null(
	    strstr(read_file(path), "\nmaxmemory 18446744073709551615\n"));
	assert_int_equal(set1("maxmemory", "8589934592gb"), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_non_null(
	    strstr(read_file(path), "\nmaxmemory 9223372036854775808\n"));
	assert_int_equal(set1("maxmemory", "0"), 0);
	assert_int_equal(load(path, NULL), 0);
	assert_true(cfg_cur()->maxmemory == 9223372036854775808ULL);
}

static void test_set_atomic(void **state)
{
	const char *names[] = {"maxmemory", "timeout", "maxmemory-policy"};
	const char *vals[] = {"1mb", "5", "bad"};
	const char *dup[] = {"maxmemory", "timeout", "MAXMEMORY"};
	const char *imm[] = {"timeout", "workers", "nosuch"};
	const char *unk[] = {"timeout", "nosuch", "workers"};
	const struct cfg *before = cfg_cur();

	assert_int_equal(cfg_set(3, names, vals, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, SETFAIL("maxmemory-policy",
			 "argument(s) must be one of the following: "
			 "volatile-lru, volatile-lfu, volatile-random, "
			 "volatile-ttl, allkeys-lru, allkeys-lfu, "
			 "allkeys-random, noeviction"));
	assert_ptr_equal(cfg_cur(), before);
	assert_int_equal(cfg_cur()->maxmemory, 0);
	assert_int_equal(cfg_cur()->timeout, 0);

	assert_int_equal(cfg_set(3, dup, vals, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, SETFAIL("MAXMEMORY", "duplicate parameter"));
	/* The first bad name in argument order is the one reported. */
	assert_int_equal(cfg_set(3, imm, vals, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    SETFAIL("workers", "can't set immutable config"));
	assert_int_equal(cfg_set(3, unk, vals, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ERR Unknown option or number of arguments "
				 "for CONFIG SET - 'nosuch'");
	assert_ptr_equal(cfg_cur(), before);

	vals[2] = "allkeys-lfu";
	assert_int_equal(cfg_set(3, names, vals, err, sizeof(err)), 0);
	assert_int_equal(cfg_cur()->maxmemory, 1 << 20);
	assert_int_equal(cfg_cur()->timeout, 5);
	assert_int_equal(cfg_cur()->maxmemory_policy, CFG_POLICY_ALLKEYS_LFU);
}

/* A reader's snapshot stays intact until its next quiescent state. */
static void test_set_rcu_snapshot(void **state)
{
	const struct cfg *old = cfg_cur();

	assert_int_equal(set1("maxmemory", "5mb"), 0);
	assert_ptr_not_equal(cfg_cur(), old);
	assert_int_equal(old->maxmemory, 0);
	assert_string_equal(old->dbfilename, "dump.rdb");
	assert_int_equal(cfg_cur()->maxmemory, 5 << 20);
	rcu_quiescent_state();
	for (int i = 0; i < 100; i++) {
		assert_int_equal(set1("timeout", i & 1 ? "1" : "2"), 0);
		rcu_quiescent_state();
	}
	assert_int_equal(cfg_cur()->timeout, 1);
}

/* ---- module views ---- */

struct tview {
	long long timeout;
	unsigned long long maxmemory;
};

static int tview_builds;

static void tview_build(const struct cfg *c, void *view)
{
	struct tview *v = view;

	v->timeout = c->timeout;
	v->maxmemory = (unsigned long long)c->maxmemory;
	tview_builds++;
}

static void tview2_build(const struct cfg *c, void *view)
{
	*(long long *)view = c->hz * 1000;
}

/* Every published snapshot carries every view, built from it: a reader
 * keeps its (consistent) view across a CONFIG SET until its next
 * quiescent state, and the next read sees the new values. */
static void test_views(void **state)
{
	/* Start-up code keeps cfg_cur() across registrations (dpdk_setup
	 * got its cfg, then registered): the snapshot must stay. */
	const struct cfg *before = cfg_cur();
	int id = cfg_view_register(sizeof(struct tview), tview_build);
	int id2 = cfg_view_register(sizeof(long long), tview2_build);
	const struct tview *old;
	int builds;

	assert_ptr_equal(cfg_cur(), before);
	assert_true(id >= 0);
	assert_true(id2 > id);
	old = cfg_view(id);
	assert_int_equal(old->timeout, 0);
	assert_int_equal(*(const long long *)cfg_view(id2), 10 * 1000);
	assert_int_equal(set1("timeout", "42"), 0);
	assert_int_equal(set1("maxmemory", "3mb"), 0);
	assert_int_equal(old->timeout, 0); /* still readable, unchanged */
	assert_int_equal(((const struct tview *)cfg_view(id))->timeout, 42);
	assert_int_equal(((const struct tview *)cfg_view(id))->maxmemory,
			 3 << 20);
	assert_int_equal(set1("hz", "50"), 0);
	assert_int_equal(*(const long long *)cfg_view(id2), 50 * 1000);
	/* A refused SET publishes nothing and builds nothing. */
	builds = tview_builds;
	assert_int_equal(set1("hz", "x"), -EINVAL);
	assert_int_equal(tview_builds, builds);
	rcu_quiescent_state();
}

/* ---- apply hooks ---- */

static int hook_calls, hook2_calls, undo_calls;
static long long hook_seen;

static int hook_mem(const struct cfg *newc, char *e, size_t len)
{
	if (newc != cfg_cur())
		hook_calls++;
	else
		undo_calls++;
	hook_seen = newc->maxmemory;
	return 0;
}

static int hook_shared(const struct cfg *newc, char *e, size_t len)
{
	hook2_calls++;
	return 0;
}

static int hook_refuse(const struct cfg *newc, char *e, size_t len)
{
	if (newc->maxmemory_samples != 7)
		return 0;
	snprintf(e, len, "seven is not allowed");
	return -EINVAL;
}

static void test_hooks(void **state)
{
	const char *names[] = {"maxmemory", "lfu-log-factor", "lfu-decay-time"};
	const char *vals[] = {"3mb", "11", "2"};
	const char *bad[] = {"maxmemory", "maxmemory-samples"};
	const char *badv[] = {"4mb", "7"};

	assert_int_equal(cfg_on_change("nosuch", hook_mem), -ENOENT);
	assert_int_equal(cfg_on_change("MAXMEMORY", hook_mem), 0);
	assert_int_equal(cfg_on_change("lfu-log-factor", hook_shared), 0);
	assert_int_equal(cfg_on_change("lfu-decay-time", hook_shared), 0);
	assert_int_equal(cfg_on_change("maxmemory-samples", hook_refuse), 0);

	assert_int_equal(cfg_set(3, names, vals, err, sizeof(err)), 0);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_seen, 3 << 20);
	assert_int_equal(hook2_calls, 1); /* one fn, two params: once */

	/* Unchanged values run no hook. */
	assert_int_equal(cfg_set(3, names, vals, err, sizeof(err)), 0);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook2_calls, 1);

	/* A refusing hook: earlier hooks are undone, nothing published. */
	assert_int_equal(cfg_set(2, bad, badv, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, SETFAIL("maxmemory-samples", "seven is not allowed"));
	assert_int_equal(hook_calls, 2);
	assert_int_equal(undo_calls, 1);
	assert_int_equal(hook_seen, 3 << 20);
	assert_int_equal(cfg_cur()->maxmemory, 3 << 20);
	assert_int_equal(cfg_cur()->maxmemory_samples, 5);
}

/* ---- CONFIG GET ---- */

static void test_get_patterns(void **state)
{
	static const char *const all[] = {"*"};
	static const char *const mm[] = {"maxmemory*"};
	static const char *const two[] = {"maxmemory", "MAX*", "lfu-*"};
	static const char *const cls[] = {"[pt]*", "nosuch"};
	static const char *const exact[] = {"MAXMEMORY", "maxmemory*"};
	struct got g;
	size_t len = 9;
	const char *pfx = "maxmemoryXYZ";

	get_n(&g, 1, all);
	assert_true(g.n > 25);
	for (int i = 0; i < g.n; i++)
		for (int k = 0; k < i; k++)
			assert_string_not_equal(g.names[i], g.names[k]);

	get_n(&g, 1, mm);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.names[0], "maxmemory");
	assert_string_equal(g.names[1], "maxmemory-policy");
	assert_string_equal(g.names[2], "maxmemory-samples");

	get_n(&g, 3, two);
	assert_int_equal(g.n, 6);
	assert_string_equal(g.names[0], "maxclients");
	assert_string_equal(g.names[4], "lfu-log-factor");

	get_n(&g, 2, cls);
	assert_int_equal(g.n, 8);
	assert_string_equal(g.names[0], "port");
	assert_string_equal(g.names[1], "tcp-backlog");
	assert_string_equal(g.names[2], "tcp-keepalive");
	assert_string_equal(g.names[3], "timeout");
	assert_string_equal(g.names[4], "protected-mode");
	assert_string_equal(g.names[7], "pidfile");

	/* An exact name comes back as typed, as in Redis. */
	get_n(&g, 2, exact);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.names[0], "MAXMEMORY");
	assert_string_equal(g.values[0], "0");

	/* Patterns are length-delimited, not NUL-terminated. */
	memset(&g, 0, sizeof(g));
	cfg_get(1, &pfx, &len, collect, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.names[0], "maxmemory");
}

/* ---- CONFIG REWRITE ---- */

static void test_rewrite_no_file(void **state)
{
	assert_int_equal(cfg_rewrite(err, sizeof(err)), -ENOENT);
	assert_string_equal(err,
			    "ERR The server is running without a config file");
}

/*
 * Issue 11: CONFIG REWRITE of a config file replaced by a directory said
 * "Input/output error"; Redis says "Is a directory".
 */
static void test_rewrite_onto_directory(void **state)
{
	const char *path = tmp_path("gone.conf");

	write_file(path, "port 7000\n");
	assert_int_equal(load(path, NULL), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "ERR Rewriting config file: Is a directory");
	assert_int_equal(rmdir(path), 0);
	/* A config file deleted since start is written anew, as in Redis. */
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_non_null(strstr(read_file(path), "port 7000\n"));
}

static void test_rewrite_roundtrip(void **state)
{
	const char *path = tmp_path("rw.conf");
	const char *names[] = {
	    "maxmemory", "maxmemory-policy", "notify-keyspace-events",
	    "save",	 "requirepass",	     "hz"};
	const char *vals[] = {"3mb",  "allkeys-lru", "KEA",
			      "10 1", "a b\"c",	     "20"};
	char want[2048];

	write_file(path, "# top comment\n"
			 "port 7000\n"
			 "save 3600 1\n"
			 "save 300 100\n"
			 "\n"
			 "# memory\n"
			 "maxmemory 2gb\n"
			 "   # indented comment\n"
			 "Proto-Max-Bulk-Len   512MB\n"
			 "dir ./\n"
			 "requirepass \"\"\n");
	assert_int_equal(load(path, "--timeout", "0", NULL), 0);
	assert_int_equal(cfg_set(6, names, vals, err, sizeof(err)), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	snprintf(want, sizeof(want),
		 "# top comment\n"
		 "port 7000\n"
		 "save 10 1\n"
		 "\n"
		 "# memory\n"
		 "maxmemory 3mb\n"
		 "# indented comment\n"
		 "Proto-Max-Bulk-Len   512MB\n"
		 "dir ./\n"
		 "requirepass \"a b\\\"c\"\n"
		 "\n"
		 "# Generated by CONFIG REWRITE\n"
		 "hz 20\n"
		 "maxmemory-policy allkeys-lru\n"
		 "notify-keyspace-events \"AKE\"\n");
	assert_string_equal(read_file(path), want);

	/* Idempotent, and a fresh load gives the same values back. */
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_string_equal(read_file(path), want);
	teardown(state);
	assert_int_equal(setup(state), 0);
	assert_int_equal(load(path, NULL), 0);
	assert_int_equal(cfg_cur()->maxmemory, 3 << 20);
	assert_int_equal(cfg_cur()->hz, 20);
	assert_string_equal(cfg_cur()->requirepass, "a b\"c");
	assert_string_equal(cfg_cur()->save, "10 1");
	assert_string_equal(cfg_cur()->notify_keyspace_events, "AKE");
}

/* Fewer lines, more lines, and lines we cannot read any more. */
static void test_rewrite_edges(void **state)
{
	const char *path = tmp_path("rw2.conf");
	FILE *f;

	write_file(path, "save 1 1\n# Generated by CONFIG REWRITE\n"
			 "maxmemory 1mb");
	assert_int_equal(load(path, NULL), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\nsome-removed-option 1\n", f);
	fclose(f);
	assert_int_equal(set1("save", "10 1 20 2 30 3"), 0);
	assert_int_equal(set1("maxmemory", "1000"), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_string_equal(read_file(path), "save 10 1\n"
					     "# Generated by CONFIG REWRITE\n"
					     "maxmemory 1000\n"
					     "# ??? some-removed-option 1\n"
					     "save 20 2\n"
					     "save 30 3\n");
	assert_int_equal(set1("save", ""), 0);
	assert_int_equal(set1("maxmemory", "0"), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_string_equal(read_file(path), "save \"\"\n"
					     "# Generated by CONFIG REWRITE\n"
					     "maxmemory 0\n"
					     "# ??? some-removed-option 1\n"
					     "\n");
}

static void test_rewrite_shipped_conf(void **state)
{
	char src[PATH_MAX];
	const char *path = tmp_path("shipped.conf");
	char *text;

	/* Meson runs tests in the build dir; the source is found by env. */
	snprintf(src, sizeof(src), "%s/config/cachalot.conf",
		 getenv("CACHALOT_SRC") ? getenv("CACHALOT_SRC") : ".");
	if (access(src, R_OK) != 0)
		skip();
	text = strdup(read_file(src));
	write_file(path, text);
	assert_int_equal(load(path, NULL), 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	/* Defaults only: the shipped file survives a rewrite unchanged. */
	assert_string_equal(read_file(path), text);
	free(text);
}

/* ---- client-output-buffer-limit (texts from redis-server 7.0.15) ---- */

#define OBUF_DEFAULT                                                           \
	"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"

static void test_obuf_defaults(void **state)
{
	const struct cfg_obuf *o = cfg_cur()->client_obuf;

	assert_string_equal(get1("client-output-buffer-limit"), OBUF_DEFAULT);
	assert_int_equal(o[CFG_OBUF_NORMAL].hard, 0);
	assert_int_equal(o[CFG_OBUF_NORMAL].soft, 0);
	assert_int_equal(o[CFG_OBUF_NORMAL].soft_secs, 0);
	assert_int_equal(o[CFG_OBUF_REPLICA].hard, 256 << 20);
	assert_int_equal(o[CFG_OBUF_REPLICA].soft, 64 << 20);
	assert_int_equal(o[CFG_OBUF_REPLICA].soft_secs, 60);
	assert_int_equal(o[CFG_OBUF_PUBSUB].hard, 32 << 20);
	assert_int_equal(o[CFG_OBUF_PUBSUB].soft, 8 << 20);
	assert_int_equal(o[CFG_OBUF_PUBSUB].soft_secs, 60);
}

/* CONFIG SET value, then what CONFIG GET shows (from the previous state). */
static void expect_obuf(const char *value, const char *want)
{
	assert_int_equal(set1("client-output-buffer-limit", value), 0);
	assert_string_equal(get1("client-output-buffer-limit"), want);
}

static void test_obuf_set(void **state)
{
	/* Only the classes named change. */
	expect_obuf("normal 1mb 512kb 1",
		    "normal 1048576 524288 1 slave 268435456 67108864 60 "
		    "pubsub 33554432 8388608 60");
	expect_obuf("pubsub 1 2 3", "normal 1048576 524288 1 slave 268435456 "
				    "67108864 60 pubsub 1 2 3");
	expect_obuf("NORMAL 1k 2K 3",
		    "normal 1000 2000 3 slave 268435456 67108864 60 "
		    "pubsub 1 2 3");
	expect_obuf("replica 10 20 30",
		    "normal 1000 2000 3 slave 10 20 30 pubsub 1 2 3");
	expect_obuf("Slave 11 21 31",
		    "normal 1000 2000 3 slave 11 21 31 pubsub 1 2 3");
	/* Redis's parsers, quirks included. */
	expect_obuf("normal kb kb 0",
		    "normal 0 0 0 slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 1 2 ", "normal 1 2 0 slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 1 2 +5",
		    "normal 1 2 5 slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 1 2 4294967297",
		    "normal 1 2 1 slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 18446744073709551615 18446744073709551616 1",
		    "normal 18446744073709551615 18446744073709551615 1 "
		    "slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 20000000000gb 1gb 1",
		    "normal 3028092406290448384 1073741824 1 slave 11 21 31 "
		    "pubsub 1 2 3");
	expect_obuf("normal 01 1B 03",
		    "normal 1 1 3 slave 11 21 31 pubsub 1 2 3");
	/* Nothing to set is fine; a class named twice: the last wins. */
	expect_obuf("", "normal 1 1 3 slave 11 21 31 pubsub 1 2 3");
	expect_obuf("normal 0 0 0 pubsub 4 4 4 normal 5 5 5",
		    "normal 5 5 5 slave 11 21 31 pubsub 4 4 4");
	assert_int_equal(cfg_cur()->client_obuf[CFG_OBUF_NORMAL].hard, 5);
	assert_int_equal(cfg_cur()->client_obuf[CFG_OBUF_PUBSUB].soft_secs, 4);
}

#define OBUF_SETFAIL(why)                                                      \
	SETFAIL("client-output-buffer-limit", why " in buffer limit "          \
						  "configuration.")
#define OBUF_ARGS OBUF_SETFAIL("Wrong number of arguments")
#define OBUF_CLASS OBUF_SETFAIL("Invalid client class specified")
#define OBUF_VALUE OBUF_SETFAIL("Error in hard, soft or soft_seconds setting")

static void test_obuf_set_errors(void **state)
{
	static const struct {
		const char *value, *err;
	} bad[] = {
	    {"normal 1 2", OBUF_ARGS},
	    {"normal  1 2 3", OBUF_ARGS}, /* split on each space */
	    {"normal 1 2  5", OBUF_ARGS},
	    {"normal 1 2 3 pubsub", OBUF_ARGS},
	    {"master 1 2 3", OBUF_CLASS},
	    {"foo 1 2 3", OBUF_CLASS},
	    {"normal 1 2 3 foo 1 2 3", OBUF_CLASS},
	    {"normal x 2 3", OBUF_VALUE},
	    {"normal 1 -2 3", OBUF_VALUE},
	    {"normal 1.5mb 0 0", OBUF_VALUE},
	    {"normal 1 2 -3", OBUF_VALUE},
	    {"normal 1 2 x", OBUF_VALUE},
	    {"normal 1 2 3x", OBUF_VALUE},
	    {"normal 1 2 0x10", OBUF_VALUE},
	    {"normal 1 2 2147483648", OBUF_VALUE},
	    /* the first bad group decides */
	    {"normal x 2 3 foo 1 2 3", OBUF_VALUE},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_set_error("client-output-buffer-limit", bad[i].value,
				 bad[i].err);
	/* All or nothing: a good group before a bad one is not applied. */
	assert_string_equal(get1("client-output-buffer-limit"), OBUF_DEFAULT);
}

/* File lines and command-line options each change their classes only. */
static void test_obuf_file_args(void **state)
{
	const char *path = tmp_path("obuf.conf");

	write_file(path, "client-output-buffer-limit normal 1mb 512kb 1\n"
			 "client-output-buffer-limit pubsub 1 2 3\n"
			 "Client-Output-Buffer-Limit \"replica 5 6 7\"\n");
	assert_int_equal(load(path, "--client-output-buffer-limit",
			      "normal 2mb 1mb 2", NULL),
			 0);
	assert_string_equal(get1("client-output-buffer-limit"),
			    "normal 2097152 1048576 2 slave 5 6 7 "
			    "pubsub 1 2 3");
	assert_int_equal(load(NULL, "--client-output-buffer-limit", "pubsub",
			      "9", "8", "7", "--port", "7000", NULL),
			 0);
	assert_string_equal(get1("client-output-buffer-limit"),
			    "normal 2097152 1048576 2 slave 5 6 7 "
			    "pubsub 9 8 7");
	assert_int_equal(cfg_cur()->port, 7000);

	expect_file_error("client-output-buffer-limit normal 1 2",
			  "Wrong number of arguments in buffer limit "
			  "configuration.");
	expect_file_error("client-output-buffer-limit normal 1 x 3",
			  "Error in hard, soft or soft_seconds setting in "
			  "buffer limit configuration.");
	expect_file_error("client-output-buffer-limit master 1 2 3",
			  "Invalid client class specified in buffer limit "
			  "configuration.");
	assert_int_equal(load(NULL, "--client-output-buffer-limit", "normal",
			      "1", "2", NULL),
			 -EINVAL);
	assert_string_equal(err, "Wrong number of arguments in buffer limit "
				 "configuration. in command-line option: "
				 "'--client-output-buffer-limit normal 1 2'");
}

/* One line per class, replaced in place; only non-default classes are
 * added, as Redis's rewriteConfigClientOutputBufferLimitOption does. */
static void test_obuf_rewrite(void **state)
{
	const char *path = tmp_path("obuf-rw.conf");

	write_file(path, "port 7000\n"
			 "client-output-buffer-limit pubsub 1 2 3\n"
			 "maxmemory 0\n");
	assert_int_equal(load(path, NULL), 0);
	assert_int_equal(set1("client-output-buffer-limit",
			      "replica 1gb 100000 5 pubsub 32mb 8mb 60"),
			 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_string_equal(
	    read_file(path),
	    "port 7000\n"
	    "client-output-buffer-limit normal 0 0 0\n"
	    "maxmemory 0\n"
	    "\n"
	    "# Generated by CONFIG REWRITE\n"
	    "client-output-buffer-limit replica 1gb 100000 5\n");
	assert_int_equal(set1("client-output-buffer-limit",
			      "normal 18446744073709551615 1kb 0"),
			 0);
	assert_int_equal(cfg_rewrite(err, sizeof(err)), 0);
	assert_string_equal(
	    read_file(path),
	    "port 7000\n"
	    "client-output-buffer-limit normal 18446744073709551615 1kb 0\n"
	    "maxmemory 0\n"
	    "\n"
	    "# Generated by CONFIG REWRITE\n"
	    "client-output-buffer-limit replica 1gb 100000 5\n");
	/* Loading the rewritten file gives the same values back. */
	teardown(state);
	assert_int_equal(setup(state), 0);
	assert_int_equal(load(path, NULL), 0);
	assert_string_equal(get1("client-output-buffer-limit"),
			    "normal 18446744073709551615 1024 0 "
			    "slave 1073741824 100000 5 "
			    "pubsub 33554432 8388608 60");
}

/* ---- glob (cases from Redis's util.c and keyspace tests) ---- */

struct glob_case {
	const char *pat, *s;
	bool nocase, match;
};

static void test_glob(void **state)
{
	static const struct glob_case cases[] = {
	    {"a*", "a", false, true},
	    {"a*", "abc", false, true},
	    {"a*", "ba", false, false},
	    {"*a", "ba", false, true},
	    {"?", "a", false, true},
	    {"?", "", false, false},
	    {"?", "ab", false, false},
	    {"h?llo", "hallo", false, true},
	    {"h*llo", "hllo", false, true},
	    {"h*llo", "heeeello", false, true},
	    {"[a-c]", "b", false, true},
	    {"[a-c]", "d", false, false},
	    {"[c-a]", "b", false, true},
	    {"h[ae]llo", "hello", false, true},
	    {"h[ae]llo", "hillo", false, false},
	    {"[^a]", "b", false, true},
	    {"[^a]", "a", false, false},
	    {"h[^e]llo", "hallo", false, true},
	    {"\\*", "*", false, true},
	    {"\\*", "a", false, false},
	    {"a\\", "a\\", false, true},
	    {"[\\]]", "]", false, true},
	    {"[\\-]", "-", false, true},
	    /* "a-]" is a range a..']' and the class is unterminated */
	    {"[a-]", "-", false, false},
	    {"[a-]", "b", false, false},
	    {"[a-]", "^", false, true},
	    {"[abc", "a", false, true},
	    {"[", "[", false, false},
	    {"a[^", "ab", false, true},
	    {"*", "", false, false}, /* Redis: KEYS special-cases "*" */
	    {"**a", "xa", false, true},
	    {"a**", "a", false, true},
	    {"HeLLo", "hello", true, true},
	    {"HeLLo", "hello", false, false},
	    {"[A-C]x", "bX", true, true},
	    {"[^B]", "b", true, false},
	    {"*-len", "proto-max-bulk-len", true, true},
	};
	char pat[200] = "", s[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct glob_case *c = &cases[i];

		if (glob_match(c->pat, strlen(c->pat), c->s, strlen(c->s),
			       c->nocase) != c->match)
			fail_msg("'%s' vs '%s'", c->pat, c->s);
	}
	/* Pathological pattern: must answer at once, not in 2^30 steps. */
	for (int i = 0; i < 30; i++)
		strcat(pat, "a*");
	strcat(pat, "b");
	memset(s, 'a', 100);
	assert_false(glob_match(pat, strlen(pat), s, 100, false));
	/* Only the first patlen bytes are the pattern. */
	assert_true(glob_match("ab*", 2, "ab", 2, false));
	assert_false(glob_match("ab*", 2, "abc", 3, false));
}

/* Recursion depth is capped (Redis: 1000), so no stack overflow. */
static void test_glob_nesting(void **state)
{
	size_t n = 3000;
	char *pat = malloc(2 * n), *s = malloc(n);

	assert_non_null(pat);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		pat[2 * i] = '*';
		pat[2 * i + 1] = 'a';
		s[i] = 'a';
	}
	assert_false(glob_match(pat, 2 * n, s, n, false));
	assert_true(glob_match(pat, 2 * 100, s, n, false));
	free(pat);
	free(s);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_defaults),
	    T(test_parse_memory),
	    T(test_maxmemory_beyond_llong_max),
	    T(test_maxmemory_beyond_llong_max_rewrite),
	    T(test_file_parse),
	    T(test_file_save_reset),
	    T(test_file_errors),
	    T(test_workers_above_max_is_refused),
	    T(test_config_file_is_a_directory),
	    T(test_file_error_keeps_current),
	    T(test_file_missing),
	    T(test_args_override_file),
	    T(test_args_only),
	    T(test_args_errors),
	    T(test_set_errors),
	    T(test_set_values),
	    T(test_set_atomic),
	    T(test_set_rcu_snapshot),
	    T(test_views),
	    T(test_hooks),
	    T(test_get_patterns),
	    T(test_rewrite_no_file),
	    T(test_rewrite_onto_directory),
	    T(test_rewrite_roundtrip),
	    T(test_rewrite_edges),
	    T(test_rewrite_shipped_conf),
	    T(test_obuf_defaults),
	    T(test_obuf_set),
	    T(test_obuf_set_errors),
	    T(test_obuf_file_args),
	    T(test_obuf_rewrite),
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_glob_nesting),
	};
	char tmpl[] = "/tmp/cachalot-cfg-XXXXXX", real[PATH_MAX];
	int rc;

	if (!getcwd(start_cwd, sizeof(start_cwd)) || !mkdtemp(tmpl))
		return 1;
	/* realpath: CONFIG GET dir shows the resolved path. */
	if (!realpath(tmpl, real) || strlen(real) >= sizeof(tmpdir))
		return 1;
	memcpy(tmpdir, real, strlen(real) + 1);
	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
