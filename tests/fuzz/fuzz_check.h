/* SPDX-License-Identifier: BSD-3-Clause */
/* What the fuzz harnesses share. */
#ifndef CACHALOT_FUZZ_CHECK_H
#define CACHALOT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* assert() would vanish under NDEBUG; a fuzzer needs the abort. */
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
