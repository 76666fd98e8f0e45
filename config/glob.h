/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * glob: Redis's pattern matching (stringmatchlen): '*', '?', '[a-z]',
 * '[^x]', '\' escapes.  Used by KEYS, SCAN MATCH and CONFIG GET.
 *
 * Threading: pure function.
 */
#ifndef CACHALOT_GLOB_H
#define CACHALOT_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/** True when s[0..slen) matches pat[0..patlen). */
bool glob_match(const char *pat, size_t patlen, const char *s, size_t slen,
		bool nocase);

#endif
