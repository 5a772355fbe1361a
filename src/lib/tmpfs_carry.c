/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's tmpfs mounts, carried by ferry instead of CRIU's tar
 * (tmpfs_carry.h says why).
 *
 * The archive ("ferry-tmpfs-N.img"), all numbers little-endian:
 *   "FERRYTMPFS1\n"
 *   records, each: u8 type ('d' directory, 'f' file, 'l' symlink,
 *     'c' character device, 'b' block device, 'E' the end), then (not for
 *     'E') u32 st_mode, u32 uid, u32 gid, i64 mtime seconds, u32 mtime
 *     nanoseconds, u16 path length, the path (relative; empty for the root
 *     directory itself), then
 *       'f': u64 size, u32 extents, each u64 offset, u64 length and that
 *            many bytes (holes stay holes);
 *       'l': u16 target length, the target;
 *       'c', 'b': u32 major, u32 minor.
 * A directory comes before what it holds.
 *
 * Device nodes (a /dev tmpfs) are carried only when each is one the
 * config's create makes (devices.c: the defaults and linux.devices), and
 * the restoring side makes only those its own config names: a source
 * cannot plant /dev/mem in a container's /dev.
 *
 * The images come from the source host, so the reader treats them as
 * hostile, as xfer.c does a manifest: paths are checked lexically and
 * resolved below the root by the kernel (RESOLVE_BENEATH, no symlinks);
 * the last component is created with O_EXCL / *at() calls that never
 * follow it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LOG_PREFIX "tmpfs: "
#include "log.h"
#include "mounts.h"
#include "tmpfs_carry.h"
#include "util.h"
#include "xfer.h"

#define MAGIC "FERRYTMPFS1\n"
#define MAGIC_LEN (sizeof(MAGIC) - 1)
#define BUF_SIZE (64u << 10)
#define MAX_DEPTH 256
#define MAX_PATH 4095
#define MAX_EXTENTS (1u << 20)

/* ------------------------------------------------------------ writer */

struct wbuf {
	int fd;
	size_t len;
	unsigned char b[BUF_SIZE];
};

static int
w_flush(struct wbuf *w, ferry_error_t *err)
{
	if (w->len && ferry_write_all(w->fd, w->b, w->len) < 0)
		return ferry_error_sys(err, "write the archive");
	w->len = 0;
	return 0;
}

static int
w_put(struct wbuf *w, const void *p, size_t n, ferry_error_t *err)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = BUF_SIZE - w->len < n ? BUF_SIZE - w->len : n;
		memcpy(w->b + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
		if (w->len == BUF_SIZE && w_flush(w, err) < 0)
			return -1;
	}
	return 0;
}

static int
w_u(struct wbuf *w, uint64_t v, size_t bytes, ferry_error_t *err)
{
	unsigned char b[8];

	for (size_t i = 0; i < bytes; i++)
		b[i] = (unsigned char) (v >> (8 * i));
	return w_put(w, b, bytes, err);
}

static int
w_head(struct wbuf *w, char type, const struct stat *st, const char *path, ferry_error_t *err)
{
	size_t pl = strlen(path);

	if (pl > MAX_PATH)
		return ferry_error_set(err, ENAMETOOLONG, "%s: path too long to carry", path);
	if (w_put(w, &type, 1, err) < 0 || w_u(w, st->st_mode, 4, err) < 0 || w_u(w, st->st_uid, 4, err) < 0 ||
	    w_u(w, st->st_gid, 4, err) < 0 || w_u(w, (uint64_t) st->st_mtim.tv_sec, 8, err) < 0 ||
	    w_u(w, (uint64_t) st->st_mtim.tv_nsec, 4, err) < 0 || w_u(w, pl, 2, err) < 0 ||
	    w_put(w, path, pl, err) < 0)
		return -1;
	return 0;
}

