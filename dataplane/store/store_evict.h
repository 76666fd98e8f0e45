/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_evict: the key eviction of `maxmemory-policy`.  Each owner evicts
 * from its own shard only; the worker loop decides how many bytes each
 * shard gives back (see store_evict.c for how keys are chosen).
 */
#ifndef CACHALOT_STORE_EVICT_H
#define CACHALOT_STORE_EVICT_H

#include <stdint.h>

/* The policies of `maxmemory-policy`, in the order of enum cfg_policy. */
enum store_policy {
	STORE_EVICT_NONE = 0,
	STORE_EVICT_ALLKEYS_LRU,
	STORE_EVICT_ALLKEYS_LFU,
	STORE_EVICT_ALLKEYS_RANDOM,
	STORE_EVICT_VOLATILE_LRU,
	STORE_EVICT_VOLATILE_LFU,
	STORE_EVICT_VOLATILE_RANDOM,
	STORE_EVICT_VOLATILE_TTL,
};

/** Policy and `maxmemory-samples` (1..64).  Context: any thread; owners
 * see it on their next eviction. */
void store_evict_conf(enum store_policy policy, unsigned samples);

/**
 * Evict keys of the shard, as its policy chooses, until `bytes` are freed
 * or `max_keys` keys are gone.  Returns the keys evicted, or -1 when the
 * policy finds nothing to evict (noeviction, or a volatile policy and no
 * key with an expiry).  *freed (may be NULL) gets the bytes freed.
 * Context: owner of the shard.
 */
int store_evict(unsigned shard, uint64_t bytes, unsigned max_keys,
		int64_t now_ms, uint64_t *freed);

#endif
