/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the CRIU stats image decoder (src/lib/criu_stats.c):
 * stats-dump / stats-restore files come from an images directory, which in
 * a migration arrives from another host.
 *
 *   tests/run-all fuzz   (builds build-fuzz with clang, runs every target)
 *   build-fuzz/tests/fuzz/fuzz_criu_stats -max_total_time=30 tests/fuzz/corpus/criu_stats
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_criu_stats st;
	ferry_error_t err = FERRY_ERROR_INIT;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	for (int dump = 0; dump <= 1; dump++) {
		if (ferry_criu_stats_decode(copy, size, dump, &st, &err) == 0) {
			/* A success must have the entry it was asked for. */
			if (dump ? !st.has_dump : !st.has_restore)
				abort();
		} else if (err.msg == NULL) {
			/* Every failure explains itself. */
			abort();
		}
		ferry_error_clear(&err);
	}
	free(copy);
	return 0;
}
