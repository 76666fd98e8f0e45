/* SPDX-License-Identifier: BSD-3-Clause */
#include "clock.h"

double clock_tsc_ns_per_tick = 1.0;
bool clock_tsc_usable;

void clock_setup(void)
{
#if defined(__x86_64__)
	struct timespec a, b, pause = {.tv_nsec = 20 * 1000 * 1000};
	uint64_t t0, t1;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __builtin_ia32_rdtsc();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = __builtin_ia32_rdtsc();
	ns = (double)(b.tv_sec - a.tv_sec) * 1e9 +
	     (double)(b.tv_nsec - a.tv_nsec);
	if (t1 > t0 && ns > 0) {
		clock_tsc_ns_per_tick = ns / (double)(t1 - t0);
		clock_tsc_usable = true;
	}
#endif
}
