/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One mount of config.json's "mounts", performed inside the rootfs before
 * pivot_root.
 *
 * Each destination is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT,
 * creating what is missing) and mounted on through its fd; after a mount
 * the destination is resolved again, because the fd we had still names the
 * directory now covered, and flags or propagation must be changed on the
 * new mount, not on what it hides.
 */
#define LOG_PREFIX "rootfs: "

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "mounts.h"
#include "util.h"

/* Deeper trees than this in a tmpcopyup source are refused rather than
 * recursed into (the image chooses the depth). */
#define COPYUP_MAX_DEPTH 128

/* What only the mount call itself uses: everything else in m->flags is
 * about the per-mount flags and goes to the remount. */
#define NOT_MOUNT_FLAGS (MS_BIND | MS_REC | MS_REMOUNT | MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

bool
ferry_mount_is_bind(const struct ferry_mount *m)
{
	return m->bind || (m->type && strcmp(m->type, "bind") == 0) || (m->flags & MS_BIND);
}

bool
ferry_mounts_dev_is_bind(const ferry_spec_t *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		_cleanup_free_ char *dest = NULL;

		if (m->destination == NULL || !ferry_mount_is_bind(m))
			continue;
		dest = ferry_path_clean(m->destination);
		if (strcmp(dest, "/dev") == 0)
			return true;
	}
	return false;
}

static bool
is_dev(const struct ferry_mount *m)
{
	_cleanup_free_ char *dest = ferry_path_clean(m->destination);

	return strcmp(dest, "/dev") == 0;
}

