/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cfg: every server parameter, from one table.
 *
 * The table (cfg_table.c: name, type, default, bounds or allowed words,
 * mutable at runtime, apply hook) drives the config file (redis.conf
 * syntax), command-line overrides ("cachalot [file] --port 7000"),
 * CONFIG GET / SET / REWRITE / RESETSTAT and INFO.  A bad value is refused
 * with a message naming the parameter, the value and what is allowed.
 *
 * Readers get an immutable snapshot through cfg_cur(): a CONFIG SET builds a
 * new struct cfg and publishes it with RCU; the old one is reclaimed after a
 * grace period.  Writers (start-up, CONFIG SET/REWRITE) serialise on a
 * mutex: they are rare and never on a request's hot path.
 */
#ifndef CACHALOT_CFG_H
#define CACHALOT_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_transport { CFG_TRANSPORT_KERNEL = 0, CFG_TRANSPORT_DPDK = 1 };
enum cfg_kernel_io { CFG_IO_AUTO = 0, CFG_IO_URING = 1, CFG_IO_EPOLL = 2 };
enum cfg_policy {
	CFG_POLICY_NOEVICTION = 0,
	CFG_POLICY_ALLKEYS_LRU,
	CFG_POLICY_ALLKEYS_LFU,
	CFG_POLICY_ALLKEYS_RANDOM,
	CFG_POLICY_VOLATILE_LRU,
	CFG_POLICY_VOLATILE_LFU,
	CFG_POLICY_VOLATILE_RANDOM,
	CFG_POLICY_VOLATILE_TTL,
};
enum cfg_loglevel {
	CFG_LOG_DEBUG = 0,
	CFG_LOG_VERBOSE,
	CFG_LOG_NOTICE,
	CFG_LOG_WARNING,
	CFG_LOG_NOTHING,
};

#define CFG_BIND_MAX 16
/*
 * Most workers: one store shard each, and the store has STORE_MAX_SHARDS
 * (cmd_config.c asserts they agree; config/ does not see the store).  More
 * workers than CPUs is allowed; more than this is refused, not clamped.
 */
#define CFG_WORKERS_MAX 64

/* Client classes of client-output-buffer-limit, in Redis's order. */
enum cfg_obuf_class {
	CFG_OBUF_NORMAL = 0,
	CFG_OBUF_REPLICA, /* "slave" in CONFIG GET, "replica" in the file */
	CFG_OBUF_PUBSUB,
	CFG_OBUF_CLASSES,
};

/** One class's limits; 0 bytes means no limit. */
struct cfg_obuf {
	unsigned long long hard; /* pending output that closes at once */
	unsigned long long soft; /* ... that closes when kept > soft_secs */
	int soft_secs;		 /* an int, as in Redis */
};

/** One immutable snapshot of every parameter.  Strings are owned. */
struct cfg {
	/* network */
	char *bind[CFG_BIND_MAX]; /* "bind", space separated list */
	int nbind;
	long long port;		 /* 0..65535, default 6379 */
	long long tcp_backlog;	 /* 511 */
	long long tcp_keepalive; /* seconds, 300 */
	long long timeout;	 /* idle client seconds, 0 = never */
	long long maxclients;	 /* 10000 */
	bool protected_mode;	 /* yes */
	char *requirepass;	 /* "" = none */
	/* engine */
	long long workers;	      /* 0 = one per online CPU */
	enum cfg_transport transport; /* kernel */
	enum cfg_kernel_io kernel_io; /* auto: io_uring if usable */
	long long kernel_poll_us; /* poll this long after I/O before sleeping */
	long long databases;	  /* 16, 1..256 */
	long long hz;		  /* 10, 1..500 */
	long long proto_max_bulk_len;	     /* 512mb, >= 1mb */
	long long client_query_buffer_limit; /* 1gb, >= 1mb */
	/* client-output-buffer-limit: normal 0 0 0, replica 256mb 64mb 60,
	 * pubsub 32mb 8mb 60 */
	struct cfg_obuf client_obuf[CFG_OBUF_CLASSES];
	/* dpdk transport (read at start) */
	char *dpdk_args;	      /* EAL arguments, shell words */
	char *dpdk_port;	      /* "" = first port; id or ethdev name */
	char *ip;		      /* "a.b.c.d/len", "" = unset */
	char *gateway;		      /* "a.b.c.d", "" = none */
	long long mtu;		      /* 1500, 68..9000 */
	long long dpdk_mbufs;	      /* per worker, 0 = sized at start */
	long long dpdk_idle_sleep_us; /* 0 = pure polling */
	char *dpdk_fault;	      /* "" = no fault injection */
	/* memory */
	unsigned long long maxmemory; /* 0; any value, as in Redis */
	enum cfg_policy maxmemory_policy;
	long long maxmemory_samples; /* 5 */
	long long lfu_log_factor;    /* 10 */
	long long lfu_decay_time;    /* 1 */
	/* persistence (read by later issues; CONFIG GET answers them now) */
	char *dir;	  /* "." at start: the cwd */
	char *dbfilename; /* dump.rdb */
	char *save;	  /* "" */
	bool appendonly;  /* no (no AOF) */
	/* logging and misc */
	enum cfg_loglevel loglevel;	   /* notice */
	char *logfile;			   /* "" = stdout */
	char *notify_keyspace_events;	   /* "" */
	long long slowlog_log_slower_than; /* 10000 us */
	long long slowlog_max_len;	   /* 128 */
	char *pidfile;			   /* "" */
};

