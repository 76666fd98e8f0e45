/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slot: Redis Cluster key hashing.  A key's slot is CRC16 (XMODEM, as Redis
 * Cluster specifies) of the key, or of the first non-empty "{tag}" in it,
 * modulo 16384.  The same numbers route keys to worker cores on one machine
 * and to nodes in a cluster.
 *
 * Threading: pure functions.
 */
#ifndef CACHALOT_SLOT_H
#define CACHALOT_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

/** CRC16-CCITT (XMODEM: poly 0x1021, init 0) of buf[0..len). */
uint16_t slot_crc16(const void *buf, size_t len);

/** The hash slot of a key, honouring {hash tags}.  Returns 0..16383. */
uint16_t slot_of(const void *key, size_t len);

#endif
