/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command table: built from the families' .def files, looked up through
 * an open-addressing hash on the lower-cased name (no linear scan).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_pvt.h"

#define CMD(n, ...)                                                            \
	void cmd_##n(struct cmd_ctx *c);                                       \
	extern const struct cmd_doc cmd_doc_##n;
#define SUB(p, n, ...)                                                         \
	void cmd_##p##_##n(struct cmd_ctx *c);                                 \
	extern const struct cmd_doc cmd_doc_##p##_##n;
#include "cmd_string.def"
#include "cmd_keys.def"
#include "cmd_server.def"
#include "cmd_memory.def"
#undef CMD
#undef SUB

/* The .def lines' spelling (route_ks_names.h gives the key specs theirs). */
#include "route/route_ks_names.h"
#define TIPS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOTIPS NULL

/* The fields every entry has; fn_ is its handler.  A container
 * (CMD_HAS_SUBS) has none: the constant condition folds the reference away,
 * so its handler need not exist.  COMMAND has subcommands and also runs
 * alone, so it is not flagged CMD_HAS_SUBS; its SUB lines are enough.  The
 * key specs come last, so a line lists as many as it needs. */
#define CMD_FIELDS(n, doc_, fn_, ar, fl, acl_, tips_, gk, grp_, since_, sum_,  \
		   cx_, ...)                                                   \
	{                                                                      \
		.name = #n, .arity = ar, .flags = fl, .fn = fn_,               \
		.getkeys = gk, .acl = acl_, .tips = tips_, .group = grp_,      \
		.since = since_, .summary = sum_, .complexity = cx_,           \
		.doc = &doc_, .specs = {                                       \
			__VA_ARGS__                                            \
		}                                                              \
	}

#define CMD(n, ar, fl, ...)                                                    \
	CMD_FIELDS(n, cmd_doc_##n, ((fl)&CMD_HAS_SUBS) ? (cmd_fn)0 : cmd_##n,  \
		   ar, fl, __VA_ARGS__),
#define SUB(p, n, ...)
static struct cmd_def cmd_tops[] = {
#include "cmd_string.def"
#include "cmd_keys.def"
#include "cmd_server.def"
#include "cmd_memory.def"
};
#undef CMD
#undef SUB

struct cmd_sub_def {
	const char *parent;
	struct cmd_def def;
};

#define CMD(n, ...)
#define SUB(p, n, ...)                                                         \
	{#p, CMD_FIELDS(n, cmd_doc_##p##_##n, cmd_##p##_##n, __VA_ARGS__)},
static struct cmd_sub_def cmd_subs[] = {
#include "cmd_string.def"
#include "cmd_keys.def"
#include "cmd_server.def"
#include "cmd_memory.def"
};
#undef CMD
#undef SUB

#define NTOPS (sizeof(cmd_tops) / sizeof(cmd_tops[0]))
#define NSUBS (sizeof(cmd_subs) / sizeof(cmd_subs[0]))
#define HASH_SIZE 1024 /* power of two, > 2 x entries */

static const struct cmd_def *cmd_by_ids[NTOPS + NSUBS];
static const struct cmd_def *cmd_hash[HASH_SIZE];
static const struct cmd_def **cmd_sub_lists[NTOPS];

static inline uint32_t cmd_name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)(s[i] | 0x20)) * 16777619u;
	return h ^ (h >> 15);
}

static bool cmd_name_eq(const char *name, const char *s, size_t len)
{
	return strncasecmp(name, s, len) == 0 && name[len] == '\0';
}

/*
 * What the table derives from a line at start-up: the number of key specs,
 * COMMAND INFO's first/last/step (as Redis derives them), and whether the
 * keys are one plain range that route walks without evaluating specs.
 */
static void cmd_derive_keys(struct cmd_def *d)
{
	const struct route_keyspec *s = d->specs;

	d->nspecs = 0;
	while (d->nspecs < ROUTE_MAX_SPECS && s[d->nspecs].bs != ROUTE_BS_END)
		d->nspecs++;
	route_keys_legacy(s, d->nspecs, &d->first_key, &d->last_key,
			  &d->key_step);
	d->key_simple = d->nspecs == 1 && s[0].bs == ROUTE_BS_INDEX &&
			s[0].fk == ROUTE_FK_RANGE && s[0].fk_c == 0 &&
			s[0].fk_b > 0 && !(s[0].flags & ROUTE_KS_INCOMPLETE);
}

