/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rootfs: real mounts, made in a child that has its own mount and pid
 * namespaces, on a busybox rootfs in a temporary directory.  After every
 * case the parent checks that the host's mount table gained nothing and
 * removes the directory.
 *
 * Needs root; skipped otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "rootfs.h"
#include "spec.h"
#include "tap.h"
#include "util.h"

/* cgroup.c is another module; no case here mounts a cgroup.  Weak, so the
 * real one wins once it is linked in. */
__attribute__((weak)) int
ferry_cgroup_mount(const char *target, unsigned long flags, ferry_error_t *err)
{
	(void) flags;
	return ferry_error_set(err, ENOSYS, "cgroup mounts are not part of this test (%s)", target);
}

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

#define INDEX_HTML "served from the host\n"

static char base[64]; /* the temporary directory of the current case */

/* ---- helpers: the host side ------------------------------------------- */

static void
die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

__attribute__((format(printf, 1, 2))) static void
xmkdir(const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
}

static void
xwrite(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || ferry_write_all(fd, data, strlen(data)) < 0)
		die(path);
	close(fd);
}

__attribute__((format(printf, 2, 3))) static void
xsymlink(const char *target, const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (symlink(target, path) < 0)
		die(path);
}

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		die(from);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		die(to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (ferry_write_all(out, buf, n) < 0)
			die(to);
	close(in);
	close(out);
}

/* base/bundle/rootfs with a static busybox, and base/html/index.html. */
static void
make_base(void)
{
	char p[4096];

	snprintf(base, sizeof(base), "/tmp/ferry-test-rootfs-XXXXXX");
	if (mkdtemp(base) == NULL)
		die("mkdtemp");
	xmkdir("%s/bundle", base);
	xmkdir("%s/bundle/rootfs", base);
	xmkdir("%s/bundle/rootfs/bin", base);
	xmkdir("%s/bundle/rootfs/proc", base);
	xmkdir("%s/bundle/rootfs/sys", base);
	xmkdir("%s/bundle/rootfs/dev", base);
	xmkdir("%s/bundle/rootfs/tmp", base);
	xmkdir("%s/bundle/rootfs/run", base);
	snprintf(p, sizeof(p), "%s/bundle/rootfs/bin/busybox", base);
	copy_file("/bin/busybox", p, 0755);
	xsymlink("busybox", "%s/bundle/rootfs/bin/sh", base);
	xsymlink("busybox", "%s/bundle/rootfs/bin/cat", base);
	snprintf(p, sizeof(p), "%s/bundle/rootfs/run/seed.txt", base);
	xwrite(p, "seed\n", 0640);
	xmkdir("%s/html", base);
	snprintf(p, sizeof(p), "%s/html/index.html", base);
	xwrite(p, INDEX_HTML, 0644);
}

static char *
read_mountinfo(void)
{
	char *s = NULL;
	ferry_error_t err = FERRY_ERROR_INIT;

	if (ferry_read_file("/proc/self/mountinfo", 64u << 20, &s, NULL, &err) < 0)
		die("read /proc/self/mountinfo");
	return s;
}

/* Lines of `after` that are not in `before`. */
static int
count_new_lines(const char *before, const char *after, const char *must_mention)
{
	int n = 0;
	char *copy = xstrdup(after), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *p = before;
		size_t len = strlen(l);
		bool found = false;

		while ((p = strstr(p, l)) != NULL) {
			if ((p == before || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0')) {
				found = true;
				break;
			}
			p += len;
		}
		if (found)
			continue;
		if (must_mention && strstr(l, must_mention) == NULL) {
			printf("# the host's mount table changed elsewhere (not by this test?): %s\n", l);
			continue;
		}
		printf("# left on the host: %s\n", l);
		n++;
	}
	free(copy);
	return n;
}

/* ---- running a case in its own namespaces ------------------------------ */

typedef void (*case_fn)(void);

/* For the user-namespace cases: a tmpfs mounted nosuid,nodev at
 * base/locked in a namespace of ours, then a user namespace (root mapped
 * to root) with new mount, pid and ipc namespaces.  There
 * the copied mounts have their flags locked (MNT_LOCK_*), mknod is refused,
 * and sysfs cannot be mounted (the network namespace is the host's). */
