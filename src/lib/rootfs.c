/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's filesystem view: the phases (prepare, pivot_root, masked
 * and read-only paths) and the primitives they share.  One spec mount is
 * mounts.c, device nodes are devices.c.
 *
 * The threat: the rootfs image is not trusted.  Any directory in it may be
 * a symlink (to "/etc", to "../../..", to itself), so no path inside it is
 * ever handed to the kernel as a string below the rootfs path.  Every path
 * is resolved with openat2(RESOLVE_IN_ROOT), which treats the rootfs as "/"
 * for absolute symlinks and "..", and the resulting O_PATH fd is what gets
 * mounted on (CVE-2021-30465, CVE-2023-27561 and the like in runc were
 * mounts redirected by symlinks swapped into the path).
 */
#define LOG_PREFIX "rootfs: "

#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"
#include "util.h"

/* Flags the kernel locks (MNT_LOCK_*) on mounts copied into a less
 * privileged user namespace, and the atime flags among them. */
#define LOCKABLE_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)
#define ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* Symlinks followed by hand while creating a path (dangling ones), as the
 * kernel's own limit. */
#define MAX_SYMLINKS 40

/* ---- paths ------------------------------------------------------------ */

char *
ferry_path_clean(const char *path)
{
	size_t len = strlen(path), o = 0;
	char *out = xmalloc0(len + 2);
	const char *p = path;

	out[o++] = '/';
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchrnul(p, '/');
		n = e - p;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *s = memrchr(out, '/', o);

			o = (s == NULL || s == out) ? 1 : (size_t) (s - out);
		} else {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	out[o] = '\0';
	return out;
}

static int
openat2_in_root(int root_fd, const char *path, unsigned long long extra_resolve)
{
	/* RESOLVE_IN_ROOT: "/" and ".." stop at root_fd, absolute symlinks
	 * are taken relative to it.  RESOLVE_NO_MAGICLINKS: a /proc/<pid>/fd
	 * or /proc/<pid>/root link reached through a proc mounted inside the
	 * rootfs would jump anywhere, so they are refused. */
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
	};
	int tries = 0;
	long fd;

	if (*path == '\0')
		path = "/";
	/* EAGAIN: a concurrent rename or mount was seen while resolving "..";
	 * the kernel asks us to try again rather than risk a wrong answer. */
	do
		fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 128)));
	return (int) fd;
}

/* One pass of the create-walk below.  Returns the fd of the full path, -1
 * on error, or -2 when a dangling symlink was met and *work was rewritten
 * with its target substituted (the caller walks again from the root). */
