/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats: one core's counters.  Each worker writes only its own wstats
 * (plain increments); INFO, on whichever core it runs, sums every worker's
 * with relaxed loads.  Cache-line aligned so cores never share a line.
 */
#ifndef CACHALOT_STATS_H
#define CACHALOT_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_ERR_KINDS 32
/* Seconds INFO's client_recent_max_* look back over, as Redis's
 * CLIENTS_PEAK_MEM_USAGE_SLOTS. */
#define STATS_PEAK_SLOTS 8

struct cmdstat {
	uint64_t calls;
	uint64_t nsec; /* summed; INFO shows usec */
	uint64_t rejected_calls;
	uint64_t failed_calls;
};

struct errstat {
	char name[24]; /* "ERR", "WRONGTYPE", ... ; "" = free */
	uint64_t count;
};

struct wstats {
	uint64_t keyspace_hits;
	uint64_t keyspace_misses;
	uint64_t total_commands;
	uint64_t total_connections;
	uint64_t rejected_connections;
	uint64_t net_input_bytes;
	uint64_t net_output_bytes;
	uint64_t total_error_replies;
	uint64_t unexpected_error_replies;
	uint64_t expired_keys;
	uint64_t io_reads;
	uint64_t io_writes;
	uint64_t xcore_msgs_sent;
	uint64_t xcore_holds;	/* holds granted */
	uint64_t xcore_wakeups; /* sleeping peers woken */
	uint64_t loop_turns;
	uint64_t max_loop_gap_us; /* the longest turn, waits excluded */
	uint64_t max_evict_us;	  /* the longest eviction step of a turn */
	struct errstat err[STATS_ERR_KINDS];
	struct cmdstat *cmd; /* cmd_count() entries */
	/* Gauges after cmd, which CONFIG RESETSTAT leaves alone: bytes as
	 * allocated of every client of this core (conn's buffers and the
	 * transport's per-connection state) and of the transport's fixed
	 * per-core buffers.  The owner stores (relaxed), anyone reads. */
	uint64_t mem_clients;
	uint64_t mem_transport;
	uint64_t blocked_clients; /* conn_block.c */
	/* Redis's ClientsPeakMemInput/Output, per core: the largest query
	 * buffer and reply list a client of this core had at a cron visit,
	 * per second (slot: unix seconds % STATS_PEAK_SLOTS; the slot after
	 * the current one is zeroed at every cron).  INFO takes the maximum
	 * over slots and cores. */
	uint64_t peak_in[STATS_PEAK_SLOTS];
	uint64_t peak_out[STATS_PEAK_SLOTS];
} __attribute__((aligned(64)));

/** Count an error reply: text is the error without '-' (its first word
 * names the kind, as INFO errorstats shows it).  Context: owning core. */
void stats_error(struct wstats *s, const char *text, size_t len);

/** Move a gauge (mem_clients, mem_transport) by delta bytes, which may be
 * negative.  Context: the core that owns the wstats. */
static inline void stats_gauge_add(uint64_t *g, int64_t delta)
{
	__atomic_store_n(g, *g + (uint64_t)delta, __ATOMIC_RELAXED);
}

/** Raise a peak gauge to v.  Context: the core that owns the wstats. */
static inline void stats_peak(uint64_t *g, uint64_t v)
{
	if (v > *g)
		__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

#endif