static int
enter_userns(void)
{
	static const char map[] = "0 0 1\n";
	char p[512];
	int ufd, gfd, sfd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		printf("# unshare/rslave: %s\n", strerror(errno));
		return -1;
	}
	snprintf(p, sizeof(p), "%s/locked", base);
	xmkdir("%s", p);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") < 0) {
		printf("# mount %s: %s\n", p, strerror(errno));
		return -1;
	}
	snprintf(p, sizeof(p), "%s/locked/file", base);
	xwrite(p, "locked\n", 0644);
	/* Inside, root maps to root only: a process may map its own ids
	 * without privilege in the parent namespace (gids once setgroups is
	 * denied). */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) < 0) {
		printf("# unshare a user namespace: %s\n", strerror(errno));
		return -1;
	}
	ufd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
	gfd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
	sfd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
	if (ufd < 0 || gfd < 0 || sfd < 0 || write(sfd, "deny", 4) < 0 || write(ufd, map, strlen(map)) < 0 ||
	    write(gfd, map, strlen(map)) < 0) {
		printf("# map ids in the user namespace: %s\n", strerror(errno));
		return -1;
	}
	close(ufd);
	close(gfd);
	close(sfd);
	return 0;
}

/* The case runs as pid 1 of a new pid namespace, in a new mount namespace.
 * It prints its TAP lines itself (numbered on from ours) and sends back
 * its counters through a pipe. */
static void
run_in_namespaces(const char *name, case_fn fn, bool userns)
{
	_cleanup_free_ char *before = read_mountinfo();
	_cleanup_free_ char *after = NULL;
	int pfd[2], st = 0, counts[2] = { -1, -1 };
	pid_t pid;
	struct stat sb;
	ferry_error_t err = FERRY_ERROR_INIT;

	make_base();
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe2");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pid_t inner;
		int ist = 0;

		close(pfd[0]);
		if (userns && enter_userns() < 0)
			_exit(2);
		if (!userns && unshare(CLONE_NEWNS | CLONE_NEWPID) < 0) {
			printf("# unshare: %s\n", strerror(errno));
			_exit(2);
		}
		inner = fork();
		if (inner < 0)
			_exit(2);
		if (inner == 0) {
			fn();
			fflush(stdout);
			counts[0] = tap_n;
			counts[1] = tap_failed;
			if (write(pfd[1], counts, sizeof(counts)) != sizeof(counts))
				_exit(3);
			_exit(0);
		}
		close(pfd[1]);
		while (waitpid(inner, &ist, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(ist) ? WEXITSTATUS(ist) : 4);
	}
	close(pfd[1]);
	if (ferry_read_all(pfd[0], counts, sizeof(counts)) != sizeof(counts))
		counts[0] = -1;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (counts[0] >= tap_n) {
		tap_n = counts[0];
		tap_failed = counts[1];
	}
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && counts[0] >= 0, "%s: the case ran to its end", name);

	after = read_mountinfo();
	ok(count_new_lines(before, after, base) == 0, "%s: no mount left in the host's namespace", name);
	ok(count_new_lines(before, after, "/etc") == 0, "%s: nothing mounted on the host's /etc", name);
	if (ferry_rm_rf_at(AT_FDCWD, base, &err) < 0) {
		_cleanup_free_ char *s = ferry_error_string(&err);
		printf("# %s\n", s);
		ferry_error_clear(&err);
	}
	ok(stat(base, &sb) < 0 && errno == ENOENT, "%s: %s removed", name, base);
}

/* ---- building specs ---------------------------------------------------- */

struct mount_def {
	const char *dest, *type, *source;
	unsigned long flags, clear, propagation;
	const char *data;
	bool bind, recursive, tmpcopyup;
};

static struct ferry_mount
mk(const struct mount_def *d)
{
	struct ferry_mount m = {
		.destination = (char *) d->dest,
		.type = (char *) d->type,
		.source = (char *) d->source,
		.flags = d->flags,
		.clear = d->clear,
		.propagation = d->propagation,
		.data = (char *) d->data,
		.bind = d->bind,
		.recursive = d->recursive,
		.tmpcopyup = d->tmpcopyup,
	};
	return m;
}

static void
opts_for(char *bundle, char *rootfs, size_t len, struct ferry_rootfs_opts *o, const ferry_spec_t *spec)
{
	snprintf(bundle, len, "%s/bundle", base);
	snprintf(rootfs, len, "%s/bundle/rootfs", base);
	memset(o, 0, sizeof(*o));
	o->spec = spec;
	o->bundle = bundle;
	o->rootfs = rootfs;
}

