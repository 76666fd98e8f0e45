/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_host: everything the server command families (INFO, CLIENT, CONFIG
 * RESETSTAT, MEMORY, SHUTDOWN) need from the rest of the process, as one
 * table the process registers at start-up (control/main.c).  The data
 * families depend on store and resp only; with this the server families
 * do not link against conn, worker or the drivers either, so cmd_lib
 * links and is tested on its own, and nothing calls back in a loop.
 *
 * Context: the table is set before the workers start and never changes;
 * each entry says which thread may call it (all: any worker).
 */
#ifndef CACHALOT_CMD_HOST_H
#define CACHALOT_CMD_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

struct wstats;
struct worker;

struct cmd_host {
	/* workers */
	unsigned (*workers)(void);
	struct wstats *(*stats)(unsigned worker); /* read relaxed */
	void (*request_shutdown)(void);
	/* the transport */
	const char *(*transport_name)(void);
	/* INFO's "# Network" lines, or NULL for a transport without them */
	void (*transport_info)(void (*emit)(void *arg, const char *line),
			       void *arg);
	uint64_t (*transport_mem)(void);
	uint64_t (*mempool_mem)(void);
	/* clients */
	unsigned (*clients)(void);
	uint64_t (*clients_mem)(void);
	unsigned long (*obuf_disconnections)(void);
	void (*clients_recent_max)(uint64_t *in, uint64_t *out);
	void (*visit_clients)(conn_visit_fn fn, void *arg);
	int (*client_info)(const struct conn *c, int64_t now_ms, char *buf,
			   size_t size);
	struct conn *(*client_conn)(struct client *cl);
	bool (*kill_client)(struct worker *w, uint64_t id);
	/* CLIENT UNBLOCK (why: CMD_WAKE_TIMEOUT or CMD_HOST_UNBLOCK_ERROR):
	 * whether client id was blocked */
	bool (*unblock_client)(struct worker *w, uint64_t id, unsigned why);
	unsigned (*blocked_clients)(void);
};

#define CMD_HOST_UNBLOCK_ERROR 255 /* conn.h's CONN_UNBLOCK_ERROR */

/** The process's table.  Context: start-up, before any command runs. */
void cmd_host_set(const struct cmd_host *h);

extern const struct cmd_host *cmd_host;

#endif
