/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the string and generic-keys command families: each test
 * drives handlers through a small local dispatcher (table lookup and arity
 * check, as conn.c does) over a one-shard store and compares the exact RESP
 * bytes with what redis-server 7.0.15 answers to the same commands.
 *
 * Time is a fixed "now" that tests move by hand, so TTLs are exact.
 * The configuration is the real one: cfg_setup, and cmd_setup registers
 * the families' view, as at server start.  A test sets the limits and the
 * maxmemory policy it needs with cfg_set, the path of CONFIG SET, so the
 * view it reads is rebuilt as in the server.  The test thread is
 * registered with urcu-qsbr, as a worker: it passes a quiescent state
 * after every command, which lets the replaced snapshots go.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <urcu-qsbr.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "store/store_door.h"
#include "stats.h"

#define T0 1700000000000LL /* the fixed "now", unix ms */

/* ---- environment: config, counters, clock ----------------------------- */

static struct wstats st;
static uint64_t rng = 88172645463325252ULL;
static int64_t now = T0;
static unsigned cur_db;
static int proto = 2;

/* ---- the dispatcher shim -------------------------------------------- */

/* Handlers are referenced strongly so the linker pulls their objects out of
 * cmd_lib; a container (CMD_HAS_SUBS) has none, and the constant condition
 * below keeps its name out of the object file. */
#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd/cmd_string.def"
#include "cmd/cmd_keys.def"
#undef CMD
#undef SUB

#define CMD(n, ar, fl, ...)                                                    \
	{.name = #n,                                                           \
	 .arity = ar,                                                          \
	 .flags = fl,                                                          \
	 .fn = ((fl)&CMD_HAS_SUBS) ? (cmd_fn)0 : cmd_##n},
#define SUB(p, n, ...)
static struct cmd_def tops[] = {
#include "cmd/cmd_string.def"
#include "cmd/cmd_keys.def"
};
#undef CMD
#undef SUB

struct sub_def {
	const char *parent;
	struct cmd_def def;
};

#define CMD(n, ...)
#define SUB(p, n, ar, fl, ...)                                                 \
	{#p, {.name = #n, .arity = ar, .flags = fl, .fn = cmd_##p##_##n}},
static struct sub_def subs[] = {
#include "cmd/cmd_string.def"
#include "cmd/cmd_keys.def"
};
#undef CMD
#undef SUB

#define NTOPS (sizeof(tops) / sizeof(tops[0]))
#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static const struct cmd_def *find_top(const struct resp_arg *a)
{
	for (size_t i = 0; i < NTOPS; i++)
		if (cmd_arg_is(a, tops[i].name))
			return &tops[i];
	return NULL;
}

static const struct cmd_def *find_sub(const struct cmd_def *p,
				      const struct resp_arg *a)
{
	for (size_t i = 0; i < NSUBS; i++)
		if (!strcmp(subs[i].parent, p->name) &&
		    cmd_arg_is(a, subs[i].def.name)) {
			subs[i].def.parent = p;
			return &subs[i].def;
		}
	return NULL;
}

/* Split a command line into arguments: spaces separate, "..." quotes with
 * \" \\ \r \n \xHH escapes (as redis-cli reads them). */
static char argbuf[1 << 16];
static struct resp_arg args[256];

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	return (ch | 0x20) - 'a' + 10;
}

static int tokenize(const char *s)
{
	char *w = argbuf;
	int n = 0;

	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		args[n].ptr = w;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s != '\\') {
					*w++ = *s;
					continue;
				}
				s++;
				if (*s == 'x') {
					*w++ = (char)(hexval(s[1]) * 16 +
						      hexval(s[2]));
					s += 2;
				} else {
					*w++ = *s == 'r'   ? '\r'
					       : *s == 'n' ? '\n'
							   : *s;
				}
			}
			if (*s)
				s++;
		} else {
			while (*s && *s != ' ')
				*w++ = *s++;
		}
		args[n].len = (size_t)(w - args[n].ptr);
		n++;
	}
	return n;
}

static struct resp_out out;

/* Run one command line; returns the reply bytes in `out`. */
static void run(const char *line)
{
	struct cmd_ctx c = {
	    .st = &st,
	    .db = cur_db,
	    .out = &out,
	    .now_ms = now,
	    .rng = &rng,
	};
	const struct cmd_def *d;

	resp_out_free(&out);
	resp_out_init(&out, proto);
	c.argc = tokenize(line);
	c.argv = args;
	d = find_top(&args[0]);
	if (!d)
		fail_msg("no command in '%s'", line);
	if ((d->flags & CMD_HAS_SUBS) && c.argc >= 2) {
		d = find_sub(d, &args[1]);
		if (!d)
			fail_msg("no subcommand in '%s'", line);
	}
	if ((d->arity > 0 && c.argc != d->arity) ||
	    (d->arity < 0 && c.argc < -d->arity))
		cmd_reply_arity(&out, d);
	else
		d->fn(&c);
	rcu_quiescent_state();
}

static void show(char *dst, const char *p, size_t n)
{
	for (size_t i = 0; i < n && i < 400; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\r')
			dst += sprintf(dst, "\\r");
		else if (ch == '\n')
			dst += sprintf(dst, "\\n");
		else if (ch < 32 || ch > 126)
			dst += sprintf(dst, "\\x%02x", ch);
		else
			*dst++ = (char)ch;
	}
	*dst = '\0';
}

static void expect_bytes(const char *line, const char *want, size_t n,
			 int lineno)
{
	static char a[2048], b[2048];

	run(line);
	if (out.len == n && memcmp(out.buf, want, n) == 0)
		return;
	show(a, want, n);
	show(b, out.buf, out.len);
	fail_msg("line %d: %s\n  want: %s\n  got:  %s", lineno, line, a, b);
}

/* want is a string literal (it may hold NUL bytes). */
#define EXPECT(line, want) expect_bytes(line, want, sizeof(want) - 1, __LINE__)

/* ---- fixtures --------------------------------------------------------- */

/* CONFIG SET name value [name value ...]; 0, or -EINVAL after printing
 * cfg's error. */
static int config_set(int n, const char *const *names,
		      const char *const *values)
{
	char err[256];
	int rc = cfg_set(n, names, values, err, sizeof(err));

	if (rc)
		print_error("CONFIG SET %s: %s\n", names[0], err);
	return rc;
}

#define CONFIG_SET(name, value)                                                \
	assert_int_equal(config_set(1, (const char *const[]){name},            \
				    (const char *const[]){value}),             \
			 0)

static int group_setup(void **state)
{
	(void)state;
	return cfg_setup() || cmd_setup() ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cmd_teardown();
	/* Offline, so that teardown waits for the snapshots cfg_set
	 * replaced (rcu_barrier) instead of waiting for this thread. */
	rcu_thread_offline();
	cfg_teardown();
	rcu_thread_online();
	return 0;
}

/* What the tests change goes back to cachalot.conf's defaults. */
static int cfg_defaults(void)
{
	static const char *const names[] = {"proto-max-bulk-len", "maxmemory",
					    "maxmemory-policy"};
	static const char *const values[] = {"512mb", "0", "noeviction"};

	store_set_lfu(false, 10, 1);
	return config_set(3, names, values);
}

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 1, .ndbs = 16};

	(void)state;
	if (cfg_defaults())
		return -1;
	memset(&st, 0, sizeof(st));
	now = T0;
	cur_db = 0;
	proto = 2;
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

/* ---- helpers ---------------------------------------------------------- */

/* ---- keyspace event names -------------------------------------------- */

static char events[16][32];
static int nevents;

static void on_event(void *arg, const struct store_change *ch, unsigned db,
		     const char *name, const char *key, uint32_t klen)
{
	(void)arg, (void)ch, (void)db, (void)key, (void)klen;
	if (nevents < 16)
		snprintf(events[nevents++], sizeof(events[0]), "%s", name);
}

