/* SPDX-License-Identifier: BSD-3-Clause */
/* COMMAND and its subcommands: the table's declared metadata (.def lines,
 * cmd_docs.c) in exactly the shape redis-server 7.0 replies with, so
 * redis-cli hints, client libraries' discovery and cluster-aware clients'
 * key extraction see what they see on Redis. */
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

/* Names in the order Redis lists them (addReplyCommandFlags and friends);
 * a NULL name is a flag Redis keeps hidden (or none). */
static const char *const cmd_flag_names[CMD_NFLAGS] = {
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
};

static const char *const cmd_acl_names[CMD_ACL_N] = {
    "keyspace",	 "read",     "write",	  "set",	"sortedset",
    "list",	 "hash",     "string",	  "bitmap",	"hyperloglog",
    "geo",	 "stream",   "pubsub",	  "admin",	"fast",
    "slow",	 "blocking", "dangerous", "connection", "transaction",
    "scripting",
};

static const char *const cmd_ks_flag_names[ROUTE_KS_NFLAGS] = {
    "RO",     "RW",	"OW",	   "RM",	 "access",	   "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags",
};

static const char *const cmd_arg_flag_names[] = {"optional", "multiple",
						 "multiple_token"};
static const char *const cmd_doc_flag_names[] = {"deprecated", "syscmd"};

/* A set of status strings, one per bit of mask named in names[]. */
static void reply_bits(struct resp_out *o, unsigned mask,
		       const char *const *names, unsigned n, bool at)
{
	char buf[32];

	resp_set(o, __builtin_popcount(mask & ((1u << n) - 1)));
	for (unsigned i = 0; i < n; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (at) {
			snprintf(buf, sizeof(buf), "@%s", names[i]);
			resp_simple(o, buf);
		} else {
			resp_simple(o, names[i]);
		}
	}
}

#define NAMES(a) a, (unsigned)(sizeof(a) / sizeof(a[0]))

static void reply_tips(struct resp_out *o, const struct cmd_def *d)
{
	long n = 0;

	while (d->tips && d->tips[n])
		n++;
	resp_set(o, n);
	for (long i = 0; i < n; i++)
		resp_bulk_str(o, d->tips[i]);
}

static void reply_begin(struct resp_out *o, const struct route_keyspec *s)
{
	resp_bulk_str(o, "begin_search");
	resp_map(o, 2);
	resp_bulk_str(o, "type");
	if (s->bs == ROUTE_BS_INDEX) {
		resp_bulk_str(o, "index");
		resp_bulk_str(o, "spec");
		resp_map(o, 1);
		resp_bulk_str(o, "index");
		resp_int(o, s->bs_pos);
	} else if (s->bs == ROUTE_BS_KEYWORD) {
		resp_bulk_str(o, "keyword");
		resp_bulk_str(o, "spec");
		resp_map(o, 2);
		resp_bulk_str(o, "keyword");
		resp_bulk_str(o, s->keyword);
		resp_bulk_str(o, "startfrom");
		resp_int(o, s->bs_pos);
	} else {
		resp_bulk_str(o, "unknown");
		resp_bulk_str(o, "spec");
		resp_map(o, 0);
	}
}

static void reply_find(struct resp_out *o, const struct route_keyspec *s)
{
	static const char *const range[] = {"lastkey", "keystep", "limit"};
	static const char *const keynum[] = {"keynumidx", "firstkey",
					     "keystep"};
	const char *const *names = s->fk == ROUTE_FK_RANGE ? range : keynum;
	int v[3] = {s->fk_a, s->fk_b, s->fk_c};

	resp_bulk_str(o, "find_keys");
	resp_map(o, 2);
	resp_bulk_str(o, "type");
	if (s->fk != ROUTE_FK_RANGE && s->fk != ROUTE_FK_KEYNUM) {
		resp_bulk_str(o, "unknown");
		resp_bulk_str(o, "spec");
		resp_map(o, 0);
		return;
	}
	resp_bulk_str(o, s->fk == ROUTE_FK_RANGE ? "range" : "keynum");
	resp_bulk_str(o, "spec");
	resp_map(o, 3);
	for (int i = 0; i < 3; i++) {
		resp_bulk_str(o, names[i]);
		resp_int(o, v[i]);
	}
}

static void reply_keyspecs(struct resp_out *o, const struct cmd_def *d)
{
	resp_set(o, d->nspecs);
	for (int i = 0; i < d->nspecs; i++) {
		const struct route_keyspec *s = &d->specs[i];

		resp_map(o, s->notes ? 4 : 3);
		if (s->notes) {
			resp_bulk_str(o, "notes");
			resp_bulk_str(o, s->notes);
		}
		resp_bulk_str(o, "flags");
		reply_bits(o, s->flags, NAMES(cmd_ks_flag_names), false);
		reply_begin(o, s);
		reply_find(o, s);
	}
}