/* The data extents of fd (SEEK_DATA/SEEK_HOLE), then their bytes. */
static int
w_file(struct wbuf *w, int fd, const struct stat *st, const char *path, ferry_error_t *err)
{
	off_t size = st->st_size, pos = 0;
	uint64_t (*ext)[2] = NULL;
	uint32_t n = 0, cap = 0;
	int ret = -1;

	while (pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;
		if (d < 0) {
			if (errno == ENXIO)
				break;
			ferry_error_sys(err, "%s: seek", path);
			goto out;
		}
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || h > size)
			h = size;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			if (cap > MAX_EXTENTS) {
				ferry_error_set(err, E2BIG, "%s: too many extents to carry", path);
				goto out;
			}
			ext = xrealloc(ext, cap * sizeof(*ext));
		}
		ext[n][0] = (uint64_t) d;
		ext[n][1] = (uint64_t) (h - d);
		n++;
		pos = h;
	}
	if (w_u(w, (uint64_t) size, 8, err) < 0 || w_u(w, n, 4, err) < 0)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t left = ext[i][1];
		off_t off = (off_t) ext[i][0];

		if (w_u(w, ext[i][0], 8, err) < 0 || w_u(w, ext[i][1], 8, err) < 0)
			goto out;
		while (left > 0) {
			ssize_t r;
			if (w->len == BUF_SIZE && w_flush(w, err) < 0)
				goto out;
			r = pread(fd, w->b + w->len, BUF_SIZE - w->len < left ? BUF_SIZE - w->len : left, off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				/* The tree is frozen: a file does not shrink. */
				ferry_error_set(err, r < 0 ? errno : EIO, "%s: read%s", path, r < 0 ? "" : ": it shrank");
				goto out;
			}
			w->len += (size_t) r;
			off += r;
			left -= (uint64_t) r;
		}
	}
	ret = 0;
out:
	free(ext);
	return ret;
}

static const char *
kind_of(mode_t m)
{
	return S_ISSOCK(m) ? "a socket" : S_ISFIFO(m) ? "a fifo" : S_ISCHR(m) || S_ISBLK(m) ? "a device node" : "a special file";
}

/* name (in dfd; "" for dfd itself) is the root of a mount: 1, 0, or -1
 * with errno. */
