/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the pagemap and mm image decoders of ferry's
 * lazy-pages daemon (src/lib/lazy_pages.c): in a migration those images
 * arrive from the source host.  Both decoders get every input (each
 * refuses the other's magic).
 *
 *   tests/run-all fuzz   (builds build-fuzz with clang, runs every target)
 *   build-fuzz/tests/fuzz/fuzz_lazy_images -max_total_time=30 tests/fuzz/corpus/lazy_images
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_pages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_lazy_run *runs = NULL;
	uint64_t *ends = NULL;
	size_t n = 0;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (ferry_lazy_parse_pagemap(copy, size, &runs, &n, &err) == 0) {
		/* What the daemon relies on: page-aligned, non-empty, sorted,
		 * no overlap, no wrap-around. */
		for (size_t i = 0; i < n; i++) {
			uint64_t end = runs[i].vaddr + runs[i].nr_pages * 4096;
			if (runs[i].vaddr % 4096 || runs[i].nr_pages == 0 || end <= runs[i].vaddr)
				abort();
			if (i + 1 < n && runs[i + 1].vaddr < end)
				abort();
		}
	} else if (err.msg == NULL) {
		abort(); /* every failure explains itself */
	}
	ferry_error_clear(&err);
	free(runs);
	if (ferry_lazy_parse_vma_ends(copy, size, &ends, &n, &err) == 0) {
		if (n % 2)
			abort();
		for (size_t i = 0; i < n; i += 2)
			if (ends[i + 1] <= ends[i])
				abort();
	} else if (err.msg == NULL) {
		abort();
	}
	ferry_error_clear(&err);
	free(ends);
	free(copy);
	return 0;
}