static long count_subs(const struct cmd_def *d)
{
	long n = 0;

	while (d->subs && d->subs[n])
		n++;
	return n;
}

static void reply_info(struct resp_out *o, const struct cmd_def *d)
{
	char name[64];
	long nsubs = count_subs(d);

	cmd_fullname(d, name, sizeof(name));
	resp_array(o, 10);
	resp_bulk_str(o, name);
	resp_int(o, d->arity);
	reply_bits(o, d->flags, NAMES(cmd_flag_names), false);
	resp_int(o, d->first_key);
	resp_int(o, d->last_key);
	resp_int(o, d->key_step);
	reply_bits(o, d->acl, NAMES(cmd_acl_names), true);
	reply_tips(o, d);
	reply_keyspecs(o, d);
	if (!d->subs) {
		resp_set(o, 0);
		return;
	}
	resp_array(o, nsubs);
	for (long i = 0; i < nsubs; i++)
		reply_info(o, d->subs[i]);
}

/* "get" or "config|get" to a table entry (Redis's lookupCommandBySds). */
static const struct cmd_def *lookup_full(const struct resp_arg *a)
{
	const char *bar = memchr(a->ptr, '|', a->len);
	const struct cmd_def *d;
	size_t rest;

	if (!bar)
		return cmd_lookup(a->ptr, a->len);
	rest = a->len - (size_t)(bar - a->ptr) - 1;
	if (memchr(bar + 1, '|', rest))
		return NULL;
	d = cmd_lookup(a->ptr, (size_t)(bar - a->ptr));
	if (!d)
		return NULL;
	return cmd_lookup_sub(d, bar + 1, rest);
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
			resp_null(c->out);
	}
}

static void reply_args(struct resp_out *o, const struct cmd_arg *args, int n)
{
	resp_array(o, n);
	for (int i = 0; i < n; i++) {
		const struct cmd_arg *a = &args[i];
		const char *opt[4][2] = {
		    {"token", a->token},
		    {"summary", a->summary},
		    {"since", a->since},
		    {"deprecated_since", a->deprecated_since}};
		long len = 2 + (a->key_spec_index >= 0) + (a->flags != 0) +
			   (a->args != NULL);

		for (int j = 0; j < 4; j++)
			len += opt[j][1] != NULL;
		resp_map(o, len);
		resp_bulk_str(o, "name");
		resp_bulk_str(o, a->name);
		resp_bulk_str(o, "type");
		resp_bulk_str(o, a->type);
		if (a->key_spec_index >= 0) {
			resp_bulk_str(o, "key_spec_index");
			resp_int(o, a->key_spec_index);
		}
		for (int j = 0; j < 4; j++)
			if (opt[j][1]) {
				resp_bulk_str(o, opt[j][0]);
				resp_bulk_str(o, opt[j][1]);
			}
		if (a->flags) {
			resp_bulk_str(o, "flags");
			reply_bits(o, a->flags, NAMES(cmd_arg_flag_names),
				   false);
		}
		if (a->args) {
			resp_bulk_str(o, "arguments");
			reply_args(o, a->args, a->nargs);
		}
	}
}