static int
is_mount_root(int dfd, const char *name)
{
	struct statx sx;

	if (statx(dfd, name, (name[0] ? 0 : AT_EMPTY_PATH) | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
		return -1;
	return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* A device node carry may take (checking, before the dump): one create
 * makes for spec, and not a mount point (a host node bound in). */
static int
device_ok(int dfd, const char *name, const struct stat *st, const ferry_spec_t *spec, const char *path,
	  ferry_error_t *err)
{
	int root;

	if (!ferry_devices_made(spec, st->st_mode & S_IFMT, st->st_rdev))
		return ferry_error_set(err, ENOTSUP, "%s is device %u:%u, which the config does not make: only CRIU "
				       "carries that", path, major(st->st_rdev), minor(st->st_rdev));
	if ((root = is_mount_root(dfd, name)) < 0)
		return ferry_error_sys(err, "%s", path);
	if (root)
		return ferry_error_set(err, ENOTSUP, "%s is a device bound from the host: only CRIU carries that",
				       path);
	return 0;
}

/*
 * One directory (open in dfd, at rel), depth-first.  w NULL: only checks
 * that everything can be carried (device nodes: only those create makes
 * for spec; NULL, none).  A directory on another device is a mount point:
 * kept as an empty directory, not entered.
 */
static int
walk(struct wbuf *w, int dfd, const char *rel, dev_t dev, int depth, const ferry_spec_t *spec, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int dup_fd;

	if (depth > MAX_DEPTH)
		return ferry_error_set(err, ELOOP, "%s: nested too deep to carry", rel);
	dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0 || (dir = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return ferry_error_sys(err, "%s", rel[0] ? rel : ".");
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return ferry_error_sys(err, "%s", path);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = -1;
			if (w && w_head(w, 'd', &st, path, err) < 0)
				return -1;
			if (st.st_dev != dev)
				continue;
			cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				return ferry_error_sys(err, "%s", path);
			if (walk(w, cfd, path, dev, depth + 1, spec, err) < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int ffd = -1;
			if (w == NULL)
				continue;
			ffd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			if (ffd < 0)
				return ferry_error_sys(err, "%s", path);
			if (fstat(ffd, &st) < 0)
				return ferry_error_sys(err, "%s", path);
			if (w_head(w, 'f', &st, path, err) < 0 || w_file(w, ffd, &st, path, err) < 0)
				return -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			if (w == NULL)
				continue;
			n = readlinkat(dfd, de->d_name, target, sizeof(target));
			if (n < 0)
				return ferry_error_sys(err, "%s", path);
			if ((size_t) n >= sizeof(target) || n > MAX_PATH)
				return ferry_error_set(err, ENAMETOOLONG, "%s: symlink target too long", path);
			if (w_head(w, 'l', &st, path, err) < 0 || w_u(w, (uint64_t) n, 2, err) < 0 ||
			    w_put(w, target, (size_t) n, err) < 0)
				return -1;
		} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && (w || spec)) {
			if (w == NULL) {
				if (device_ok(dfd, de->d_name, &st, spec, path, err) < 0)
					return -1;
				continue;
			}
			if (w_head(w, S_ISCHR(st.st_mode) ? 'c' : 'b', &st, path, err) < 0 ||
			    w_u(w, major(st.st_rdev), 4, err) < 0 || w_u(w, minor(st.st_rdev), 4, err) < 0)
				return -1;
		} else {
			return ferry_error_set(err, ENOTSUP, "%s is %s: only CRIU carries that", path,
					       kind_of(st.st_mode));
		}
	}
	if (errno != 0)
		return ferry_error_sys(err, "%s: readdir", rel[0] ? rel : ".");
	return 0;
}

int
ferry_tmpfs_archive(int dir_fd, int out_fd, ferry_error_t *err)
{
	struct wbuf *w = xmalloc0(sizeof(*w));
	struct stat st;
	int ret = -1;
	char end = 'E';

	w->fd = out_fd;
	if (fstat(dir_fd, &st) < 0) {
		ferry_error_sys(err, "stat the tmpfs");
		goto out;
	}
	if (w_put(w, MAGIC, MAGIC_LEN, err) < 0 || w_head(w, 'd', &st, "", err) < 0 ||
	    walk(w, dir_fd, "", st.st_dev, 0, NULL, err) < 0 || w_put(w, &end, 1, err) < 0 || w_flush(w, err) < 0)
		goto out;
	ret = 0;
out:
	free(w);
	return ret;
}

/* ------------------------------------------------------------ reader */

struct rbuf {
	int fd;
	size_t pos, len;
	uint64_t off; /* of b[0] in the stream, for messages */
	unsigned char b[BUF_SIZE];
};

static int
r_get(struct rbuf *r, void *p, size_t n, ferry_error_t *err)
{
	unsigned char *d = p;

	while (n > 0) {
		size_t k;
		if (r->pos == r->len) {
			ssize_t got;
			r->off += r->len;
			r->pos = r->len = 0;
			do
				got = read(r->fd, r->b, BUF_SIZE);
			while (got < 0 && errno == EINTR);
			if (got < 0)
				return ferry_error_sys(err, "read the archive");
			if (got == 0)
				return ferry_error_set(err, EBADMSG, "archive truncated at byte %" PRIu64, r->off);
			r->len = (size_t) got;
		}
		k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(d, r->b + r->pos, k);
		r->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

static int
r_u(struct rbuf *r, uint64_t *v, size_t bytes, ferry_error_t *err)
{
	unsigned char b[8];

	if (r_get(r, b, bytes, err) < 0)
		return -1;
	*v = 0;
	for (size_t i = 0; i < bytes; i++)
		*v |= (uint64_t) b[i] << (8 * i);
	return 0;
}

static int
r_str(struct rbuf *r, char **out, ferry_error_t *err)
{
	uint64_t n;
	char *s;

	if (r_u(r, &n, 2, err) < 0)
		return -1;
	if (n > MAX_PATH)
		return ferry_error_set(err, EBADMSG, "archive: a name of %" PRIu64 " bytes", n);
	s = xmalloc0(n + 1);
	if (r_get(r, s, n, err) < 0) {
		free(s);
		return -1;
	}
	if (memchr(s, '\0', n) != NULL) {
		free(s);
		return ferry_error_set(err, EBADMSG, "archive: a name with a NUL byte");
	}
	*out = s;
	return 0;
}

struct dir_time {
	char *path;
	struct timespec t;
};

/* The parent directory of path, resolved below root without symlinks;
 * *name points at the last component. */
static int
open_parent(int root_fd, char *path, const char **name, ferry_error_t *err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_XDEV };
	char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL) {
		*name = path;
		fd = (int) syscall(SYS_openat2, root_fd, ".", &how, sizeof(how));
	} else {
		*slash = '\0';
		fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		*slash = '/';
		*name = slash + 1;
	}
	if (fd < 0)
		return ferry_error_sys(err, "archive: %s: its directory", path);
	return fd;
}

static int
set_owner_mode_times(int fd, const char *name, int flags, bool chmod_too, mode_t mode, uid_t uid, gid_t gid,
		     const struct timespec *mt, const char *path, ferry_error_t *err)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (mt)
		ts[1] = *mt;
	/* chown before chmod: a chown clears set-id bits */
	if (fchownat(fd, name, uid, gid, flags | AT_EMPTY_PATH) < 0)
		return ferry_error_sys(err, "archive: %s: chown", path);
	if (chmod_too && fchmodat(fd, name, mode & 07777, 0) < 0)
		return ferry_error_sys(err, "archive: %s: chmod", path);
	if (mt && utimensat(fd, name, ts, flags) < 0)
		return ferry_error_sys(err, "archive: %s: times", path);
	return 0;
}

static int
r_file(struct rbuf *r, int pfd, const char *name, const char *path, mode_t mode, uid_t uid, gid_t gid,
       const struct timespec *mt, ferry_error_t *err)
{
	_cleanup_close_ int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	uint64_t size, n, end = 0;
	unsigned char *buf = NULL;
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mt };
	int ret = -1;

	if (fd < 0)
		return ferry_error_sys(err, "archive: %s", path);
	if (r_u(r, &size, 8, err) < 0 || r_u(r, &n, 4, err) < 0)
		return -1;
	if (size > (uint64_t) INT64_MAX / 2 || n > MAX_EXTENTS)
		return ferry_error_set(err, EBADMSG, "archive: %s: size %" PRIu64 " in %" PRIu64 " extents", path,
				       size, n);
	if (ftruncate(fd, (off_t) size) < 0)
		return ferry_error_sys(err, "archive: %s: size %" PRIu64, path, size);
	buf = xmalloc0(BUF_SIZE);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off, len;
		if (r_u(r, &off, 8, err) < 0 || r_u(r, &len, 8, err) < 0)
			goto out;
		/* in order, inside the file, not overlapping */
		if (off < end || len > size || off > size - len) {
			ferry_error_set(err, EBADMSG, "archive: %s: extent %" PRIu64 "+%" PRIu64 " of a %" PRIu64
				       "-byte file", path, off, len, size);
			goto out;
		}
		end = off + len;
		while (len > 0) {
			size_t k = len < BUF_SIZE ? (size_t) len : BUF_SIZE;
			ssize_t wr;
			if (r_get(r, buf, k, err) < 0)
				goto out;
			wr = pwrite(fd, buf, k, (off_t) off);
			if (wr != (ssize_t) k) {
				ferry_error_set(err, wr < 0 ? errno : ENOSPC, "archive: %s: write", path);
				goto out;
			}
			off += k;
			len -= k;
		}
	}
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0 || futimens(fd, ts) < 0) {
		ferry_error_sys(err, "archive: %s: owner, mode or times", path);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int
ferry_tmpfs_extract(int in_fd, int root_fd, const ferry_spec_t *spec, ferry_error_t *err)
{
	struct rbuf *r = xmalloc0(sizeof(*r));
	struct dir_time *dirs = NULL;
	size_t n_dirs = 0;
	char magic[MAGIC_LEN];
	bool root_seen = false;
	int ret = -1;

	r->fd = in_fd;
	if (r_get(r, magic, MAGIC_LEN, err) < 0)
		goto out;
	if (memcmp(magic, MAGIC, MAGIC_LEN) != 0) {
		ferry_error_set(err, EBADMSG, "not a ferry tmpfs archive (bad magic)");
		goto out;
	}
	for (;;) {
		_cleanup_free_ char *path = NULL, *target = NULL;
		_cleanup_close_ int pfd = -1;
		uint64_t mode, uid, gid, sec, nsec;
		struct timespec mt;
		const char *name;
		char type;

		if (r_get(r, &type, 1, err) < 0)
			goto out;
		if (type == 'E')
			break;
		if (type != 'd' && type != 'f' && type != 'l' && type != 'c' && type != 'b') {
			ferry_error_set(err, EBADMSG, "archive: unknown record type 0x%02x", (unsigned char) type);
			goto out;
		}
		if (r_u(r, &mode, 4, err) < 0 || r_u(r, &uid, 4, err) < 0 || r_u(r, &gid, 4, err) < 0 ||
		    r_u(r, &sec, 8, err) < 0 || r_u(r, &nsec, 4, err) < 0 || r_str(r, &path, err) < 0)
			goto out;
		if (nsec > 999999999 || sec > (uint64_t) INT64_MAX || uid == (uint32_t) -1 || gid == (uint32_t) -1 ||
		    (type == 'd' && !S_ISDIR(mode)) || (type == 'f' && !S_ISREG(mode)) ||
		    (type == 'l' && !S_ISLNK(mode)) || (type == 'c' && !S_ISCHR(mode)) ||
		    (type == 'b' && !S_ISBLK(mode))) {
			ferry_error_set(err, EBADMSG, "archive: %s: bad mode, owner or time", path[0] ? path : ".");
			goto out;
		}
		mt = (struct timespec){ .tv_sec = (time_t) sec, .tv_nsec = (long) nsec };
		if (path[0] == '\0') {
			/* the root itself: first, once, a directory */
			if (type != 'd' || root_seen || n_dirs) {
				ferry_error_set(err, EBADMSG, "archive: an empty path that is not the root");
				goto out;
			}
			root_seen = true;
			if (set_owner_mode_times(root_fd, "", AT_EMPTY_PATH, false, 0, (uid_t) uid, (gid_t) gid, NULL,
						 ".", err) < 0 ||
			    fchmod(root_fd, (mode_t) mode & 07777) < 0) {
				if (!ferry_error_isset(err))
					ferry_error_sys(err, "archive: chmod the root");
				goto out;
			}
			dirs = xrealloc(dirs, (n_dirs + 1) * sizeof(*dirs));
			dirs[n_dirs++] = (struct dir_time){ xstrdup(""), mt };
			continue;
		}
		if (!root_seen || !ferry_xfer_path_ok(path)) {
			ferry_error_set(err, EBADMSG, "archive: refused path \"%s\"", path);
			goto out;
		}
		pfd = open_parent(root_fd, path, &name, err);
		if (pfd < 0)
			goto out;
		if (type == 'd') {
			if (mkdirat(pfd, name, 0700) < 0) {
				ferry_error_sys(err, "archive: %s", path);
				goto out;
			}
			if (set_owner_mode_times(pfd, name, AT_SYMLINK_NOFOLLOW, true, (mode_t) mode, (uid_t) uid,
						 (gid_t) gid, NULL, path, err) < 0)
				goto out;
			dirs = xrealloc(dirs, (n_dirs + 1) * sizeof(*dirs));
			dirs[n_dirs++] = (struct dir_time){ xstrdup(path), mt };
		} else if (type == 'f') {
			if (r_file(r, pfd, name, path, (mode_t) mode, (uid_t) uid, (gid_t) gid, &mt, err) < 0)
				goto out;
		} else if (type == 'c' || type == 'b') {
			uint64_t maj, min;
			dev_t rdev;

			if (r_u(r, &maj, 4, err) < 0 || r_u(r, &min, 4, err) < 0)
				goto out;
			rdev = makedev((unsigned int) maj, (unsigned int) min);
			if (maj > 0xfff || min > 0xfffff || !ferry_devices_made(spec, (mode_t) mode & S_IFMT, rdev)) {
				ferry_error_set(err, EPERM, "archive: %s: device %" PRIu64 ":%" PRIu64
						" is not one the config makes", path, maj, min);
				goto out;
			}
			if (mknodat(pfd, name, ((mode_t) mode & S_IFMT) | 0600, rdev) < 0) {
				ferry_error_sys(err, "archive: %s", path);
				goto out;
			}
			if (set_owner_mode_times(pfd, name, AT_SYMLINK_NOFOLLOW, true, (mode_t) mode, (uid_t) uid,
						 (gid_t) gid, &mt, path, err) < 0)
				goto out;
		} else {
			if (r_str(r, &target, err) < 0)
				goto out;
			if (target[0] == '\0') {
				ferry_error_set(err, EBADMSG, "archive: %s: an empty symlink", path);
				goto out;
			}
			if (symlinkat(target, pfd, name) < 0) {
				ferry_error_sys(err, "archive: %s", path);
				goto out;
			}
			if (set_owner_mode_times(pfd, name, AT_SYMLINK_NOFOLLOW, false, 0, (uid_t) uid, (gid_t) gid,
						 &mt, path, err) < 0)
				goto out;
		}
	}
	{
		/* nothing after the end */
		char extra;
		ssize_t got = r->pos < r->len ? 1 : read(in_fd, &extra, 1);
		if (got != 0) {
			ferry_error_set(err, EBADMSG, "archive: bytes after its end");
			goto out;
		}
	}
	if (!root_seen) {
		ferry_error_set(err, EBADMSG, "archive: no root directory");
		goto out;
	}
	/* Directory times last (their entries changed them), deepest first. */
	for (size_t i = n_dirs; i-- > 0;) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, dirs[i].t };
		if (dirs[i].path[0] == '\0' ? futimens(root_fd, ts) < 0
					    : utimensat(root_fd, dirs[i].path, ts, AT_SYMLINK_NOFOLLOW) < 0) {
			ferry_error_sys(err, "archive: %s: times", dirs[i].path[0] ? dirs[i].path : ".");
			goto out;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < n_dirs; i++)
		free(dirs[i].path);
	free(dirs);
	free(r);
	return ret;
}