static void
report_error(const char *what, ferry_error_t *err)
{
	_cleanup_free_ char *s = ferry_error_string(err);

	printf("# %s: %s\n", what, s ? s : "?");
}

static bool
is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static char *
slurp(const char *path)
{
	char *s = NULL;
	ferry_error_t err = FERRY_ERROR_INIT;

	if (ferry_read_file(path, 1 << 20, &s, NULL, &err) < 0) {
		ferry_error_clear(&err);
		return NULL;
	}
	return s;
}

static bool
fails_with(int r, int e)
{
	return r < 0 && errno == e;
}

/* The open fds, as "0 1 2 5 " (the listing's own fd left out). */
static char *
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char *out = xstrdup(""), *tmp;

	if (d == NULL)
		return out;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		tmp = xasprintf("%s%s ", out, de->d_name);
		free(out);
		out = tmp;
	}
	closedir(d);
	return out;
}

/* ---- case: the seed's container --------------------------------------- */

static void
case_full(void)
{
	char bundle[256], rootfs[256], html[256], index[256], hostpath[512];
	/* /proc/kcore exists only with CONFIG_PROC_KCORE; /proc/keys and
	 * timer_list stand in for it where it does not. */
	char *masked[] = { (char *) "/proc/kcore",   (char *) "/proc/keys",	   (char *) "/proc/timer_list",
			   (char *) "/proc/no-such-file", (char *) "/sys/firmware", NULL };
	bool has_kcore = access("/proc/kcore", F_OK) == 0;
	char *readonly[] = { (char *) "/proc/sys", (char *) "/proc/no-such-dir", NULL };
	struct ferry_device devs[] = { {
		.path = (char *) "/dev/ferry-test",
		.type = 'c',
		.major = 1,
		.minor = 5,
		.has_mode = true,
		.file_mode = 0600,
		.has_uid = true,
		.has_gid = true,
		.uid = 1000,
		.gid = 1001,
	} };
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, NULL, false, false, false },
		{ "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, 0, 0, "mode=755,size=65536k", false, false,
		  false },
		{ "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, 0, 0, "newinstance,ptmxmode=0666,mode=0620",
		  false, false, false },
		{ "/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NOEXEC | MS_NODEV, 0, 0, "mode=1777,size=65536k", false,
		  false, false },
		{ "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, 0, 0, NULL, false, false,
		  false },
		{ "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, 0, 0, NULL, false, false,
		  false },
		{ "/tmp", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, 0, 0, "mode=1777", false, false, false },
		{ "/run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, 0, 0, NULL, false, false, true },
		{ "/var/www/html", "bind", html, MS_BIND | MS_REC | MS_RDONLY, 0, MS_PRIVATE | MS_REC, NULL, true,
		  true, false },
		{ "/proc/uptime", "bind", index, MS_BIND, 0, 0, NULL, true, false, false },
	};
	struct ferry_mount mounts[ARRAY_SIZE(defs)];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	struct stat st;
	struct statvfs sv;
	_cleanup_free_ char *s = NULL, *fds_before = NULL, *fds_after = NULL;
	char link[64];
	ssize_t n;
	int fd;

	snprintf(html, sizeof(html), "%s/html", base);
	snprintf(index, sizeof(index), "%s/html/index.html", base);
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = ARRAY_SIZE(mounts);
	spec.root_readonly = true;
	spec.linux_.masked_paths = masked;
	spec.linux_.readonly_paths = readonly;
	spec.linux_.devices = devs;
	spec.linux_.n_devices = ARRAY_SIZE(devs);
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);

	fds_before = open_fds();
	fd = ferry_rootfs_prepare(&o, &err);
	ok(fd == 0, "full: prepare");
	if (fd < 0)
		return report_error("prepare", &err);
	snprintf(hostpath, sizeof(hostpath), "%s/var/www/html", rootfs);
	ok(stat(hostpath, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755,
	   "full: the missing /var/www/html was created 0755 inside the rootfs");
	fd = ferry_rootfs_finalize(&o, &err);
	ok(fd == 0, "full: finalize (pivot_root)");
	if (fd < 0)
		return report_error("finalize", &err);

	/* Now inside. */
	fds_after = open_fds();
	is_str(fds_after, fds_before, "full: prepare and finalize leave no fd open");
	ok(getpid() == 1, "full: we are pid 1 of the container's pid namespace");
	ok(stat(base, &st) < 0 && errno == ENOENT, "full: the host's %s is not visible", base);
	ok(access("/bin/busybox", X_OK) == 0, "full: / is the rootfs");
	s = slurp("/var/www/html/index.html");
	is_str(s, INDEX_HTML, "full: the bound index.html reads the host's content");
	ok(fails_with(open("/var/www/html/index.html", O_WRONLY | O_CLOEXEC), EROFS),
	   "full: the bound index.html is not writable (EROFS)");
	ok(fails_with(open("/var/www/html/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS),
	   "full: nothing can be created in the ro bind");
	ok(fails_with(open("/newfile", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS),
	   "full: / is read-only (EROFS on create)");
	ok(fails_with(mkdir("/newdir", 0755), EROFS), "full: / is read-only (EROFS on mkdir)");
	fd = open("/tmp/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ok(fd >= 0, "full: /tmp is writable");
	if (fd >= 0)
		close(fd);
	ok(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777 && is_fs("/tmp", TMPFS_MAGIC),
	   "full: /tmp is a 1777 tmpfs");
	free(s);
	s = slurp("/run/seed.txt");
	is_str(s, "seed\n", "full: tmpcopyup copied /run/seed.txt into the tmpfs");
	ok(stat("/run/seed.txt", &st) == 0 && (st.st_mode & 07777) == 0640, "full: tmpcopyup kept the file mode");
	ok(is_fs("/run", TMPFS_MAGIC) && stat("/run", &st) == 0 && (st.st_mode & 07777) == 0755,
	   "full: /run is a tmpfs with the image directory's mode");
	fd = open("/run/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ok(fd >= 0, "full: /run is writable");
	if (fd >= 0)
		close(fd);

	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3 &&
		   (st.st_mode & 07777) == 0666,
	   "full: /dev/null is char 1:3, mode 0666");
	ok(stat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 0,
	   "full: /dev/tty is char 5:0");
	ok(stat("/dev/urandom", &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 9, "full: /dev/urandom");
	ok(stat("/dev/ferry-test", &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 5 &&
		   (st.st_mode & 07777) == 0600 && st.st_uid == 1000 && st.st_gid == 1001,
	   "full: linux.devices node with its mode and owner");
	n = readlink("/dev/ptmx", link, sizeof(link) - 1);
	ok(n > 0 && (link[n] = '\0', strcmp(link, "pts/ptmx") == 0), "full: /dev/ptmx -> pts/ptmx");
	n = readlink("/dev/fd", link, sizeof(link) - 1);
	ok(n > 0 && (link[n] = '\0', strcmp(link, "/proc/self/fd") == 0), "full: /dev/fd -> /proc/self/fd");
	n = readlink("/dev/core", link, sizeof(link) - 1);
	if (has_kcore)
		ok(n > 0 && (link[n] = '\0', strcmp(link, "/proc/kcore") == 0), "full: /dev/core -> /proc/kcore");
	else
		ok(n < 0 && errno == ENOENT, "full: no /dev/core (this kernel has no /proc/kcore)");
	ok(is_fs("/dev/pts", DEVPTS_SUPER_MAGIC), "full: /dev/pts is a devpts");
	fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok(fd >= 0, "full: a pty can be opened through /dev/ptmx");
	if (fd >= 0)
		close(fd);
	ok(is_fs("/dev/mqueue", MQUEUE_MAGIC), "full: /dev/mqueue is an mqueue");
	ok(is_fs("/dev/shm", TMPFS_MAGIC), "full: /dev/shm is a tmpfs");

	ok(is_fs("/sys", SYSFS_MAGIC) && statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY),
	   "full: /sys is a read-only sysfs");
	ok(is_fs("/proc", PROC_SUPER_MAGIC), "full: /proc is a procfs");
	free(s);
	s = slurp("/proc/self/stat");
	ok(s && strncmp(s, "1 ", 2) == 0, "full: /proc is the container's pid namespace");
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(masked[i], "/proc/kcore") == 0 && !has_kcore) {
			ok(stat("/proc/kcore", &st) < 0 && errno == ENOENT,
			   "full: masking the missing /proc/kcore is fine (no CONFIG_PROC_KCORE)");
			continue;
		}
		ok(stat(masked[i], &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
			   minor(st.st_rdev) == 3,
		   "full: %s is masked by /dev/null", masked[i]);
		free(s);
		s = slurp(masked[i]);
		is_str(s, "", "full: %s reads empty", masked[i]);
	}
	free(s);
	s = slurp("/proc/uptime");
	is_str(s, INDEX_HTML, "full: a file bound on /proc/uptime (as lxcfs does) is allowed");
	ok(is_fs("/sys/firmware", TMPFS_MAGIC) && statvfs("/sys/firmware", &sv) == 0 && (sv.f_flag & ST_RDONLY),
	   "full: the directory /sys/firmware is masked by a read-only tmpfs");
	ok(fails_with(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS),
	   "full: /proc/sys is read-only");
	ok(statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NOEXEC),
	   "full: /proc/sys kept proc's nosuid,noexec when made read-only");
	ok(open("/proc/self/status", O_RDONLY | O_CLOEXEC) >= 0, "full: the rest of /proc is readable");

	/* A process of the container sees the same. */
	{
		int p[2];
		pid_t c;
		char buf[256] = "";

		if (pipe2(p, O_CLOEXEC) == 0 && (c = fork()) == 0) {
			dup2(p[1], 1);
			execl("/bin/cat", "cat", "/var/www/html/index.html", (char *) NULL);
			_exit(127);
		}
		close(p[1]);
		n = ferry_read_all(p[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(p[0]);
		while (wait(NULL) > 0)
			;
		is_str(buf, INDEX_HTML, "full: busybox cat in the container reads index.html");
	}
}

/* ---- case: --no-pivot -------------------------------------------------- */

static void
case_no_pivot(void)
{
	char bundle[256], rootfs[256];
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, NULL, false, false, false },
		{ "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_RDONLY, 0, 0, "mode=755", false, false, false },
	};
	struct ferry_mount mounts[ARRAY_SIZE(defs)];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	struct stat st;
	struct statvfs sv;

	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = ARRAY_SIZE(mounts);
	spec.linux_.rootfs_propagation = (char *) "rprivate";
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);
	o.no_pivot = true;
	if (ferry_rootfs_prepare(&o, &err) < 0) {
		ok(0, "no-pivot: prepare");
		return report_error("prepare", &err);
	}
	ok(ferry_rootfs_finalize(&o, &err) == 0, "no-pivot: finalize (MS_MOVE + chroot)");
	if (ferry_error_isset(&err))
		return report_error("finalize", &err);
	ok(access("/bin/busybox", X_OK) == 0 && stat(base, &st) < 0, "no-pivot: / is the rootfs");
	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "no-pivot: /dev/null made before /dev went ro");
	ok(statvfs("/dev", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID),
	   "no-pivot: /dev asked ro,nosuid is read-only and nosuid");
	ok(fails_with(mkdir("/dev/x", 0755), EROFS), "no-pivot: /dev is read-only");
}

/* ---- case: rootfsPropagation rshared ------------------------------------ */

/* "/" is made rshared first, so the mount holding the rootfs is shared
 * and must be made private for pivot_root to work; the container's own
 * "/" ends up shared. */
static void
case_rshared(void)
{
	char bundle[256], rootfs[256];
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", 0, 0, 0, NULL, false, false, false },
		{ "/tmp", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
	};
	struct ferry_mount mounts[ARRAY_SIZE(defs)];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *info = NULL;
	char *line;
	bool root_shared = false;

	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = ARRAY_SIZE(mounts);
	spec.linux_.rootfs_propagation = (char *) "rshared";
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);
	if (ferry_rootfs_prepare(&o, &err) < 0) {
		ok(0, "rshared: prepare");
		return report_error("prepare", &err);
	}
	ok(1, "rshared: prepare");
	if (ferry_rootfs_finalize(&o, &err) < 0) {
		ok(0, "rshared: finalize");
		return report_error("finalize", &err);
	}
	ok(1, "rshared: finalize (pivot_root despite a shared parent)");
	info = slurp("/proc/self/mountinfo");
	for (line = info; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char mp[256];

		if (sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 && strcmp(mp, "/") == 0) {
			char *eol = strchr(line, '\n');
			char *sh = strstr(line, " shared:");

			root_shared = sh && (eol == NULL || sh < eol);
			break;
		}
	}
	ok(root_shared, "rshared: the container's / is shared");
}

/* ---- case: a hostile image -------------------------------------------- */

static void
case_hostile(void)
{
	char bundle[256], rootfs[256], p[512], file_src[256];
	struct mount_def defs[] = {
		{ "/evil/owned", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
		{ "/up/owned-up", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
		{ "/dangle/x", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
		{ "/evil/hostname-copy", "bind", file_src, MS_BIND | MS_RDONLY, 0, 0, NULL, true, false, false },
		{ "/proc/../../../../evil/dotdot", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
	};
	struct ferry_mount mounts[ARRAY_SIZE(defs)];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	struct stat st;
	_cleanup_free_ char *s = NULL;

	snprintf(file_src, sizeof(file_src), "%s/html/index.html", base);
	snprintf(p, sizeof(p), "%s/bundle/rootfs/etc", base);
	xmkdir("%s", p);
	xsymlink("/etc", "%s/bundle/rootfs/evil", base);
	xsymlink("../../../../../../../../etc", "%s/bundle/rootfs/up", base);
	xsymlink("/ferry-no-such-dir", "%s/bundle/rootfs/dangle", base);
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = ARRAY_SIZE(mounts);
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);

	ok(ferry_rootfs_prepare(&o, &err) == 0, "hostile: prepare");
	if (ferry_error_isset(&err))
		return report_error("prepare", &err);
	/* Seen from the host's side of our namespace, before pivot_root. */
	ok(stat("/etc/owned", &st) < 0 && errno == ENOENT, "hostile: nothing created at the host's /etc/owned");
	ok(stat("/etc/owned-up", &st) < 0 && errno == ENOENT, "hostile: ../../etc did not reach the host's /etc");
	ok(stat("/ferry-no-such-dir", &st) < 0 && errno == ENOENT,
	   "hostile: a dangling absolute symlink did not create a host directory");
	ok(stat("/etc/hostname-copy", &st) < 0 && errno == ENOENT, "hostile: no file bound on the host's /etc");
	ok(stat("/etc/dotdot", &st) < 0 && errno == ENOENT, "hostile: .. in the destination stays inside");
	snprintf(p, sizeof(p), "%s/etc/owned", rootfs);
	ok(is_fs(p, TMPFS_MAGIC), "hostile: /evil/owned landed in rootfs/etc/owned");
	snprintf(p, sizeof(p), "%s/etc/owned-up", rootfs);
	ok(is_fs(p, TMPFS_MAGIC), "hostile: /up/owned-up landed in rootfs/etc/owned-up");
	snprintf(p, sizeof(p), "%s/ferry-no-such-dir/x", rootfs);
	ok(is_fs(p, TMPFS_MAGIC), "hostile: the dangling link's target was created inside the rootfs");
	snprintf(p, sizeof(p), "%s/etc/dotdot", rootfs);
	ok(is_fs(p, TMPFS_MAGIC), "hostile: /proc/../../../../evil/dotdot landed in rootfs/etc/dotdot");
	snprintf(p, sizeof(p), "%s/etc/hostname-copy", rootfs);
	s = slurp(p);
	is_str(s, INDEX_HTML, "hostile: the file bind landed in rootfs/etc/hostname-copy");
	ok(fails_with(open(p, O_WRONLY | O_CLOEXEC), EROFS), "hostile: ... read-only");
}

/* ---- case: in a user namespace ---------------------------------------- */

static void
case_userns(void)
{
	char bundle[256], rootfs[256], locked[256];
	char *masked[] = { (char *) "/proc/keys", NULL };
	char *readonly[] = { (char *) "/proc/sys", NULL };
	struct ferry_device devs[] = { { .path = (char *) "/dev/full", .type = 'c', .major = 1, .minor = 7 } };
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, NULL, false, false, false },
		{ "/dev", "tmpfs", "tmpfs", MS_NOSUID, 0, 0, "mode=755", false, false, false },
		{ "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, 0, 0, "newinstance,ptmxmode=0666,mode=0620",
		  false, false, false },
		{ "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, 0, 0, NULL, false, false,
		  false },
		{ "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, 0, 0, NULL, false, false,
		  false },
		{ "/locked", "bind", locked, MS_BIND | MS_RDONLY, 0, 0, NULL, true, false, false },
	};
	struct ferry_mount mounts[ARRAY_SIZE(defs)];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	struct stat st;
	struct statvfs sv;
	_cleanup_free_ char *s = NULL;

	snprintf(locked, sizeof(locked), "%s/locked", base);
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = ARRAY_SIZE(mounts);
	spec.root_readonly = true;
	spec.linux_.masked_paths = masked;
	spec.linux_.readonly_paths = readonly;
	spec.linux_.devices = devs;
	spec.linux_.n_devices = ARRAY_SIZE(devs);
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);

	ok(mknod("/tmp/ferry-never", S_IFCHR | 0600, makedev(1, 3)) < 0 && errno == EPERM,
	   "userns: mknod is refused here (the fallback is what is tested)");
	if (ferry_rootfs_prepare(&o, &err) < 0) {
		ok(0, "userns: prepare");
		return report_error("prepare", &err);
	}
	ok(1, "userns: prepare");
	if (ferry_rootfs_finalize(&o, &err) < 0) {
		ok(0, "userns: finalize");
		return report_error("finalize", &err);
	}
	ok(1, "userns: finalize");
	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3,
	   "userns: /dev/null is the host's node, bound (mknod gave EPERM)");
	ok(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 7,
	   "userns: linux.devices /dev/full bound from the host");
	ok(is_fs("/sys", SYSFS_MAGIC) && statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY),
	   "userns: sysfs gave EPERM, /sys is the host's bound read-only");
	ok(is_fs("/proc", PROC_SUPER_MAGIC), "userns: /proc is a procfs");
	ok(is_fs("/dev/mqueue", MQUEUE_MAGIC), "userns: /dev/mqueue");
	s = slurp("/locked/file");
	is_str(s, "locked\n", "userns: the bind with locked flags is there");
	ok(statvfs("/locked", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
		   (sv.f_flag & ST_NODEV),
	   "userns: asked ro, it is ro and kept its locked nosuid,nodev");
	ok(fails_with(open("/newfile", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS), "userns: / is read-only");
	ok(fails_with(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS),
	   "userns: /proc/sys is read-only");
	ok(stat("/proc/keys", &st) == 0 && S_ISCHR(st.st_mode), "userns: /proc/keys is masked");
}

/* Asked to clear a flag the kernel locked: must fail, not silently keep it. */
static void
case_userns_clear_locked(void)
{
	char bundle[256], rootfs[256], locked[256];
	char *options[] = { (char *) "bind", (char *) "suid", NULL };
	struct mount_def defs[] = {
		{ "/locked", "bind", locked, MS_BIND, MS_NOSUID, 0, NULL, true, false, false },
	};
	struct ferry_mount mounts[1];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *s = NULL;

	snprintf(locked, sizeof(locked), "%s/locked", base);
	mounts[0] = mk(&defs[0]);
	mounts[0].options = options;
	spec.mounts = mounts;
	spec.n_mounts = 1;
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);
	ok(ferry_rootfs_prepare(&o, &err) < 0, "locked: asking to clear a locked nosuid fails");
	s = ferry_error_string(&err);
	printf("# %s\n", s ? s : "(no message)");
	ok(s && strstr(s, "bind ") && strstr(s, " on /locked: remount with bind,suid: Operation not permitted"),
	   "locked: the error names the mount and the options");
}