static int
walk_create(int root_fd, char **work, bool is_file, unsigned long long extra, int *links, const char *orig,
	    ferry_error_t *err)
{
	_cleanup_close_ int parent = openat2_in_root(root_fd, "/", extra);
	_cleanup_free_ char *prefix = xstrdup("");
	const char *p = *work;

	if (parent < 0)
		return ferry_error_sys(err, "open the root");
	for (;;) {
		_cleanup_free_ char *comp = NULL, *next = NULL;
		const char *end, *rest;
		bool last;
		int fd, r;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchrnul(p, '/');
		for (rest = end; *rest == '/'; rest++)
			;
		last = *rest == '\0';
		comp = strndup(p, end - p);
		if (comp == NULL)
			abort();
		if (strcmp(comp, ".") == 0) {
			p = end;
			continue;
		}
		next = xasprintf("%s/%s", prefix, comp);
		fd = openat2_in_root(root_fd, next, extra);
		if (fd < 0) {
			if (errno != ENOENT)
				return ferry_error_sys(err, "resolve %s", next);
			/* Created through the parent's fd with a single name:
			 * mkdirat and O_CREAT|O_EXCL never follow a symlink in
			 * the last component, and the parent itself was
			 * resolved inside the root. */
			if (last && is_file) {
				r = openat(parent, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
					   0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(parent, comp, 0755);
			}
			if (r < 0 && errno == EEXIST) {
				/* The name exists, yet resolving it gave ENOENT: a
				 * symlink whose target is missing (the image's
				 * /var/run -> /run with no /run).  Substitute its
				 * text and walk again from the root, so the target
				 * is created, still inside the root: openat2 keeps
				 * an absolute target or a ".." in it there. */
				char target[PATH_MAX];
				ssize_t n = readlinkat(parent, comp, target, sizeof(target) - 1);

				if (n < 0)
					return ferry_error_sys(err, "resolve %s", next);
				target[n] = '\0';
				char *rewritten;

				if (++*links > MAX_SYMLINKS)
					return ferry_error_set(err, ELOOP, "resolve %s", orig);
				/* `end` points into *work: build, then free. */
				rewritten = target[0] == '/' ? xasprintf("%s%s", target, end)
							     : xasprintf("%s/%s%s", prefix, target, end);
				free(*work);
				*work = rewritten;
				return -2;
			}
			if (r < 0)
				return ferry_error_sys(err, "%s %s", last && is_file ? "create" : "mkdir", next);
			fd = openat2_in_root(root_fd, next, extra);
			if (fd < 0)
				return ferry_error_sys(err, "resolve %s", next);
		}
		close(parent);
		parent = fd;
		free(prefix);
		prefix = steal_pointer(&next);
		p = end;
	}
	return steal_fd(&parent);
}

int
ferry_rootfs_open_inside_flags(int root_fd, const char *path, bool create, bool is_file,
			       unsigned long long extra_resolve, ferry_error_t *err)
{
	_cleanup_free_ char *work = NULL;
	int fd = openat2_in_root(root_fd, path, extra_resolve);
	int links = 0;

	if (fd >= 0)
		return fd;
	if (errno != ENOENT || !create)
		return ferry_error_sys(err, "resolve %s", path);
	work = xstrdup(path);
	do
		fd = walk_create(root_fd, &work, is_file, extra_resolve, &links, path, err);
	while (fd == -2);
	return fd;
}

int
ferry_rootfs_open_inside(int root_fd, const char *path, bool create, bool is_file, ferry_error_t *err)
{
	return ferry_rootfs_open_inside_flags(root_fd, path, create, is_file, 0, err);
}

/* ---- mounting through fds --------------------------------------------- */

int
ferry_rootfs_mount(const struct ferry_rootfs_ctx *c, const char *source, int src_fd, int dst_fd,
		   const char *fstype, unsigned long flags, const void *data)
{
	char src[40], dst[40];
	int r, saved;

	if (src_fd >= 0) {
		snprintf(src, sizeof(src), "self/fd/%d", src_fd);
		source = src;
	}
	snprintf(dst, sizeof(dst), "self/fd/%d", dst_fd);
	if (fchdir(c->proc_fd) < 0)
		return -1;
	r = mount(source, dst, fstype, flags, data);
	saved = errno;
	if (fchdir(c->cwd_fd) < 0)
		return -1;
	errno = saved;
	return r;
}

char *
ferry_rootfs_fd_path(const struct ferry_rootfs_ctx *c, int fd)
{
	char link[40], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "self/fd/%d", fd);
	n = readlinkat(c->proc_fd, link, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	/* An fd whose file is no longer reachable from our root reads as a
	 * relative or "(deleted)" name: useless for a path check. */
	if (buf[0] != '/') {
		errno = EXDEV;
		return NULL;
	}
	return xstrdup(buf);
}

static unsigned long
statfs_mount_flags(const struct statfs *st)
{
	/* f_flags uses ST_* values; most equal MS_*, ST_RELATIME does not. */
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },	      { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },     { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	unsigned long out = 0;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if ((unsigned long) st->f_flags & map[i].st)
			out |= map[i].ms;
	return out;
}

int
ferry_rootfs_remount(const struct ferry_rootfs_ctx *c, int dst_fd, unsigned long flags, unsigned long clear,
		     bool keep_current)
{
	struct statfs st;
	unsigned long cur, want_atime;

	flags &= ~(MS_REC | MS_REMOUNT | MS_BIND | PROPAGATION_FLAGS);
	flags |= MS_BIND | MS_REMOUNT;
	if (fstatfs(dst_fd, &st) < 0)
		return -1;
	cur = statfs_mount_flags(&st);
	/* MS_REMOUNT sets exactly the flags given: asked only to add "ro", we
	 * must not drop a nosuid/nodev/noexec the mount had.  Without atime
	 * flags the kernel keeps the mount's atime setting. */
	if (keep_current)
		flags |= cur & (MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~clear;
	if (ferry_rootfs_mount(c, NULL, -1, dst_fd, NULL, flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	/* EPERM: in a user namespace the flags of a mount inherited from a
	 * more privileged one are locked (MNT_LOCK_*), and a remount may not
	 * clear them.  Keep the ones it has, as runc does, unless the caller
	 * explicitly asked to clear one: then the mount cannot be what was
	 * asked and failing is right.  An asked atime mode must be the one
	 * already there (a locked atime cannot change, and MS_NOATIME would
	 * silently win over an asked MS_RELATIME). */
	if (cur & clear & LOCKABLE_FLAGS) {
		errno = EPERM;
		return -1;
	}
	want_atime = flags & ATIME_FLAGS;
	if (want_atime && (want_atime & ~MS_STRICTATIME) != (cur & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME))) {
		errno = EPERM;
		return -1;
	}
	flags |= cur & LOCKABLE_FLAGS;
	pr_debug("remount retry with locked flags 0x%lx", flags);
	return ferry_rootfs_mount(c, NULL, -1, dst_fd, NULL, flags, NULL);
}

/* ---- the context ------------------------------------------------------ */

static void
ctx_release(struct ferry_rootfs_ctx *c)
{
	ferry_closep(&c->root_fd);
	ferry_closep(&c->proc_fd);
	ferry_closep(&c->cwd_fd);
	free(c->root_path);
	c->root_path = NULL;
}
#define _cleanup_ctx_ __attribute__((cleanup(ctx_release)))

static void
umask_restore(mode_t *old)
{
	umask(*old);
}

/* The host's /proc, checked to be a procfs: everything mounted is named
 * through it, so a /proc that is something else (a tmpfs with planted
 * "self/fd/N" symlinks) must not be trusted. */
static int
ctx_open_proc(struct ferry_rootfs_ctx *c, ferry_error_t *err)
{
	struct statfs st;

	c->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->proc_fd < 0)
		return ferry_error_sys(err, "open /proc");
	if (fstatfs(c->proc_fd, &st) < 0)
		return ferry_error_sys(err, "statfs /proc");
	if (st.f_type != PROC_SUPER_MAGIC)
		return ferry_error_set(err, 0, "/proc is not a procfs (type 0x%lx)", (unsigned long) st.f_type);
	return 0;
}

static int
check_opts(const struct ferry_rootfs_opts *o, ferry_error_t *err)
{
	if (o == NULL || o->spec == NULL)
		return ferry_error_set(err, EINVAL, "rootfs: no spec");
	if (o->rootfs == NULL || o->rootfs[0] != '/')
		return ferry_error_set(err, EINVAL, "rootfs: the root path must be absolute, got '%s'",
				       o->rootfs ? o->rootfs : "(null)");
	return 0;
}

static int
parse_propagation(const char *s, unsigned long *out, ferry_error_t *err)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} table[] = {
		{ "shared", MS_SHARED },		{ "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },			{ "rslave", MS_SLAVE | MS_REC },
		{ "private", MS_PRIVATE },		{ "rprivate", MS_PRIVATE | MS_REC },
		{ "unbindable", MS_UNBINDABLE },	{ "runbindable", MS_UNBINDABLE | MS_REC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strcmp(s, table[i].name) == 0) {
			*out = table[i].flags;
			return 0;
		}
	return ferry_error_set(err, EINVAL, "linux.rootfsPropagation: unknown propagation '%s'", s);
}

static int
mount_id_of(int fd, uint64_t *id, struct statx *stx)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID | STATX_INO, stx) < 0)
		return -1;
	if (!(stx->stx_mask & STATX_MNT_ID)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	*id = stx->stx_mnt_id;
	return 0;
}