/* Redis's addReplyCommandDocs: the fields a command has, in its order. */
static void reply_doc(struct resp_out *o, const struct cmd_def *d)
{
	const struct cmd_doc *doc = d->doc;
	long nsubs = count_subs(d);
	long len = 1 + (d->summary && *d->summary) + (d->since && *d->since) +
		   (d->complexity && *d->complexity) + (doc->doc_flags != 0) +
		   (doc->deprecated_since != NULL) +
		   (doc->replaced_by != NULL) + (doc->nhistory > 0) +
		   (doc->nargs > 0) + (d->subs != NULL);

	resp_map(o, len);
	if (d->summary && *d->summary) {
		resp_bulk_str(o, "summary");
		resp_bulk_str(o, d->summary);
	}
	if (d->since && *d->since) {
		resp_bulk_str(o, "since");
		resp_bulk_str(o, d->since);
	}
	resp_bulk_str(o, "group");
	resp_bulk_str(o, d->group);
	if (d->complexity && *d->complexity) {
		resp_bulk_str(o, "complexity");
		resp_bulk_str(o, d->complexity);
	}
	if (doc->doc_flags) {
		resp_bulk_str(o, "doc_flags");
		reply_bits(o, doc->doc_flags, NAMES(cmd_doc_flag_names), false);
	}
	if (doc->deprecated_since) {
		resp_bulk_str(o, "deprecated_since");
		resp_bulk_str(o, doc->deprecated_since);
	}
	if (doc->replaced_by) {
		resp_bulk_str(o, "replaced_by");
		resp_bulk_str(o, doc->replaced_by);
	}
	if (doc->nhistory > 0) {
		resp_bulk_str(o, "history");
		resp_set(o, doc->nhistory);
		for (int i = 0; i < doc->nhistory; i++) {
			resp_array(o, 2);
			resp_bulk_str(o, doc->history[2 * i]);
			resp_bulk_str(o, doc->history[2 * i + 1]);
		}
	}
	if (doc->nargs > 0) {
		resp_bulk_str(o, "arguments");
		reply_args(o, doc->args, doc->nargs);
	}
	if (d->subs) {
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
	uint32_t acl; /* kind 2: the category's bit, 0 if unknown */
};

static bool list_match(const struct list_filter *f, const struct cmd_def *d,
		       const char *name)
{
	if (f->kind == 1)
		return glob_match(f->arg->ptr, f->arg->len, name, strlen(name),
				  true);
	if (f->kind == 2)
		return (d->acl & f->acl) != 0;
	return true;
}

/* Each command followed by its subcommands, as Redis walks its tables. */
static long list_add(struct resp_out *body, const struct list_filter *f,
		     const struct cmd_def *d)
{
	char name[64];
	long n = 0;

	cmd_fullname(d, name, sizeof(name));
	if (list_match(f, d, name)) {
		resp_bulk_str(body, name);
		n++;
	}
	for (long i = 0; d->subs && d->subs[i]; i++)
		n += list_add(body, f, d->subs[i]);
	return n;
}

void cmd_command_list(struct cmd_ctx *c)
{
	struct list_filter f = {0};
	struct resp_out body;
	long n = 0;

	if (c->argc == 5 && cmd_arg_is(&c->argv[2], "filterby")) {
		if (cmd_arg_is(&c->argv[3], "pattern")) {
			f.kind = 1;
		} else if (cmd_arg_is(&c->argv[3], "aclcat")) {
			f.kind = 2;
			for (unsigned i = 0; i < CMD_ACL_N; i++)
				if (cmd_arg_is(&c->argv[4], cmd_acl_names[i]))
					f.acl = 1u << i;
		} else if (!cmd_arg_is(&c->argv[3], "module")) {
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
	for (unsigned i = 0; i < cmd_top_count(); i++)
		n += list_add(&body, &f, cmd_top(i));
	resp_array(c->out, n);
	resp_out_raw(c->out, body.buf, body.len);
	resp_out_free(&body);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS: Redis's getKeysSubcommandImpl. */
static void command_getkeys(struct cmd_ctx *c, bool with_flags)
{
	const struct resp_arg *argv = c->argv + 2;
	int argc = c->argc - 2;
	const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len);
	struct route_keys keys;
	bool has_keys;

	if (d && argc > 1 && d->subs)
		d = cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
	if (!d) {
		resp_error(c->out, "ERR Invalid command specified");
		return;
	}
	has_keys =
	    d->getkeys ||
	    (d->nspecs && (route_keys_all_flags(d->specs, d->nspecs, true) &
			   ROUTE_KS_NOT_KEY));
	if (!has_keys) {
		resp_error(c->out, "ERR The command has no key arguments");
		return;
	}
	if ((d->arity > 0 && argc != d->arity) || argc < -d->arity) {
		resp_error(
		    c->out,
		    "ERR Invalid number of arguments specified for command");
		return;
	}
	if (!route_keys_get(d->specs, d->nspecs, d->getkeys, argc, argv,
			    &keys)) {
		if (d->flags & CMD_NO_MANDATORY_KEYS)
			resp_array(c->out, 0);
		else
			resp_error(
			    c->out,
			    "ERR Invalid arguments specified for command");
		return;
	}
	resp_array(c->out, route_keys_count(&keys));
	for (int r = 0; r < keys.n; r++) {
		const struct route_keyrange *k = &keys.r[r];

		for (int i = k->first; i <= k->last; i += k->step) {
			if (with_flags)
				resp_array(c->out, 2);
			resp_bulk(c->out, argv[i].ptr, argv[i].len);
			if (with_flags)
				reply_bits(c->out, k->flags,
					   NAMES(cmd_ks_flag_names), false);
		}
	}
}

void cmd_command_getkeys(struct cmd_ctx *c)
{
	command_getkeys(c, false);
}

void cmd_command_getkeysandflags(struct cmd_ctx *c)
{
	command_getkeys(c, true);
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
	    "    If no command names are given, documentation details for all",
	    "    commands are returned.",
	    "DOCS [<command-name> ...]",
	    "    Return documentation details about multiple Redis commands.",
	    "    If no command names are given, documentation details for all",
	    "    commands are returned.",
	    "GETKEYS <full-command>",
	    "    Return the keys from a full Redis command.",
	    "GETKEYSANDFLAGS <full-command>",
	    "    Return the keys and the access flags from a full Redis "
	    "command.",
	    "HELP",
	    "    Prints this help.",
	};
	cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