/* ---- cases that must fail with a clear error ----------------------------- */

static void
expect_prepare_error(const char *name, struct mount_def *defs, size_t n, const char *const *want)
{
	char bundle[256], rootfs[256];
	struct ferry_mount mounts[8];
	ferry_spec_t spec = { 0 };
	struct ferry_rootfs_opts o;
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *s = NULL;

	for (size_t i = 0; i < n; i++)
		mounts[i] = mk(&defs[i]);
	spec.mounts = mounts;
	spec.n_mounts = n;
	opts_for(bundle, rootfs, sizeof(bundle), &o, &spec);
	ok(ferry_rootfs_prepare(&o, &err) < 0, "%s: prepare fails", name);
	s = ferry_error_string(&err);
	printf("# %s\n", s ? s : "(no message)");
	for (const char *const *w = want; *w; w++)
		ok(s && strstr(s, *w), "%s: the error says '%s'", name, *w);
	ferry_error_clear(&err);
}

static void
case_loop(void)
{
	struct mount_def defs[] = {
		{ "/loop/x", "tmpfs", "tmpfs", 0, 0, 0, NULL, false, false, false },
	};
	static const char *const want[] = { "mount tmpfs on /loop/x", "Too many levels of symbolic links", NULL };

	xsymlink("loop2", "%s/bundle/rootfs/loop", base);
	xsymlink("loop", "%s/bundle/rootfs/loop2", base);
	expect_prepare_error("symlink loop", defs, ARRAY_SIZE(defs), want);
}