/* 1 when mount `id` is in a shared peer group, 0 when not, -1 on error. */
static int
mount_is_shared(const struct ferry_rootfs_ctx *c, uint64_t id, ferry_error_t *err)
{
	_cleanup_free_ char *info = NULL;
	char *save = NULL;

	if (ferry_read_file_at(c->proc_fd, "self/mountinfo", 64u << 20, &info, NULL, err) < 0)
		return -1;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *lsave = NULL;
		uint64_t lid;
		int field = 0;

		tok = strtok_r(line, " ", &lsave);
		if (tok == NULL || ferry_parse_u64(tok, &lid) < 0 || lid != id)
			continue;
		/* id parent maj:min root mountpoint options [optional...] - ... */
		while ((tok = strtok_r(NULL, " ", &lsave)) != NULL) {
			if (++field < 6)
				continue;
			if (strcmp(tok, "-") == 0)
				break;
			if (strncmp(tok, "shared:", 7) == 0)
				return 1;
		}
		return 0;
	}
	return 0;
}

/* pivot_root(2) and MS_MOVE refuse (EINVAL) a new root whose parent mount
 * is shared, and while it is shared the rootfs bind made below would also
 * appear in every peer mount namespace, the host's included.  With the
 * default rslave it never is; with rootfsPropagation "rshared" it is.  As
 * runc does, make just that one mount private. */
