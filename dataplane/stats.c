/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "stats.h"

void stats_error(struct wstats *s, const char *text, size_t len)
{
	size_t n = 0;

	while (n < len && n < sizeof(s->err[0].name) - 1 && text[n] != ' ' &&
	       text[n] != '\r')
		n++;
	for (int i = 0; i < STATS_ERR_KINDS; i++) {
		struct errstat *e = &s->err[i];

		if (e->name[0] == '\0') {
			memcpy(e->name, text, n);
			e->name[n] = '\0';
		} else if (strncmp(e->name, text, n) != 0 ||
			   e->name[n] != '\0') {
			continue;
		}
		e->count++;
		return;
	}
}
