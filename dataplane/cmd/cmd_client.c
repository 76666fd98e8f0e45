/* SPDX-License-Identifier: BSD-3-Clause */
/* CLIENT subcommands, as redis-server 7.0 answers them. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "cmd_host.h"
#include "cmd_pvt.h"
#include "conn.h"

#define CMD(n, ...)
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_server.def"
#undef CMD
#undef SUB

bool cmd_set_client_name(struct cmd_ctx *c, const struct resp_arg *name)
{
	for (size_t i = 0; i < name->len; i++) {
		if (name->ptr[i] < '!' || name->ptr[i] > '~') {
			resp_error(c->out,
				   "ERR Client names cannot contain spaces, "
				   "newlines or special characters.");
			return false;
		}
	}
	size_t n = name->len < sizeof(c->cl->name) - 1
		       ? name->len
		       : sizeof(c->cl->name) - 1;
	memcpy(c->cl->name, name->ptr, n);
	c->cl->name[n] = '\0';
	return true;
}

void cmd_client_id(struct cmd_ctx *c)
{
	resp_int(c->out, (long long)c->cl->id);
}

void cmd_client_setname(struct cmd_ctx *c)
{
	if (cmd_set_client_name(c, &c->argv[2]))
		resp_ok(c->out);
}

void cmd_client_getname(struct cmd_ctx *c)
{
	if (c->cl->name[0])
		resp_bulk_str(c->out, c->cl->name);
	else
		resp_null(c->out);
}

void cmd_client_setinfo(struct cmd_ctx *c)
{
	if (!cmd_arg_is(&c->argv[2], "lib-name") &&
	    !cmd_arg_is(&c->argv[2], "lib-ver")) {
		resp_errorf(c->out, "ERR Unrecognized option '%.*s'",
			    (int)c->argv[2].len, c->argv[2].ptr);
		return;
	}
	resp_ok(c->out);
}

struct client_line {
	struct resp_out buf; /* raw text being built */
	int64_t now_ms;
	const struct client *self;
	bool have_ids;
	const long long *ids;
	int nids;
};

