// SPDX-License-Identifier: BSD-3-Clause
/*
 * cfg_table: THE parameter table, and one codec per value type.
 *
 * Adding a parameter is one line in cfg_params[] plus its field in struct
 * cfg; the file parser, command line, CONFIG GET/SET/REWRITE all walk this
 * table.  The codecs mimic Redis 7.0's config.c: the same parsers (string2ll
 * for integers, memtoull for sizes, yes/no, case-insensitive enum words,
 * sdssplitlen for multi-word CONFIG SET values) and the same error texts,
 * because clients and operators match on them.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mimalloc.h>

#include "cfg_pvt.h"

_Static_assert(sizeof(enum cfg_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_transport) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_kernel_io) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_loglevel) == sizeof(int), "enum size");

#define CFG_HZ_MIN 1
#define CFG_HZ_MAX 500
#define CFG_DATABASES_MAX 256
#define MB (1024LL * 1024)

/* ---- enum words, in the order Redis lists them in its errors ---- */

static const struct cfg_word policy_words[] = {
    {"volatile-lru", CFG_POLICY_VOLATILE_LRU},
    {"volatile-lfu", CFG_POLICY_VOLATILE_LFU},
    {"volatile-random", CFG_POLICY_VOLATILE_RANDOM},
    {"volatile-ttl", CFG_POLICY_VOLATILE_TTL},
    {"allkeys-lru", CFG_POLICY_ALLKEYS_LRU},
    {"allkeys-lfu", CFG_POLICY_ALLKEYS_LFU},
    {"allkeys-random", CFG_POLICY_ALLKEYS_RANDOM},
    {"noeviction", CFG_POLICY_NOEVICTION},
    {NULL, 0},
};

/* "nothing" is Redis 7.2's; cfg.h has CFG_LOG_NOTHING. */
static const struct cfg_word loglevel_words[] = {
    {"debug", CFG_LOG_DEBUG},	  {"verbose", CFG_LOG_VERBOSE},
    {"notice", CFG_LOG_NOTICE},	  {"warning", CFG_LOG_WARNING},
    {"nothing", CFG_LOG_NOTHING}, {NULL, 0},
};

static const struct cfg_word transport_words[] = {
    {"kernel", CFG_TRANSPORT_KERNEL},
    {"dpdk", CFG_TRANSPORT_DPDK},
    {NULL, 0},
};

static const struct cfg_word kernel_io_words[] = {
    {"auto", CFG_IO_AUTO},
    {"io_uring", CFG_IO_URING},
    {"epoll", CFG_IO_EPOLL},
    {NULL, 0},
};

/* ---- checks and built-in apply hooks ---- */

/* Redis accepts any hz >= 0 and clamps it (CONFIG GET then shows 500). */
static const char *check_hz(struct cfg *c)
{
	if (c->hz < CFG_HZ_MIN)
		c->hz = CFG_HZ_MIN;
	if (c->hz > CFG_HZ_MAX)
		c->hz = CFG_HZ_MAX;
	return NULL;
}

/* No AOF engine: accepting "yes" would promise durability we don't give. */
static const char *check_appendonly(struct cfg *c)
{
	return c->appendonly ? "argument must be 'no': AOF is not supported"
			     : NULL;
}

static const char *check_dbfilename(struct cfg *c)
{
	if (strchr(c->dbfilename, '/') || strchr(c->dbfilename, '\\'))
		return "dbfilename can't be a path, just a filename";
	return NULL;
}

static const char *check_dpdk_args(struct cfg *c)
{
	char **argv;
	int n = cfg_split_args(c->dpdk_args, &argv);

	if (n == -ENOMEM)
		return strerror(ENOMEM);
	if (n < 0)
		return "argument has an unterminated quote or a trailing "
		       "backslash";
	mi_free(argv);
	return NULL;
}

static const char *check_ip(struct cfg *c)
{
	uint32_t ip;
	uint8_t len;

	if (!c->ip[0] || !cfg_parse_ipv4_prefix(c->ip, &ip, &len))
		return NULL;
	return "argument must be an IPv4 address and prefix length like "
	       "10.0.0.5/24 (prefix 1 to 32; \"\" for none)";
}

static const char *check_gateway(struct cfg *c)
{
	uint32_t ip;

	if (!c->gateway[0] || !cfg_parse_ipv4(c->gateway, &ip))
		return NULL;
	return "argument must be an IPv4 address like 10.0.0.1 (\"\" for "
	       "none)";
}

static const char *check_fault(struct cfg *c)
{
	static __thread char msg[256];
	struct cfg_fault f;
	char why[128];

	if (!cfg_parse_fault(c->dpdk_fault, &f, why, sizeof(why)))
		return NULL;
	snprintf(msg, sizeof(msg),
		 "argument must be a list like \"drop=1%%,dup=0.5%%,"
		 "reorder=1%%,corrupt=0.1%%,delay=1%%:2ms,seed=42\": %s",
		 why);
	return msg;
}

/* CONFIG SET dir only validated the path; the process moves here. */
static int apply_dir(const struct cfg *newc, char *err, size_t errlen)
{
	if (chdir(newc->dir) == 0)
		return 0;
	snprintf(err, errlen, "%s", strerror(errno));
	return -errno;
}

/* ---- the table ---- */

/*
 * One row per parameter: name, type, field, default (config-file text),
 * bounds or words, CFG_MUTABLE when CONFIG SET may change it, an extra
 * check, a built-in apply hook.  Rows are in the order of cachalot.conf.
 */
#define F(field) offsetof(struct cfg, field)
#define PARAM(n, t, fld, d, lo, hi, w, fl, ck, ap)                             \
	{                                                                      \
		.name = n, .type = t, .off = F(fld), .def = d, .min = lo,      \
		.max = hi, .words = w, .flags = fl, .check = ck, .apply = ap   \
	}
#define BOOL(n, fld, d, fl)                                                    \
	PARAM(n, CFG_T_BOOL, fld, d, 0, 0, NULL, fl, NULL, NULL)
#define INT(n, fld, d, lo, hi, fl)                                             \
	PARAM(n, CFG_T_INT, fld, d, lo, hi, NULL, fl, NULL, NULL)
#define MEM(n, fld, d, lo, hi, fl)                                             \
	PARAM(n, CFG_T_MEM, fld, d, lo, hi, NULL, fl, NULL, NULL)
#define STR(n, fld, d, fl)                                                     \
	PARAM(n, CFG_T_STR, fld, d, 0, 0, NULL, fl, NULL, NULL)
#define ENUM(n, fld, d, w, fl)                                                 \
	PARAM(n, CFG_T_ENUM, fld, d, 0, 0, w, fl, NULL, NULL)
#define M CFG_MUTABLE

/* A table reads best one row per line. */
/* clang-format off */
const struct cfg_param cfg_params[] = {
	/* network */
	PARAM("bind", CFG_T_BIND, bind, "127.0.0.1", 0, 0, NULL, M, NULL, NULL),
	INT("port", port, "6379", 0, 65535, M),
	INT("tcp-backlog", tcp_backlog, "511", 0, INT_MAX, 0),
	INT("tcp-keepalive", tcp_keepalive, "300", 0, INT_MAX, M),
	INT("timeout", timeout, "0", 0, INT_MAX, M),
	INT("maxclients", maxclients, "10000", 1, UINT_MAX, M),
	BOOL("protected-mode", protected_mode, "yes", M),
	STR("requirepass", requirepass, "", M),
	/* engine */
	INT("workers", workers, "0", 0, CFG_WORKERS_MAX, 0),
	ENUM("transport", transport, "kernel", transport_words, 0),
	ENUM("kernel-io", kernel_io, "auto", kernel_io_words, 0),
	INT("kernel-poll-us", kernel_poll_us, "100", 0, 1000000, M),
	INT("databases", databases, "16", 1, CFG_DATABASES_MAX, 0),
	PARAM("hz", CFG_T_INT, hz, "10", 0, INT_MAX, NULL, M, check_hz, NULL),
	MEM("proto-max-bulk-len", proto_max_bulk_len, "512mb",
	    MB, LLONG_MAX, M),
	MEM("client-query-buffer-limit", client_query_buffer_limit, "1gb",
	    MB, LLONG_MAX, M),
	PARAM("client-output-buffer-limit", CFG_T_OBUF, client_obuf,
	      "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0,
	      NULL, M, NULL, NULL),
	/* dpdk transport */
	PARAM("dpdk-args", CFG_T_STR, dpdk_args, "", 0, 0, NULL, 0,
	      check_dpdk_args, NULL),
	STR("dpdk-port", dpdk_port, "", 0),
	PARAM("ip", CFG_T_STR, ip, "", 0, 0, NULL, 0, check_ip, NULL),
	PARAM("gateway", CFG_T_STR, gateway, "", 0, 0, NULL, 0, check_gateway,
	      NULL),
	INT("mtu", mtu, "1500", 68, 9000, 0),
	INT("dpdk-mbufs", dpdk_mbufs, "0", 0, 1 << 24, 0),
	INT("dpdk-idle-sleep-us", dpdk_idle_sleep_us, "0", 0, 1000000, M),
	PARAM("dpdk-fault", CFG_T_STR, dpdk_fault, "", 0, 0, NULL, 0,
	      check_fault, NULL),
	/* memory */
	PARAM("maxmemory", CFG_T_UMEM, maxmemory, "0", 0, 0, NULL, M, NULL,
	      NULL),
	ENUM("maxmemory-policy", maxmemory_policy, "noeviction",
	     policy_words, M),
	INT("maxmemory-samples", maxmemory_samples, "5", 1, INT_MAX, M),
	INT("lfu-log-factor", lfu_log_factor, "10", 0, INT_MAX, M),
	INT("lfu-decay-time", lfu_decay_time, "1", 0, INT_MAX, M),
	/* persistence */
	PARAM("dir", CFG_T_DIR, dir, ".", 0, 0, NULL, M, NULL, apply_dir),
	PARAM("dbfilename", CFG_T_STR, dbfilename, "dump.rdb", 0, 0, NULL, M,
	      check_dbfilename, NULL),
	PARAM("save", CFG_T_SAVE, save, "", 0, 0, NULL, M, NULL, NULL),
	PARAM("appendonly", CFG_T_BOOL, appendonly, "no", 0, 0, NULL, M,
	      check_appendonly, NULL),
	/* logging and misc */
	ENUM("loglevel", loglevel, "notice", loglevel_words, M),
	STR("logfile", logfile, "", 0),
	PARAM("notify-keyspace-events", CFG_T_NOTIFY, notify_keyspace_events,
	      "", 0, 0, NULL, M, NULL, NULL),
	INT("slowlog-log-slower-than", slowlog_log_slower_than, "10000",
	    -1, LLONG_MAX, M),
	INT("slowlog-max-len", slowlog_max_len, "128", 0, LLONG_MAX, M),
	STR("pidfile", pidfile, "", 0),
};
/* clang-format on */

