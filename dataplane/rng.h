/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rng: the per-core pseudo-random numbers (xorshift64): sampling for
 * eviction and RANDOMKEY, SPOP/SRANDMEMBER later, ids.  Not for secrets.
 *
 * Threading: the state is the caller's (one per core); no sharing.
 */
#ifndef CACHALOT_RNG_H
#define CACHALOT_RNG_H

#include <stdint.h>

/** The next number from *state (a zero state starts from a constant). */
static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif
