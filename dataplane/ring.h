/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring: a bounded single-producer single-consumer ring of pointers, one per
 * ordered pair of cores.  The producer stages entries and publishes them in
 * one release store per batch (ring_publish); the consumer reads everything
 * published and returns the space in one store per batch (ring_consumed).
 * Each side's index lives on its own cache line, with a private cached copy
 * of the other side's index so the shared lines are touched once per batch.
 *
 * Threading: exactly one producer thread and one consumer thread.
 */
#ifndef CACHALOT_RING_H
#define CACHALOT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	/* producer line */
	uint32_t tail_pub __attribute__((aligned(64))); /* published tail */
	uint32_t tail;	     /* staged, private to the producer */
	uint32_t head_cache; /* producer's view of head */
	/* consumer line */
	uint32_t head __attribute__((aligned(64))); /* consumed up to */
	uint32_t tail_cache; /* consumer's view of tail_pub */
	uint32_t mask __attribute__((aligned(64)));
	void *slot[];
};

/** A ring of 2^order entries, or NULL with errno set.  Context: start-up. */
struct ring *ring_new(unsigned order);
void ring_free(struct ring *r);

/** Stage one entry; false when full (nothing staged).  Context: producer. */
static inline bool ring_put(struct ring *r, void *p)
{
	if (r->tail - r->head_cache > r->mask) {
		r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (r->tail - r->head_cache > r->mask)
			return false;
	}
	r->slot[r->tail & r->mask] = p;
	r->tail++;
	return true;
}

/** Free entries the producer may still stage.  Context: producer. */
static inline uint32_t ring_space(struct ring *r)
{
	r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	return r->mask + 1 - (r->tail - r->head_cache);
}

/** True when staged entries wait to be published.  Context: producer. */
static inline bool ring_staged(const struct ring *r)
{
	return r->tail != r->tail_pub;
}

/** Make staged entries visible to the consumer.  Context: producer. */
static inline void ring_publish(struct ring *r)
{
	__atomic_store_n(&r->tail_pub, r->tail, __ATOMIC_RELEASE);
}

/** Next published entry or NULL.  Context: consumer. */
static inline void *ring_get(struct ring *r)
{
	if (r->head == r->tail_cache) {
		r->tail_cache = __atomic_load_n(&r->tail_pub, __ATOMIC_ACQUIRE);
		if (r->head == r->tail_cache)
			return NULL;
	}
	void *p = r->slot[r->head & r->mask];
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
	return p;
}

/** True when the consumer has something to read.  Context: any thread. */
/* Producer side: whether the consumer has taken everything published. */
static inline bool ring_drained(const struct ring *r)
{
	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == r->tail;
}

static inline bool ring_readable(struct ring *r)
{
	return __atomic_load_n(&r->tail_pub, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->head, __ATOMIC_RELAXED);
}

#endif
