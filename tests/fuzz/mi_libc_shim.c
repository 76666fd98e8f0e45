/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mimalloc's entry points on top of libc malloc, for the libFuzzer build
 * only: AddressSanitizer does not see inside mimalloc's pages, so without
 * this an overflow of a resp_out buffer or of a TCB would go unnoticed.
 */
#include <malloc.h>
#include <stdlib.h>

void *mi_malloc(size_t n);
void *mi_zalloc(size_t n);
void *mi_calloc(size_t n, size_t m);
void *mi_realloc(void *p, size_t n);
void mi_free(void *p);
size_t mi_usable_size(const void *p);

void *mi_malloc(size_t n)
{
	return malloc(n);
}

void *mi_zalloc(size_t n)
{
	return calloc(1, n);
}

void *mi_calloc(size_t n, size_t m)
{
	return calloc(n, m);
}

void *mi_realloc(void *p, size_t n)
{
	return realloc(p, n);
}

void mi_free(void *p)
{
	free(p);
}

size_t mi_usable_size(const void *p)
{
	return p != NULL ? malloc_usable_size((void *)p) : 0;
}