const size_t cfg_nparams = sizeof(cfg_params) / sizeof(cfg_params[0]);

const struct cfg_param *cfg_param_find(const char *name)
{
	for (size_t i = 0; i < cfg_nparams; i++)
		if (!strcasecmp(cfg_params[i].name, name))
			return &cfg_params[i];
	return NULL;
}

/* ---- growable buffer ---- */

void cfg_buf_add(struct cfg_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = mi_realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void cfg_buf_str(struct cfg_buf *b, const char *s)
{
	cfg_buf_add(b, s, strlen(s));
}

void cfg_buf_fmt(struct cfg_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		cfg_buf_add(b, tmp,
			    (size_t)n < sizeof(tmp) ? (size_t)n
						    : sizeof(tmp) - 1);
}

void cfg_buf_repr(struct cfg_buf *b, const char *s)
{
	cfg_buf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '\\':
			cfg_buf_add(b, "\\\\", 2);
			break;
		case '"':
			cfg_buf_add(b, "\\\"", 2);
			break;
		case '\n':
			cfg_buf_add(b, "\\n", 2);
			break;
		case '\r':
			cfg_buf_add(b, "\\r", 2);
			break;
		case '\t':
			cfg_buf_add(b, "\\t", 2);
			break;
		case '\a':
			cfg_buf_add(b, "\\a", 2);
			break;
		case '\b':
			cfg_buf_add(b, "\\b", 2);
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				cfg_buf_add(b, s, 1);
			else
				cfg_buf_fmt(b, "\\x%02x", c);
		}
	}
	cfg_buf_add(b, "\"", 1);
}

