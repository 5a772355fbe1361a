/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs_carry: a tree archived and extracted comes back the same (types,
 * contents, holes, modes, times, symlinks not followed); hostile archives
 * are refused with a reason and write nothing outside the root; a tree
 * with a fifo or socket is refused (CRIU keeps such a mount).  Works in
 * mkdtemp directories under /tmp; owners stay the test's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"
#include "tmpfs_carry.h"
#include "util.h"

static char top[64];

static void
die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
opendir_at(const char *sub)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", top, sub);
	int fd;

	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die(p);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(p);
	return fd;
}

static void
put(int dfd, const char *path, const void *data, size_t len, mode_t mode, time_t mtime)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 5 } };

	if (fd < 0 || ferry_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || futimens(fd, ts) < 0)
		die(path);
	close(fd);
}

/* A memfd holding bytes, at offset 0. */
static int
mem(const void *data, size_t len)
{
	int fd = memfd_create("archive", MFD_CLOEXEC);

	if (fd < 0 || ferry_write_all(fd, data, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die("memfd");
	return fd;
}

static void
test_round_trip(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	int src = opendir_at("src"), dst = opendir_at("dst"), arc = memfd_create("a", MFD_CLOEXEC), fd;
	struct stat a, b;
	char buf[64] = "";
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };

	if (mkdirat(src, "d", 0750) < 0 || mkdirat(src, "d/e", 0700) < 0 || mkdirat(src, "empty", 0700) < 0 ||
	    fchmodat(src, "empty", 01777, 0) < 0 || fchmodat(src, "d", 0750, 0) < 0)
		die("mkdir");
	put(src, "pid", "4242\n", 5, 0644, 1234567);
	put(src, "d/e/log", "line one\nline two\n", 18, 0600, 7654321);
	put(src, "d/x", "", 0, 04755, 42);
	/* a sparse file: 1 MiB with 6 bytes at 512 KiB */
	fd = openat(src, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0 || pwrite(fd, "middle", 6, 512 << 10) != 6)
		die("sparse");
	close(fd);
	if (symlinkat("/etc/passwd", src, "abs") < 0 || symlinkat("d/e", src, "rel") < 0)
		die("symlink");
	if (utimensat(src, "d", ts, 0) < 0)
		die("utimensat");

	ok(ferry_tmpfs_archive(src, arc, &err) == 0, "a tree archives (%s)", err.msg);
	ferry_error_clear(&err);
	lseek(arc, 0, SEEK_SET);
	ok(ferry_tmpfs_extract(arc, dst, NULL, &err) == 0, "and extracts (%s)", err.msg);
	ferry_error_clear(&err);

	ok(fstatat(dst, "pid", &b, 0) == 0 && b.st_size == 5 && (b.st_mode & 07777) == 0644 &&
		   b.st_mtim.tv_sec == 1234567 && b.st_mtim.tv_nsec == 5,
	   "a file keeps its size, mode and mtime");
	fd = openat(dst, "d/e/log", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 18 && memcmp(buf, "line one\nline two\n", 18) == 0,
	   "a nested file keeps its contents");
	if (fd >= 0)
		close(fd);
	ok(fstatat(dst, "d/x", &b, 0) == 0 && (b.st_mode & 07777) == 04755, "a set-uid bit stays");
	ok(fstatat(src, "d", &a, 0) == 0 && fstatat(dst, "d", &b, 0) == 0 && (b.st_mode & 07777) == 0750 &&
		   b.st_mtim.tv_sec == a.st_mtim.tv_sec,
	   "a directory keeps its mode and mtime (set after its entries)");
	ok(fstatat(dst, "empty", &b, 0) == 0 && S_ISDIR(b.st_mode) && (b.st_mode & 07777) == 01777,
	   "an empty sticky directory comes back");
	ok(fstatat(dst, "sparse", &b, 0) == 0 && b.st_size == (1 << 20) && b.st_blocks * 512 < (256 << 10),
	   "a sparse file keeps its size and its holes (%lld blocks)", (long long) b.st_blocks);
	fd = openat(dst, "sparse", O_RDONLY | O_CLOEXEC);
	memset(buf, 'x', sizeof(buf));
	ok(fd >= 0 && pread(fd, buf, 6, 512 << 10) == 6 && memcmp(buf, "middle", 6) == 0 &&
		   pread(fd, buf, 4, 0) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0,
	   "and its data where it was");
	if (fd >= 0)
		close(fd);
	{
		ssize_t n = readlinkat(dst, "abs", buf, sizeof(buf) - 1);
		ok(n == 11 && memcmp(buf, "/etc/passwd", 11) == 0 && fstatat(dst, "abs", &b, AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISLNK(b.st_mode),
		   "an absolute symlink comes back as a symlink, not followed");
	}
	close(arc);
	close(src);
	close(dst);
}

/* A hand-made archive: header, root record, then one record. */
struct arc {
	unsigned char b[512];
	size_t n;
};

static void
a_put(struct arc *a, const void *p, size_t n)
{
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void
a_u(struct arc *a, uint64_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		a->b[a->n++] = (unsigned char) (v >> (8 * i));
}

static void
a_head(struct arc *a, char type, uint32_t mode, const char *path)
{
	a_put(a, &type, 1);
	a_u(a, mode, 4);
	a_u(a, (uint64_t) getuid(), 4);
	a_u(a, (uint64_t) getgid(), 4);
	a_u(a, 1000, 8);
	a_u(a, 0, 4);
	a_u(a, strlen(path), 2);
	a_put(a, path, strlen(path));
}

static void
a_start(struct arc *a)
{
	a->n = 0;
	a_put(a, "FERRYTMPFS1\n", 12);
	a_head(a, 'd', S_IFDIR | 0755, "");
}

/* Extracts into a fresh directory: must fail with a message containing
 * want, and leave nothing in the witness directory "out". */
static void
refused(const char *what, struct arc *a, const char *want)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	static int n;
	_cleanup_free_ char *name = xasprintf("h%d", n++);
	int dst = opendir_at(name), fd = mem(a->b, a->n), out = opendir_at("out");
	struct stat st;

	ok(ferry_tmpfs_extract(fd, dst, NULL, &err) < 0 && strstr(err.msg, want) != NULL, "%s: refused (%s)", what,
	   err.msg);
	ok(fstatat(out, "pwned", &st, AT_SYMLINK_NOFOLLOW) < 0, "%s: nothing written outside", what);
	ferry_error_clear(&err);
	close(fd);
	close(dst);
	close(out);
}

static void
test_hostile(void)
{
	struct arc a;
	_cleanup_free_ char *outside = xasprintf("%s/out", top);

	a.n = 0;
	a_put(&a, "NOTATMPFS!!\n", 12);
	refused("bad magic", &a, "bad magic");

	a_start(&a);
	refused("no end", &a, "truncated");

	a_start(&a);
	a_head(&a, 'f', S_IFREG | 0644, "../out/pwned");
	a_u(&a, 0, 8);
	a_u(&a, 0, 4);
	a_put(&a, "E", 1);
	refused("a ../ path", &a, "refused path");

	a_start(&a);
	a_head(&a, 'f', S_IFREG | 0644, "/tmp/pwned");
	a_u(&a, 0, 8);
	a_u(&a, 0, 4);
	a_put(&a, "E", 1);
	refused("an absolute path", &a, "refused path");

	/* a symlink to the witness directory, then a file through it */
	a_start(&a);
	a_head(&a, 'l', S_IFLNK | 0777, "link");
	a_u(&a, strlen(outside), 2);
	a_put(&a, outside, strlen(outside));
	a_head(&a, 'f', S_IFREG | 0644, "link/pwned");
	a_u(&a, 0, 8);
	a_u(&a, 0, 4);
	a_put(&a, "E", 1);
	refused("a file through a symlink", &a, "link/pwned");

	a_start(&a);
	a_head(&a, 'f', S_IFREG | 0644, "f");
	a_u(&a, 10, 8);
	a_u(&a, 1, 4);
	a_u(&a, 8, 8);
	a_u(&a, 4, 8);
	refused("an extent past the end", &a, "extent");

	a_start(&a);
	a_head(&a, 'f', S_IFDIR | 0755, "f");
	refused("a file record with a directory's mode", &a, "bad mode");

	a_start(&a);
	a_head(&a, 'X', S_IFREG | 0644, "f");
	refused("an unknown record", &a, "unknown record");

	a_start(&a);
	a_put(&a, "E", 1);
	a_put(&a, "junk", 4);
	refused("bytes after the end", &a, "after its end");

	a_start(&a);
	a_head(&a, 'd', S_IFDIR | 0755, "x");
	a_head(&a, 'd', S_IFDIR | 0755, "x");
	a_put(&a, "E", 1);
	refused("a directory twice", &a, "archive: x");
}

static void
test_special(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	int src = opendir_at("special"), arc = memfd_create("a", MFD_CLOEXEC);

	if (mkfifoat(src, "fifo", 0600) < 0)
		die("mkfifo");
	ok(ferry_tmpfs_archive(src, arc, &err) < 0 && strstr(err.msg, "fifo") != NULL,
	   "a tree with a fifo is not carried (%s)", err.msg);
	ferry_error_clear(&err);
	close(arc);
	close(src);
}

/* Device nodes: carried as nodes; made on the other side only when they
 * are ones create makes for that side's config (a hostile archive cannot
 * plant /dev/mem or a disk). */
static void
test_devices(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	int src = opendir_at("devsrc"), dst = opendir_at("devdst"), dst2 = opendir_at("devdst2"),
	    arc = memfd_create("a", MFD_CLOEXEC);
	struct ferry_device fuse = { .path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229 };
	ferry_spec_t spec = { 0 };
	struct stat st;
	struct arc a;

	spec.linux_.devices = &fuse;
	spec.linux_.n_devices = 1;
	if (mknodat(src, "null", S_IFCHR | 0666, makedev(1, 3)) < 0 || fchmodat(src, "null", 0666, 0) < 0 ||
	    mknodat(src, "fuse", S_IFCHR | 0600, makedev(10, 229)) < 0 || fchownat(src, "fuse", 12, 34, 0) < 0 ||
	    mkdirat(src, "pts", 0755) < 0 || symlinkat("pts/ptmx", src, "ptmx") < 0)
		die("mknod");
	ok(ferry_tmpfs_archive(src, arc, &err) == 0, "a /dev-like tree archives (%s)", err.msg);
	ferry_error_clear(&err);
	lseek(arc, 0, SEEK_SET);
	ok(ferry_tmpfs_extract(arc, dst, &spec, &err) == 0, "and extracts for a config with /dev/fuse (%s)", err.msg);
	ferry_error_clear(&err);
	ok(fstatat(dst, "null", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
		   st.st_rdev == makedev(1, 3) && (st.st_mode & 07777) == 0666,
	   "a default device comes back as that node, mode 0666");
	ok(fstatat(dst, "fuse", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
		   st.st_rdev == makedev(10, 229) && (st.st_mode & 07777) == 0600 && st.st_uid == 12 && st.st_gid == 34,
	   "the config's device comes back with its mode and owner");
	lseek(arc, 0, SEEK_SET);
	ok(ferry_tmpfs_extract(arc, dst2, NULL, &err) < 0 && strstr(err.msg, "device 10:229 is not one the config makes"),
	   "a config without it refuses it (%s)", err.msg);
	ferry_error_clear(&err);
	close(arc);

	a_start(&a);
	a_head(&a, 'c', S_IFCHR | 0666, "mem");
	a_u(&a, 1, 4);
	a_u(&a, 1, 4);
	a_put(&a, "E", 1);
	refused("/dev/mem", &a, "device 1:1 is not one the config makes");
	a_start(&a);
	a_head(&a, 'b', S_IFBLK | 0666, "null");
	a_u(&a, 1, 4);
	a_u(&a, 3, 4);
	a_put(&a, "E", 1);
	refused("a block device numbered like /dev/null", &a, "device 1:3 is not one the config makes");
	a_start(&a);
	a_head(&a, 'c', S_IFREG | 0666, "x");
	refused("a device record with a file's mode", &a, "bad mode");
	close(src);
	close(dst);
	close(dst2);
}

int
main(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	int tfd;

	snprintf(top, sizeof(top), "/tmp/ferry-tmpfs-XXXXXX");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	test_round_trip();
	test_hostile();
	test_special();
	test_devices();
	tfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 || ferry_rm_rf_at(tfd, top + strlen("/tmp/"), &err) < 0)
		printf("# cleanup of %s failed\n", top);
	if (tfd >= 0)
		close(tfd);
	return tap_done();
}
