/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device nodes in the container's /dev: the defaults every OCI container
 * gets, the /dev/fd, stdio, ptmx and core links, then linux.devices.
 *
 * Which devices the container may *use* is the devices cgroup's business;
 * here only the nodes are made.  Every node is made through the fd of its
 * directory, resolved inside the rootfs, by a single name (mknodat never
 * follows a symlink in the last component), so an image's /dev holding a
 * symlink to the host's /dev cannot make us create or chown a node there.
 */
#define LOG_PREFIX "rootfs: "

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"
#include "util.h"

struct node {
	const char *path; /* in the container, and on the host for the bind fallback */
	mode_t mode;      /* S_IF* | permissions */
	dev_t dev;
	uid_t uid;
	gid_t gid;
};

static const struct {
	const char *path;
	unsigned int major, minor;
} default_devices[] = {
	{ "/dev/null", 1, 3 },	  { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

/* mknod is refused (EPERM) in a user namespace.  As runc: bind the host's
 * node onto an empty file instead.  Only when the host's node is the very
 * device asked for: the host path is the container path, and binding
 * whatever the host has there under the device's name would be wrong. */
static int
bind_host_node(const struct ferry_rootfs_ctx *c, int parent, const char *base, const struct node *n,
	       ferry_error_t *err)
{
	_cleanup_close_ int host = open(n->path, O_PATH | O_CLOEXEC);
	_cleanup_close_ int target = -1;
	struct stat st;
	int f;

	if (host < 0 || fstat(host, &st) < 0)
		return ferry_error_sys(err, "mknod not permitted, and the host's %s", n->path);
	if ((st.st_mode & S_IFMT) != (n->mode & S_IFMT) || st.st_rdev != n->dev)
		return ferry_error_set(err, EPERM, "mknod not permitted, and the host's %s is another device (%u:%u)",
				       n->path, major(st.st_rdev), minor(st.st_rdev));
	f = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (f < 0)
		return ferry_error_sys(err, "create a file to bind the host's node on");
	close(f);
	target = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return ferry_error_sys(err, "open the file to bind the host's node on");
	if (ferry_rootfs_mount(c, NULL, host, target, NULL, MS_BIND, NULL) < 0)
		return ferry_error_sys(err, "bind the host's %s", n->path);
	return 0;
}

static int
make_node(const struct ferry_rootfs_ctx *c, const struct node *n, ferry_error_t *err)
{
	_cleanup_free_ char *clean = ferry_path_clean(n->path);
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int parent = -1;
	const char *base;
	char *slash;
	struct stat st;

	if (strcmp(clean, "/") == 0)
		return ferry_error_set(err, EINVAL, "device %s: not a file path", n->path);
	slash = strrchr(clean, '/');
	base = slash + 1;
	dir = slash == clean ? xstrdup("/") : strndup(clean, slash - clean);
	if (dir == NULL)
		abort();
	parent = ferry_rootfs_open_inside(c->root_fd, dir, true, false, err);
	if (parent < 0)
		return ferry_error_prefix(err, "device %s", n->path);

	/* Something already there (an image's /dev that is not a tmpfs) is
	 * replaced: left alone, a regular file or a symlink would stand where
	 * the container expects the device. */
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return ferry_error_set(err, EEXIST, "device %s: a directory is there", n->path);
		if (unlinkat(parent, base, 0) < 0) {
			/* A mount on it: the config's own bind of the node. */
			if (errno == EBUSY)
				return 0;
			return ferry_error_sys(err, "device %s: remove what is there", n->path);
		}
	}
	/* umask is 0 here (ferry_rootfs_prepare), so the mode is exact. */
	if (mknodat(parent, base, n->mode, n->dev) < 0) {
		if (errno == EPERM && (S_ISCHR(n->mode) || S_ISBLK(n->mode)))
			return bind_host_node(c, parent, base, n, err) < 0 ? ferry_error_prefix(err, "device %s", n->path)
									  : 0;
		return ferry_error_sys(err, "device %s: mknod", n->path);
	}
	if ((n->uid != 0 || n->gid != 0) && fchownat(parent, base, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return ferry_error_sys(err, "device %s: chown %u:%u", n->path, (unsigned int) n->uid,
				       (unsigned int) n->gid);
	return 0;
}

static int
spec_node(const struct ferry_device *d, struct node *n, ferry_error_t *err)
{
	mode_t type;

	switch (d->type) {
	case 'c':
	case 'u': /* "unbuffered" character device: a character device */
		type = S_IFCHR;
		break;
	case 'b':
		type = S_IFBLK;
		break;
	case 'p':
		type = S_IFIFO;
		break;
	default:
		return ferry_error_set(err, EINVAL, "device %s: unknown type '%c'", d->path, d->type);
	}
	if (type != S_IFIFO && (d->major < 0 || d->minor < 0 || d->major > 0xfff || d->minor > 0xfffff))
		return ferry_error_set(err, EINVAL, "device %s: number %lld:%lld out of range", d->path,
				       (long long) d->major, (long long) d->minor);
	n->path = d->path;
	/* fileMode holds the permission bits (a type in it is ignored); the
	 * default is runc's. */
	n->mode = type | (d->has_mode ? d->file_mode & 07777 : 0666);
	n->dev = type == S_IFIFO ? 0 : makedev((unsigned int) d->major, (unsigned int) d->minor);
	n->uid = d->has_uid ? d->uid : 0;
	n->gid = d->has_gid ? d->gid : 0;
	return 0;
}

static bool
spec_has_device(const ferry_spec_t *spec, const char *path)
{
	for (size_t i = 0; i < spec->linux_.n_devices; i++) {
		_cleanup_free_ char *p = NULL;

		if (spec->linux_.devices[i].path == NULL)
			continue;
		p = ferry_path_clean(spec->linux_.devices[i].path);
		if (strcmp(p, path) == 0)
			return true;
	}
	return false;
}

bool
ferry_devices_made(const ferry_spec_t *spec, mode_t type, dev_t dev)
{
	if (type == S_IFCHR)
		for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
			if (dev == makedev(default_devices[i].major, default_devices[i].minor))
				return true;
	for (size_t i = 0; spec && i < spec->linux_.n_devices; i++) {
		const struct ferry_device *d = &spec->linux_.devices[i];
		mode_t t = d->type == 'b' ? S_IFBLK : d->type == 'c' || d->type == 'u' ? S_IFCHR : 0;

		if (t == type && d->major >= 0 && d->minor >= 0 && d->major <= 0xfff && d->minor <= 0xfffff &&
		    dev == makedev((unsigned int) d->major, (unsigned int) d->minor))
			return true;
	}
	return false;
}

static int
make_links(const struct ferry_rootfs_ctx *c, ferry_error_t *err)
{
	_cleanup_close_ int dev = ferry_rootfs_open_inside(c->root_fd, "/dev", true, false, err);
	_cleanup_close_ int kcore = -1;
	ferry_error_t probe = FERRY_ERROR_INIT;

	if (dev < 0)
		return -1;
	/* An existing link or file of the same name is the image's choice
	 * and is kept (runc does the same). */
	for (size_t i = 0; i < ARRAY_SIZE(default_links); i++)
		if (symlinkat(default_links[i].target, dev, default_links[i].name) < 0 && errno != EEXIST)
			return ferry_error_sys(err, "symlink /dev/%s", default_links[i].name);
	/* /proc/kcore exists only when /proc is mounted (and the kernel has
	 * CONFIG_PROC_KCORE). */
	kcore = ferry_rootfs_open_inside(c->root_fd, "/proc/kcore", false, false, &probe);
	ferry_error_clear(&probe);
	if (kcore >= 0 && symlinkat("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
		return ferry_error_sys(err, "symlink /dev/core");
	/* /dev/ptmx must lead to the container's own devpts instance
	 * (newinstance), not to a host multiplexer an image put there. */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT) {
		if (errno == EBUSY) /* the config binds a ptmx of its own */
			return 0;
		return ferry_error_sys(err, "remove /dev/ptmx");
	}
	if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
		return ferry_error_sys(err, "symlink /dev/ptmx");
	return 0;
}

int
ferry_devices_create(const struct ferry_rootfs_ctx *c, ferry_error_t *err)
{
	const ferry_spec_t *spec = c->o->spec;

	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		struct node n = {
			.path = default_devices[i].path,
			.mode = S_IFCHR | 0666,
			.dev = makedev(default_devices[i].major, default_devices[i].minor),
		};

		/* The config's entry for the same path wins. */
		if (spec_has_device(spec, n.path))
			continue;
		if (make_node(c, &n, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < spec->linux_.n_devices; i++) {
		struct node n;

		if (spec->linux_.devices[i].path == NULL)
			return ferry_error_set(err, EINVAL, "linux.devices[%zu]: no path", i);
		if (spec_node(&spec->linux_.devices[i], &n, err) < 0 || make_node(c, &n, err) < 0)
			return -1;
	}
	return make_links(c, err);
}
