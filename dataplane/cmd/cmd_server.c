/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection and server commands: PING ECHO HELLO AUTH SELECT QUIT RESET
 * TIME ROLE LASTSAVE DEBUG SHUTDOWN COMMAND CLIENT CONFIG.  INFO is in
 * cmd_info.c.  Replies and error texts are redis-server 7.0's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_host.h"
#include "cmd_pvt.h"
#include "conn.h"
#include "stats.h"

#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_server.def"
#undef CMD
#undef SUB

static const char *const err_wrongpass =
    "WRONGPASS invalid username-password pair or user is disabled.";

void cmd_ping(struct cmd_ctx *c)
{
	if (c->argc > 2) {
		resp_error(c->out,
			   "ERR wrong number of arguments for 'ping' command");
		return;
	}
	if (c->argc == 2)
		resp_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
	else
		resp_simple(c->out, "PONG");
}

void cmd_echo(struct cmd_ctx *c)
{
	resp_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
}

/* Constant-time enough: the length leaks, as it does in Redis. */
static bool password_ok(const struct resp_arg *a, const char *pass)
{
	size_t n = strlen(pass);
	unsigned char diff = 0;

	if (a->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a->ptr[i] ^ pass[i]);
	return diff == 0;
}

/* AUTH [username] password; only the "default" user exists, and without
 * requirepass it is "nopass": any password is accepted, as in Redis. */
static bool auth_check(const struct resp_arg *user, const struct resp_arg *pass)
{
	const char *want = cmd_params()->requirepass;

	if (user && !cmd_arg_is(user, "default"))
		return false;
	if (want[0] == '\0')
		return true;
	return password_ok(pass, want);
}

void cmd_auth(struct cmd_ctx *c)
{
	const struct resp_arg *user = c->argc == 3 ? &c->argv[1] : NULL;

	if (c->argc > 3) {
		resp_error(c->out, cmd_err_syntax);
		return;
	}
	if (!user && cmd_params()->requirepass[0] == '\0') {
		resp_error(c->out,
			   "ERR AUTH <password> called without any password "
			   "configured for the default user. Are you sure your "
			   "configuration is correct?");
		return;
	}
	if (!auth_check(user, &c->argv[c->argc - 1])) {
		resp_error(c->out, err_wrongpass);
		return;
	}
	c->cl->authed = true;
	resp_ok(c->out);
}

static void hello_reply(struct cmd_ctx *c)
{
	struct resp_out *o = c->out;

	resp_map(o, 7);
	resp_bulk_str(o, "server");
	resp_bulk_str(o, "redis");
	resp_bulk_str(o, "version");
	resp_bulk_str(o, CMD_REDIS_VERSION);
	resp_bulk_str(o, "proto");
	resp_int(o, c->cl->proto);
	resp_bulk_str(o, "id");
	resp_int(o, (long long)c->cl->id);
	resp_bulk_str(o, "mode");
	resp_bulk_str(o, "standalone");
	resp_bulk_str(o, "role");
	resp_bulk_str(o, "master");
	resp_bulk_str(o, "modules");
	resp_array(o, 0);
}

void cmd_hello(struct cmd_ctx *c)
{
	long long ver = c->cl->proto;
	const struct resp_arg *setname = NULL;
	int i = 1;

	if (c->argc >= 2) {
		if (!cmd_parse_ll(&c->argv[1], &ver)) {
			resp_error(c->out, "ERR Protocol version is not an "
					   "integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			resp_error(c->out,
				   "NOPROTO unsupported protocol version");
			return;
		}
		i = 2;
	}
	for (; i < c->argc; i++) {
		int left = c->argc - i - 1;
		if (cmd_arg_is(&c->argv[i], "auth") && left >= 2) {
			if (!auth_check(&c->argv[i + 1], &c->argv[i + 2])) {
				resp_error(c->out, err_wrongpass);
				return;
			}
			c->cl->authed = true;
			i += 2;
		} else if (cmd_arg_is(&c->argv[i], "setname") && left >= 1) {
			setname = &c->argv[++i];
		} else {
			resp_errorf(c->out,
				    "ERR Syntax error in HELLO option '%.*s'",
				    (int)c->argv[i].len, c->argv[i].ptr);
			return;
		}
	}
	if (!c->cl->authed) {
		resp_error(
		    c->out,
		    "NOAUTH HELLO must be called with the client already "
		    "authenticated, otherwise the HELLO AUTH <user> <pass> "
		    "option can be used to authenticate the client and select "
		    "the RESP protocol version at the same time");
		return;
	}
	if (setname && !cmd_set_client_name(c, setname))
		return;
	c->cl->proto = (uint8_t)ver;
	c->out->proto = (uint8_t)ver;
	hello_reply(c);
}