/* Identifiers cannot hold '-': "no_evict" in a .def is "no-evict". */
static int cmd_fix_name(struct cmd_def *d)
{
	char *n;

	if (!strchr(d->name, '_'))
		return 0;
	n = strdup(d->name);
	if (!n)
		return -ENOMEM;
	for (char *p = n; *p; p++)
		if (*p == '_')
			*p = '-';
	d->name = n;
	return 0;
}

int cmd_setup(void)
{
	unsigned id = 0;
	int rc = cmd_params_setup();

	if (rc)
		return rc;
	for (unsigned i = 0; i < NTOPS; i++) {
		cmd_derive_keys(&cmd_tops[i]);
		if (cmd_fix_name(&cmd_tops[i]))
			return -ENOMEM;
	}
	for (unsigned i = 0; i < NSUBS; i++) {
		cmd_derive_keys(&cmd_subs[i].def);
		if (cmd_fix_name(&cmd_subs[i].def))
			return -ENOMEM;
	}

	if (NTOPS * 2 > HASH_SIZE)
		return -E2BIG;
	for (unsigned i = 0; i < NTOPS; i++) {
		struct cmd_def *d = &cmd_tops[i];
		uint32_t h = cmd_name_hash(d->name, strlen(d->name));

		if (!d->fn && !(d->flags & CMD_HAS_SUBS))
			return -ENOSYS;
		d->id = (uint16_t)id;
		cmd_by_ids[id++] = d;
		while (cmd_hash[h & (HASH_SIZE - 1)])
			h++;
		cmd_hash[h & (HASH_SIZE - 1)] = d;
	}
	for (unsigned i = 0; i < NSUBS; i++) {
		struct cmd_def *d = &cmd_subs[i].def;
		const struct cmd_def *p =
		    cmd_lookup(cmd_subs[i].parent, strlen(cmd_subs[i].parent));
		unsigned pi, n = 0;

		if (!p)
			return -EINVAL;
		pi = p->id;
		d->parent = p;
		d->id = (uint16_t)id;
		cmd_by_ids[id++] = d;
		if (cmd_sub_lists[pi])
			while (cmd_sub_lists[pi][n])
				n++;
		cmd_sub_lists[pi] = realloc(
		    cmd_sub_lists[pi], (n + 2) * sizeof(*cmd_sub_lists[pi]));
		if (!cmd_sub_lists[pi])
			return -ENOMEM;
		cmd_sub_lists[pi][n] = d;
		cmd_sub_lists[pi][n + 1] = NULL;
		cmd_tops[pi].subs = cmd_sub_lists[pi];
	}
	return 0;
}

void cmd_teardown(void)
{
	for (unsigned i = 0; i < NTOPS; i++) {
		free(cmd_sub_lists[i]);
		cmd_sub_lists[i] = NULL;
		cmd_tops[i].subs = NULL;
	}
	memset(cmd_hash, 0, sizeof(cmd_hash));
}

const struct cmd_def *cmd_lookup(const char *name, size_t len)
{
	uint32_t h = cmd_name_hash(name, len);
	const struct cmd_def *d;

	while ((d = cmd_hash[h & (HASH_SIZE - 1)]) != NULL) {
		if (cmd_name_eq(d->name, name, len))
			return d;
		h++;
	}
	return NULL;
}

const struct cmd_def *cmd_lookup_sub(const struct cmd_def *parent,
				     const char *name, size_t len)
{
	if (!parent->subs)
		return NULL;
	for (const struct cmd_def **s = parent->subs; *s; s++)
		if (cmd_name_eq((*s)->name, name, len))
			return *s;
	return NULL;
}

unsigned cmd_count(void)
{
	return NTOPS + NSUBS;
}
const struct cmd_def *cmd_by_id(unsigned id)
{
	return cmd_by_ids[id];
}
unsigned cmd_top_count(void)
{
	return NTOPS;
}
const struct cmd_def *cmd_top(unsigned i)
{
	return &cmd_tops[i];
}

void cmd_fullname(const struct cmd_def *d, char *buf, size_t size)
{
	if (d->parent)
		snprintf(buf, size, "%s|%s", d->parent->name, d->name);
	else
		snprintf(buf, size, "%s", d->name);
}
