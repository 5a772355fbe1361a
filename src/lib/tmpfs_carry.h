/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef FERRY_TMPFS_CARRY_H
#define FERRY_TMPFS_CARRY_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/*
 * The container's tmpfs mounts, carried by ferry instead of CRIU.
 *
 * CRIU dumps each tmpfs with `tar --create --gzip` and restores it with
 * `tar --extract --gzip`: two processes (tar and gzip) each way per mount,
 * about 3 ms apiece while the container is frozen, for mounts that usually
 * hold a pid file or nothing.  For a migration ferry declares them external
 * to CRIU and writes their contents itself, in-process, while the tree is
 * frozen (post-dump); the restore mounts a tmpfs with the config's options,
 * fills it, and gives it to CRIU as the external mount.
 *
 * Images: "ferry-tmpfs" lists the carried mount points, one a line; line N
 * (from 0) has its contents in "ferry-tmpfs-N.img".  CRIU's key for each
 * is FERRY_TMPFS_KEY_PREFIX followed by the mount point.
 */
#define FERRY_TMPFS_KEY_PREFIX "ferry-tmpfs:"
#define FERRY_TMPFS_INDEX "ferry-tmpfs"

/*
 * Before the dump, the container running: the config's tmpfs mounts that
 * ferry can carry (not one with a socket or fifo in it, nor a device node
 * other than those create makes for the config), recorded in images_fd's
 * index.  *dests gets them (NULL when none).
 */
int ferry_tmpfs_carry_plan(const ferry_spec_t *spec, pid_t pid, int images_fd, char ***dests, ferry_error_t *err);

/* While the tree is frozen: the contents of every mount in the index. */
int ferry_tmpfs_carry_dump(int images_fd, pid_t pid, ferry_error_t *err);

/*
 * Before the restore: for each mount in the index (none: *n = 0), a tmpfs
 * with the config's options at stage_dir/N, filled from its image.
 * keys[i] ("ferry-tmpfs:DEST") maps to paths[i] for CRIU.  On failure
 * nothing stays mounted.
 */
int ferry_tmpfs_carry_stage(const ferry_spec_t *spec, int images_fd, const char *stage_dir, char ***keys,
			    char ***paths, size_t *n, ferry_error_t *err);

/* After the restore (either way): the staging mounts go (CRIU's binds of
 * them keep the file systems), and the directory with them. */
void ferry_tmpfs_carry_unstage(const char *stage_dir, char **paths);

/* The archive itself: a tree of directories, regular files (holes kept),
 * symlinks and device nodes, with modes, owners and times. */
int ferry_tmpfs_archive(int dir_fd, int out_fd, ferry_error_t *err);
/* Refuses paths out of root_fd, symlinks on the way, device nodes that
 * create would not make for spec (NULL: the default devices only), and anything
 * malformed, naming what is wrong. */
int ferry_tmpfs_extract(int in_fd, int root_fd, const ferry_spec_t *spec, ferry_error_t *err);

#endif
