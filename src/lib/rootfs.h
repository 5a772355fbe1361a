/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's filesystem view, built inside its new mount namespace.
 *
 * Every destination is resolved inside the rootfs without following
 * symlinks out of it (openat2 RESOLVE_IN_ROOT) and mounted through the
 * resulting fd (/proc/self/fd/N), so a hostile image cannot redirect a
 * mount onto the host (the runc CVE-2021-30465 class).
 */
#ifndef FERRY_ROOTFS_H
#define FERRY_ROOTFS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

struct ferry_rootfs_opts {
	const ferry_spec_t *spec;
	const char *bundle; /* absolute; relative bind sources are under it */
	const char *rootfs; /* absolute path of the root filesystem */
	bool no_pivot;      /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	/* Mount sources that are not in the config: used by restore to re-bind
	 * external mounts; NULL here. */
};

/* Before pivot_root, in the new mount namespace: set the propagation of /
 * (linux.rootfsPropagation, default rslave) so nothing leaks to the host,
 * bind the rootfs on itself, perform every mount in spec order (bind/rbind
 * with options and propagation, proc, sysfs, tmpfs (incl. tmpcopyup),
 * devpts, mqueue, cgroup via ferry_cgroup_mount, any other fs type),
 * create the default devices (/dev/null zero full random urandom tty, the
 * /dev/fd, stdin, stdout, stderr, ptmx links) when /dev is not a bind of the
 * host's, and linux.devices (mknod; bind from the host when mknod is not
 * permitted). */
int ferry_rootfs_prepare(const struct ferry_rootfs_opts *o, ferry_error_t *err);

/* pivot_root into the rootfs (or move + chroot with no_pivot), detach the
 * old root, then apply maskedPaths, readonlyPaths and a read-only root. */
int ferry_rootfs_finalize(const struct ferry_rootfs_opts *o, ferry_error_t *err);

/* Opens path inside root_fd without leaving it (RESOLVE_IN_ROOT), creating
 * missing directories (and the last component as a directory or, when
 * is_file, an empty file) with mode 0755/0644.  Returns an O_PATH fd. */
int ferry_rootfs_open_inside(int root_fd, const char *path, bool create, bool is_file, ferry_error_t *err);

#endif