static void
case_bad_source(void)
{
	struct mount_def defs[] = {
		{ "/var/www/html", "bind", "/ferry-no-such-source", MS_BIND, 0, 0, NULL, true, false, false },
	};
	static const char *const want[] = {
		"bind /ferry-no-such-source on /var/www/html: source /ferry-no-such-source: No such file or directory",
		NULL,
	};

	expect_prepare_error("missing bind source", defs, ARRAY_SIZE(defs), want);
}

static void
case_proc_symlink(void)
{
	char p[512];
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", 0, 0, 0, NULL, false, false, false },
	};
	static const char *const want[] = { "mount proc on /proc", "ordinary directory", NULL };

	snprintf(p, sizeof(p), "%s/bundle/rootfs/proc", base);
	rmdir(p);
	xsymlink("/tmp", "%s/bundle/rootfs/proc", base);
	expect_prepare_error("proc on a symlink", defs, ARRAY_SIZE(defs), want);
}

static void
case_inside_proc(void)
{
	char src[256];
	struct mount_def defs[] = {
		{ "/proc", "proc", "proc", 0, 0, 0, NULL, false, false, false },
		{ "/proc/self/attr/current", "bind", src, MS_BIND, 0, 0, NULL, true, false, false },
	};
	static const char *const want[] = { "bind", "is inside /proc, where only lxcfs-style files", NULL };

	snprintf(src, sizeof(src), "%s/html/index.html", base);
	expect_prepare_error("bind inside /proc", defs, ARRAY_SIZE(defs), want);
}

