/* SPDX-License-Identifier: BSD-3-Clause */
/* COMMAND and its subcommands: the table's metadata in Redis 7.0's shape,
 * enough for redis-cli hints and client libraries' discovery. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_pvt.h"
#include "glob.h"

#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_server.def"
#undef CMD
#undef SUB

static const struct {
	uint32_t bit;
	const char *name;
} cmd_flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};

static void reply_flags(struct resp_out *o, uint32_t flags)
{
	long n = 0;

	for (size_t i = 0;
	     i < sizeof(cmd_flag_names) / sizeof(cmd_flag_names[0]); i++)
		if (flags & cmd_flag_names[i].bit)
			n++;
	resp_set(o, n);
	for (size_t i = 0;
	     i < sizeof(cmd_flag_names) / sizeof(cmd_flag_names[0]); i++)
		if (flags & cmd_flag_names[i].bit)
			resp_simple(o, cmd_flag_names[i].name);
}

/* ACL categories as Redis derives them: data type, read/write, speed. */
static void reply_categories(struct resp_out *o, const struct cmd_def *d)
{
	const char *cats[6];
	long n = 0;
	char grp[32];

	if (d->flags & CMD_WRITE)
		cats[n++] = "@write";
	if (d->flags & CMD_READONLY)
		cats[n++] = "@read";
	cats[n++] = (d->flags & CMD_FAST) ? "@fast" : "@slow";
	if (d->flags & CMD_ADMIN) {
		cats[n++] = "@admin";
		cats[n++] = "@dangerous";
	}
	resp_set(o, n + 1);
	for (long i = 0; i < n; i++)
		resp_simple(o, cats[i]);
	if (strcmp(d->group, "generic") == 0)
		resp_simple(o, "@keyspace");
	else {
		snprintf(grp, sizeof(grp), "@%s", d->group);
		resp_simple(o, grp);
	}
}

static void reply_keyspecs(struct resp_out *o, const struct cmd_def *d)
{
	if (d->first_key <= 0) {
		resp_array(o, 0);
		return;
	}
	resp_array(o, 1);
	resp_map(o, 3);
	resp_bulk_str(o, "flags");
	resp_set(o, 1);
	resp_simple(o, (d->flags & CMD_WRITE) ? "RW" : "RO");
	resp_bulk_str(o, "begin_search");
	resp_map(o, 2);
	resp_bulk_str(o, "type");
	resp_bulk_str(o, "index");
	resp_bulk_str(o, "spec");
	resp_map(o, 1);
	resp_bulk_str(o, "index");
	resp_int(o, d->first_key);
	resp_bulk_str(o, "find_keys");
	resp_map(o, 2);
	resp_bulk_str(o, "type");
	resp_bulk_str(o, "range");
	resp_bulk_str(o, "spec");
	resp_map(o, 3);
	resp_bulk_str(o, "lastkey");
	resp_int(o, d->last_key < 0 ? d->last_key : d->last_key - d->first_key);
	resp_bulk_str(o, "keystep");
	resp_int(o, d->key_step);
	resp_bulk_str(o, "limit");
	resp_int(o, 0);
}

static void reply_info(struct resp_out *o, const struct cmd_def *d)
{
	char name[64];
	long nsubs = 0;

	cmd_fullname(d, name, sizeof(name));
	resp_array(o, 10);
	resp_bulk_str(o, name);
	resp_int(o, d->arity);
	reply_flags(o, d->flags);
	resp_int(o, d->first_key);
	resp_int(o, d->last_key);
	resp_int(o, d->key_step);
	reply_categories(o, d);
	resp_set(o, 0);
	reply_keyspecs(o, d);
	if (d->subs)
		while (d->subs[nsubs])
			nsubs++;
	resp_array(o, nsubs);
	for (long i = 0; i < nsubs; i++)
		reply_info(o, d->subs[i]);
}

/* "get" or "config|get" to a table entry. */
static const struct cmd_def *lookup_full(const struct resp_arg *a)
{
	const char *bar = memchr(a->ptr, '|', a->len);
	const struct cmd_def *d;

	if (!bar)
		return cmd_lookup(a->ptr, a->len);
	d = cmd_lookup(a->ptr, (size_t)(bar - a->ptr));
	if (!d)
		return NULL;
	return cmd_lookup_sub(d, bar + 1, a->len - (size_t)(bar - a->ptr) - 1);
}

void cmd_command(struct cmd_ctx *c)
{
	unsigned n = cmd_top_count();

	resp_array(c->out, n);
	for (unsigned i = 0; i < n; i++)
		reply_info(c->out, cmd_top(i));
}

void cmd_command_count(struct cmd_ctx *c)
{
	resp_int(c->out, cmd_top_count());
}

void cmd_command_info(struct cmd_ctx *c)
{
	if (c->argc == 2) {
		cmd_command(c);
		return;
	}
	resp_array(c->out, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		const struct cmd_def *d = lookup_full(&c->argv[i]);
		if (d)
			reply_info(c->out, d);
		else
			resp_null_array(c->out);
	}
}

