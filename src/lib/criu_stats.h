/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRIU's statistics images (stats-dump, stats-restore), as Podman's
 * --print-stats shows them.  No stats.proto is installed with CRIU, so this
 * is a small protobuf wire decoder for exactly these fields; it has no
 * protobuf-c dependency, which keeps its fuzz target a one-line build.
 */
#ifndef FERRY_CRIU_STATS_H
#define FERRY_CRIU_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Image framing (CRIU's criu/include/magic.h, criu/image.c). */
#define FERRY_CRIU_IMG_SERVICE_MAGIC 0x55105940u
#define FERRY_CRIU_STATS_MAGIC 0x57093306u
/* A stats message is a few dozen bytes; anything near this is not CRIU's. */
#define FERRY_CRIU_STATS_MAX 4096u

/* Times are CRIU's, in microseconds. */
struct ferry_criu_stats {
	bool has_dump;
	uint32_t freezing_time; /* from the start of the freeze until every task is frozen */
	uint32_t frozen_time;   /* how long the tree stayed frozen: the downtime */
	uint32_t memdump_time;  /* collecting pages while frozen */
	uint32_t memwrite_time; /* writing them out (or sending to the page server) */
	uint64_t pages_scanned;
	uint64_t pages_skipped_parent; /* already in the parent (pre-dump) image */
	uint64_t pages_written;
	uint64_t pages_lazy; /* left for the lazy-pages daemon */

	bool has_restore;
	uint64_t pages_compared;
	uint64_t pages_skipped_cow;
	uint32_t forking_time;
	uint32_t restore_time;
	uint64_t pages_restored;
};

/*
 * Decodes a whole stats image held in buf.  dump selects which part must be
 * present (dump: the dump entry, else the restore entry); the other one is
 * decoded too when present.  Every length is checked against the buffer and
 * FERRY_CRIU_STATS_MAX; unknown fields are skipped, malformed ones rejected.
 */
int ferry_criu_stats_decode(const void *buf, size_t len, bool dump, struct ferry_criu_stats *out,
			    ferry_error_t *err);

/* Reads dir_fd/stats-dump (dump) or dir_fd/stats-restore and decodes it.
 * CRIU writes these into the images directory. */
int ferry_criu_read_stats(int dir_fd, bool dump, struct ferry_criu_stats *out, ferry_error_t *err);

#endif