void cmd_select(struct cmd_ctx *c)
{
	long long db;

	if (!cmd_parse_ll(&c->argv[1], &db)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (db < 0 || db >= (long long)store_ndbs()) {
		resp_error(c->out, "ERR DB index is out of range");
		return;
	}
	c->cl->db = (unsigned)db;
	resp_ok(c->out);
}

void cmd_quit(struct cmd_ctx *c)
{
	c->cl->close_after_reply = true;
	resp_ok(c->out);
}

void cmd_reset(struct cmd_ctx *c)
{
	struct client *cl = c->cl;

	cl->db = 0;
	cl->proto = 2;
	c->out->proto = 2;
	cl->reply = CLIENT_REPLY_ON;
	cl->skip_next = false;
	cl->no_evict = false;
	cl->name[0] = '\0';
	cl->authed = cmd_params()->requirepass[0] == '\0';
	resp_simple(c->out, "RESET");
}

void cmd_time(struct cmd_ctx *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	resp_array(c->out, 2);
	resp_bulk_ll(c->out, (long long)ts.tv_sec);
	resp_bulk_ll(c->out, (long long)(ts.tv_nsec / 1000));
}

void cmd_role(struct cmd_ctx *c)
{
	resp_array(c->out, 3);
	resp_bulk_str(c->out, "master");
	resp_int(c->out, 0);
	resp_array(c->out, 0);
}

void cmd_lastsave(struct cmd_ctx *c)
{
	resp_int(c->out, cmd_start_time_ms() / 1000);
}

/*
 * WAIT numreplicas timeout: the number of replicas that acknowledged this
 * client's writes, once numreplicas did or timeout (ms, 0: none) passed.
 * With no replicas (replication comes later) the count is 0: WAIT 0 (or
 * a negative count) answers at once, anything more blocks for the whole
 * timeout, as a redis-server without replicas does.  A deadline past the
 * clock's range waits for ever.
 */
void cmd_wait(struct cmd_ctx *c)
{
	long long want, ms;
	int64_t until = CMD_BLOCK_FOREVER;
	const long long acked = 0;

	if (!cmd_parse_ll(&c->argv[1], &want)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (!cmd_parse_ll(&c->argv[2], &ms)) {
		resp_error(c->out,
			   "ERR timeout is not an integer or out of range");
		return;
	}
	if (ms < 0) {
		resp_error(c->out, "ERR timeout is negative");
		return;
	}
	if (ms > 0 && ms < CMD_BLOCK_FOREVER - c->now_ms)
		until = c->now_ms + ms;
	if (c->wake || acked >= want || !cmd_block(c, until))
		resp_int(c->out, acked);
}

/* Redis's MAX_LONG_DOUBLE_CHARS: enough for any number strtod reads. */
#define DEBUG_SLEEP_MAX_CHARS (5 * 1024)

/*
 * DEBUG SLEEP as redis-server 7.0 does it: strtod() on the argument with
 * nothing checked, so "abc" and "" sleep 0 and a leading space is skipped;
 * then (long long)(secs * 1e6) microseconds.  A negative time, and inf or
 * nan (the conversion gives LLONG_MIN on x86, the only target), make
 * nanosleep() fail with EINVAL: the reply is still OK, at once.  An
 * argument longer than DEBUG_SLEEP_MAX_CHARS is read as its prefix.
 */
static void debug_sleep(const struct resp_arg *a)
{
	char buf[DEBUG_SLEEP_MAX_CHARS];
	size_t n = a->len < sizeof(buf) ? a->len : sizeof(buf) - 1;
	double us;
	long long usecs = LLONG_MIN;

	memcpy(buf, a->ptr, n);
	buf[n] = '\0';
	us = strtod(buf, NULL) * 1e6;
	if (us > -9223372036854775808.0 && us < 9223372036854775808.0)
		usecs = (long long)us;
	if (usecs < 0)
		return;
	/* As in Redis, DEBUG SLEEP stalls the core that runs it; the other
	 * cores keep serving. */
	struct timespec ts = {
	    .tv_sec = (time_t)(usecs / 1000000),
	    .tv_nsec = (long)(usecs % 1000000) * 1000,
	};
	nanosleep(&ts, NULL);
}

void cmd_debug(struct cmd_ctx *c)
{
	const struct resp_arg *sub = &c->argv[1];

	if (cmd_arg_is(sub, "sleep") && c->argc == 3) {
		debug_sleep(&c->argv[2]);
		resp_ok(c->out);
	} else if (cmd_arg_is(sub, "help") && c->argc == 2) {
		static const char *const help[] = {
		    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands "
		    "are:",
		    "SLEEP <seconds>",
		    "    Stop the server for <seconds>. Decimals allowed.",
		    "HELP",
		    "    Print this help.",
		};
		cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
	} else {
		/* addReplySubcommandSyntaxError: DEBUG has no subcommand
		 * table, so a known name with the wrong arity says this too. */
		resp_errorf(c->out,
			    "ERR unknown subcommand or wrong number of "
			    "arguments for '%.*s'. Try DEBUG HELP.",
			    (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
	}
}

/*
 * Redis 7.0 shutdownCommand's parsing: every word must be NOSAVE, SAVE,
 * NOW, FORCE or ABORT (else a syntax error), then ABORT with any other
 * word, or NOSAVE with SAVE, is a syntax error too.  There is no snapshot
 * to save or wait for, so the flags change nothing once accepted.
 */
void cmd_shutdown(struct cmd_ctx *c)
{
	bool nosave = false, save = false, other = false, abort_req = false;

	for (int i = 1; i < c->argc; i++) {
		const struct resp_arg *a = &c->argv[i];

		if (cmd_arg_is(a, "nosave")) {
			nosave = true;
		} else if (cmd_arg_is(a, "save")) {
			save = true;
		} else if (cmd_arg_is(a, "now") || cmd_arg_is(a, "force")) {
			other = true;
		} else if (cmd_arg_is(a, "abort")) {
			abort_req = true;
		} else {
			resp_error(c->out, cmd_err_syntax);
			return;
		}
	}
	if ((abort_req && (nosave || save || other)) || (nosave && save)) {
		resp_error(c->out, cmd_err_syntax);
		return;
	}
	if (abort_req) {
		/* A shutdown here never waits for replicas: none is ever in
		 * progress when a command can run. */
		resp_error(c->out, "ERR No shutdown in progress.");
		return;
	}
	/* Like Redis, the client gets no reply: the connection just ends. */
	cmd_host->request_shutdown();
	if (c->cl)
		c->cl->close_after_reply = true;
}

void cmd_reply_help(struct cmd_ctx *c, const char *const *lines, size_t n)
{
	resp_array(c->out, (long)n);
	for (size_t i = 0; i < n; i++)
		resp_simple(c->out, lines[i]);
}