/**
 * Install the built-in defaults.  Returns 0 or -errno.
 * Context: start-up, main thread, before any reader.
 */
int cfg_setup(void);
/**
 * Free the current snapshot, drop hooks and the file name.  Snapshots
 * replaced earlier are freed by call_rcu; when the calling thread is not
 * RCU-online, teardown waits for them (rcu_barrier).
 * Context: shutdown, after all readers.
 */
void cfg_teardown(void);

/**
 * The current snapshot (NULL before cfg_setup).  Context: an
 * RCU-registered (urcu-qsbr), online thread; the pointer stays valid until
 * that thread's next quiescent state.  Threads not registered with RCU may
 * call it only before workers start.
 */
const struct cfg *cfg_cur(void);

/*
 * Module views: each module reads its own small const struct instead of
 * the whole table.  build fills a view from a snapshot; cfg builds every
 * registered view into each snapshot it publishes, so a view is as
 * consistent as the snapshot and lives as long (RCU), and a CONFIG SET
 * costs the readers nothing.
 */
typedef void (*cfg_view_fn)(const struct cfg *c, void *view);
/** Register a view of size bytes; returns its id (>= 0) or -errno.
 * Context: start-up, after cfg_setup and cfg_load_args, before readers. */
int cfg_view_register(size_t size, cfg_view_fn build);
/** The current snapshot's view id.  Context: as cfg_cur(). */
const void *cfg_view(int id);

/**
 * Apply "cachalot [configfile] [--name value ...]" as redis-server does:
 * the file first, then the overrides in order.  "--version" and "--help" are
 * handled by the caller.  On a bad file, name or value returns -EINVAL
 * (-errno when the file cannot be read) with one message in err naming the
 * place, the line and the reason in Redis's words, such as
 *   "Bad directive or wrong number of arguments at line 3 of /c.conf: 'porrt
 * 1'" "argument must be between 0 and 65535 inclusive at line 2 of /c.conf:
 *    'port 70000'"
 *   "argument must be 'yes' or 'no' in command-line option:
 *    '--protected-mode maybe'"
 * Nothing is published unless everything parsed.  A "dir" directive changes
 * the working directory at once, as Redis does.  Apply hooks do not run:
 * modules read their first values from cfg_cur() in their setup.
 * Context: start-up, main thread, after cfg_setup().
 */
int cfg_load_args(int argc, char **argv, char *err, size_t errlen);

/** The config file path given at start ("" if none): CONFIG REWRITE
 * rewrites it and INFO server shows it. */
const char *cfg_file(void);

/**
 * An apply hook: make a CONFIG SET effective (chdir, resize a pool...).
 * newc is the snapshot about to be published; cfg_cur() still returns the
 * old one.  Returns 0, or -errno with the reason in err (it becomes
 * "ERR CONFIG SET failed (possibly related to argument 'x') - <reason>").
 * Called with the cfg writer lock held: must not call cfg_set/cfg_rewrite.
 */
