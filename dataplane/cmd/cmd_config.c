/* SPDX-License-Identifier: BSD-3-Clause */
/* CONFIG GET / SET / RESETSTAT / REWRITE over the parameter table. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "cmd_host.h"
#include "cmd_pvt.h"
#include "stats.h"

#define CMD(n, ...)
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_server.def"
#undef CMD
#undef SUB

#define CONFIG_MAX_ARGS 64

_Static_assert(CFG_WORKERS_MAX == STORE_MAX_SHARDS,
	       "the workers parameter's bound is one shard per worker");

struct config_pairs {
	struct resp_out body;
	long n;
};

static void config_visit(const char *name, const char *value, void *arg)
{
	struct config_pairs *p = arg;

	resp_bulk_str(&p->body, name);
	resp_bulk_str(&p->body, value);
	p->n++;
}

void cmd_config_get(struct cmd_ctx *c)
{
	const char *pats[CONFIG_MAX_ARGS];
	size_t lens[CONFIG_MAX_ARGS];
	struct config_pairs p = {.n = 0};
	int n = 0;

	for (int i = 2; i < c->argc && n < CONFIG_MAX_ARGS; i++, n++) {
		pats[n] = c->argv[i].ptr;
		lens[n] = c->argv[i].len;
	}
	resp_out_init(&p.body, c->out->proto);
	cfg_get(n, pats, lens, config_visit, &p);
	resp_map(c->out, p.n);
	resp_out_raw(c->out, p.body.buf, p.body.len);
	resp_out_free(&p.body);
}

void cmd_config_set(struct cmd_ctx *c)
{
	char names[CONFIG_MAX_ARGS][128];
	char *values[CONFIG_MAX_ARGS] = {0};
	const char *np[CONFIG_MAX_ARGS] = {0};
	char err[512];
	int n = (c->argc - 2) / 2, rc;

	if ((c->argc - 2) % 2 != 0 || n > CONFIG_MAX_ARGS) {
		resp_error(
		    c->out,
		    "ERR wrong number of arguments for 'config|set' command");
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct resp_arg *k = &c->argv[2 + 2 * i];
		const struct resp_arg *v = &c->argv[3 + 2 * i];
		size_t kl = k->len < 127 ? k->len : 127;

		memcpy(names[i], k->ptr, kl);
		names[i][kl] = '\0';
		np[i] = names[i];
		values[i] = strndup(v->ptr, v->len);
	}
	rc = cfg_set(n, np, (const char *const *)values, err, sizeof(err));
	for (int i = 0; i < n; i++)
		free(values[i]);
	if (rc) {
		resp_error(c->out, err);
		return;
	}
	resp_ok(c->out);
}

/* The store's counters are never zeroed: RESETSTAT moves a base. */
static uint64_t expired_base, evicted_base;

uint64_t cmd_expired_base(void)
{
	return __atomic_load_n(&expired_base, __ATOMIC_RELAXED);
}

uint64_t cmd_evicted_base(void)
{
	return __atomic_load_n(&evicted_base, __ATOMIC_RELAXED);
}

void cmd_config_resetstat(struct cmd_ctx *c)
{
	uint64_t expired = 0, evicted = 0;

	/* Counters belong to their cores; zeroing them from here can lose an
	 * increment that races with it, which is fine for statistics. */
	for (unsigned i = 0; i < cmd_host->workers(); i++) {
		struct wstats *s = cmd_host->stats(i);
		struct cmdstat *cmd = s->cmd;
		struct store_stats ss;

		memset(s, 0, offsetof(struct wstats, cmd));
		memset(cmd, 0, cmd_count() * sizeof(*cmd));
		store_shard_stats(i, &ss);
		expired += ss.expired_keys;
		evicted += ss.evicted_keys;
	}
	__atomic_store_n(&expired_base, expired, __ATOMIC_RELAXED);
	__atomic_store_n(&evicted_base, evicted, __ATOMIC_RELAXED);
	resp_ok(c->out);
}

void cmd_config_rewrite(struct cmd_ctx *c)
{
	char err[512];

	if (cfg_rewrite(err, sizeof(err))) {
		resp_error(c->out, err);
		return;
	}
	resp_ok(c->out);
}

void cmd_config_help(struct cmd_ctx *c)
{
	static const char *const help[] = {
	    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "GET <pattern>",
	    "    Return parameters matching the glob-like <pattern> and their "
	    "values.",
	    "SET <directive> <value>",
	    "    Set the configuration <directive> to <value>.",
	    "RESETSTAT",
	    "    Reset statistics reported by the INFO command.",
	    "REWRITE",
	    "    Rewrite the configuration file.",
	    "HELP",
	    "    Print this help.",
	};
	cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