/* Each write names its event as redis-server 7.0 does (notify-keyspace-
 * events would publish these): INCR/DECR/INCRBY/DECRBY all "incrby". */
static void test_event_names(void **state)
{
	static const struct store_door_hooks hooks = {.event = on_event};
	static const struct {
		const char *line, *event;
	} cases[] = {
	    {"SET k 1", "set"},
	    {"INCR k", "incrby"},
	    {"DECRBY k 2", "incrby"},
	    {"INCRBYFLOAT k 1.5", "incrbyfloat"},
	    {"APPEND k x", "append"},
	    {"APPEND fresh x", "append"},
	    {"SETRANGE k 1 yy", "setrange"},
	    {"COPY k k2", "copy_to"},
	    {"GETSET k 5", "set"},
	    {"DEL k2", "del"},
	};
	(void)state;

	store_door_setup(&hooks);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nevents = 0;
		run(cases[i].line);
		assert_int_equal(nevents, 1);
		assert_string_equal(events[0], cases[i].event);
	}
	store_door_setup(NULL);
}

static void test_parse_ll(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		long long v;
	} t[] = {
	    {"0", true, 0},
	    {"1", true, 1},
	    {"-1", true, -1},
	    {"9223372036854775807", true, LLONG_MAX},
	    {"-9223372036854775808", true, LLONG_MIN},
	    {"9223372036854775808", false, 0},
	    {"-9223372036854775809", false, 0},
	    {"18446744073709551616", false, 0},
	    {"", false, 0},
	    {"-", false, 0},
	    {"-0", false, 0},
	    {"01", false, 0},
	    {"+1", false, 0},
	    {" 1", false, 0},
	    {"1 ", false, 0},
	    {"1.5", false, 0},
	    {"1e3", false, 0},
	    {"000000000000000000001", false, 0},
	    {"12a", false, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct resp_arg a = {t[i].s, strlen(t[i].s)};
		long long v = 42;

		assert_int_equal(cmd_parse_ll(&a, &v), t[i].ok);
		if (t[i].ok)
			assert_true(v == t[i].v);
	}
}

static void test_parse_ld(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
	    {"1", true},       {"-1.5", true},	    {"1e10", true},
	    {"0x10", true},    {"inf", true},	    {"-inf", true},
	    {"1e-4940", true}, {"nan", false},	    {"", false},
	    {" 1", false},     {"1 ", false},	    {"abc", false},
	    {"1e5000", false}, {"-1e-5000", false}, {"1.2.3", false},
	};
	struct resp_arg a;
	long double v;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = (struct resp_arg){t[i].s, strlen(t[i].s)};
		assert_int_equal(cmd_parse_ld(&a, &v), t[i].ok);
	}
	a = (struct resp_arg){"2.5", 3};
	assert_true(cmd_parse_ld(&a, &v) && v == 2.5L);
	/* every byte must belong to the number, a NUL too */
	a = (struct resp_arg){"3\0x", 3};
	assert_false(cmd_parse_ld(&a, &v));
	a = (struct resp_arg){"3\0", 2};
	assert_false(cmd_parse_ld(&a, &v));
}