static void client_format(struct resp_out *b, const struct conn *cn,
			  int64_t now_ms)
{
	char line[768];
	int n;

	n = cmd_host->client_info(cn, now_ms, line, sizeof(line) - 1);
	if (n <= 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	resp_out_raw(b, line, (size_t)n);
}

static void client_list_visit(const struct client *cl, const struct conn *cn,
			      void *arg)
{
	struct client_line *cx = arg;

	if (cx->have_ids) {
		bool found = false;
		for (int i = 0; i < cx->nids; i++)
			if ((unsigned long long)cx->ids[i] == cl->id)
				found = true;
		if (!found)
			return;
	}
	client_format(&cx->buf, cn, cx->now_ms);
}

void cmd_client_list(struct cmd_ctx *c)
{
	struct client_line cx = {.now_ms = c->now_ms, .self = c->cl};
	long long ids[64];
	int i = 2;

	resp_out_init(&cx.buf, 2);
	while (i < c->argc) {
		if (cmd_arg_is(&c->argv[i], "type") && i + 1 < c->argc) {
			const struct resp_arg *t = &c->argv[i + 1];
			if (cmd_arg_is(t, "normal")) {
				/* every client is normal for now */
			} else if (cmd_arg_is(t, "master") ||
				   cmd_arg_is(t, "replica") ||
				   cmd_arg_is(t, "slave") ||
				   cmd_arg_is(t, "pubsub")) {
				cx.have_ids = true; /* matches none */
			} else {
				resp_errorf(c->out,
					    "ERR Unknown client type '%.*s'",
					    (int)t->len, t->ptr);
				goto out;
			}
			i += 2;
		} else if (cmd_arg_is(&c->argv[i], "id") && i + 1 < c->argc) {
			cx.have_ids = true;
			for (i++; i < c->argc && cx.nids < 64; i++) {
				if (!cmd_parse_ll(&c->argv[i], &ids[cx.nids]) ||
				    ids[cx.nids] <= 0) {
					resp_error(c->out,
						   "ERR Invalid client ID");
					goto out;
				}
				cx.nids++;
			}
			cx.ids = ids;
		} else {
			resp_error(c->out, cmd_err_syntax);
			goto out;
		}
	}
	cmd_host->visit_clients(client_list_visit, &cx);
	resp_verbatim(c->out, cx.buf.buf ? cx.buf.buf : "", cx.buf.len);
out:
	resp_out_free(&cx.buf);
}

void cmd_client_info(struct cmd_ctx *c)
{
	struct resp_out b;

	resp_out_init(&b, 2);
	client_format(&b, cmd_host->client_conn(c->cl), c->now_ms);
	resp_verbatim(c->out, b.buf ? b.buf : "", b.len);
	resp_out_free(&b);
}

struct kill_filter {
	const struct resp_arg *addr, *laddr;
	long long id;
	bool skipme;
	bool none; /* a TYPE that matches nobody */
	const struct client *self;
	uint64_t victims[256];
	int nvictims;
};

static bool arg_eq_str(const struct resp_arg *a, const char *s)
{
	return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

static void kill_visit(const struct client *cl, const struct conn *cn,
		       void *arg)
{
	struct kill_filter *f = arg;

	(void)cn;
	if (f->none || (f->skipme && cl->id == f->self->id))
		return;
	if (f->id && (long long)cl->id != f->id)
		return;
	if (f->addr && !arg_eq_str(f->addr, cl->addr))
		return;
	if (f->laddr && !arg_eq_str(f->laddr, cl->laddr))
		return;
	if (f->nvictims < 256)
		f->victims[f->nvictims++] = cl->id;
}

static bool kill_parse(struct cmd_ctx *c, struct kill_filter *f)
{
	for (int i = 2; i < c->argc; i += 2) {
		const struct resp_arg *k = &c->argv[i], *v;

		if (i + 1 >= c->argc) {
			resp_error(c->out, cmd_err_syntax);
			return false;
		}
		v = &c->argv[i + 1];
		if (cmd_arg_is(k, "id")) {
			if (!cmd_parse_ll(v, &f->id) || f->id <= 0) {
				resp_error(
				    c->out,
				    "ERR client-id should be greater than 0");
				return false;
			}
		} else if (cmd_arg_is(k, "addr")) {
			f->addr = v;
		} else if (cmd_arg_is(k, "laddr")) {
			f->laddr = v;
		} else if (cmd_arg_is(k, "type")) {
			if (cmd_arg_is(v, "master") ||
			    cmd_arg_is(v, "replica") ||
			    cmd_arg_is(v, "slave") || cmd_arg_is(v, "pubsub"))
				f->none = true;
			else if (!cmd_arg_is(v, "normal")) {
				resp_errorf(c->out,
					    "ERR Unknown client type '%.*s'",
					    (int)v->len, v->ptr);
				return false;
			}
		} else if (cmd_arg_is(k, "user")) {
			if (!cmd_arg_is(v, "default")) {
				resp_errorf(c->out, "ERR No such user '%.*s'",
					    (int)v->len, v->ptr);
				return false;
			}
		} else if (cmd_arg_is(k, "skipme")) {
			if (cmd_arg_is(v, "yes"))
				f->skipme = true;
			else if (cmd_arg_is(v, "no"))
				f->skipme = false;
			else {
				resp_error(c->out, cmd_err_syntax);
				return false;
			}
		} else {
			resp_error(c->out, cmd_err_syntax);
			return false;
		}
	}
	return true;
}

void cmd_client_kill(struct cmd_ctx *c)
{
	struct kill_filter f = {.self = c->cl, .skipme = true};
	bool old_style = c->argc == 3;

	if (old_style) {
		f.addr = &c->argv[2];
		f.skipme = false;
	} else if (!kill_parse(c, &f)) {
		return;
	}
	cmd_host->visit_clients(kill_visit, &f);
	for (int i = 0; i < f.nvictims; i++)
		cmd_host->kill_client(c->w, f.victims[i]);
	if (old_style) {
		if (f.nvictims == 0)
			resp_error(c->out, "ERR No such client");
		else
			resp_ok(c->out);
	} else {
		resp_int(c->out, f.nvictims);
	}
}

void cmd_client_unblock(struct cmd_ctx *c)
{
	unsigned why = CMD_WAKE_TIMEOUT;
	long long id;

	if (c->argc > 4) { /* Redis's addReplySubcommandSyntaxError */
		resp_errorf(c->out,
			    "ERR unknown subcommand or wrong number of "
			    "arguments for '%.*s'. Try CLIENT HELP.",
			    (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len),
			    c->argv[1].ptr);
		return;
	}
	if (!cmd_parse_ll(&c->argv[2], &id)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (c->argc == 4) {
		if (cmd_arg_is(&c->argv[3], "error")) {
			why = CMD_HOST_UNBLOCK_ERROR;
		} else if (!cmd_arg_is(&c->argv[3], "timeout")) {
			resp_error(c->out,
				   "ERR CLIENT UNBLOCK reason should be "
				   "TIMEOUT or ERROR");
			return;
		}
	}
	resp_int(c->out,
		 id > 0 && cmd_host->unblock_client(c->w, (uint64_t)id, why));
}

void cmd_client_no_evict(struct cmd_ctx *c)
{
	if (cmd_arg_is(&c->argv[2], "on"))
		c->cl->no_evict = true;
	else if (cmd_arg_is(&c->argv[2], "off"))
		c->cl->no_evict = false;
	else {
		resp_error(c->out, cmd_err_syntax);
		return;
	}
	resp_ok(c->out);
}

void cmd_client_reply(struct cmd_ctx *c)
{
	if (cmd_arg_is(&c->argv[2], "on")) {
		c->cl->reply = CLIENT_REPLY_ON;
		c->cl->skip_next = false;
		resp_ok(c->out);
	} else if (cmd_arg_is(&c->argv[2], "off")) {
		c->cl->reply = CLIENT_REPLY_OFF;
	} else if (cmd_arg_is(&c->argv[2], "skip")) {
		if (c->cl->reply == CLIENT_REPLY_ON)
			c->cl->reply = CLIENT_REPLY_SKIP;
	} else {
		resp_error(c->out, cmd_err_syntax);
	}
}

void cmd_client_help(struct cmd_ctx *c)
{
	static const char *const help[] = {
	    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "GETNAME",
	    "    Return the name of the current connection.",
	    "ID",
	    "    Return the ID of the current connection.",
	    "INFO",
	    "    Return information about the current client connection.",
	    "KILL <ip:port>",
	    "    Kill connection made from <ip:port>.",
	    "KILL <option> <value> [<option> <value> [...]]",
	    "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, "
	    "SKIPME.",
	    "LIST [options ...]",
	    "    Return information about client connections. Options: TYPE, "
	    "ID.",
	    "NO-EVICT (ON|OFF)",
	    "    Protect the current client connection from eviction.",
	    "REPLY (ON|OFF|SKIP)",
	    "    Control the replies sent to the current connection.",
	    "SETNAME <name>",
	    "    Assign the name <name> to the current connection.",
	    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
	    "    Unblock the specified blocked client.",
	    "HELP",
	    "    Print this help.",
	};
	cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