/* True when a comma-separated option list has `key=...`. */
static bool
data_has_key(const char *data, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = data; p && *p;) {
		const char *e = strchrnul(p, ',');

		if ((size_t) (e - p) > n && strncmp(p, key, n) == 0 && p[n] == '=')
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* "ro,nosuid" as written in the config, for messages. */
static char *
options_text(const struct ferry_mount *m)
{
	size_t len = 1;
	char *s;

	for (char **o = m->options; o && *o; o++)
		len += strlen(*o) + 1;
	s = xmalloc0(len);
	for (char **o = m->options; o && *o; o++) {
		if (*s)
			strcat(s, ",");
		strcat(s, *o);
	}
	return s;
}

/* Where fd lies inside the rootfs ("/proc/sys"), from the kernel's name
 * for it.  Also the last line of defence: a destination that resolved
 * outside the rootfs is refused here, whatever went wrong before. */
static char *
path_inside(const struct ferry_rootfs_ctx *c, int fd, ferry_error_t *err)
{
	_cleanup_free_ char *real = ferry_rootfs_fd_path(c, fd);
	size_t n = strlen(c->root_path);

	if (real == NULL) {
		ferry_error_sys(err, "read the resolved path");
		return NULL;
	}
	if (strcmp(c->root_path, "/") == 0)
		return steal_pointer(&real);
	if (strncmp(real, c->root_path, n) != 0 || (real[n] != '/' && real[n] != '\0')) {
		ferry_error_set(err, EXDEV, "resolved to %s, outside the rootfs %s", real, c->root_path);
		return NULL;
	}
	return xstrdup(real[n] ? real + n : "/");
}

/* Mounts over /proc's own files would defeat masks and LSM attributes
 * (runc's CVE-2019-16884: a volume on /proc/self/attr).  As runc: at /proc
 * itself only a procfs (mounted, or bound from one), inside it only the
 * files lxcfs emulates. */
static int
check_proc_dest(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, int dst_fd, int src_fd,
		ferry_error_t *err)
{
	static const char *const lxcfs_files[] = {
		"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
		"/proc/swaps",	 "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
		"/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
	};
	_cleanup_free_ char *inside = path_inside(c, dst_fd, err);

	if (inside == NULL)
		return -1;
	if (strcmp(inside, "/proc") == 0) {
		struct statfs st;

		if (src_fd < 0)
			return 0;
		if (fstatfs(src_fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC)
			return 0;
		return ferry_error_set(err, EPERM, "only a procfs may be mounted on /proc");
	}
	if (strncmp(inside, "/proc/", 6) != 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(lxcfs_files); i++)
		if (strcmp(inside, lxcfs_files[i]) == 0)
			return 0;
	return ferry_error_set(err, EPERM, "%s is inside /proc, where only lxcfs-style files may be mounted", inside);
}

static int
set_propagation(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, int fd, ferry_error_t *err)
{
	if (m->propagation == 0)
		return 0;
	if (ferry_rootfs_mount(c, NULL, -1, fd, NULL, m->propagation, NULL) < 0)
		return ferry_error_sys(err, "set propagation");
	return 0;
}

/* The destination again, now that something is mounted on it. */
static int
reopen_dest(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	int fd = ferry_rootfs_open_inside(c->root_fd, m->destination, false, false, err);

	if (fd < 0)
		ferry_error_prefix(err, "after mounting");
	return fd;
}

static bool
needs_remount(const struct ferry_mount *m)
{
	return (m->flags & ~NOT_MOUNT_FLAGS) != 0 || m->clear != 0;
}

static int
remount_with_options(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, int fd, unsigned long flags,
		     ferry_error_t *err)
{
	_cleanup_free_ char *opts = NULL;

	if (ferry_rootfs_remount(c, fd, flags, m->clear, false) == 0)
		return 0;
	opts = options_text(m);
	return ferry_error_sys(err, "remount with %s", *opts ? opts : "its options");
}

/* ---- bind ------------------------------------------------------------- */

/* A user namespace holding the mount's uidMappings/gidMappings, for an
 * idmapped mount: a child unshares one, we write its maps (we hold the
 * capabilities over it), keep a reference to it and let the child go. */
static int
idmap_userns(const struct ferry_mount *m, ferry_error_t *err)
{
	int go[2], ready[2], fd = -1;
	pid_t pid;
	char c = 0;

	if (pipe2(go, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "idmap: pipe");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return ferry_error_sys(err, "idmap: pipe");
	}
	char procpid[32] = "";
	ssize_t n;

	pid = fork();
	if (pid == 0) {
		/* Our pid as the mounted /proc knows it: the init may already be
		 * in a new pid namespace while /proc is still the host's. */
		char buf[33] = "e";
		ssize_t l;
		close(go[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER) == 0 && (l = readlink("/proc/self", buf + 1, sizeof(buf) - 2)) > 0) {
			buf[0] = 'u';
			buf[l + 1] = '\0';
		}
		if (write(ready[1], buf, strlen(buf)) <= 0 || read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (pid < 0) {
		ferry_error_sys(err, "idmap: fork");
		goto out;
	}
	n = read(ready[0], procpid, sizeof(procpid) - 1);
	if (n < 2 || procpid[0] != 'u') {
		ferry_error_set(err, EPERM, "idmap: cannot make a user namespace for the mapping");
		goto out;
	}
	procpid[n] = '\0';
	{
		_cleanup_free_ char *dir = xasprintf("/proc/%s", procpid + 1);
		if (ferry_idmap_write(dir, m->uid_mappings, m->n_uid_mappings, m->gid_mappings, m->n_gid_mappings, err) <
		    0) {
			ferry_error_prefix(err, "idmap");
			goto out;
		}
	}
	{
		_cleanup_free_ char *ns = xasprintf("/proc/%s/ns/user", procpid + 1);
		fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			ferry_error_sys(err, "idmap: %s", ns);
	}
out:
	close(go[1]);
	close(ready[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return fd;
}

/*
 * An idmapped bind (runtime-spec 1.2: "idmap"/"ridmap", or mappings on the
 * mount): the kernel attaches the mapping only to a detached mount, so the
 * source is cloned with open_tree, mapped with mount_setattr and moved
 * onto the destination.
 */
static int
bind_idmapped(const struct ferry_mount *m, int src_fd, int dst_fd, bool rec, ferry_error_t *err)
{
	_cleanup_close_ int tree = -1, userns = -1;
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };

	if (m->n_uid_mappings == 0 || m->n_gid_mappings == 0)
		return ferry_error_set(err, EINVAL, "an idmapped mount needs uidMappings and gidMappings");
	tree = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0));
	if (tree < 0)
		return ferry_error_sys(err, "open_tree");
	userns = idmap_userns(m, err);
	if (userns < 0)
		return -1;
	attr.userns_fd = (uint64_t) userns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		return ferry_error_sys(err, "mount_setattr MOUNT_ATTR_IDMAP (the filesystem must support idmapped mounts)");
	if (move_mount(tree, "", dst_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return ferry_error_sys(err, "move_mount");
	return 0;
}

static int
bind_from_fd(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, int src_fd, int dst_fd, bool rec,
	     ferry_error_t *err)
{
	_cleanup_close_ int top = -1;

	if (m->idmap) {
		if (bind_idmapped(m, src_fd, dst_fd, rec, err) < 0)
			return -1;
	} else if (ferry_rootfs_mount(c, NULL, src_fd, dst_fd, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0) {
		return ferry_error_sys(err, "mount");
	}
	top = reopen_dest(c, m, err);
	if (top < 0)
		return -1;
	/* The bind itself ignores flags; MS_BIND|MS_REMOUNT applies them.
	 * Skipped when no option was given at all, so a plain bind keeps the
	 * source's flags. */
	if (needs_remount(m) && remount_with_options(c, m, top, m->flags, err) < 0)
		return -1;
	/* "rro", "rnosuid", ...: the flags on every mount of the tree, which
	 * a remount of the top one does not reach (mount_setattr, 5.12+). */
	if (m->rec_attr_set || m->rec_attr_clr) {
		struct mount_attr attr = { .attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr };
		if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
			_cleanup_free_ char *opts = options_text(m);
			return ferry_error_sys(err, "mount_setattr for %s", opts);
		}
	}
	return set_propagation(c, m, top, err);
}

static int
mount_bind(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	_cleanup_free_ char *src_path = NULL;
	_cleanup_close_ int src_fd = -1, dst_fd = -1;
	struct stat sst, dst;
	bool rec = m->recursive || (m->flags & MS_REC);

	if (m->source == NULL || m->source[0] == '\0')
		return ferry_error_set(err, EINVAL, "no source");
	if (m->source[0] == '/')
		src_path = xstrdup(m->source);
	else if (c->o->bundle)
		src_path = xasprintf("%s/%s", c->o->bundle, m->source);
	else
		return ferry_error_set(err, EINVAL, "source %s: relative, and no bundle given", m->source);
	/* The source is the host's, named by the config's author (trusted, as
	 * with runc); it is opened once and that very object is bound, so
	 * what we stat is what gets mounted. */
	src_fd = open(src_path, O_PATH | O_CLOEXEC);
	if (src_fd < 0 || fstat(src_fd, &sst) < 0)
		return ferry_error_sys(err, "source %s", src_path);
	dst_fd = ferry_rootfs_open_inside(c->root_fd, m->destination, true, !S_ISDIR(sst.st_mode), err);
	if (dst_fd < 0)
		return -1;
	if (fstat(dst_fd, &dst) < 0)
		return ferry_error_sys(err, "stat the destination");
	if (S_ISDIR(sst.st_mode) && !S_ISDIR(dst.st_mode))
		return ferry_error_set(err, ENOTDIR, "the source is a directory, the destination is not");
	if (!S_ISDIR(sst.st_mode) && S_ISDIR(dst.st_mode))
		return ferry_error_set(err, EISDIR, "the source is not a directory, the destination is");
	if (check_proc_dest(c, m, dst_fd, src_fd, err) < 0)
		return -1;
	return bind_from_fd(c, m, src_fd, dst_fd, rec, err);
}

/* ---- tmpfs, with tmpcopyup ------------------------------------------- */

static int
copy_data(int from, int to)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (ferry_write_all(to, buf, n) < 0)
			return -1;
	}
}

/* Owner, mode and times of a copied entry.  chown first: it clears the
 * set-id bits that the chmod then restores. */
static int
copy_attrs(int dir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchownat(dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	/* fchmodat follows symlinks (and symlinks have no mode of their own):
	 * only for what we just created and know is not one. */
	if (!S_ISLNK(st->st_mode) && fchmodat(dir, name, st->st_mode & 07777, 0) < 0)
		return -1;
	return utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Copies the entries of directory `from` into `to`.  `from` is in the
 * image: nothing in it is followed (O_NOFOLLOW, *at() on names read from
 * the directory itself), symlinks are copied as symlinks. */
static int
copy_tree(int from, int to, int depth, const char *where, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	int dfd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (depth > COPYUP_MAX_DEPTH)
		return ferry_error_set(err, ELOOP, "copy %s: deeper than %d levels", where, COPYUP_MAX_DEPTH);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return ferry_error_sys(err, "copy %s: open", where);
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		_cleanup_free_ char *path = NULL;
		const char *name = de->d_name;
		struct stat st;
		int r = 0;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", where, name);
		if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return ferry_error_sys(err, "copy %s: stat", path);
		switch (st.st_mode & S_IFMT) {
		case S_IFDIR: {
			_cleanup_close_ int sub_from = -1, sub_to = -1;

			if (mkdirat(to, name, 0700) < 0)
				return ferry_error_sys(err, "copy %s: mkdir", path);
			sub_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			sub_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				return ferry_error_sys(err, "copy %s: open", path);
			if (copy_tree(sub_from, sub_to, depth + 1, path, err) < 0)
				return -1;
			break;
		}
		case S_IFREG: {
			_cleanup_close_ int sf = openat(from, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
			_cleanup_close_ int df = -1;

			if (sf < 0)
				return ferry_error_sys(err, "copy %s: open", path);
			df = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (df < 0 || copy_data(sf, df) < 0)
				return ferry_error_sys(err, "copy %s", path);
			break;
		}
		case S_IFLNK: {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);

			if (n < 0)
				return ferry_error_sys(err, "copy %s: readlink", path);
			target[n] = '\0';
			r = symlinkat(target, to, name);
			break;
		}
		case S_IFCHR:
		case S_IFBLK:
		case S_IFIFO:
			r = mknodat(to, name, st.st_mode & S_IFMT, st.st_rdev);
			break;
		default: /* sockets: bound by a process that is not there */
			continue;
		}
		if (r < 0)
			return ferry_error_sys(err, "copy %s", path);
		if (copy_attrs(to, name, &st) < 0)
			return ferry_error_sys(err, "copy %s: set owner, mode and times", path);
	}
	if (errno != 0)
		return ferry_error_sys(err, "copy %s: read the directory", where);
	return 0;
}

static int
mount_tmpfs(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	_cleanup_close_ int dst_fd = -1, below = -1, top = -1;
	ferry_error_t probe = FERRY_ERROR_INIT;
	bool existed = true;
	struct stat st;
	unsigned long flags = m->flags & ~NOT_MOUNT_FLAGS;

	dst_fd = ferry_rootfs_open_inside(c->root_fd, m->destination, false, false, &probe);
	if (dst_fd < 0) {
		existed = false;
		if (probe.errno_ != ENOENT) {
			*err = probe;
			return -1;
		}
		ferry_error_clear(&probe);
		dst_fd = ferry_rootfs_open_inside(c->root_fd, m->destination, true, false, err);
		if (dst_fd < 0)
			return -1;
	}
	if (fstat(dst_fd, &st) < 0)
		return ferry_error_sys(err, "stat the destination");
	if (!S_ISDIR(st.st_mode))
		return ferry_error_set(err, ENOTDIR, "the destination is not a directory");
	if (check_proc_dest(c, m, dst_fd, -1, err) < 0)
		return -1;
	/* Opened before the mount: afterwards this fd still reads the
	 * directory the tmpfs covers, which is what tmpcopyup copies. */
	if (m->tmpcopyup) {
		below = openat(dst_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (below < 0)
			return ferry_error_sys(err, "open the destination to copy it");
	}
	/* Mounted writable first when "ro" is asked: the mode is set and the
	 * copy made first, then it is remounted read-only (for /dev, only in
	 * finalize, after the device nodes). */
	if (ferry_rootfs_mount(c, m->source && *m->source ? m->source : "tmpfs", -1, dst_fd, "tmpfs",
			       flags & ~MS_RDONLY, m->data) < 0)
		return ferry_error_sys(err, "mount");
	top = reopen_dest(c, m, err);
	if (top < 0)
		return -1;
	/* A tmpfs root is 1777 unless mode= says otherwise; keep the mode of
	 * the directory it covers instead (a read-only image's /tmp is 1777,
	 * its /run 0755), as runc does. */
	if (existed && !data_has_key(m->data, "mode")) {
		_cleanup_close_ int rw = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (rw < 0 || fchmod(rw, st.st_mode & 07777) < 0)
			return ferry_error_sys(err, "set the mode of the tmpfs");
	}
	if (below >= 0 && copy_tree(below, top, 0, m->destination, err) < 0)
		return ferry_error_prefix(err, "tmpcopyup");
	if ((flags & MS_RDONLY) && !is_dev(m) && ferry_rootfs_remount(c, top, flags, m->clear, true) < 0)
		return ferry_error_sys(err, "remount read-only");
	return set_propagation(c, m, top, err);
}

/* ---- proc, sysfs ------------------------------------------------------- */

static int
mount_kernfs(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	_cleanup_close_ int dst_fd = -1, top = -1;
	unsigned long flags = m->flags & ~NOT_MOUNT_FLAGS;
	struct stat st;

	/* No symlink at all on the way (runc: "must be mounted on ordinary
	 * directory"): a proc reached through a symlink can end up where the
	 * masked paths and LSM checks that name /proc do not look
	 * (CVE-2019-19921). */
	dst_fd = ferry_rootfs_open_inside_flags(c->root_fd, m->destination, true, false, RESOLVE_NO_SYMLINKS, err);
	if (dst_fd < 0)
		return err && err->errno_ == ELOOP
			       ? ferry_error_set(err, 0, "%s must be mounted on an ordinary directory, not through a symlink",
						 m->type)
			       : -1;
	if (fstat(dst_fd, &st) < 0)
		return ferry_error_sys(err, "stat the destination");
	if (!S_ISDIR(st.st_mode))
		return ferry_error_set(err, ENOTDIR, "%s must be mounted on an ordinary directory", m->type);
	if (check_proc_dest(c, m, dst_fd, -1, err) < 0)
		return -1;
	if (ferry_rootfs_mount(c, m->source && *m->source ? m->source : m->type, -1, dst_fd, m->type, flags,
			       m->data) < 0) {
		_cleanup_close_ int sys = -1;

		if (errno != EPERM || strcmp(m->type, "sysfs") != 0)
			return ferry_error_sys(err, "mount");
		/* A new sysfs is refused (EPERM) in a user namespace that does
		 * not own the network namespace (the host's network shared
		 * with a rootless container).  As runc: bind the host's /sys
		 * instead, with the options asked for. */
		pr_debug("sysfs on %s: EPERM, binding /sys instead", m->destination);
		sys = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sys < 0)
			return ferry_error_sys(err, "mount, then bind /sys: open /sys");
		if (bind_from_fd(c, m, sys, dst_fd, true, err) < 0)
			return ferry_error_prefix(err, "mount gave EPERM, then bind /sys");
		return 0;
	}
	top = reopen_dest(c, m, err);
	if (top < 0)
		return -1;
	return set_propagation(c, m, top, err);
}

/* ---- cgroup and everything else --------------------------------------- */

static int
mount_cgroup(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	_cleanup_close_ int dst_fd = -1, top = -1;
	_cleanup_free_ char *path = NULL;

	dst_fd = ferry_rootfs_open_inside(c->root_fd, m->destination, true, false, err);
	if (dst_fd < 0)
		return -1;
	if (check_proc_dest(c, m, dst_fd, -1, err) < 0)
		return -1;
	/* ferry_cgroup_mount() mounts a tmpfs and then one hierarchy per
	 * directory below it, so it needs a path that, after the first
	 * mount, leads into the new tmpfs: /proc/self/fd/N would keep leading
	 * to the covered directory.  The path the kernel gives for the fd we
	 * resolved inside the root is that, and no process of the container
	 * runs yet that could swap a symlink into it. */
	path = ferry_rootfs_fd_path(c, dst_fd);
	if (path == NULL)
		return ferry_error_sys(err, "read the resolved path");
	if (ferry_cgroup_mount(path, m->flags & ~NOT_MOUNT_FLAGS, err) < 0)
		return -1;
	if (m->propagation == 0)
		return 0;
	top = reopen_dest(c, m, err);
	if (top < 0)
		return -1;
	return set_propagation(c, m, top, err);
}

/* devpts, mqueue, and any other filesystem type: mounted as written. */
static int
mount_other(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	_cleanup_close_ int dst_fd = -1, top = -1;
	unsigned long flags = m->flags & ~NOT_MOUNT_FLAGS;
	struct stat st;

	dst_fd = ferry_rootfs_open_inside(c->root_fd, m->destination, true, false, err);
	if (dst_fd < 0)
		return -1;
	if (fstat(dst_fd, &st) < 0)
		return ferry_error_sys(err, "stat the destination");
	if (check_proc_dest(c, m, dst_fd, -1, err) < 0)
		return -1;
	/* /dev stays writable until its nodes exist; finalize applies "ro". */
	if (is_dev(m))
		flags &= ~MS_RDONLY;
	if (ferry_rootfs_mount(c, m->source && *m->source ? m->source : m->type, -1, dst_fd, m->type, flags,
			       m->data) < 0)
		return ferry_error_sys(err, "mount");
	if (m->propagation == 0)
		return 0;
	top = reopen_dest(c, m, err);
	if (top < 0)
		return -1;
	return set_propagation(c, m, top, err);
}

int
ferry_mounts_apply(const struct ferry_rootfs_ctx *c, const struct ferry_mount *m, ferry_error_t *err)
{
	const char *dest = m->destination ? m->destination : "";
	bool bind = ferry_mount_is_bind(m);
	int r;

	if (*dest == '\0')
		return ferry_error_set(err, EINVAL, "mount %s: no destination", m->type ? m->type : "");
	if (!bind && (m->type == NULL || *m->type == '\0'))
		return ferry_error_set(err, EINVAL, "mount on %s: no type", dest);
	pr_debug("%s %s on %s", bind ? "bind" : "mount", bind ? (m->source ? m->source : "") : m->type, dest);
	if (bind)
		r = mount_bind(c, m, err);
	else if (strcmp(m->type, "tmpfs") == 0)
		r = mount_tmpfs(c, m, err);
	else if (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0)
		r = mount_kernfs(c, m, err);
	else if (strcmp(m->type, "cgroup") == 0)
		r = mount_cgroup(c, m, err);
	else
		r = mount_other(c, m, err);
	if (r == 0)
		return 0;
	if (bind)
		return ferry_error_prefix(err, "bind %s on %s", m->source ? m->source : "", dest);
	return ferry_error_prefix(err, "mount %s on %s", m->type, dest);
}