static void test_arity(void **state)
{
	(void)state;
	EXPECT("GET", "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT("SET k", "-ERR wrong number of arguments for 'set' command\r\n");
	EXPECT("DEL", "-ERR wrong number of arguments for 'del' command\r\n");
	EXPECT("KEYS", "-ERR wrong number of arguments for 'keys' command\r\n");
	EXPECT(
	    "OBJECT ENCODING",
	    "-ERR wrong number of arguments for 'object|encoding' command\r\n");
	EXPECT("OBJECT HELP x",
	       "-ERR wrong number of arguments for 'object|help' command\r\n");
	EXPECT("EXPIRE a",
	       "-ERR wrong number of arguments for 'expire' command\r\n");
}

/* ---- strings ---------------------------------------------------------- */

static void test_get_set(void **state)
{
	(void)state;
	EXPECT("GET k", "$-1\r\n");
	assert_int_equal(st.keyspace_misses, 1);
	EXPECT("SET k v", "+OK\r\n");
	EXPECT("GET k", "$1\r\nv\r\n");
	assert_int_equal(st.keyspace_hits, 1);
	EXPECT("SET k \"\"", "+OK\r\n");
	EXPECT("GET k", "$0\r\n\r\n");
	EXPECT("SET k \"a\\x00b\"", "+OK\r\n");
	EXPECT("GET k", "$3\r\na\0b\r\n");
	/* SET without KEEPTTL clears the TTL */
	EXPECT("SET k v EX 100", "+OK\r\n");
	EXPECT("SET k v2", "+OK\r\n");
	EXPECT("TTL k", ":-1\r\n");
	/* SET counts nothing (unless GET is given); TTL counts a hit */
	assert_int_equal(st.keyspace_hits, 4);
	assert_int_equal(st.keyspace_misses, 1);
	proto = 3;
	EXPECT("GET nokey", "_\r\n");
}

static void test_set_options(void **state)
{
	(void)state;
	EXPECT("SET k v NX XX", "-ERR syntax error\r\n");
	EXPECT("SET k v XX NX", "-ERR syntax error\r\n");
	EXPECT("SET k v nx xx", "-ERR syntax error\r\n");
	EXPECT("SET k v EX 10 EX 20", "+OK\r\n");
	EXPECT("TTL k", ":20\r\n");
	EXPECT("SET k v EX 10 PX 20", "-ERR syntax error\r\n");
	EXPECT("SET k v KEEPTTL EX 10", "-ERR syntax error\r\n");
	EXPECT("SET k v EX 10 KEEPTTL", "-ERR syntax error\r\n");
	EXPECT("SET k v EXAT 10 PXAT 20", "-ERR syntax error\r\n");
	EXPECT("SET k v EX", "-ERR syntax error\r\n");
	EXPECT("SET k v PERSIST", "-ERR syntax error\r\n");
	EXPECT("SET k v FOO", "-ERR syntax error\r\n");
	EXPECT("SET k v KEEPTTL KEEPTTL", "+OK\r\n");
	EXPECT("TTL k", ":20\r\n");
	/* NX / XX */
	EXPECT("SET k w NX", "$-1\r\n");
	EXPECT("GET k", "$1\r\nv\r\n");
	EXPECT("SET nokey w XX", "$-1\r\n");
	EXPECT("EXISTS nokey", ":0\r\n");
	EXPECT("SET k w XX", "+OK\r\n");
	EXPECT("SET k2 w NX", "+OK\r\n");
	EXPECT("SET k v ex 10 nx", "$-1\r\n");
	/* GET, alone and with NX / XX (allowed together since 7.0) */
	EXPECT("DEL k k2", ":2\r\n");
	EXPECT("SET k v GET GET", "$-1\r\n");
	EXPECT("SET k w NX GET", "$1\r\nv\r\n");
	EXPECT("GET k", "$1\r\nv\r\n");
	EXPECT("SET k w XX GET", "$1\r\nv\r\n");
	EXPECT("GET k", "$1\r\nw\r\n");
	EXPECT("SET nokey w XX GET", "$-1\r\n");
	EXPECT("EXISTS nokey", ":0\r\n");
	EXPECT("SET k v KEEPTTL GET", "$1\r\nw\r\n");
	/* KEEPTTL */
	EXPECT("SET k v EX 100", "+OK\r\n");
	now += 30000;
	EXPECT("SET k v2 KEEPTTL", "+OK\r\n");
	EXPECT("TTL k", ":70\r\n");
	EXPECT("SET k v3", "+OK\r\n");
	EXPECT("TTL k", ":-1\r\n");
}

static void test_set_expire(void **state)
{
	(void)state;
	EXPECT("SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v EX -1",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v PX 0", "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v EXAT 0",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v PX 9223372036854775807",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v EX 9223372036854775",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v EX 9223372036854776",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v EX abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET k v EX 1.5",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET k v EX \" 10\"",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET k v EX 010",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET k v EX +10",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("EXISTS k", ":0\r\n");
	/* the time is checked before NX finds the key */
	EXPECT("SET k v", "+OK\r\n");
	EXPECT("SET k v NX EX 0",
	       "-ERR invalid expire time in 'set' command\r\n");
	EXPECT("SET k v PX 1500", "+OK\r\n");
	EXPECT("PTTL k", ":1500\r\n");
	EXPECT("SET k v EXAT 1700000100", "+OK\r\n");
	EXPECT("TTL k", ":100\r\n");
	EXPECT("SET k v PXAT 1700000000500", "+OK\r\n");
	EXPECT("PTTL k", ":500\r\n");
	now += 500;
	EXPECT("GET k", "$-1\r\n");
	/* an absolute time in the past is accepted: the key is gone */
	EXPECT("SET k v PXAT 1", "+OK\r\n");
	EXPECT("EXISTS k", ":0\r\n");
	EXPECT("TTL k", ":-2\r\n");
	EXPECT("SET k v PXAT 9223372036854775807", "+OK\r\n");
	EXPECT("PEXPIRETIME k", ":9223372036854775807\r\n");
}

static void test_setnx_setex_psetex(void **state)
{
	(void)state;
	EXPECT("SETNX k v", ":1\r\n");
	EXPECT("SETNX k w", ":0\r\n");
	EXPECT("GET k", "$1\r\nv\r\n");
	EXPECT("SETEX k 0 v",
	       "-ERR invalid expire time in 'setex' command\r\n");
	EXPECT("SETEX k -5 v",
	       "-ERR invalid expire time in 'setex' command\r\n");
	EXPECT("SETEX k abc v",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SETEX k 100 w", "+OK\r\n");
	EXPECT("TTL k", ":100\r\n");
	EXPECT("GET k", "$1\r\nw\r\n");
	EXPECT("PSETEX k 0 v",
	       "-ERR invalid expire time in 'psetex' command\r\n");
	EXPECT("PSETEX k 100000 x", "+OK\r\n");
	EXPECT("PTTL k", ":100000\r\n");
	EXPECT("SETEX k",
	       "-ERR wrong number of arguments for 'setex' command\r\n");
	/* SETNX over an expired key */
	now += 100000;
	EXPECT("SETNX k y", ":1\r\n");
	EXPECT("TTL k", ":-1\r\n");
}

static void test_getex(void **state)
{
	(void)state;
	EXPECT("GETEX nokey", "$-1\r\n");
	/* the key is looked up before the time is validated */
	EXPECT("GETEX nokey EX 0", "$-1\r\n");
	EXPECT("GETEX nokey EX abc", "$-1\r\n");
	EXPECT("GETEX nokey FOO", "-ERR syntax error\r\n");
	EXPECT("SET k v", "+OK\r\n");
	EXPECT("GETEX k FOO", "-ERR syntax error\r\n");
	EXPECT("GETEX k NX", "-ERR syntax error\r\n");
	EXPECT("GETEX k KEEPTTL", "-ERR syntax error\r\n");
	EXPECT("GETEX k GET", "-ERR syntax error\r\n");
	EXPECT("GETEX k PX", "-ERR syntax error\r\n");
	EXPECT("GETEX k EX 0",
	       "-ERR invalid expire time in 'getex' command\r\n");
	EXPECT("GETEX k EX abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("GETEX k EX 9223372036854775807",
	       "-ERR invalid expire time in 'getex' command\r\n");
	EXPECT("GETEX k EX 100 PERSIST", "-ERR syntax error\r\n");
	EXPECT("GETEX k PERSIST EX 100", "-ERR syntax error\r\n");
	EXPECT("GETEX k EX 100 PX 100", "-ERR syntax error\r\n");
	EXPECT("TTL k", ":-1\r\n");
	EXPECT("GETEX k EX 100 EX 200", "$1\r\nv\r\n");
	EXPECT("TTL k", ":200\r\n");
	EXPECT("GETEX k", "$1\r\nv\r\n");
	EXPECT("TTL k", ":200\r\n");
	EXPECT("GETEX k PERSIST", "$1\r\nv\r\n");
	EXPECT("TTL k", ":-1\r\n");
	EXPECT("GETEX k PX 1500", "$1\r\nv\r\n");
	EXPECT("PTTL k", ":1500\r\n");
	EXPECT("GETEX k EXAT 1700000050", "$1\r\nv\r\n");
	EXPECT("TTL k", ":50\r\n");
	EXPECT("GETEX k PXAT 9223372036854775807", "$1\r\nv\r\n");
	EXPECT("PTTL k", ":9223370336854775807\r\n");
	/* an absolute time in the past deletes the key after replying */
	EXPECT("GETEX k EXAT 1", "$1\r\nv\r\n");
	EXPECT("EXISTS k", ":0\r\n");
}

static void test_getdel_getset(void **state)
{
	(void)state;
	EXPECT("GETDEL k", "$-1\r\n");
	EXPECT("SET k v", "+OK\r\n");
	EXPECT("GETDEL k", "$1\r\nv\r\n");
	EXPECT("GETDEL k", "$-1\r\n");
	EXPECT("GETSET k a", "$-1\r\n");
	EXPECT("GET k", "$1\r\na\r\n");
	EXPECT("EXPIRE k 100", ":1\r\n");
	EXPECT("GETSET k b", "$1\r\na\r\n");
	EXPECT("TTL k", ":-1\r\n");
	EXPECT("GET k", "$1\r\nb\r\n");
}

static void test_mget_mset(void **state)
{
	(void)state;
	EXPECT("MSET a 1 b",
	       "-ERR wrong number of arguments for 'mset' command\r\n");
	EXPECT("MSET a",
	       "-ERR wrong number of arguments for 'mset' command\r\n");
	EXPECT("MSET a 1 b 2 a 3", "+OK\r\n");
	EXPECT("MGET a b c", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n");
	assert_int_equal(st.keyspace_hits, 2);
	assert_int_equal(st.keyspace_misses, 1);
	EXPECT("MSETNX x",
	       "-ERR wrong number of arguments for 'msetnx' command\r\n");
	EXPECT("MSETNX a 1 c 3", ":0\r\n");
	EXPECT("EXISTS c", ":0\r\n");
	EXPECT("MSETNX c 3 d 4", ":1\r\n");
	EXPECT("MSETNX e 1 e 2", ":1\r\n");
	EXPECT("MGET c d e", "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n2\r\n");
	EXPECT("EXPIRE a 100", ":1\r\n");
	EXPECT("MSET a 9", "+OK\r\n");
	EXPECT("TTL a", ":-1\r\n");
	proto = 3;
	EXPECT("MGET a nokey", "*2\r\n$1\r\n9\r\n_\r\n");
}

static void test_incr(void **state)
{
	(void)state;
	EXPECT("INCR n", ":1\r\n");
	EXPECT("INCRBY n 9223372036854775806", ":9223372036854775807\r\n");
	EXPECT("INCR n", "-ERR increment or decrement would overflow\r\n");
	EXPECT("DECRBY n -1", "-ERR increment or decrement would overflow\r\n");
	EXPECT("DECRBY n -9223372036854775808",
	       "-ERR decrement would overflow\r\n");
	EXPECT("DECRBY x -9223372036854775808",
	       "-ERR decrement would overflow\r\n");
	EXPECT("INCRBY n abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("INCRBY n 1.5",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET n 9223372036854775808", "+OK\r\n");
	EXPECT("INCR n", "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET n -9223372036854775808", "+OK\r\n");
	EXPECT("DECR n", "-ERR increment or decrement would overflow\r\n");
	EXPECT("INCR n", ":-9223372036854775807\r\n");
	EXPECT("SET n \" 1\"", "+OK\r\n");
	EXPECT("INCR n", "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET n 01", "+OK\r\n");
	EXPECT("INCR n", "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET n -0", "+OK\r\n");
	EXPECT("INCR n", "-ERR value is not an integer or out of range\r\n");
	EXPECT("SET n \"\"", "+OK\r\n");
	EXPECT("INCR n", "-ERR value is not an integer or out of range\r\n");
	EXPECT("DECR m", ":-1\r\n");
	EXPECT("DECRBY m 10", ":-11\r\n");
	EXPECT("INCRBY m 20", ":9\r\n");
	EXPECT("GET m", "$1\r\n9\r\n");
	/* INCR keeps the TTL; INCR counts no hits (lookupKeyWrite) */
	EXPECT("EXPIRE m 100", ":1\r\n");
	EXPECT("INCR m", ":10\r\n");
	EXPECT("TTL m", ":100\r\n");
	assert_int_equal(st.keyspace_hits, 2); /* GET and TTL */
	assert_int_equal(st.keyspace_misses, 0);
}

static void test_incrbyfloat(void **state)
{
	(void)state;
	EXPECT("SET s 10.5", "+OK\r\n");
	EXPECT("INCRBYFLOAT s 0.1", "$4\r\n10.6\r\n");
	EXPECT("INCRBYFLOAT s 1e20", "$21\r\n100000000000000000008\r\n");
	EXPECT("INCRBYFLOAT s -1e20", "$1\r\n8\r\n");
	EXPECT("SET s 3.0e3", "+OK\r\n");
	EXPECT("INCRBYFLOAT s 1.0e3", "$4\r\n4000\r\n");
	EXPECT("INCRBYFLOAT s abc", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT s inf",
	       "-ERR increment would produce NaN or Infinity\r\n");
	EXPECT("INCRBYFLOAT s nan", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT s \" 1\"", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT s \"1 \"", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT s \"\"", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT s 0x10", "$4\r\n4016\r\n");
	EXPECT("INCRBYFLOAT new 5", "$1\r\n5\r\n");
	EXPECT("INCRBYFLOAT new -5", "$1\r\n0\r\n");
	EXPECT("INCRBYFLOAT new 1e-20", "$1\r\n0\r\n");
	EXPECT("INCRBYFLOAT new 1e5000", "-ERR value is not a valid float\r\n");
	EXPECT("INCRBYFLOAT new -1e-5000",
	       "-ERR value is not a valid float\r\n");
	EXPECT("SET s abc", "+OK\r\n");
	EXPECT("INCRBYFLOAT s 1", "-ERR value is not a valid float\r\n");
	EXPECT("SET s 5", "+OK\r\n");
	EXPECT("INCRBYFLOAT s 1e-17", "$19\r\n5.00000000000000001\r\n");
	EXPECT("INCRBYFLOAT s 3.14159265358979323846",
	       "$19\r\n8.14159265358979325\r\n");
	EXPECT("INCRBYFLOAT s -8.14159265358979323846",
	       "$19\r\n0.00000000000000001\r\n");
	EXPECT("INCRBYFLOAT t 0.1", "$3\r\n0.1\r\n");
	EXPECT("INCRBYFLOAT t 0.2", "$3\r\n0.3\r\n");
	EXPECT("INCRBYFLOAT t -0.3", "$1\r\n0\r\n");
	EXPECT("INCRBYFLOAT u 1.1e308",
	       "$309\r\n"
	       "110000000000000000003176187429410209582863477503669755746190"
	       "111594730413624529402579359203697613891524217352493676821726"
	       "925061665915342709685584314778858226477359601128982367250201"
	       "314954927348455642621494210870359863557634802848066603360411"
	       "786571660640811824316998706870312467118839955780958360563972"
	       "661313536"
	       "\r\n");
	EXPECT("SET w -0.0000000000000000001", "+OK\r\n");
	EXPECT("INCRBYFLOAT w 0", "$1\r\n0\r\n");
	EXPECT("SET s 1", "+OK\r\n");
	EXPECT("EXPIRE s 100", ":1\r\n");
	EXPECT("INCRBYFLOAT s 1", "$1\r\n2\r\n");
	EXPECT("TTL s", ":100\r\n");
}

static void test_append_strlen(void **state)
{
	(void)state;
	EXPECT("STRLEN a", ":0\r\n");
	EXPECT("APPEND a hello", ":5\r\n");
	EXPECT("APPEND a \" world\"", ":11\r\n");
	EXPECT("GET a", "$11\r\nhello world\r\n");
	EXPECT("APPEND a \"\"", ":11\r\n");
	EXPECT("STRLEN a", ":11\r\n");
	EXPECT("EXPIRE a 100", ":1\r\n");
	EXPECT("APPEND a !", ":12\r\n");
	EXPECT("TTL a", ":100\r\n");
	/* 1mb is the least CONFIG SET takes: pad a to 3 bytes short of it */
	CONFIG_SET("proto-max-bulk-len", "1mb");
	EXPECT("SETRANGE a 1048572 x", ":1048573\r\n");
	EXPECT("APPEND a xyz", ":1048576\r\n");
	EXPECT("APPEND a x", "-ERR string exceeds maximum allowed size "
			     "(proto-max-bulk-len)\r\n");
	EXPECT("STRLEN a", ":1048576\r\n");
}

static void test_getrange(void **state)
{
	(void)state;
	EXPECT("SET s \"Hello World\"", "+OK\r\n");
	EXPECT("GETRANGE s 0 4", "$5\r\nHello\r\n");
	EXPECT("GETRANGE s -5 -1", "$5\r\nWorld\r\n");
	EXPECT("GETRANGE s -1 -5", "$0\r\n\r\n");
	EXPECT("GETRANGE s 5 2", "$0\r\n\r\n");
	EXPECT("GETRANGE s 0 100", "$11\r\nHello World\r\n");
	EXPECT("GETRANGE s -100 2", "$3\r\nHel\r\n");
	EXPECT("GETRANGE s 100 200", "$0\r\n\r\n");
	EXPECT("GETRANGE s 0 -100", "$1\r\nH\r\n");
	EXPECT("GETRANGE s -9223372036854775808 9223372036854775807",
	       "$11\r\nHello World\r\n");
	EXPECT("GETRANGE s a 1",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("GETRANGE s 1 b",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("GETRANGE nokey a 1",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("GETRANGE nokey 0 1", "$0\r\n\r\n");
	EXPECT("SUBSTR s 0 2", "$3\r\nHel\r\n");
	EXPECT("SET e \"\"", "+OK\r\n");
	EXPECT("GETRANGE e 0 -1", "$0\r\n\r\n");
	EXPECT("GETRANGE e 0 0", "$0\r\n\r\n");
}

static void test_setrange(void **state)
{
	(void)state;
	EXPECT("SET s \"Hello World\"", "+OK\r\n");
	EXPECT("SETRANGE s -1 x", "-ERR offset is out of range\r\n");
	EXPECT("SETRANGE s abc x",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SETRANGE s 9223372036854775808 a",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SETRANGE s 6 Redis", ":11\r\n");
	EXPECT("GET s", "$11\r\nHello Redis\r\n");
	EXPECT("SETRANGE s 20 X", ":21\r\n");
	EXPECT("GET s", "$21\r\nHello Redis\0\0\0\0\0\0\0\0\0X\r\n");
	EXPECT("SETRANGE s 0 \"\"", ":21\r\n");
	EXPECT("SETRANGE nk 0 \"\"", ":0\r\n");
	EXPECT("EXISTS nk", ":0\r\n");
	EXPECT("SETRANGE nk 5 \"\"", ":0\r\n");
	EXPECT("SETRANGE nk 3 ab", ":5\r\n");
	EXPECT("GET nk", "$5\r\n\0\0\0ab\r\n");
	EXPECT("EXPIRE nk 100", ":1\r\n");
	EXPECT("SETRANGE nk 0 x", ":5\r\n");
	EXPECT("TTL nk", ":100\r\n");
	EXPECT("GET nk", "$5\r\nx\0\0ab\r\n");
	/* 1mb is the least CONFIG SET takes */
	CONFIG_SET("proto-max-bulk-len", "1mb");
	EXPECT("SETRANGE nk 1048575 a", ":1048576\r\n");
	EXPECT("SETRANGE nk 1048576 a",
	       "-ERR string exceeds maximum allowed size "
	       "(proto-max-bulk-len)\r\n");
	EXPECT("SETRANGE nk2 1048576 \"\"", ":0\r\n");
	EXPECT("SETRANGE nk2 1048576 a",
	       "-ERR string exceeds maximum allowed size "
	       "(proto-max-bulk-len)\r\n");
	EXPECT("SETRANGE nk 9223372036854775807 a",
	       "-ERR string exceeds maximum allowed size "
	       "(proto-max-bulk-len)\r\n");
}

/* ---- generic keys ----------------------------------------------------- */

static void test_del_exists_type(void **state)
{
	(void)state;
	EXPECT("MSET a 1 b 2 c 3", "+OK\r\n");
	EXPECT("EXISTS a b nokey", ":2\r\n");
	EXPECT("EXISTS a a a", ":3\r\n");
	assert_int_equal(st.keyspace_hits, 5);
	assert_int_equal(st.keyspace_misses, 1);
	EXPECT("TYPE a", "+string\r\n");
	EXPECT("TYPE nokey", "+none\r\n");
	assert_int_equal(st.keyspace_hits, 6);
	assert_int_equal(st.keyspace_misses, 2);
	EXPECT("TOUCH a nokey", ":1\r\n");
	assert_int_equal(st.keyspace_hits, 7);
	EXPECT("DEL a b nokey", ":2\r\n");
	EXPECT("UNLINK c nokey", ":1\r\n");
	EXPECT("EXISTS a b c", ":0\r\n");
	EXPECT("SET x 1 PX 10", "+OK\r\n");
	now += 10;
	EXPECT("DEL x", ":0\r\n");
	proto = 3;
	EXPECT("TYPE nokey", "+none\r\n");
}

static void test_expire(void **state)
{
	(void)state;
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("EXPIRE a 100 NX XX", "-ERR NX and XX, GT or LT options at the "
				     "same time are not compatible\r\n");
	EXPECT("EXPIRE a 100 LT NX", "-ERR NX and XX, GT or LT options at the "
				     "same time are not compatible\r\n");
	EXPECT(
	    "EXPIRE a 100 GT LT",
	    "-ERR GT and LT options at the same time are not compatible\r\n");
	EXPECT("EXPIRE a 100 FOO", "-ERR Unsupported option FOO\r\n");
	EXPECT("EXPIRE a 1 NX XX foo", "-ERR Unsupported option foo\r\n");
	EXPECT("EXPIRE a abc FOO", "-ERR Unsupported option FOO\r\n");
	EXPECT("EXPIRE a abc NX XX", "-ERR NX and XX, GT or LT options at the "
				     "same time are not compatible\r\n");
	EXPECT("EXPIRE a abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("EXPIRE a 1.5",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("EXPIRE a 100 XX GT", ":0\r\n");
	EXPECT("EXPIRE a 50 GT", ":0\r\n");
	EXPECT("EXPIRE a 100 NX", ":1\r\n");
	EXPECT("EXPIRE a 200 NX", ":0\r\n");
	EXPECT("EXPIRE a 50 GT", ":0\r\n");
	EXPECT("EXPIRE a 200 gt", ":1\r\n");
	EXPECT("EXPIRE a 300 LT", ":0\r\n");
	EXPECT("EXPIRE a 50 lt", ":1\r\n");
	EXPECT("EXPIRE a 100 gt xx", ":1\r\n");
	EXPECT("EXPIRE a 100 lt xx", ":0\r\n");
	EXPECT("EXPIRE a 100 nx nx", ":0\r\n");
	EXPECT("TTL a", ":100\r\n");
	EXPECT("PERSIST a", ":1\r\n");
	EXPECT("EXPIRE a 50 LT", ":1\r\n");
	EXPECT("PERSIST a", ":1\r\n");
	EXPECT("EXPIRE a 50 XX", ":0\r\n");
	EXPECT("EXPIRE nokey 100", ":0\r\n");
	EXPECT("EXPIRE nokey abc",
	       "-ERR value is not an integer or out of range\r\n");
	/* overflow is an error, negative times are not */
	EXPECT("EXPIRE a 9223372036854775807",
	       "-ERR invalid expire time in 'expire' command\r\n");
	EXPECT("EXPIRE a 9223372036854774",
	       "-ERR invalid expire time in 'expire' command\r\n");
	EXPECT("EXPIRE a -9223372036854775808",
	       "-ERR invalid expire time in 'expire' command\r\n");
	EXPECT("PEXPIRE a 9223372036854775000",
	       "-ERR invalid expire time in 'pexpire' command\r\n");
	EXPECT("EXPIREAT a 9223372036854775807",
	       "-ERR invalid expire time in 'expireat' command\r\n");
	EXPECT("TTL a", ":-1\r\n");
	EXPECT("EXPIRE a -9223372036854775", ":1\r\n");
	EXPECT("EXISTS a", ":0\r\n");
	/* a time not in the future deletes the key, unless GT refuses */
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("EXPIRE a 0", ":1\r\n");
	EXPECT("EXISTS a", ":0\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("EXPIRE a -1 GT", ":0\r\n");
	EXPECT("EXPIRE a -1 XX", ":0\r\n");
	EXPECT("EXISTS a", ":1\r\n");
	EXPECT("EXPIRE a -1 LT", ":1\r\n");
	EXPECT("EXISTS a", ":0\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("PEXPIREAT a 1700000000000", ":1\r\n");
	EXPECT("EXISTS a", ":0\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("PEXPIREAT a 9223372036854775807", ":1\r\n");
	EXPECT("PEXPIRETIME a", ":9223372036854775807\r\n");
	EXPECT("EXPIRETIME a", ":9223372036854776\r\n");
	EXPECT("EXPIREAT a 9223372036854775", ":1\r\n");
	EXPECT("EXPIRETIME a", ":9223372036854775\r\n");
	EXPECT("EXPIREAT a 1700000010", ":1\r\n");
	EXPECT("PTTL a", ":10000\r\n");
	EXPECT("PEXPIRE a 1234", ":1\r\n");
	EXPECT("PEXPIRETIME a", ":1700000001234\r\n");
	now += 1234;
	EXPECT("EXISTS a", ":0\r\n");
}

static void test_ttl_persist(void **state)
{
	(void)state;
	EXPECT("TTL nokey", ":-2\r\n");
	EXPECT("PTTL nokey", ":-2\r\n");
	EXPECT("EXPIRETIME nokey", ":-2\r\n");
	EXPECT("PEXPIRETIME nokey", ":-2\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("TTL a", ":-1\r\n");
	EXPECT("PTTL a", ":-1\r\n");
	EXPECT("EXPIRETIME a", ":-1\r\n");
	EXPECT("PEXPIRETIME a", ":-1\r\n");
	/* seconds round to the nearest */
	EXPECT("PEXPIRE a 1499", ":1\r\n");
	EXPECT("TTL a", ":1\r\n");
	EXPECT("PEXPIRE a 1500", ":1\r\n");
	EXPECT("TTL a", ":2\r\n");
	EXPECT("PEXPIRE a 500", ":1\r\n");
	EXPECT("TTL a", ":1\r\n");
	EXPECT("PEXPIRE a 499", ":1\r\n");
	EXPECT("TTL a", ":0\r\n");
	EXPECT("EXPIRETIME a", ":1700000000\r\n");
	EXPECT("PEXPIRETIME a", ":1700000000499\r\n");
	EXPECT("PERSIST nokey", ":0\r\n");
	EXPECT("PERSIST a", ":1\r\n");
	EXPECT("PERSIST a", ":0\r\n");
	EXPECT("TTL a", ":-1\r\n");
	EXPECT("PEXPIRE a 10", ":1\r\n");
	now += 10;
	EXPECT("PTTL a", ":-2\r\n");
	EXPECT("PERSIST a", ":0\r\n");
}

/* Parse "*2 $cursor *n $k..." into the cursor and up to max keys. */
static long parse_scan_reply(unsigned long *cursor, char keys[][32], long max)
{
	const char *p = out.buf;
	long n, i;

	assert_true(strncmp(p, "*2\r\n$", 5) == 0);
	p = strchr(p + 5, '\n') + 1;
	*cursor = strtoul(p, NULL, 10);
	p = strchr(p, '\n') + 1;
	assert_true(*p == '*');
	n = strtol(p + 1, NULL, 10);
	assert_true(n <= max);
	p = strchr(p, '\n') + 1;
	for (i = 0; i < n; i++) {
		long len = strtol(p + 1, NULL, 10);

		p = strchr(p, '\n') + 1;
		assert_true(len < 32);
		memcpy(keys[i], p, (size_t)len);
		keys[i][len] = '\0';
		p += len + 2;
	}
	assert_true(p == out.buf + out.len);
	return n;
}

/*
 * SCAN every key from cursor 0 with COUNT count, checking each call:
 * at most count keys stepped on (and so returned, without MATCH), cursors
 * strictly increasing, the shard in the top 6 bits never behind the keys
 * returned.  Returns the keys returned, seen[] counts them per index.
 */
static long scan_all(long count, int *seen, int nkeys)
{
	static char keys[2000][32];
	unsigned long cursor = 0, prev;
	char cmd[64];
	long n, total = 0, calls = 0;

	do {
		prev = cursor;
		snprintf(cmd, sizeof(cmd), "SCAN %lu COUNT %ld", cursor, count);
		run(cmd);
		n = parse_scan_reply(&cursor, keys, 2000);
		assert_true(n <= count);
		assert_true(cursor == 0 || cursor > prev);
		for (long i = 0; i < n; i++) {
			int id = atoi(keys[i] + 4);
			unsigned sh =
			    store_owner(slot_of(keys[i], strlen(keys[i])));

			assert_true(id >= 0 && id < nkeys);
			assert_true(sh >= prev >> 58);
			assert_true(cursor == 0 || sh <= cursor >> 58);
			seen[id]++;
		}
		total += n;
		assert_true(++calls < 100000);
	} while (cursor != 0);
	return total;
}

static void test_scan(void **state)
{
	static char keys[200][32];
	unsigned long cursor = 0;
	int seen[60];
	char cmd[128];
	long n;

	(void)state;
	EXPECT("SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n");
	for (int i = 0; i < 60; i++) {
		snprintf(cmd, sizeof(cmd), "SET key:%d v", i);
		EXPECT(cmd, "+OK\r\n");
	}
	/* no writes meanwhile: every key exactly once, whatever COUNT */
	for (long count = 1; count <= 61; count += 6) {
		memset(seen, 0, sizeof(seen));
		assert_int_equal(scan_all(count, seen, 60), 60);
		for (int i = 0; i < 60; i++)
			assert_int_equal(seen[i], 1);
	}
	/* default COUNT 10: ten keys stepped on, a cursor to go on with */
	run("SCAN 0");
	n = parse_scan_reply(&cursor, keys, 200);
	assert_int_equal(n, 10);
	assert_true(cursor != 0);
	/* MATCH and TYPE filter what was stepped on */
	run("SCAN 0 MATCH key:1? COUNT 1000");
	n = parse_scan_reply(&cursor, keys, 200);
	assert_int_equal(n, 10);
	assert_int_equal(cursor, 0);
	for (long i = 0; i < n; i++)
		assert_true(strncmp(keys[i], "key:1", 5) == 0);
	memset(&st, 0, sizeof(st));
	run("SCAN 0 TYPE string COUNT 1000 MATCH key:5*");
	assert_int_equal(parse_scan_reply(&cursor, keys, 200), 11);
	assert_int_equal(st.keyspace_hits, 11);
	run("SCAN 0 TYPE STRING COUNT 1000");
	assert_int_equal(parse_scan_reply(&cursor, keys, 200), 60);
	EXPECT("SCAN 0 TYPE list COUNT 100", "*2\r\n$1\r\n0\r\n*0\r\n");
	EXPECT("SCAN 0 TYPE foo COUNT 100", "*2\r\n$1\r\n0\r\n*0\r\n");
	/* expired keys are stepped over, never returned */
	EXPECT("FLUSHALL", "+OK\r\n");
	EXPECT("MSET {t}1 a {t}2 b {t}3 c", "+OK\r\n");
	EXPECT("PEXPIRE {t}2 10", ":1\r\n");
	now += 10;
	run("SCAN 0 COUNT 100");
	assert_int_equal(parse_scan_reply(&cursor, keys, 200), 2);
	assert_int_equal(cursor, 0);
	/* a shard index past the last shard is finished */
	EXPECT("SCAN 288230376151711744", "*2\r\n$1\r\n0\r\n*0\r\n");
	EXPECT("SCAN -1", "*2\r\n$1\r\n0\r\n*0\r\n");
	EXPECT("SCAN 18446744073709551615", "*2\r\n$1\r\n0\r\n*0\r\n");
	run("SCAN \"\" COUNT 100");
	assert_int_equal(parse_scan_reply(&cursor, keys, 200), 2);
	assert_int_equal(cursor, 0);
	EXPECT("SCAN +0 MATCH {t}3", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\n{t}3\r\n");
	EXPECT("SCAN 0 MATCH a* MATCH {t}3",
	       "*2\r\n$1\r\n0\r\n*1\r\n$4\r\n{t}3\r\n");
}

static int setup_4shards(void **state)
{
	struct store_conf conf = {.nshards = 4, .ndbs = 16};

	setup(state);
	store_teardown();
	return store_setup(&conf);
}

/* Cursors carry the shard in their top bits and cross shard boundaries,
 * empty shards included, without losing or repeating a key. */
static void test_scan_shards(void **state)
{
	static char keys[2000][32];
	static int seen[2000], made[2000];
	unsigned long cursor;
	struct store_stats ss;
	char cmd[64];
	int i, nmade = 0;
	long n;

	(void)state;
	/* keys of shards 0 and 3 only: 1 and 2 stay empty */
	for (i = 0; nmade < 400; i++) {
		unsigned sh;

		snprintf(cmd, sizeof(cmd), "key:%d", i);
		sh = store_owner(slot_of(cmd, strlen(cmd)));
		if (sh != 0 && sh != 3)
			continue;
		snprintf(cmd, sizeof(cmd), "SET key:%d v", i);
		EXPECT(cmd, "+OK\r\n");
		made[i] = 1;
		nmade++;
	}
	assert_true(i < 2000);
	store_shard_stats(0, &ss);
	assert_true(ss.keys > 0 && ss.keys < 400);
	/* exactly shard 0's keys: the cursor points at the start of shard 1 */
	snprintf(cmd, sizeof(cmd), "SCAN 0 COUNT %llu",
		 (unsigned long long)ss.keys);
	run(cmd);
	n = parse_scan_reply(&cursor, keys, 2000);
	assert_int_equal(n, ss.keys);
	assert_int_equal(cursor, 1UL << 58);
	/* from there: shard 3's keys, over the empty shards, then done */
	snprintf(cmd, sizeof(cmd), "SCAN %lu COUNT 1000", cursor);
	run(cmd);
	n = parse_scan_reply(&cursor, keys, 2000);
	assert_int_equal(n, 400 - (long)ss.keys);
	assert_int_equal(cursor, 0);
	for (long count = 1; count <= 401; count += 40) {
		memset(seen, 0, sizeof(seen));
		assert_int_equal(scan_all(count, seen, 2000), 400);
		for (i = 0; i < 2000; i++)
			assert_int_equal(seen[i], made[i]);
	}
	/* RANDOMKEY draws from both populated shards */
	{
		int in[4] = {0};

		for (i = 0; i < 200; i++) {
			unsigned long c;

			run("RANDOMKEY");
			assert_true(out.buf[0] == '$');
			c = strtoul(out.buf + 1, NULL, 10);
			in[store_owner(
			    slot_of(strchr(out.buf, '\n') + 1, c))]++;
		}
		assert_true(in[0] > 0 && in[3] > 0);
		assert_int_equal(in[1] + in[2], 0);
	}
}

static void test_scan_errors(void **state)
{
	(void)state;
	EXPECT("SCAN abc", "-ERR invalid cursor\r\n");
	EXPECT("SCAN 18446744073709551616", "-ERR invalid cursor\r\n");
	EXPECT("SCAN 1.5", "-ERR invalid cursor\r\n");
	EXPECT("SCAN \" 1\"", "-ERR invalid cursor\r\n");
	EXPECT("SCAN +", "-ERR invalid cursor\r\n");
	EXPECT("SCAN abc COUNT 0", "-ERR invalid cursor\r\n");
	EXPECT("SCAN 0 COUNT 0", "-ERR syntax error\r\n");
	EXPECT("SCAN 0 COUNT -1", "-ERR syntax error\r\n");
	EXPECT("SCAN 0 COUNT abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("SCAN 0 COUNT", "-ERR syntax error\r\n");
	EXPECT("SCAN 0 MATCH", "-ERR syntax error\r\n");
	EXPECT("SCAN 0 FOO bar", "-ERR syntax error\r\n");
	EXPECT("SCAN 16384 FOO", "-ERR syntax error\r\n");
}

static void test_keys_randomkey(void **state)
{
	(void)state;
	EXPECT("KEYS *", "*0\r\n");
	EXPECT("RANDOMKEY", "$-1\r\n");
	EXPECT("MSET {x}a 1 {x}b 2 {x}c 3", "+OK\r\n");
	run("KEYS {x}[ab]");
	assert_int_equal(out.len, 4 + 2 * 10);
	assert_true(strncmp(out.buf, "*2\r\n", 4) == 0);
	assert_non_null(memmem(out.buf, out.len, "$4\r\n{x}a\r\n", 10));
	assert_non_null(memmem(out.buf, out.len, "$4\r\n{x}b\r\n", 10));
	EXPECT("KEYS nomatch*", "*0\r\n");
	run("KEYS *");
	assert_true(strncmp(out.buf, "*3\r\n", 4) == 0);
	assert_int_equal(out.len, 4 + 3 * 10);
	run("RANDOMKEY");
	assert_true(strncmp(out.buf, "$4\r\n{x}", 7) == 0);
	EXPECT("PEXPIRE {x}a 10", ":1\r\n");
	EXPECT("PEXPIRE {x}b 10", ":1\r\n");
	now += 10;
	EXPECT("KEYS *", "*1\r\n$4\r\n{x}c\r\n");
	for (int i = 0; i < 20; i++)
		EXPECT("RANDOMKEY", "$4\r\n{x}c\r\n");
	assert_int_equal(st.keyspace_hits, 0);
}

static void test_rename(void **state)
{
	(void)state;
	EXPECT("RENAME nokey b", "-ERR no such key\r\n");
	EXPECT("RENAME nokey nokey", "-ERR no such key\r\n");
	EXPECT("RENAMENX nokey c", "-ERR no such key\r\n");
	EXPECT("SET a v", "+OK\r\n");
	EXPECT("RENAME a a", "+OK\r\n");
	EXPECT("RENAMENX a a", ":0\r\n");
	EXPECT("RENAME a b", "+OK\r\n");
	EXPECT("EXISTS a", ":0\r\n");
	EXPECT("GET b", "$1\r\nv\r\n");
	EXPECT("SET c 2", "+OK\r\n");
	EXPECT("RENAMENX b c", ":0\r\n");
	EXPECT("GET c", "$1\r\n2\r\n");
	/* the expiry travels with the value; the old destination's goes */
	EXPECT("EXPIRE b 100", ":1\r\n");
	EXPECT("EXPIRE c 50", ":1\r\n");
	EXPECT("RENAME b c", "+OK\r\n");
	EXPECT("TTL c", ":100\r\n");
	EXPECT("GET c", "$1\r\nv\r\n");
	EXPECT("RENAMENX c d", ":1\r\n");
	EXPECT("TTL d", ":100\r\n");
	EXPECT("EXISTS c", ":0\r\n");
	EXPECT("DBSIZE", ":1\r\n");
	/* the object's access time travels too (it is the same robj) */
	EXPECT("SET idle x", "+OK\r\n");
	now += 10000;
	EXPECT("RENAME idle idle2", "+OK\r\n");
	EXPECT("OBJECT IDLETIME idle2", ":0\r\n");
	now += 5000;
	EXPECT("OBJECT IDLETIME idle2", ":5\r\n");
	/* RENAME counts nothing; the EXISTS above missed twice */
	assert_int_equal(st.keyspace_misses, 2);
}

static void test_copy_move(void **state)
{
	(void)state;
	EXPECT("SET e v", "+OK\r\n");
	EXPECT("EXPIRE e 100", ":1\r\n");
	EXPECT("COPY e f", ":1\r\n");
	EXPECT("TTL f", ":100\r\n");
	EXPECT("COPY e f", ":0\r\n");
	EXPECT("COPY e f REPLACE", ":1\r\n");
	EXPECT("COPY e f REPLACE REPLACE", ":1\r\n");
	EXPECT("COPY e e",
	       "-ERR source and destination objects are the same\r\n");
	EXPECT("COPY e f DB abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("COPY e f DB 16", "-ERR DB index is out of range\r\n");
	EXPECT("COPY e f DB -1", "-ERR DB index is out of range\r\n");
	EXPECT("COPY e f DB 99999999999",
	       "-ERR value is out of range, value must between -2147483648 and "
	       "2147483647\r\n");
	EXPECT("COPY e f DB", "-ERR syntax error\r\n");
	EXPECT("COPY e f FOO", "-ERR syntax error\r\n");
	EXPECT("COPY nokey f", ":0\r\n");
	EXPECT("COPY nokey f DB 99", "-ERR DB index is out of range\r\n");
	EXPECT("COPY e f db 1", ":1\r\n");
	EXPECT("COPY e e DB 1", ":1\r\n");
	EXPECT("COPY e g db 1 db 2", ":1\r\n");
	cur_db = 1;
	EXPECT("GET f", "$1\r\nv\r\n");
	EXPECT("TTL e", ":100\r\n");
	EXPECT("EXISTS g", ":0\r\n");
	cur_db = 2;
	EXPECT("GET g", "$1\r\nv\r\n");
	cur_db = 0;
	/* MOVE */
	EXPECT("MOVE e 0",
	       "-ERR source and destination objects are the same\r\n");
	EXPECT("MOVE e abc",
	       "-ERR value is not an integer or out of range\r\n");
	EXPECT("MOVE e 16", "-ERR DB index is out of range\r\n");
	EXPECT("MOVE e -1", "-ERR DB index is out of range\r\n");
	EXPECT("MOVE e 2147483648", "-ERR value is out of range, value must "
				    "between -2147483648 and 2147483647\r\n");
	EXPECT("MOVE nokey 1", ":0\r\n");
	EXPECT("MOVE e 1", ":0\r\n");
	EXPECT("EXISTS e", ":1\r\n");
	EXPECT("MOVE e 3", ":1\r\n");
	EXPECT("EXISTS e", ":0\r\n");
	cur_db = 3;
	EXPECT("GET e", "$1\r\nv\r\n");
	EXPECT("TTL e", ":100\r\n");
	EXPECT("DBSIZE", ":1\r\n");
}

static void test_object(void **state)
{
	(void)state;
	EXPECT("MSET i 12345 i2 -9223372036854775808 i3 9223372036854775808 "
	       "i4 01 s abc e \"\" n 100",
	       "+OK\r\n");
	EXPECT("SET l 12345678901234567890123456789012345678901234", "+OK\r\n");
	EXPECT("SET l2 123456789012345678901234567890123456789012345",
	       "+OK\r\n");
	EXPECT("OBJECT ENCODING i", "$3\r\nint\r\n");
	EXPECT("OBJECT ENCODING i2", "$3\r\nint\r\n");
	EXPECT("OBJECT ENCODING i3", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING i4", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING s", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING e", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING l", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING l2", "$3\r\nraw\r\n");
	EXPECT("OBJECT ENCODING nokey", "$-1\r\n");
	EXPECT("object encoding i", "$3\r\nint\r\n");
	EXPECT("OBJECT REFCOUNT i", ":1\r\n");
	EXPECT("OBJECT REFCOUNT n", ":2147483647\r\n");
	EXPECT("OBJECT REFCOUNT s", ":1\r\n");
	EXPECT("OBJECT REFCOUNT nokey", "$-1\r\n");
	EXPECT("SET n 9999", "+OK\r\n");
	EXPECT("OBJECT REFCOUNT n", ":2147483647\r\n");
	EXPECT("SET n 10000", "+OK\r\n");
	EXPECT("OBJECT REFCOUNT n", ":1\r\n");
	EXPECT("SET n -1", "+OK\r\n");
	EXPECT("OBJECT REFCOUNT n", ":1\r\n");
	EXPECT("SET n 0", "+OK\r\n");
	EXPECT("OBJECT REFCOUNT n", ":2147483647\r\n");
	/* no shared integers under an LRU/LFU policy with a maxmemory */
	CONFIG_SET("maxmemory", "1gb");
	CONFIG_SET("maxmemory-policy", "allkeys-lru");
	EXPECT("OBJECT REFCOUNT n", ":1\r\n");
	CONFIG_SET("maxmemory-policy", "allkeys-random");
	EXPECT("OBJECT REFCOUNT n", ":2147483647\r\n");
}

static void test_object_idle_freq(void **state)
{
	(void)state;
	EXPECT("SET s abc", "+OK\r\n");
	/* IDLETIME: OBJECT itself does not touch, GET does */
	EXPECT("OBJECT IDLETIME s", ":0\r\n");
	now += 7000;
	EXPECT("OBJECT IDLETIME s", ":7\r\n");
	EXPECT("OBJECT IDLETIME s", ":7\r\n");
	EXPECT("GET s", "$3\r\nabc\r\n");
	EXPECT("OBJECT IDLETIME s", ":0\r\n");
	EXPECT("OBJECT IDLETIME nokey", "$-1\r\n");
	EXPECT("OBJECT FREQ nokey", "$-1\r\n");
	EXPECT(
	    "OBJECT FREQ s",
	    "-ERR An LFU maxmemory policy is not selected, access frequency "
	    "not tracked. Please note that when switching between policies at "
	    "runtime LRU and LFU data will take some time to adjust.\r\n");
	CONFIG_SET("maxmemory-policy", "volatile-lfu");
	store_set_lfu(true, 10, 1);
	/* a new key starts at Redis's LFU_INIT_VAL; OBJECT does not touch */
	EXPECT("SET f abc", "+OK\r\n");
	EXPECT("OBJECT FREQ f", ":5\r\n");
	EXPECT("GET f", "$3\r\nabc\r\n");
	EXPECT("OBJECT FREQ f", ":6\r\n");
	EXPECT("OBJECT FREQ nokey", "$-1\r\n");
	EXPECT(
	    "OBJECT IDLETIME s",
	    "-ERR An LFU maxmemory policy is selected, idle time not tracked. "
	    "Please note that when switching between policies at runtime LRU "
	    "and LFU data will take some time to adjust.\r\n");
	EXPECT("OBJECT IDLETIME nokey", "$-1\r\n");
	EXPECT("OBJECT HELP",
	       "*15\r\n"
	       "+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands "
	       "are:\r\n"
	       "+ENCODING <key>\r\n"
	       "+    Return the kind of internal representation used in order "
	       "to store the value\r\n"
	       "+    associated with a <key>.\r\n"
	       "+FREQ <key>\r\n"
	       "+    Return the access frequency index of the <key>. The "
	       "returned integer is\r\n"
	       "+    proportional to the logarithm of the recent access "
	       "frequency of the key.\r\n"
	       "+IDLETIME <key>\r\n"
	       "+    Return the idle time of the <key>, that is the "
	       "approximated number of\r\n"
	       "+    seconds elapsed since the last access to the key.\r\n"
	       "+REFCOUNT <key>\r\n"
	       "+    Return the number of references of the value associated "
	       "with the specified\r\n"
	       "+    <key>.\r\n"
	       "+HELP\r\n"
	       "+    Prints this help.\r\n");
	/* OBJECT counts hits and misses like EXISTS */
	memset(&st, 0, sizeof(st));
	EXPECT("OBJECT ENCODING s", "$6\r\nembstr\r\n");
	EXPECT("OBJECT ENCODING nokey", "$-1\r\n");
	assert_int_equal(st.keyspace_hits, 1);
	assert_int_equal(st.keyspace_misses, 1);
}

static void test_dbsize_flush(void **state)
{
	(void)state;
	EXPECT("DBSIZE", ":0\r\n");
	EXPECT("MSET a 1 b 2 c 3", "+OK\r\n");
	EXPECT("DBSIZE", ":3\r\n");
	cur_db = 1;
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("DBSIZE", ":1\r\n");
	EXPECT("FLUSHDB FOO", "-ERR syntax error\r\n");
	EXPECT("FLUSHDB ASYNC SYNC", "-ERR syntax error\r\n");
	EXPECT("FLUSHDB sync", "+OK\r\n");
	EXPECT("DBSIZE", ":0\r\n");
	cur_db = 0;
	EXPECT("DBSIZE", ":3\r\n");
	EXPECT("FLUSHDB ASYNC", "+OK\r\n");
	EXPECT("DBSIZE", ":0\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	cur_db = 2;
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("FLUSHALL FOO", "-ERR syntax error\r\n");
	EXPECT("FLUSHALL ASYNC SYNC", "-ERR syntax error\r\n");
	EXPECT("FLUSHALL", "+OK\r\n");
	EXPECT("DBSIZE", ":0\r\n");
	cur_db = 0;
	EXPECT("DBSIZE", ":0\r\n");
	EXPECT("GET a", "$-1\r\n");
	EXPECT("SET a 1", "+OK\r\n");
	EXPECT("FLUSHALL async", "+OK\r\n");
	EXPECT("DBSIZE", ":0\r\n");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ll),
	    cmocka_unit_test(test_parse_ld),
	    T(test_arity),
	    T(test_get_set),
	    T(test_set_options),
	    T(test_set_expire),
	    T(test_setnx_setex_psetex),
	    T(test_getex),
	    T(test_getdel_getset),
	    T(test_mget_mset),
	    T(test_incr),
	    T(test_incrbyfloat),
	    T(test_append_strlen),
	    T(test_getrange),
	    T(test_setrange),
	    T(test_del_exists_type),
	    T(test_expire),
	    T(test_ttl_persist),
	    T(test_scan),
	    cmocka_unit_test_setup_teardown(test_scan_shards, setup_4shards,
					    teardown),
	    T(test_scan_errors),
	    T(test_keys_randomkey),
	    T(test_rename),
	    T(test_copy_move),
	    T(test_object),
	    T(test_object_idle_freq),
	    T(test_dbsize_flush),
	    T(test_event_names),
	};
#undef T
	int rc;

	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	rcu_unregister_thread();
	return rc;
}