/* ------------------------------------------------------------ plan, dump */

/* The container's mount at dest, from its own root (its symlinks resolve
 * inside it), if it is the root of a tmpfs; -1 otherwise. */
static int
open_container_tmpfs(int croot, const char *dest)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct statfs sf;
	int fd = (int) syscall(SYS_openat2, croot, dest, &how, sizeof(how));

	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sf) < 0 || sf.f_type != TMPFS_MAGIC || is_mount_root(fd, "") != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
strv_has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* The last mount at dest (a later one covers an earlier one) if it is a
 * tmpfs, or a cgroup mount (on a v1 or hybrid host ferry makes that a
 * tmpfs holding one mount point per hierarchy: cgroup.c's mount_v1). */
static const struct ferry_mount *
spec_tmpfs(const ferry_spec_t *spec, const char *dest)
{
	for (size_t i = spec->n_mounts; i-- > 0;) {
		const struct ferry_mount *m = &spec->mounts[i];
		if (strcmp(m->destination, dest) == 0)
			return !m->bind && m->type && (strcmp(m->type, "tmpfs") == 0 || strcmp(m->type, "cgroup") == 0)
				       ? m
				       : NULL;
	}
	return NULL;
}

static bool
is_cgroup_mount(const struct ferry_mount *m)
{
	return strcmp(m->type, "cgroup") == 0;
}

int
ferry_tmpfs_carry_plan(const ferry_spec_t *spec, pid_t pid, int images_fd, char ***dests, ferry_error_t *err)
{
	_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int) pid);
	_cleanup_close_ int croot = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *index = NULL;
	size_t len = 0;
	FILE *f;
	char **out = NULL;

	*dests = NULL;
	if (croot < 0)
		return ferry_error_sys(err, "%s", root);
	f = open_memstream(&index, &len);
	if (f == NULL)
		return ferry_error_sys(err, "open_memstream");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		_cleanup_error_ ferry_error_t why = FERRY_ERROR_INIT;
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (m->bind || m->type == NULL || (strcmp(m->type, "tmpfs") != 0 && strcmp(m->type, "cgroup") != 0))
			continue;
		/* A mount point given twice: the later one is what is seen.
		 * /dev is carried too when its nodes are the config's. */
		if (strchr(m->destination, '\n') ||
		    spec_tmpfs(spec, m->destination) != m || strv_has(out, m->destination))
			continue;
		fd = open_container_tmpfs(croot, m->destination);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (walk(NULL, fd, "", st.st_dev, 0, spec, &why) < 0) {
			pr_info("%s stays CRIU's: %s", m->destination, why.msg);
			continue;
		}
		fprintf(f, "%s\n", m->destination);
		ferry_strv_append(&out, m->destination);
	}
	if (fclose(f) != 0) {
		ferry_strv_free(out);
		return ferry_error_sys(err, "index");
	}
	if (out == NULL)
		return 0;
	if (ferry_write_file_atomic_at(images_fd, FERRY_TMPFS_INDEX, index, len, 0600, err) < 0) {
		ferry_strv_free(out);
		return -1;
	}
	*dests = out;
	return 0;
}