static int
make_parent_private(const struct ferry_rootfs_ctx *c, int rootfs_fd, ferry_error_t *err)
{
	_cleanup_close_ int fd = openat(rootfs_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statx stx;
	uint64_t id;
	int shared;

	if (fd < 0 || mount_id_of(fd, &id, &stx) < 0)
		return ferry_error_sys(err, "find the mount holding %s", c->o->rootfs);
	/* Walk up to the root of that mount: ".." at a mount's root crosses to
	 * the parent mount, which has another id. */
	for (;;) {
		_cleanup_close_ int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct statx ustx;
		uint64_t uid;

		if (up < 0 || mount_id_of(up, &uid, &ustx) < 0)
			return ferry_error_sys(err, "find the mount holding %s", c->o->rootfs);
		if (uid != id || (ustx.stx_ino == stx.stx_ino && ustx.stx_dev_major == stx.stx_dev_major &&
				  ustx.stx_dev_minor == stx.stx_dev_minor))
			break;
		close(fd);
		fd = steal_fd(&up);
		stx = ustx;
	}
	shared = mount_is_shared(c, id, err);
	if (shared <= 0)
		return shared;
	pr_debug("the mount holding %s is shared: making it private", c->o->rootfs);
	if (ferry_rootfs_mount(c, NULL, -1, fd, NULL, MS_PRIVATE, NULL) < 0)
		return ferry_error_sys(err, "make the mount holding %s private", c->o->rootfs);
	return 0;
}

/* ---- prepare ---------------------------------------------------------- */

int
ferry_rootfs_prepare(const struct ferry_rootfs_opts *o, ferry_error_t *err)
{
	_cleanup_ctx_ struct ferry_rootfs_ctx c = { .o = o, .root_fd = -1, .proc_fd = -1, .cwd_fd = -1 };
	_cleanup_close_ int rootfs_fd = -1;
	/* Directories 0755, files 0644 and device nodes with exactly their
	 * fileMode: nothing created here is subject to the caller's umask. */
	__attribute__((cleanup(umask_restore), unused)) mode_t old_umask = umask(0);
	const ferry_spec_t *spec;
	unsigned long prop = MS_SLAVE | MS_REC;

	if (check_opts(o, err) < 0)
		return -1;
	spec = o->spec;
	if (spec->linux_.rootfs_propagation && *spec->linux_.rootfs_propagation &&
	    parse_propagation(spec->linux_.rootfs_propagation, &prop, err) < 0)
		return -1;
	if (ctx_open_proc(&c, err) < 0)
		return ferry_error_prefix(err, "prepare the rootfs");
	c.cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.cwd_fd < 0)
		c.cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.cwd_fd < 0)
		return ferry_error_sys(err, "prepare the rootfs: open the working directory");

	/* First of all: from here on nothing we mount may propagate back to
	 * the host's namespace (unshare(CLONE_NEWNS) keeps shared mounts in
	 * the host's peer groups).  rslave still lets host mounts (a CD, a
	 * new disk) propagate in, as with runc. */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return ferry_error_sys(err, "set the propagation of / to %s",
				       spec->linux_.rootfs_propagation ? spec->linux_.rootfs_propagation : "rslave");

	rootfs_fd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfs_fd < 0)
		return ferry_error_sys(err, "rootfs %s", o->rootfs);
	if (make_parent_private(&c, rootfs_fd, err) < 0)
		return -1;
	/* pivot_root needs the new root to be a mount point, and binding it
	 * (recursively, with the mounts already under it) gives the container
	 * a mount of its own whose flags we may change. */
	if (ferry_rootfs_mount(&c, NULL, rootfs_fd, rootfs_fd, NULL, MS_BIND | MS_REC, NULL) < 0)
		return ferry_error_sys(err, "bind the rootfs %s onto itself", o->rootfs);
	/* rootfs_fd still points at the directory now covered by the bind;
	 * open it again to be on the new mount, so that mounts made below it
	 * are seen when resolving through c.root_fd. */
	c.root_fd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.root_fd < 0)
		return ferry_error_sys(err, "rootfs %s", o->rootfs);
	c.root_path = ferry_rootfs_fd_path(&c, c.root_fd);
	if (c.root_path == NULL)
		return ferry_error_sys(err, "rootfs %s: read its path", o->rootfs);

	for (size_t i = 0; i < spec->n_mounts; i++)
		if (ferry_mounts_apply(&c, &spec->mounts[i], err) < 0)
			return -1;

	/* A /dev bound from the host has the host's nodes; creating any there
	 * would write to the host's /dev (runc skips them too). */
	if (!ferry_mounts_dev_is_bind(spec) && ferry_devices_create(&c, err) < 0)
		return -1;

	if (fchdir(c.cwd_fd) < 0)
		return ferry_error_sys(err, "return to the working directory");
	return 0;
}

