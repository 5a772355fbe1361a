/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sending a directory tree over a migration session: MANIFEST, NEED,
 * FILE_DATA..., FILES_DONE, SYNCED (docs/wire.md).  The receiver decides
 * what it needs (xfer.h), so an unchanged rootfs costs one manifest.
 */
#ifndef FERRY_TRANSFER_H
#define FERRY_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "tls.h"
#include "xfer.h"

struct ferry_transfer_stats {
	uint64_t files;       /* regular files sent */
	uint64_t bytes;       /* their content */
	uint64_t total_bytes; /* what the tree holds */
	uint64_t entries;
};

/* Called after every chunk sent, for a progress line. */
typedef void (*ferry_transfer_progress_fn)(uint64_t done, uint64_t total, void *data);

int ferry_transfer_send_tree(ferry_tls_t *t, int dirfd, const char *tree, bool final, const char *const *ignore,
			     ferry_transfer_progress_fn progress, void *progress_data, struct ferry_transfer_stats *st,
			     ferry_error_t *err);

/*
 * Receiver, after a MANIFEST record was decoded into msg: brings dirfd in
 * line (prune removes what the sender does not have), answers NEED, writes
 * the files as they come, answers SYNCED.  max_bytes bounds what the peer
 * may make us write (0: no bound).
 */
/*
 * Where received files go.  prepare says which entries to ask for; open
 * gives a descriptor to write entry idx into (closed by the caller after
 * finish); done completes the tree (directory modes and times).  The
 * receiving side of the privilege-separated agent forwards these to the
 * root monitor, which owns the directories.
 */
struct ferry_transfer_sink {
	int (*prepare)(void *data, const struct ferry_xfer_manifest *m, size_t **need, size_t *n_need,
		       uint64_t *need_bytes, ferry_error_t *err);
	int (*open)(void *data, const struct ferry_xfer_manifest *m, size_t idx, ferry_error_t *err);
	int (*finish)(void *data, int fd, const struct ferry_xfer_manifest *m, size_t idx, uint64_t written,
		      ferry_error_t *err);
	int (*done)(void *data, const struct ferry_xfer_manifest *m, ferry_error_t *err);
	void *data;
};

int ferry_transfer_recv(ferry_tls_t *t, const json_t *msg, const struct ferry_transfer_sink *sink,
			struct ferry_transfer_stats *st, ferry_error_t *err);

int ferry_transfer_recv_tree(ferry_tls_t *t, int dirfd, const json_t *msg, bool prune, uint64_t max_bytes,
			     struct ferry_transfer_stats *st, ferry_error_t *err);

#endif