/* The index's lines; NULL (and *n = 0) when there is none. */
static char **
read_index(int images_fd, size_t *n, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	char **v = NULL, *save = NULL;

	*n = 0;
	if (ferry_read_file_at(images_fd, FERRY_TMPFS_INDEX, 64 << 10, &text, &len, err) < 0) {
		if (err->errno_ == ENOENT) {
			ferry_error_clear(err);
			return NULL;
		}
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		ferry_error_set(err, EBADMSG, "%s: a NUL byte", FERRY_TMPFS_INDEX);
		return NULL;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ferry_strv_append(&v, l);
		(*n)++;
	}
	return v;
}

int
ferry_tmpfs_carry_dump(int images_fd, pid_t pid, ferry_error_t *err)
{
	_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int) pid);
	_cleanup_close_ int croot = -1;
	_cleanup_strv_ char **dests = NULL;
	size_t n = 0;

	dests = read_index(images_fd, &n, err);
	if (dests == NULL)
		return ferry_error_isset(err) ? -1 : 0;
	croot = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (croot < 0)
		return ferry_error_sys(err, "%s", root);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		_cleanup_close_ int fd = open_container_tmpfs(croot, dests[i]);
		_cleanup_close_ int out = -1;

		if (fd < 0)
			return ferry_error_set(err, ENOENT, "tmpfs %s: gone from the container", dests[i]);
		snprintf(name, sizeof(name), "ferry-tmpfs-%zu.img", i);
		out = openat(images_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return ferry_error_sys(err, "%s", name);
		if (ferry_tmpfs_archive(fd, out, err) < 0)
			return ferry_error_prefix(err, "tmpfs %s", dests[i]);
	}
	return 0;
}

