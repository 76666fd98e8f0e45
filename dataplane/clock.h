/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * clock: the server's time sources, in one place.
 *
 * Unix time (expiries, INFO, logs) and monotonic time (durations, poll
 * windows) come from clock_gettime through the vDSO: no syscall, which
 * DPDK mode requires.  Command timing (commandstats, latency) reads the
 * TSC where it is usable, scaled once at start-up by clock_setup:
 * clock_gettime per command cost ~10% of a pipelined GET under perf.
 *
 * Threading: any thread; clock_setup once, before the workers start.
 */
#ifndef CACHALOT_CLOCK_H
#define CACHALOT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline int64_t clock_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_unix_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/** Monotonic microseconds, for durations. */
static inline int64_t clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/** Calibrate the TSC against the monotonic clock (20 ms). */
void clock_setup(void);

extern double clock_tsc_ns_per_tick;
extern bool clock_tsc_usable;

/** A timestamp for durations: TSC ticks, or monotonic ns without a TSC. */
static inline uint64_t clock_ticks(void)
{
#if defined(__x86_64__)
	if (clock_tsc_usable)
		return __builtin_ia32_rdtsc();
#endif
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/** A difference of clock_ticks() in ns. */
static inline uint64_t clock_ticks_to_ns(uint64_t t)
{
	return clock_tsc_usable ? (uint64_t)((double)t * clock_tsc_ns_per_tick)
				: t;
}

#endif
