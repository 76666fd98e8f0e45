/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log: the engine log, in redis-server's line format
 * ("pid:R 22 Nov 2026 02:30:03.123 * message") so existing log tooling
 * reads it.  Levels follow `loglevel`; the destination is `logfile` or
 * stdout.  One write(2) per line, so lines from several threads never mix.
 *
 * Threading: any thread.  Not for the per-request path.
 */
#ifndef CACHALOT_LOG_H
#define CACHALOT_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

/** Send lines to path ("" or NULL: stdout).  Returns 0 or -errno. */
int log_open(const char *path);
void log_set_level(int level);
/** role: 'M' main/control thread, 'W' worker. */
void log_msg(int level, char role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_notice(...) log_msg(LOG_NOTICE, 'M', __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, 'M', __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, 'M', __VA_ARGS__)
#define log_worker(...) log_msg(LOG_NOTICE, 'W', __VA_ARGS__)

#endif
