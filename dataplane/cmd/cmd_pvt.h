/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared between the command files: the families' cfg view, and what the
 * server-side files (cmd_server.c, cmd_client.c, cmd_command.c,
 * cmd_info.c) have in common. */
#ifndef CACHALOT_CMD_PVT_H
#define CACHALOT_CMD_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"

/* The Redis version cachalot answers as (HELLO, INFO): the command set and
 * replies it implements are those of this release. */
#define CMD_REDIS_VERSION "7.0.15"

/*
 * What the command families read of the configuration: their cfg view
 * (cmd_params.c), rebuilt with every snapshot, so a CONFIG SET holds from
 * the next command.  CONFIG, INFO and MEMORY read the whole snapshot
 * (cfg_cur()): showing it is their job.
 */
struct cmd_params {
	long long proto_max_bulk_len; /* APPEND, SETRANGE: checkStringLength */
	unsigned long long maxmemory; /* 0 = none */
	bool policy_lru;	      /* allkeys-lru or volatile-lru */
	bool policy_lfu;	      /* allkeys-lfu or volatile-lfu */
	/* AUTH, HELLO AUTH, RESET; "" = none.  The snapshot's own string,
	 * valid as long as the view: no length cap of its own. */
	const char *requirepass;
};

/** Register the view.  Returns 0 or -errno.  Context: start-up, after
 * cfg_setup; cmd_setup calls it. */
int cmd_params_setup(void);
/** The current snapshot's view.  Context: as cfg_cur(), after
 * cmd_params_setup. */
const struct cmd_params *cmd_params(void);

/** Validate and set a client name (CLIENT SETNAME, HELLO SETNAME); on a
 * bad name writes the error and returns false. */
bool cmd_set_client_name(struct cmd_ctx *c, const struct resp_arg *name);
/** A HELP reply: one simple string per line. */
void cmd_reply_help(struct cmd_ctx *c, const char *const *lines, size_t n);
/** When the server started (unix ms). */
int64_t cmd_start_time_ms(void);
void cmd_set_start_time(int64_t ms);

/** expired_keys at the last CONFIG RESETSTAT (INFO subtracts it). */
uint64_t cmd_expired_base(void);
uint64_t cmd_evicted_base(void);

uint64_t cmd_info_ops_per_sec(void);

/*
 * Where the memory goes (cmd_memory.c), for INFO memory and MEMORY
 * STATS / DOCTOR.  used is what maxmemory limits (cmd_used_memory); the
 * rest splits it, or shows what lies outside it (rss, transport, pools).
 */
struct cmd_mem {
	uint64_t used;	    /* store + clients */
	uint64_t peak;	    /* highest used seen (INFO, MEMORY, cron) */
	uint64_t startup;   /* used when the server started */
	uint64_t store;	    /* the shards' used_bytes */
	uint64_t tables;    /* of store: tables and expiry heaps */
	uint64_t clients;   /* conn_mem_bytes() */
	uint64_t overhead;  /* startup + clients + tables */
	uint64_t dataset;   /* used - overhead */
	uint64_t keys;	    /* all dbs */
	uint64_t rss;	    /* the process's resident set */
	uint64_t committed; /* mimalloc's committed memory */
	uint64_t resident;  /* of it, at most rss */
	uint64_t transport; /* the transports' fixed buffers */
	uint64_t mempools;  /* DPDK packet pools */
	unsigned nclients;
};

/** Take the figures (and fold used into the peak).  Context: any
 * RCU-online thread; relaxed reads, one /proc read for rss. */
void cmd_mem_collect(struct cmd_mem *m);
/** overhead and dataset from the other fields. */
void cmd_mem_derive(struct cmd_mem *m);
/** MEMORY DOCTOR's text for m (maxmemory, policy: the configuration).
 * Returns snprintf's result.  Pure: no global state. */
int cmd_mem_doctor(const struct cmd_mem *m, uint64_t maxmemory, int policy,
		   char *buf, size_t size);
/** Record used_memory_startup (and the first peak).  Context: start-up,
 * after store_setup. */
void cmd_mem_start(void);
/** Fold the current used memory into the peak.  Context: any thread. */
void cmd_mem_peak_update(void);
/** MEMORY USAGE of o: as allocated, with its bucket and heap slot. */
size_t cmd_mem_usage(const struct sobj *o);

#endif
