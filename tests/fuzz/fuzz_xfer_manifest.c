/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the transfer manifest decoder (src/lib/xfer.c): the
 * manifest comes from the peer host and decides what the receiver, as
 * root, creates below the destination.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/lib \
 *     tests/fuzz/fuzz_xfer_manifest.c src/lib/xfer.c src/lib/error.c src/lib/log.c src/lib/util.c \
 *     -ljansson -o fuzz_xfer_manifest
 *   ./fuzz_xfer_manifest -max_total_time=30 tests/fuzz/corpus/xfer_manifest
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
entries_equal(const struct ferry_xfer_manifest *a, const struct ferry_xfer_manifest *b)
{
	if (a->n != b->n || a->total_bytes != b->total_bytes)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ferry_xfer_entry *x = &a->v[i], *y = &b->v[i];

		if (strcmp(x->path, y->path) || x->mode != y->mode || x->uid != y->uid || x->gid != y->gid ||
		    x->size != y->size || x->mtime_sec != y->mtime_sec || x->mtime_nsec != y->mtime_nsec)
			return false;
		if ((x->link == NULL) != (y->link == NULL) || (x->link && strcmp(x->link, y->link)))
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_xfer_manifest m = { 0 }, back = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;
	json_error_t jerr;
	/* JSON_ALLOW_NUL: let "\u0000" through to the decoder, which must
	 * refuse it in paths and link targets itself. */
	json_t *j = json_loadb((const char *) data, size, JSON_ALLOW_NUL, &jerr);
	json_t *again;

	if (j == NULL)
		return 0;
	if (ferry_xfer_manifest_from_json(j, &m, &err) < 0) {
		/* Every failure explains itself and leaves nothing behind. */
		if (err.msg == NULL || m.v != NULL || m.n != 0)
			abort();
		ferry_error_clear(&err);
		json_decref(j);
		return 0;
	}
	/* What a successful decode promises the receiver. */
	if (m.n == 0 || m.v[0].path[0] != '\0')
		abort();
	for (size_t i = 0; i < m.n; i++) {
		uint32_t type = m.v[i].mode & S_IFMT;

		if (!ferry_xfer_path_ok(m.v[i].path) || (type != S_IFREG && type != S_IFDIR && type != S_IFLNK) ||
		    (m.v[i].mode & ~(uint32_t) (S_IFMT | 07777)) || m.v[i].size > FERRY_XFER_MAX_FILE ||
		    (type == S_IFLNK) != (m.v[i].link != NULL))
			abort();
	}
	/* Round trip: the encoder gives back the same document (every key is
	 * required or tied to the type, so there is no default to lose), and
	 * decoding that gives the same manifest. */
	again = ferry_xfer_manifest_to_json(&m);
	if (again == NULL || !json_equal(j, again))
		abort();
	if (ferry_xfer_manifest_from_json(again, &back, &err) < 0 || !entries_equal(&m, &back))
		abort();
	json_decref(again);
	json_decref(j);
	ferry_xfer_manifest_free(&m);
	ferry_xfer_manifest_free(&back);
	ferry_error_clear(&err);
	return 0;
}
