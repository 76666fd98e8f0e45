/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared between the server-side command files (cmd_server.c, cmd_client.c,
 * cmd_command.c, cmd_info.c). */
#ifndef CACHALOT_CMD_PVT_H
#define CACHALOT_CMD_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"

/* The Redis version cachalot answers as (HELLO, INFO): the command set and
 * replies it implements are those of this release. */
#define CMD_REDIS_VERSION "7.0.15"

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

uint64_t cmd_info_ops_per_sec(void);

#endif
