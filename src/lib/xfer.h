/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Moving a directory tree between hosts without trusting the peer.
 *
 * The sender describes its tree in a manifest; the receiver compares it
 * with what it already has, makes directories and symlinks itself, and asks
 * only for the regular files whose size or mtime differ (a rootfs already
 * present is not sent again).  Everything the receiver creates is confined
 * to the directory it was given: a path from the peer is relative, has no
 * "." or ".." components and no empty ones, and is resolved below the
 * directory without following any symlink (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS); only regular files, directories and symlinks are
 * accepted (device nodes, fifos and sockets are refused, hard links arrive
 * as separate files).  Symlink *targets* are stored as given: they are
 * resolved later inside the container's root, never by ferry.
 */
#ifndef FERRY_XFER_H
#define FERRY_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"

/* Limits on what a peer may ask us to create. */
#define FERRY_XFER_MAX_ENTRIES (1u << 20)
#define FERRY_XFER_MAX_PATH 4095
#define FERRY_XFER_MAX_FILE (UINT64_C(1) << 40)

struct ferry_xfer_entry {
	char *path;       /* relative, "" is the top directory itself */
	uint32_t mode;    /* st_mode with the type bits: S_IFREG, S_IFDIR or S_IFLNK */
	uint32_t uid, gid;
	uint64_t size;    /* regular files; 0 otherwise */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char *link;       /* symlink target, NULL otherwise */
};

struct ferry_xfer_manifest {
	struct ferry_xfer_entry *v; /* parents before children (pre-order) */
	size_t n;
	uint64_t total_bytes;       /* sum of regular file sizes */
};

void ferry_xfer_manifest_free(struct ferry_xfer_manifest *m);
#define _cleanup_manifest_ __attribute__((cleanup(ferry_xfer_manifest_free)))

/* True when p is acceptable as an entry path (see above). */
bool ferry_xfer_path_ok(const char *p);

/*
 * Walks the tree below dirfd (not following symlinks, not crossing into
 * other filesystems when one_fs) into m, pre-order.  Entries of other types
 * (devices, fifos, sockets) are skipped and counted in *skipped (may be
 * NULL).  ignore: NULL-terminated list of relative paths not to descend
 * into or list (may be NULL).
 */
int ferry_xfer_scan(int dirfd, bool one_fs, const char *const *ignore, struct ferry_xfer_manifest *m,
		    size_t *skipped, ferry_error_t *err);

/* The manifest as JSON: {"entries":[{"p":..,"m":..,"u":..,"g":..,"s":..,"t":..,"n":..,"l":..}]}
 * and back.  from_json validates everything (paths, types, sizes, limits,
 * parents listed before children, no duplicates) and names the first
 * offending entry in the error. */
/* The checks every manifest from a peer passes (from_json runs them). */
int ferry_xfer_manifest_check(struct ferry_xfer_manifest *m, ferry_error_t *err);

json_t *ferry_xfer_manifest_to_json(const struct ferry_xfer_manifest *m);
int ferry_xfer_manifest_from_json(const json_t *j, struct ferry_xfer_manifest *m, ferry_error_t *err);

/*
 * Receiver: brings the tree below dirfd in line with want, except for the
 * contents of regular files: creates missing directories, replaces symlinks
 * and entries of the wrong type, fixes mode/owner/mtime of directories and
 * symlinks, and with prune removes what want does not list.  Fills *need
 * (malloc'd indices into want->v, ascending) with the regular files that are
 * missing or whose size or mtime differ, and *need_bytes with their total.
 */
int ferry_xfer_prepare(int dirfd, const struct ferry_xfer_manifest *want, bool prune, size_t **need, size_t *n_need,
		       uint64_t *need_bytes, ferry_error_t *err);

/*
 * Sets the mtime of every directory in want, deepest first.  Creating or
 * removing anything in a directory changes its mtime, so the receiver calls
 * this last, after every file has been received (prepare calls it too, for
 * the case where no file is needed).
 */
int ferry_xfer_finish_dirs(int dirfd, const struct ferry_xfer_manifest *want, ferry_error_t *err);

/* True when the tree below dirfd already matches want exactly (no file to
 * send, nothing to create or remove); does not change anything. */
int ferry_xfer_matches(int dirfd, const struct ferry_xfer_manifest *want, bool *matches, ferry_error_t *err);

/*
 * Receiver: opens e->path below dirfd for writing (created 0600 and
 * truncated; an existing symlink or non-regular entry there is replaced),
 * confined as described above.  Returns the fd (O_CLOEXEC).  After the
 * content is written, ferry_xfer_recv_finish() checks the size written
 * equals e->size and sets mode, owner and mtime from e.
 */
int ferry_xfer_recv_open(int dirfd, const struct ferry_xfer_entry *e, ferry_error_t *err);
int ferry_xfer_recv_finish(int fd, const struct ferry_xfer_entry *e, uint64_t written, ferry_error_t *err);

/* Sender: opens e->path below dirfd for reading (O_NOFOLLOW, confined),
 * checking it is still a regular file. */
int ferry_xfer_send_open(int dirfd, const struct ferry_xfer_entry *e, ferry_error_t *err);

#endif
