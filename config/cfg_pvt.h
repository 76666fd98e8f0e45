/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cfg internals shared by cfg_table.c (the parameter table and the value
 * codecs of each type) and cfg.c (snapshots, loading, CONFIG verbs).
 *
 * Threading: the codecs touch only the struct cfg they are handed; the
 * table is const.  Nothing here takes a lock.
 */
#ifndef CACHALOT_CFG_PVT_H
#define CACHALOT_CFG_PVT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

enum cfg_type {
	CFG_T_BOOL,   /* yes / no */
	CFG_T_INT,    /* long long, Redis string2ll, [min, max] */
	CFG_T_MEM,    /* long long, Redis memtoull units, [min, max] */
	CFG_T_UMEM,   /* unsigned long long, memtoull, any value (maxmemory) */
	CFG_T_STR,    /* char *, free text */
	CFG_T_ENUM,   /* int-sized enum, one of words[] */
	CFG_T_BIND,   /* bind[] + nbind, 0..CFG_BIND_MAX words */
	CFG_T_SAVE,   /* char *, canonical "secs changes ..." */
	CFG_T_NOTIFY, /* char *, canonical keyspace event classes */
	CFG_T_DIR,    /* char *, absolute path of an existing directory */
	CFG_T_OBUF,   /* client_obuf[], "class hard soft secs" groups */
};

/* Flags of a parameter. */
#define CFG_MUTABLE 0x1 /* CONFIG SET may change it */

/* One allowed word of an enum; listed in the order Redis prints them. */
struct cfg_word {
	const char *word;
	int val;
};

/*
 * Extra validation or normalisation after a value parsed: returns NULL, or
 * the error text ("argument must be ...").  May adjust the field (hz is
 * clamped, as Redis does).
 */
typedef const char *(*cfg_check_fn)(struct cfg *c);

struct cfg_param {
	const char *name;
	enum cfg_type type;
	size_t off;		      /* offsetof(struct cfg, field) */
	const char *def;	      /* default, in config-file syntax */
	long long min, max;	      /* CFG_T_INT, CFG_T_MEM */
	const struct cfg_word *words; /* CFG_T_ENUM, NULL terminated */
	unsigned flags;
	cfg_check_fn check;
	cfg_apply_fn apply; /* built-in CONFIG SET side effect */
};

extern const struct cfg_param cfg_params[];
extern const size_t cfg_nparams;

/* Where a value comes from: a file line (or --option) vs CONFIG SET. */
enum cfg_src { CFG_SRC_FILE, CFG_SRC_SET };

/* State of one load (file + options), for directives that accumulate. */
struct cfg_load {
	bool save_seen;
};

/* A growable byte string (CONFIG GET values, REWRITE content). */
struct cfg_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void cfg_buf_add(struct cfg_buf *b, const char *s, size_t n);
void cfg_buf_str(struct cfg_buf *b, const char *s);
void cfg_buf_fmt(struct cfg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s quoted as Redis sdscatrepr() does ("a\"b\n"). */
void cfg_buf_repr(struct cfg_buf *b, const char *s);
void cfg_buf_free(struct cfg_buf *b);

const struct cfg_param *cfg_param_find(const char *name);

/*
 * Parse argv[0..argc) into p's field of c (the file's words after the
 * directive; for CONFIG SET the single value).  Returns 0, or -EINVAL with
 * the bare reason in err ("argument must be 'yes' or 'no'"), or -ENOMEM.
 */
int cfg_value_parse(const struct cfg_param *p, struct cfg *c, int argc,
		    char **argv, enum cfg_src src, struct cfg_load *ld,
		    char *err, size_t errlen);
/* Append the value as CONFIG GET shows it. */
void cfg_value_get(const struct cfg_param *p, const struct cfg *c,
		   struct cfg_buf *b);
/*
 * Append the config-file line(s) for the value, each terminated by '\n'
 * (save yields one line per pair, client-output-buffer-limit one per
 * class).  Returns the number of lines.
 */
int cfg_value_lines(const struct cfg_param *p, const struct cfg *c,
		    struct cfg_buf *b);
/*
 * Whether line i of cfg_value_lines() must be written even where the file
 * has no line for the parameter: it differs from the default def.  Redis
 * decides this per class for client-output-buffer-limit, per parameter
 * for the rest.
 */
bool cfg_value_line_forced(const struct cfg_param *p, const struct cfg *c,
			   const struct cfg *def, int i);
bool cfg_value_equal(const struct cfg_param *p, const struct cfg *a,
		     const struct cfg *b);

/* Deep copy of every owned string; dst is garbage on entry.  0 or -ENOMEM. */
int cfg_copy(struct cfg *dst, const struct cfg *src);
/* Free every owned string of c (not c itself). */
void cfg_free_fields(struct cfg *c);

#endif