void cfg_buf_free(struct cfg_buf *b)
{
	mi_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- Redis's number parsers ---- */

/* Redis string2ll: no spaces, no '+', no leading zeros, fits long long. */
static bool str2ll(const char *s, long long *out)
{
	size_t len = strlen(s), i = 0;
	unsigned long long v;
	bool neg = false;

	if (len == 0 || len >= 21)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		if (++i == len)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	for (v = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = (long long)(0 - v);
	} else {
		if (v > LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

static long long unit_mul(const char *u)
{
	static const struct {
		const char *u;
		long long mul;
	} units[] = {
	    {"", 1},	       {"b", 1},
	    {"k", 1000},       {"kb", 1024},
	    {"m", 1000000},    {"mb", 1024 * 1024},
	    {"g", 1000000000}, {"gb", 1024LL * 1024 * 1024},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(u, units[i].u))
			return units[i].mul;
	return 0;
}

/* Splits "123kb" into its digits (ending at *end) and the unit's factor. */
static long long mem_split(const char *s, const char **end)
{
	const char *u = s;

	if (*u == '-')
		return 0;
	while (*u >= '0' && *u <= '9')
		u++;
	*end = u;
	return unit_mul(u);
}

/*
 * Redis 7.0.15 memtoull, quirks included, so that a value Redis takes
 * means the same here: the digits go through strtoull, whose overflow
 * (ULLONG_MAX) is not checked, and the unit multiplies modulo 2^64 (the
 * check against that came after 7.0).  The digits are copied to a 128-byte
 * buffer first: 128 or more of them are refused.
 */
int cfg_parse_memory(const char *s, unsigned long long *out)
{
	const char *u;
	unsigned long long v = 0;
	long long mul = mem_split(s, &u);

	if (!mul || u - s >= 128)
		return -EINVAL;
	for (const char *d = s; d < u; d++) {
		unsigned dig = (unsigned)(*d - '0');

		v = v > (ULLONG_MAX - dig) / 10 ? ULLONG_MAX : v * 10 + dig;
	}
	*out = v * (unsigned long long)mul;
	return 0;
}

/* Redis's rewriteConfigFormatMemory: the largest exact binary unit. */
static void fmt_memory(struct cfg_buf *b, long long v)
{
	static const struct {
		long long div;
		const char *u;
	} units[] = {
	    {1024LL * 1024 * 1024, "gb"},
	    {1024 * 1024, "mb"},
	    {1024, "kb"},
	};

	for (size_t i = 0; v && i < 3; i++) {
		if (v % units[i].div == 0) {
			cfg_buf_fmt(b, "%lld%s", v / units[i].div, units[i].u);
			return;
		}
	}
	cfg_buf_fmt(b, "%lld", v);
}

/* fmt_memory for the unsigned sizes: maxmemory, client-output-buffer-limit. */
static void fmt_memory_ull(struct cfg_buf *b, unsigned long long v)
{
	if (v > LLONG_MAX)
		cfg_buf_fmt(b, "%llu", v);
	else
		fmt_memory(b, (long long)v);
}

/* ---- keyspace event classes (Redis notify.c) ---- */

/* Bits in Redis's order; 'A' is every class letter but 'm' and 'n'. */
static const char notify_classes[] = "g$lshzxetdnKEm";
#define NOTIFY_ALL_MASK 0x3ffu /* g $ l s h z x e t d */

static int notify_flags(const char *s, unsigned *out)
{
	unsigned f = 0;

	for (; *s; s++) {
		const char *pos;

		if (*s == 'A') {
			f |= NOTIFY_ALL_MASK;
			continue;
		}
		pos = strchr(notify_classes, *s);
		if (!pos)
			return -EINVAL;
		f |= 1u << (pos - notify_classes);
	}
	*out = f;
	return 0;
}

/* keyspaceEventsFlagsToString: note 'n' is dropped when 'A' is printed. */
static void notify_string(unsigned f, char *out)
{
	size_t n = 0;

	if ((f & NOTIFY_ALL_MASK) == NOTIFY_ALL_MASK) {
		out[n++] = 'A';
	} else {
		for (int i = 0; i < 11; i++)
			if (f & (1u << i))
				out[n++] = notify_classes[i];
	}
	for (int i = 11; i < 14; i++)
		if (f & (1u << i))
			out[n++] = notify_classes[i];
	out[n] = '\0';
}

/* ---- parsers ---- */

static char **str_field(const struct cfg_param *p, struct cfg *c)
{
	return (char **)((char *)c + p->off);
}

static int set_str(char **field, const char *v)
{
	char *s = mi_strdup(v);

	if (!s)
		return -ENOMEM;
	mi_free(*field);
	*field = s;
	return 0;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

static int parse_enum(const struct cfg_param *p, struct cfg *c, const char *v,
		      char *err, size_t errlen)
{
	const struct cfg_word *w;
	size_t n;

	for (w = p->words; w->word; w++) {
		if (!strcasecmp(w->word, v)) {
			*(int *)((char *)c + p->off) = w->val;
			return 0;
		}
	}
	n = (size_t)snprintf(err, errlen,
			     "argument(s) must be one of the following: ");
	for (w = p->words; w->word && n < errlen; w++)
		n += (size_t)snprintf(err + n, errlen - n, "%s%s",
				      w == p->words ? "" : ", ", w->word);
	return -EINVAL;
}

/*
 * Redis numericParseString + numericBoundaryCheck.  A memory value is
 * parsed unsigned, then a signed parameter sees it as long long, so
 * "9223372036854775808" is out of its bounds rather than "not a memory
 * value", and an unsigned one (maxmemory: 0..ULLONG_MAX) keeps it whole.
 */
static int parse_number(const struct cfg_param *p, struct cfg *c, const char *v,
			char *err, size_t errlen)
{
	unsigned long long u;
	long long x;

	if (p->type == CFG_T_MEM || p->type == CFG_T_UMEM) {
		if (cfg_parse_memory(v, &u))
			return fail(err, errlen,
				    "argument must be a memory value");
		if (p->type == CFG_T_UMEM) {
			*(unsigned long long *)((char *)c + p->off) = u;
			return 0;
		}
		x = (long long)u;
	} else if (!str2ll(v, &x)) {
		return fail(err, errlen,
			    "argument couldn't be parsed into an integer");
	}
	if (x < p->min || x > p->max) {
		snprintf(err, errlen,
			 "argument must be between %lld and %lld inclusive",
			 p->min, p->max);
		return -EINVAL;
	}
	*(long long *)((char *)c + p->off) = x;
	return 0;
}

/*
 * Redis setConfigSaveOption: pairs "seconds changes" (seconds >= 1,
 * changes >= 0, strtoll syntax).  In a file, successive save lines add
 * up; a lone "" clears.  Stored canonical: "3600 1 300 100".
 */
static int parse_save(struct cfg *c, int argc, char **argv, enum cfg_src src,
		      struct cfg_load *ld, char *err, size_t errlen)
{
	struct cfg_buf b = {0};
	bool clear = argc == 1 && argv[0][0] == '\0';
	int rc;

	if (clear)
		argc = 0;
	if (argc & 1)
		return fail(err, errlen, "Invalid save parameters");
	if (src == CFG_SRC_FILE && ld && ld->save_seen && !clear)
		cfg_buf_str(&b, c->save);
	for (int i = 0; i < argc; i++) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(argv[i], &end, 10);
		if (*end || errno || v < ((i & 1) ? 0 : 1)) {
			cfg_buf_free(&b);
			return fail(err, errlen, "Invalid save parameters");
		}
		cfg_buf_fmt(&b, "%s%lld", b.len ? " " : "", v);
	}
	if (ld && src == CFG_SRC_FILE)
		ld->save_seen = true;
	rc = b.oom ? -ENOMEM : set_str(&c->save, b.p ? b.p : "");
	cfg_buf_free(&b);
	return rc;
}

/* ---- client-output-buffer-limit (Redis updateClientOutputBufferLimit) */

#define OBUF_ERR_ARGS "Wrong number of arguments in buffer limit configuration."
#define OBUF_ERR_CLASS                                                         \
	"Invalid client class specified in buffer limit configuration."
#define OBUF_ERR_VALUE                                                         \
	"Error in hard, soft or soft_seconds setting in buffer limit "         \
	"configuration."

/* Redis's names for the classes, CONFIG GET's first, then the file's. */
static const char *const obuf_get_names[] = {"normal", "slave", "pubsub"};
static const char *const obuf_file_names[] = {"normal", "replica", "pubsub"};

/* getClientTypeByName; "master" has no limits of its own: -1 as well. */
static int obuf_class(const char *s)
{
	if (!strcasecmp(s, "normal"))
		return CFG_OBUF_NORMAL;
	if (!strcasecmp(s, "slave") || !strcasecmp(s, "replica"))
		return CFG_OBUF_REPLICA;
	if (!strcasecmp(s, "pubsub"))
		return CFG_OBUF_PUBSUB;
	return -1;
}

/* strtoll into an int, as Redis stores soft_seconds: "4294967297" is 1. */
static int obuf_secs(const char *s, int *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	int secs = (int)(unsigned int)(unsigned long long)v;

	if (secs < 0 || *end)
		return -EINVAL;
	*out = secs;
	return 0;
}

/*
 * Groups of "class hard soft soft-seconds"; the classes named change, the
 * others keep their values (CONFIG SET "pubsub 0 0 0" leaves normal be).
 * All or nothing; the first bad group gives the error, as in Redis.
 */
static int parse_obuf(struct cfg *c, int argc, char **argv, char *err,
		      size_t errlen)
{
	struct cfg_obuf v[CFG_OBUF_CLASSES];
	bool seen[CFG_OBUF_CLASSES] = {false};

	if (argc % 4)
		return fail(err, errlen, OBUF_ERR_ARGS);
	for (int j = 0; j < argc; j += 4) {
		int k = obuf_class(argv[j]);

		if (k < 0)
			return fail(err, errlen, OBUF_ERR_CLASS);
		if (cfg_parse_memory(argv[j + 1], &v[k].hard) ||
		    cfg_parse_memory(argv[j + 2], &v[k].soft) ||
		    obuf_secs(argv[j + 3], &v[k].soft_secs))
			return fail(err, errlen, OBUF_ERR_VALUE);
		seen[k] = true;
	}
	for (int k = 0; k < CFG_OBUF_CLASSES; k++)
		if (seen[k])
			c->client_obuf[k] = v[k];
	return 0;
}

/* Redis setConfigBindOption: up to 16 words, a lone "" means none. */
static int parse_bind(struct cfg *c, int argc, char **argv, char *err,
		      size_t errlen)
{
	char *addr[CFG_BIND_MAX];

	if (argc > CFG_BIND_MAX)
		return fail(err, errlen, "Too many bind addresses specified.");
	if (argc == 1 && argv[0][0] == '\0')
		argc = 0;
	for (int i = 0; i < argc; i++) {
		addr[i] = mi_strdup(argv[i]);
		if (!addr[i]) {
			while (i--)
				mi_free(addr[i]);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < c->nbind; i++)
		mi_free(c->bind[i]);
	memset(c->bind, 0, sizeof(c->bind));
	memcpy(c->bind, addr, sizeof(addr[0]) * (size_t)argc);
	c->nbind = argc;
	return 0;
}

/*
 * A file's "dir" moves the process at once, as Redis does, so that a later
 * relative dir or file name resolves from there.  CONFIG SET only checks
 * here (it must stay all-or-nothing); apply_dir moves.
 */
static int parse_dir(struct cfg *c, const char *v, enum cfg_src src, char *err,
		     size_t errlen)
{
	char *abs;
	struct stat st;
	int rc;

	if (src == CFG_SRC_FILE && chdir(v) != 0)
		return fail(err, errlen, strerror(errno));
	abs = realpath(src == CFG_SRC_FILE ? "." : v, NULL);
	if (!abs)
		return fail(err, errlen, strerror(errno));
	if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
		rc = fail(err, errlen, strerror(ENOTDIR));
	else if (access(abs, X_OK) != 0)
		rc = fail(err, errlen, strerror(errno));
	else
		rc = set_str(&c->dir, abs);
	free(abs);
	return rc;
}

static int parse_notify(struct cfg *c, const char *v, char *err, size_t errlen)
{
	char canon[sizeof(notify_classes) + 1];
	unsigned f;

	if (notify_flags(v, &f))
		return fail(err, errlen,
			    "Invalid event class character. "
			    "Use 'Ag$lshzxeKEtmdn'.");
	notify_string(f, canon);
	return set_str(&c->notify_keyspace_events, canon);
}

static int parse_one(const struct cfg_param *p, struct cfg *c, const char *v,
		     enum cfg_src src, char *err, size_t errlen)
{
	switch (p->type) {
	case CFG_T_BOOL:
		if (strcasecmp(v, "yes") && strcasecmp(v, "no"))
			return fail(err, errlen,
				    "argument must be 'yes' or 'no'");
		*(bool *)((char *)c + p->off) = !strcasecmp(v, "yes");
		return 0;
	case CFG_T_INT:
	case CFG_T_MEM:
	case CFG_T_UMEM:
		return parse_number(p, c, v, err, errlen);
	case CFG_T_STR:
		return set_str(str_field(p, c), v);
	case CFG_T_ENUM:
		return parse_enum(p, c, v, err, errlen);
	case CFG_T_NOTIFY:
		return parse_notify(c, v, err, errlen);
	case CFG_T_DIR:
		return parse_dir(c, v, src, err, errlen);
	default:
		return fail(err, errlen, "wrong number of arguments");
	}
}

/* Redis sdssplitlen(v, " "): "" gives no word, "a  b" gives "a", "", "b". */
static int split_spaces(const char *v, char ***out)
{
	size_t n = *v ? 1 : 0, len = strlen(v);
	char **vec, *copy;

	for (const char *s = v; *s; s++)
		n += *s == ' ';
	vec = mi_malloc((n + 1) * sizeof(*vec) + len + 1);
	if (!vec)
		return -ENOMEM;
	copy = (char *)(vec + n + 1);
	memcpy(copy, v, len + 1);
	for (size_t i = 0; i < n; i++) {
		vec[i] = copy;
		copy += strcspn(copy, " ");
		*copy++ = '\0';
	}
	vec[n] = NULL;
	*out = vec;
	return (int)n;
}

static int parse_multi(const struct cfg_param *p, struct cfg *c, int argc,
		       char **argv, enum cfg_src src, struct cfg_load *ld,
		       char *err, size_t errlen)
{
	char **words = NULL;
	int rc;

	/*
	 * CONFIG SET gives one value, and a file may quote the words
	 * together (save "3600 1 300 100"): Redis splits both on spaces.
	 */
	if (src == CFG_SRC_SET || (argc == 1 && argv[0][0])) {
		argc = split_spaces(argv[0], &words);
		if (argc < 0)
			return argc;
		argv = words;
	}
	if (p->type == CFG_T_BIND)
		rc = parse_bind(c, argc, argv, err, errlen);
	else if (p->type == CFG_T_OBUF)
		rc = parse_obuf(c, argc, argv, err, errlen);
	else
		rc = parse_save(c, argc, argv, src, ld, err, errlen);
	mi_free(words);
	return rc;
}

int cfg_value_parse(const struct cfg_param *p, struct cfg *c, int argc,
		    char **argv, enum cfg_src src, struct cfg_load *ld,
		    char *err, size_t errlen)
{
	const char *msg;
	int rc;

	if (p->type == CFG_T_BIND || p->type == CFG_T_SAVE ||
	    p->type == CFG_T_OBUF)
		rc = parse_multi(p, c, argc, argv, src, ld, err, errlen);
	else if (argc != 1)
		rc = fail(err, errlen, "wrong number of arguments");
	else
		rc = parse_one(p, c, argv[0], src, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	if (rc || !p->check)
		return rc;
	msg = p->check(c);
	return msg ? fail(err, errlen, msg) : 0;
}

/* ---- formatting ---- */

static const char *enum_word(const struct cfg_param *p, const struct cfg *c)
{
	int v = *(const int *)((const char *)c + p->off);

	for (const struct cfg_word *w = p->words; w->word; w++)
		if (w->val == v)
			return w->word;
	return "";
}

static const char *cstr(const struct cfg_param *p, const struct cfg *c)
{
	const char *s = *(char *const *)((const char *)c + p->off);

	return s ? s : "";
}

static void join_bind(const struct cfg *c, struct cfg_buf *b)
{
	for (int i = 0; i < c->nbind; i++) {
		if (i)
			cfg_buf_add(b, " ", 1);
		cfg_buf_str(b, c->bind[i]);
	}
}

void cfg_value_get(const struct cfg_param *p, const struct cfg *c,
		   struct cfg_buf *b)
{
	const void *f = (const char *)c + p->off;

	switch (p->type) {
	case CFG_T_BOOL:
		cfg_buf_str(b, *(const bool *)f ? "yes" : "no");
		break;
	case CFG_T_INT:
	case CFG_T_MEM:
		cfg_buf_fmt(b, "%lld", *(const long long *)f);
		break;
	case CFG_T_UMEM:
		cfg_buf_fmt(b, "%llu", *(const unsigned long long *)f);
		break;
	case CFG_T_ENUM:
		cfg_buf_str(b, enum_word(p, c));
		break;
	case CFG_T_BIND:
		join_bind(c, b);
		break;
	case CFG_T_OBUF:
		for (int k = 0; k < CFG_OBUF_CLASSES; k++)
			cfg_buf_fmt(b, "%s%s %llu %llu %d", k ? " " : "",
				    obuf_get_names[k], c->client_obuf[k].hard,
				    c->client_obuf[k].soft,
				    c->client_obuf[k].soft_secs);
		break;
	default:
		cfg_buf_str(b, cstr(p, c));
		break;
	}
}

/* Save is one "save secs changes" line per pair, as Redis rewrites it. */
static int save_lines(const struct cfg *c, struct cfg_buf *b)
{
	const char *s = c->save ? c->save : "";
	int n = 0;

	if (!*s) {
		cfg_buf_str(b, "save \"\"\n");
		return 1;
	}
	while (*s) {
		long long secs, changes;
		int used = 0;

		if (sscanf(s, "%lld %lld%n", &secs, &changes, &used) != 2)
			break;
		cfg_buf_fmt(b, "save %lld %lld\n", secs, changes);
		n++;
		s += used;
		s += strspn(s, " ");
	}
	return n;
}

/* One line per class, as Redis's rewrite writes them. */
static int obuf_lines(const struct cfg_param *p, const struct cfg *c,
		      struct cfg_buf *b)
{
	for (int k = 0; k < CFG_OBUF_CLASSES; k++) {
		const struct cfg_obuf *o = &c->client_obuf[k];

		cfg_buf_fmt(b, "%s %s ", p->name, obuf_file_names[k]);
		fmt_memory_ull(b, o->hard);
		cfg_buf_add(b, " ", 1);
		fmt_memory_ull(b, o->soft);
		cfg_buf_fmt(b, " %d\n", o->soft_secs);
	}
	return CFG_OBUF_CLASSES;
}

int cfg_value_lines(const struct cfg_param *p, const struct cfg *c,
		    struct cfg_buf *b)
{
	if (p->type == CFG_T_SAVE)
		return save_lines(c, b);
	if (p->type == CFG_T_OBUF)
		return obuf_lines(p, c, b);
	cfg_buf_str(b, p->name);
	cfg_buf_add(b, " ", 1);
	switch (p->type) {
	case CFG_T_MEM:
		fmt_memory(b, *(const long long *)((const char *)c + p->off));
		break;
	case CFG_T_UMEM:
		/* Redis 7.0 formats it as a long long: "maxmemory -1" for
		 * ULLONG_MAX, which its own parser then refuses.  Ours
		 * reloads as the same value. */
		fmt_memory_ull(
		    b, *(const unsigned long long *)((const char *)c + p->off));
		break;
	case CFG_T_STR:
	case CFG_T_NOTIFY:
	case CFG_T_DIR:
		cfg_buf_repr(b, cstr(p, c));
		break;
	case CFG_T_BIND:
		if (c->nbind)
			join_bind(c, b);
		else
			cfg_buf_str(b, "\"\"");
		break;
	default:
		cfg_value_get(p, c, b);
		break;
	}
	cfg_buf_add(b, "\n", 1);
	return 1;
}

static bool obuf_equal(const struct cfg_obuf *a, const struct cfg_obuf *b)
{
	return a->hard == b->hard && a->soft == b->soft &&
	       a->soft_secs == b->soft_secs;
}

bool cfg_value_line_forced(const struct cfg_param *p, const struct cfg *c,
			   const struct cfg *def, int i)
{
	if (p->type == CFG_T_OBUF && i >= 0 && i < CFG_OBUF_CLASSES)
		return !obuf_equal(&c->client_obuf[i], &def->client_obuf[i]);
	return !cfg_value_equal(p, c, def);
}

bool cfg_value_equal(const struct cfg_param *p, const struct cfg *a,
		     const struct cfg *b)
{
	const void *fa = (const char *)a + p->off;
	const void *fb = (const char *)b + p->off;

	switch (p->type) {
	case CFG_T_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case CFG_T_INT:
	case CFG_T_MEM:
		return *(const long long *)fa == *(const long long *)fb;
	case CFG_T_UMEM:
		return *(const unsigned long long *)fa ==
		       *(const unsigned long long *)fb;
	case CFG_T_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case CFG_T_OBUF:
		for (int k = 0; k < CFG_OBUF_CLASSES; k++)
			if (!obuf_equal(&a->client_obuf[k], &b->client_obuf[k]))
				return false;
		return true;
	case CFG_T_BIND:
		if (a->nbind != b->nbind)
			return false;
		for (int i = 0; i < a->nbind; i++)
			if (strcmp(a->bind[i], b->bind[i]))
				return false;
		return true;
	default:
		return !strcmp(cstr(p, a), cstr(p, b));
	}
}

/* ---- snapshot copies ---- */

static bool owns_string(const struct cfg_param *p)
{
	return p->type == CFG_T_STR || p->type == CFG_T_SAVE ||
	       p->type == CFG_T_NOTIFY || p->type == CFG_T_DIR;
}

int cfg_copy(struct cfg *dst, const struct cfg *src)
{
	*dst = *src;
	memset(dst->bind, 0, sizeof(dst->bind));
	dst->nbind = 0;
	for (size_t i = 0; i < cfg_nparams; i++)
		if (owns_string(&cfg_params[i]))
			*str_field(&cfg_params[i], dst) = NULL;
	for (int i = 0; i < src->nbind; i++) {
		dst->bind[i] = mi_strdup(src->bind[i]);
		if (!dst->bind[i])
			goto oom;
		dst->nbind = i + 1;
	}
	for (size_t i = 0; i < cfg_nparams; i++) {
		const struct cfg_param *p = &cfg_params[i];
		char *s;

		if (!owns_string(p))
			continue;
		s = *(char *const *)((const char *)src + p->off);
		if (s && set_str(str_field(p, dst), s))
			goto oom;
	}
	return 0;
oom:
	cfg_free_fields(dst);
	return -ENOMEM;
}

void cfg_free_fields(struct cfg *c)
{
	for (int i = 0; i < c->nbind; i++)
		mi_free(c->bind[i]);
	c->nbind = 0;
	for (size_t i = 0; i < cfg_nparams; i++) {
		if (owns_string(&cfg_params[i])) {
			mi_free(*str_field(&cfg_params[i], c));
			*str_field(&cfg_params[i], c) = NULL;
		}
	}
}
