/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Library-internal: the pieces of the rootfs setup shared by rootfs.c
 * (the phases: prepare, pivot_root, masked/readonly paths), mounts.c (one
 * spec mount) and devices.c (device nodes).  Not for callers outside
 * src/lib; they use rootfs.h.
 */
#ifndef FERRY_MOUNTS_H
#define FERRY_MOUNTS_H

#include <stdbool.h>

#include "error.h"
#include "rootfs.h"
#include "spec.h"

/* The state of one ferry_rootfs_prepare() or _finalize() call.  It lives on
 * that call's stack and every fd in it is closed before the call returns. */
struct ferry_rootfs_ctx {
	const struct ferry_rootfs_opts *o;
	/* O_PATH: the container's root.  Before pivot_root this is the rootfs
	 * bind mount (so mounts made below it are seen when resolving through
	 * it), afterwards "/". */
	int root_fd;
	/* Where root_fd is, as the kernel names it ("/" after pivot_root). */
	char *root_path;
	/* O_PATH: a procfs, checked by its magic number, through which fds are
	 * named for mount(2) (see ferry_rootfs_mount()). */
	int proc_fd;
	/* O_PATH: the directory to return to after a mount through proc_fd. */
	int cwd_fd;
};

/* A path's lexical normal form: one leading "/", no "//", "." or trailing
 * "/", ".." folded (never above "/").  "dev/" and "/dev/." give "/dev". */
char *ferry_path_clean(const char *path);

/* mount(2) onto (and from) O_PATH fds.  mount(2) takes only paths, so each
 * fd is named by its magic link "self/fd/N", looked up from c->proc_fd: the
 * kernel follows such a link to the very object the fd holds instead of
 * resolving a path again, so the mount lands exactly where openat2 with
 * RESOLVE_IN_ROOT took us, whatever symlinks the image holds.  The lookup
 * starts from a procfs checked by f_type, not from "/proc" of the current
 * root, which after pivot_root is whatever the container put there.
 * src_fd < 0: source is taken as given; dst_fd < 0 is not allowed.
 * Returns -1 with errno set. */
int ferry_rootfs_mount(const struct ferry_rootfs_ctx *c, const char *source, int src_fd, int dst_fd,
		       const char *fstype, unsigned long flags, const void *data);

/* Changes the per-mount flags of the mount whose root dst_fd is, with
 * MS_BIND|MS_REMOUNT (which sets exactly the flags given).
 *  keep_current: also keep nosuid/nodev/noexec the mount has now (for "make
 *    this read-only" without weakening anything else).
 *  On EPERM (flags locked because the mount came from a more privileged
 *  user namespace) it retries with the locked flags the mount has, unless
 *  `clear` asks to clear one of them.
 * Returns -1 with errno set. */
int ferry_rootfs_remount(const struct ferry_rootfs_ctx *c, int dst_fd, unsigned long flags, unsigned long clear,
			 bool keep_current);

/* The path the kernel gives for fd (readlink of its magic link); NULL with
 * errno set on failure. */
char *ferry_rootfs_fd_path(const struct ferry_rootfs_ctx *c, int fd);

/* Resolves path inside c->root_fd like ferry_rootfs_open_inside(), with
 * extra RESOLVE_* flags (RESOLVE_NO_SYMLINKS for proc and sysfs). */
int ferry_rootfs_open_inside_flags(int root_fd, const char *path, bool create, bool is_file,
				   unsigned long long extra_resolve, ferry_error_t *err);

/* True when the spec mounts something from the host with a bind at /dev:
 * then the host's nodes are used and none are created. */
bool ferry_mounts_dev_is_bind(const ferry_spec_t *spec);
/* True for a bind mount (type "bind", or a "bind"/"rbind" option). */
bool ferry_mount_is_bind(const struct ferry_mount *m);

/* mounts.c: performs one spec mount inside c->root_fd.  Errors read
 * "mount tmpfs on /run: ..." or "bind /src on /dst: ...". */
int ferry_mounts_apply(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err);

/* devices.c: the default devices and links, then linux.devices. */
int ferry_devices_create(const struct ferry_rootfs_ctx *c, ferry_error_t *err);
/* A node of this type (S_IFCHR or S_IFBLK) and number is one create makes
 * for spec: a default device or one of linux.devices. */
bool ferry_devices_made(const ferry_spec_t *spec, mode_t type, dev_t dev);

#endif