/* ---- ferry_rootfs_open_inside alone (no mounts) ---------------------- */

static void
test_open_inside(void)
{
	char root[256], p[512];
	int rfd, fd;
	struct stat st;
	ferry_error_t err = FERRY_ERROR_INIT;
	mode_t old = umask(022);

	make_base();
	snprintf(root, sizeof(root), "%s/bundle/rootfs", base);
	xsymlink("/etc", "%s/abs", root);
	xsymlink("../../../../../../..", "%s/up", root);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		die(root);

	fd = ferry_rootfs_open_inside(rfd, "/abs/a/b", true, false, &err);
	snprintf(p, sizeof(p), "%s/etc/a/b", root);
	ok(fd >= 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode), "open_inside: /abs/a/b created as rootfs/etc/a/b");
	ok(stat("/etc/a", &st) < 0, "open_inside: not in the host's /etc");
	if (fd >= 0)
		close(fd);
	fd = ferry_rootfs_open_inside(rfd, "up/up/file", true, true, &err);
	snprintf(p, sizeof(p), "%s/up", root);
	snprintf(p, sizeof(p), "%s/file", root);
	ok(fd >= 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644,
	   "open_inside: up/up/file is rootfs/file, an empty 0644 file");
	if (fd >= 0)
		close(fd);
	fd = ferry_rootfs_open_inside(rfd, "/no/such", false, false, &err);
	ok(fd < 0 && err.errno_ == ENOENT, "open_inside: without create, a missing path is ENOENT");
	ferry_error_clear(&err);
	fd = ferry_rootfs_open_inside(rfd, "/", false, false, &err);
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "open_inside: / is the root itself");
	if (fd >= 0)
		close(fd);
	close(rfd);
	umask(old);
	ok(ferry_rm_rf_at(AT_FDCWD, base, &err) == 0, "open_inside: cleaned up");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("FERRY_TEST_DEBUG"))
		ferry_log_set_level(FERRY_LOG_DEBUG);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (mount and pid namespaces)\n");
		return 0;
	}
	if (access("/bin/busybox", X_OK) < 0) {
		printf("1..0 # SKIP /bin/busybox (busybox-static) is missing\n");
		return 0;
	}
	test_open_inside();
	run_in_namespaces("full", case_full, false);
	run_in_namespaces("no-pivot", case_no_pivot, false);
	run_in_namespaces("rshared", case_rshared, false);
	run_in_namespaces("hostile", case_hostile, false);
	run_in_namespaces("symlink loop", case_loop, false);
	run_in_namespaces("missing bind source", case_bad_source, false);
	run_in_namespaces("proc on a symlink", case_proc_symlink, false);
	run_in_namespaces("bind inside /proc", case_inside_proc, false);
	run_in_namespaces("user namespace", case_userns, true);
	run_in_namespaces("locked flag cleared", case_userns_clear_locked, true);
	return tap_done();
}