/* ------------------------------------------------------------ restore */

void
ferry_tmpfs_carry_unstage(const char *stage_dir, char **paths)
{
	for (char **p = paths; p && *p; p++) {
		if (umount2(*p, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			pr_warn("umount %s: %s", *p, strerror(errno));
		rmdir(*p);
	}
	if (stage_dir)
		rmdir(stage_dir);
}

int
ferry_tmpfs_carry_stage(const ferry_spec_t *spec, int images_fd, const char *stage_dir, char ***keys,
			char ***paths, size_t *n, ferry_error_t *err)
{
	_cleanup_strv_ char **dests = NULL;
	char **k = NULL, **p = NULL;
	size_t count = 0;

	*keys = *paths = NULL;
	*n = 0;
	dests = read_index(images_fd, &count, err);
	if (dests == NULL)
		return ferry_error_isset(err) ? -1 : 0;
	if (mkdir(stage_dir, 0700) < 0 && errno != EEXIST)
		return ferry_error_sys(err, "%s", stage_dir);
	for (size_t i = 0; i < count; i++) {
		const struct ferry_mount *m = spec_tmpfs(spec, dests[i]);
		_cleanup_free_ char *dir = xasprintf("%s/%zu", stage_dir, i);
		_cleanup_close_ int img = -1, rfd = -1;
		char name[64];
		unsigned long flags;
		const char *data;

		if (m == NULL) {
			ferry_error_set(err, EINVAL, "the images carry a tmpfs at %s; the config has none there", dests[i]);
			goto fail;
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			ferry_error_sys(err, "%s", dir);
			goto fail;
		}
		/* Read-only after it is filled; the binds CRIU makes of it take
		 * its per-mount flags. */
		flags = (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
				     MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME | MS_MANDLOCK));
		/* A cgroup mount's tmpfs is made as cgroup.c makes it. */
		data = is_cgroup_mount(m) ? "mode=755" : m->data;
		if (mount("tmpfs", dir, "tmpfs", flags, data) < 0) {
			ferry_error_sys(err, "mount a tmpfs for %s (options \"%s\")", dests[i], data ? data : "");
			rmdir(dir);
			goto fail;
		}
		ferry_strv_append(&p, dir);
		ferry_strv_append(&k, "");
		free(k[i]);
		k[i] = xasprintf("%s%s", FERRY_TMPFS_KEY_PREFIX, dests[i]);
		snprintf(name, sizeof(name), "ferry-tmpfs-%zu.img", i);
		img = openat(images_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		rfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (img < 0 || rfd < 0) {
			ferry_error_sys(err, "%s", img < 0 ? name : dir);
			goto fail;
		}
		if (ferry_tmpfs_extract(img, rfd, spec, err) < 0) {
			ferry_error_prefix(err, "tmpfs %s (%s)", dests[i], name);
			goto fail;
		}
		if ((m->flags & MS_RDONLY) && mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0) {
			ferry_error_sys(err, "tmpfs %s: read-only", dests[i]);
			goto fail;
		}
	}
	*keys = k;
	*paths = p;
	*n = count;
	return 0;
fail:
	ferry_tmpfs_carry_unstage(stage_dir, p);
	ferry_strv_free(p);
	ferry_strv_free(k);
	return -1;
}
