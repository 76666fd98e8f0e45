/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Short names for key-spec flags, so a .def line reads like Redis's
 * command JSON ("RW | ACCESS | DELETE").  Include only in a file that
 * includes .def tables (cmd_table.c, tests), after every other header.
 */
#ifndef CACHALOT_ROUTE_KS_NAMES_H
#define CACHALOT_ROUTE_KS_NAMES_H

#include "route/route_keys.h"

#define KS ROUTE_KS
#define KSN ROUTE_KSN
#define RO ROUTE_KS_RO
#define RW ROUTE_KS_RW
#define OW ROUTE_KS_OW
#define RM ROUTE_KS_RM
#define ACCESS ROUTE_KS_ACCESS
#define UPDATE ROUTE_KS_UPDATE
#define INSERT ROUTE_KS_INSERT
#define DELETE ROUTE_KS_DELETE
#define NOT_KEY ROUTE_KS_NOT_KEY
#define INCOMPLETE ROUTE_KS_INCOMPLETE
#define VARIABLE_FLAGS ROUTE_KS_VARIABLE_FLAGS

#endif