static void reply_doc(struct resp_out *o, const struct cmd_def *d)
{
	long nsubs = 0;

	if (d->subs)
		while (d->subs[nsubs])
			nsubs++;
	resp_map(o, nsubs ? 5 : 4);
	resp_bulk_str(o, "summary");
	resp_bulk_str(o, d->summary);
	resp_bulk_str(o, "since");
	resp_bulk_str(o, d->since);
	resp_bulk_str(o, "group");
	resp_bulk_str(o, d->group);
	resp_bulk_str(o, "complexity");
	resp_bulk_str(o, d->complexity);
	if (nsubs) {
		resp_bulk_str(o, "subcommands");
		resp_map(o, nsubs);
		for (long i = 0; i < nsubs; i++) {
			char name[64];
			cmd_fullname(d->subs[i], name, sizeof(name));
			resp_bulk_str(o, name);
			reply_doc(o, d->subs[i]);
		}
	}
}

void cmd_command_docs(struct cmd_ctx *c)
{
	if (c->argc == 2) {
		unsigned n = cmd_top_count();
		resp_map(c->out, n);
		for (unsigned i = 0; i < n; i++) {
			resp_bulk_str(c->out, cmd_top(i)->name);
			reply_doc(c->out, cmd_top(i));
		}
		return;
	}
	long found = 0;
	for (int i = 2; i < c->argc; i++)
		if (lookup_full(&c->argv[i]))
			found++;
	resp_map(c->out, found);
	for (int i = 2; i < c->argc; i++) {
		const struct cmd_def *d = lookup_full(&c->argv[i]);
		char name[64];
		if (!d)
			continue;
		cmd_fullname(d, name, sizeof(name));
		resp_bulk_str(c->out, name);
		reply_doc(c->out, d);
	}
}

struct list_filter {
	int kind; /* 0 none, 1 pattern, 2 aclcat */
	const struct resp_arg *arg;
};

static bool list_match(const struct list_filter *f, const struct cmd_def *d,
		       const char *name)
{
	if (f->kind == 1)
		return glob_match(f->arg->ptr, f->arg->len, name, strlen(name),
				  true);
	if (f->kind == 2) {
		const char *g =
		    strcmp(d->group, "generic") == 0 ? "keyspace" : d->group;
		return (f->arg->len == strlen(g) &&
			strncasecmp(f->arg->ptr, g, f->arg->len) == 0) ||
		       (cmd_arg_is(f->arg, "write") &&
			(d->flags & CMD_WRITE)) ||
		       (cmd_arg_is(f->arg, "read") &&
			(d->flags & CMD_READONLY)) ||
		       (cmd_arg_is(f->arg, "fast") && (d->flags & CMD_FAST)) ||
		       (cmd_arg_is(f->arg, "slow") && !(d->flags & CMD_FAST)) ||
		       (cmd_arg_is(f->arg, "admin") && (d->flags & CMD_ADMIN));
	}
	return true;
}

void cmd_command_list(struct cmd_ctx *c)
{
	struct list_filter f = {0};
	struct resp_out body;
	long n = 0;

	if (c->argc == 5 && cmd_arg_is(&c->argv[2], "filterby")) {
		if (cmd_arg_is(&c->argv[3], "pattern"))
			f.kind = 1;
		else if (cmd_arg_is(&c->argv[3], "aclcat"))
			f.kind = 2;
		else if (!cmd_arg_is(&c->argv[3], "module")) {
			resp_error(c->out, cmd_err_syntax);
			return;
		} else {
			resp_array(c->out, 0);
			return;
		}
		f.arg = &c->argv[4];
	} else if (c->argc != 2) {
		resp_error(c->out, cmd_err_syntax);
		return;
	}
	resp_out_init(&body, c->out->proto);
	for (unsigned i = 0; i < cmd_count(); i++) {
		const struct cmd_def *d = cmd_by_id(i);
		char name[64];
		cmd_fullname(d, name, sizeof(name));
		if (!list_match(&f, d, name))
			continue;
		resp_bulk_str(&body, name);
		n++;
	}
	resp_array(c->out, n);
	resp_out_raw(c->out, body.buf, body.len);
	resp_out_free(&body);
}

void cmd_command_getkeys(struct cmd_ctx *c)
{
	const struct cmd_def *d = cmd_lookup(c->argv[2].ptr, c->argv[2].len);
	const struct resp_arg *argv = c->argv + 2;
	int argc = c->argc - 2, last;

	if (d && (d->flags & CMD_HAS_SUBS) && argc >= 2)
		d = cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
	if (!d) {
		resp_error(c->out, "ERR Invalid command specified");
		return;
	}
	if ((d->arity > 0 && argc != d->arity) || argc < -d->arity) {
		resp_error(
		    c->out,
		    "ERR Invalid number of arguments specified for command");
		return;
	}
	if (d->first_key <= 0 || d->first_key >= argc) {
		resp_error(c->out, "ERR The command has no key arguments");
		return;
	}
	last = d->last_key < 0 ? argc + d->last_key : d->last_key;
	if (last >= argc)
		last = argc - 1;
	resp_array(c->out, (last - d->first_key) / d->key_step + 1);
	for (int i = d->first_key; i <= last; i += d->key_step)
		resp_bulk(c->out, argv[i].ptr, argv[i].len);
}

void cmd_command_help(struct cmd_ctx *c)
{
	static const char *const help[] = {
	    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "(no subcommand)",
	    "    Return details about all Redis commands.",
	    "COUNT",
	    "    Return the total number of commands in this Redis server.",
	    "LIST",
	    "    Return a list of all commands in this Redis server.",
	    "INFO [<command-name> ...]",
	    "    Return details about multiple Redis commands.",
	    "DOCS [<command-name> ...]",
	    "    Return documentation details about multiple Redis commands.",
	    "GETKEYS <full-command>",
	    "    Return the keys from a full Redis command.",
	    "HELP",
	    "    Print this help.",
	};
	cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
