/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

struct ring *ring_new(unsigned order)
{
	size_t n = (size_t)1 << order;
	struct ring *r;

	if (order > 24) {
		errno = EINVAL;
		return NULL;
	}
	r = aligned_alloc(64,
			  (sizeof(*r) + n * sizeof(void *) + 63) & ~(size_t)63);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->mask = (uint32_t)n - 1;
	return r;
}

void ring_free(struct ring *r)
{
	free(r);
}