/* ---- finalize --------------------------------------------------------- */

static int
do_pivot_root(const struct ferry_rootfs_opts *o, ferry_error_t *err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(o->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (oldroot < 0)
		return ferry_error_sys(err, "pivot_root into %s: open /", o->rootfs);
	if (newroot < 0)
		return ferry_error_sys(err, "pivot_root into %s: open it", o->rootfs);
	if (fchdir(newroot) < 0)
		return ferry_error_sys(err, "pivot_root into %s: chdir", o->rootfs);
	/* pivot_root(".", ".") stacks the old root on top of the new one at
	 * "/", so no directory for it is needed in the (maybe read-only)
	 * image; we then step into it and detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return ferry_error_sys(err, "pivot_root into %s", o->rootfs);
	if (fchdir(oldroot) < 0)
		return ferry_error_sys(err, "pivot_root into %s: chdir to the old root", o->rootfs);
	/* Make the old root rslave first: were it shared, the detach below
	 * would propagate and unmount the host's own mounts. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return ferry_error_sys(err, "pivot_root into %s: make the old root rslave", o->rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return ferry_error_sys(err, "pivot_root into %s: detach the old root", o->rootfs);
	if (chdir("/") < 0)
		return ferry_error_sys(err, "pivot_root into %s: chdir /", o->rootfs);
	return 0;
}

/* --no-pivot, for a root pivot_root cannot leave (an initramfs).  Weaker:
 * the host's mounts stay in the namespace under the chroot, reachable by
 * anyone who can chroot again (CAP_SYS_CHROOT); the user chose it. */
static int
do_move_root(const struct ferry_rootfs_opts *o, ferry_error_t *err)
{
	_cleanup_close_ int newroot = open(o->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (newroot < 0)
		return ferry_error_sys(err, "move the root to %s: open it", o->rootfs);
	if (fchdir(newroot) < 0)
		return ferry_error_sys(err, "move the root to %s: chdir", o->rootfs);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return ferry_error_sys(err, "move the root to %s: MS_MOVE", o->rootfs);
	if (chroot(".") < 0)
		return ferry_error_sys(err, "move the root to %s: chroot", o->rootfs);
	if (chdir("/") < 0)
		return ferry_error_sys(err, "move the root to %s: chdir /", o->rootfs);
	return 0;
}

/* Is fd the null device (char 1:3)?  Masks bind it over files, so an
 * image's /dev/null that is a regular file would make "masked" files read
 * back whatever the image wrote in it. */
static bool
is_dev_null(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

static bool
missing(int e)
{
	return e == ENOENT || e == ENOTDIR;
}

static int
mask_paths(const struct ferry_rootfs_ctx *c, char *const *paths, ferry_error_t *err)
{
	_cleanup_close_ int null_fd = -1;

	for (size_t i = 0; paths && paths[i]; i++) {
		_cleanup_close_ int fd = openat2_in_root(c->root_fd, paths[i], 0);
		struct stat st;

		if (fd < 0) {
			if (missing(errno))
				continue;
			return ferry_error_sys(err, "mask %s: resolve", paths[i]);
		}
		if (fstat(fd, &st) < 0)
			return ferry_error_sys(err, "mask %s: stat", paths[i]);
		if (S_ISDIR(st.st_mode)) {
			/* An empty read-only tmpfs hides the directory. */
			if (ferry_rootfs_mount(c, "tmpfs", -1, fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
					       NULL) < 0)
				return ferry_error_sys(err, "mask %s: mount a read-only tmpfs", paths[i]);
			continue;
		}
		if (null_fd < 0) {
			null_fd = openat2_in_root(c->root_fd, "/dev/null", 0);
			if (null_fd < 0)
				return ferry_error_sys(err, "mask %s: open /dev/null", paths[i]);
			if (!is_dev_null(null_fd))
				return ferry_error_set(err, 0, "mask %s: /dev/null in the container is not the null device",
						       paths[i]);
		}
		if (ferry_rootfs_mount(c, NULL, null_fd, fd, NULL, MS_BIND, NULL) < 0)
			return ferry_error_sys(err, "mask %s: bind /dev/null over it", paths[i]);
	}
	return 0;
}

static int
readonly_paths(const struct ferry_rootfs_ctx *c, char *const *paths, ferry_error_t *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		_cleanup_close_ int fd = openat2_in_root(c->root_fd, paths[i], 0);
		_cleanup_close_ int top = -1;

		if (fd < 0) {
			if (missing(errno))
				continue;
			return ferry_error_sys(err, "read-only path %s: resolve", paths[i]);
		}
		/* A bind of the path onto itself gives it a mount of its own
		 * (with what is mounted below it: MS_REC) whose flags can then
		 * be changed without touching the rest. */
		if (ferry_rootfs_mount(c, NULL, fd, fd, NULL, MS_BIND | MS_REC, NULL) < 0)
			return ferry_error_sys(err, "read-only path %s: bind it onto itself", paths[i]);
		top = openat2_in_root(c->root_fd, paths[i], 0);
		if (top < 0)
			return ferry_error_sys(err, "read-only path %s: resolve after bind", paths[i]);
		if (ferry_rootfs_remount(c, top, MS_RDONLY, 0, true) < 0)
			return ferry_error_sys(err, "read-only path %s: remount read-only", paths[i]);
	}
	return 0;
}

/* A /dev that asked for "ro" was mounted read-write so that its nodes
 * could be made (runc does the same); now it gets what it asked for. */
static int
dev_readonly(const struct ferry_rootfs_ctx *c, ferry_error_t *err)
{
	const ferry_spec_t *spec = c->o->spec;

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		_cleanup_free_ char *dest = NULL;
		_cleanup_close_ int fd = -1;

		if (m->destination == NULL || ferry_mount_is_bind(m) || !(m->flags & MS_RDONLY))
			continue;
		dest = ferry_path_clean(m->destination);
		if (strcmp(dest, "/dev") != 0)
			continue;
		fd = openat2_in_root(c->root_fd, "/dev", 0);
		if (fd < 0)
			return ferry_error_sys(err, "remount /dev read-only: resolve");
		if (ferry_rootfs_remount(c, fd, m->flags, m->clear, true) < 0)
			return ferry_error_sys(err, "remount /dev read-only");
	}
	return 0;
}

int
ferry_rootfs_finalize(const struct ferry_rootfs_opts *o, ferry_error_t *err)
{
	_cleanup_ctx_ struct ferry_rootfs_ctx c = { .o = o, .root_fd = -1, .proc_fd = -1, .cwd_fd = -1 };
	const ferry_spec_t *spec;
	unsigned long prop = 0;

	if (check_opts(o, err) < 0)
		return -1;
	spec = o->spec;
	if (spec->linux_.rootfs_propagation && *spec->linux_.rootfs_propagation &&
	    parse_propagation(spec->linux_.rootfs_propagation, &prop, err) < 0)
		return -1;
	/* Opened before the old root goes away, and kept: the detached mount
	 * stays usable through this fd, so the mounts below work even in a
	 * container without /proc, and are never named through a /proc the
	 * image controls. */
	if (ctx_open_proc(&c, err) < 0)
		return ferry_error_prefix(err, "finalize the rootfs");

	if ((o->no_pivot ? do_move_root(o, err) : do_pivot_root(o, err)) < 0)
		return -1;

	c.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	c.cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.root_fd < 0 || c.cwd_fd < 0)
		return ferry_error_sys(err, "open the new root");
	c.root_path = xstrdup("/");

	/* Set on the container's own "/" only now: before pivot_root the rootfs
	 * was not yet "/", and shared or slave on the old "/" would have tied
	 * the container to the host (runc does the same). */
	if (prop && ferry_rootfs_mount(&c, NULL, -1, c.root_fd, NULL, prop, NULL) < 0)
		return ferry_error_sys(err, "set the propagation of the container's / to %s",
				       spec->linux_.rootfs_propagation);
	if (dev_readonly(&c, err) < 0)
		return -1;
	if (mask_paths(&c, spec->linux_.masked_paths, err) < 0)
		return -1;
	if (readonly_paths(&c, spec->linux_.readonly_paths, err) < 0)
		return -1;
	if (spec->root_readonly && ferry_rootfs_remount(&c, c.root_fd, MS_RDONLY, 0, true) < 0)
		return ferry_error_sys(err, "remount / read-only");
	if (chdir("/") < 0)
		return ferry_error_sys(err, "chdir /");
	return 0;
}