typedef int (*cfg_apply_fn)(const struct cfg *newc, char *err, size_t errlen);

/**
 * Register fn to run when CONFIG SET changes parameter name (any case).
 * Hooks run only for parameters whose value changed, each distinct fn once
 * per CONFIG SET even if several of its parameters changed, in
 * registration order after the table's own hook.  If a hook fails, hooks
 * that already ran are called again with the old snapshot and nothing is
 * published.  Registrations are dropped by cfg_teardown().
 * Returns 0, -ENOENT (unknown name) or -ENOSPC (too many hooks).
 * Context: start-up, after cfg_setup(), before workers run CONFIG SET.
 */
int cfg_on_change(const char *name, cfg_apply_fn fn);

/**
 * CONFIG SET name value [name value ...]: all or nothing, as Redis 7 does.
 * Returns 0, or -EINVAL with err holding the full Redis error text without
 * the leading '-', for example
 *   "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
 *   "ERR CONFIG SET failed (possibly related to argument 'port') - can't set
 * immutable config" "ERR CONFIG SET failed (possibly related to argument
 * 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru,
 * ..." Context: any worker thread (serialises internally).
 */
int cfg_set(int nargs, const char *const *names, const char *const *values,
	    char *err, size_t errlen);

/**
 * CONFIG GET: call fn(name, value) for every parameter whose name matches
 * one of the glob patterns (Redis stringmatch rules, case-insensitive),
 * each at most once, in table order, values formatted as Redis shows them
 * ("2gb" is shown as bytes, booleans as yes/no).  As in Redis, a pattern
 * with none of "*?[" is an exact name and is reported as typed
 * ("MAXMEMORY").  Context: any RCU-online thread; fn must not block.
 */
typedef void (*cfg_visit_fn)(const char *name, const char *value, void *arg);
void cfg_get(int npat, const char *const *patterns, size_t const *patlens,
	     cfg_visit_fn fn, void *arg);

/**
 * CONFIG REWRITE: rewrite the config file given at start, keeping comments
 * and order, updating changed lines and appending new ones; written to a
 * temporary file and renamed.  Returns 0 or -errno with err set
 * ("ERR The server is running without a config file").
 */
int cfg_rewrite(char *err, size_t errlen);

/**
 * Parse "100", "1k", "2mb", "1gb" as redis-server 7.0.15's memtoull does,
 * quirks included: "" and a bare unit are 0, the digits saturate at
 * ULLONG_MAX and the unit multiplies modulo 2^64 ("20000000000gb" is
 * accepted).  Returns 0 or -EINVAL ("-1", "1.5gb", " 1", 128+ digits).
 */
int cfg_parse_memory(const char *s, unsigned long long *out);

/* ---- value syntaxes of the dpdk transport (cfg_net.c) ---------------- */

/** "10.0.0.5" into host byte order.  0 or -EINVAL. */
int cfg_parse_ipv4(const char *s, uint32_t *ip);
/** "10.0.0.5/24" (prefix 1..32) into host byte order.  0 or -EINVAL. */
int cfg_parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix);
/**
 * Split s into words as a POSIX shell does without expansions ('...',
 * "...", backslash).  Returns the count and *argv (NULL-terminated, one
 * mi_malloc block: mi_free(*argv)), or -EINVAL (unterminated quote) or
 * -ENOMEM.
 */
int cfg_split_args(const char *s, char ***argv);

/** dpdk-fault, e.g. "drop=1%,dup=0.5%,reorder=1%,corrupt=0.1%,
 * delay=1%:2ms,seed=42".  Probabilities are per frame and direction. */
struct cfg_fault {
	double drop, dup, reorder, corrupt, delay;
	uint64_t delay_us;
	uint64_t seed; /* 1 when not given */
	bool on;       /* some probability is > 0 */
};
/** Parse s ("" = all off).  0, or -EINVAL with the reason and the bad
 * item in err (err may be NULL). */
int cfg_parse_fault(const char *s, struct cfg_fault *f, char *err,
		    size_t errlen);

#endif
