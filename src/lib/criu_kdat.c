/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRIU's kernel-probe cache on hosts whose /run is not a tmpfs.
 *
 * Every CRIU run starts by probing the kernel ("kerndat": pagemap, vDSO,
 * userfaultfd, `iptables -L`, ...), 20-30 ms on these machines, inside
 * every checkpoint and every restore.  CRIU keeps the answers in
 * /run/criu.kdat, but saves them only when /run is a tmpfs (on disk the
 * file would outlive a reboot into another kernel).  It reads the file
 * from anywhere.
 *
 * Where /run is not a tmpfs (these machines), ferry keeps the file in its
 * state root, valid for one boot (boot_id), one kernel and one CRIU binary
 * (device, inode, size, mtime, path), and shows it to its own CRIU only:
 * the CRIU child gets a private mount namespace (a slave copy of the
 * caller's) whose /run is a fresh tmpfs holding criu.kdat and every entry
 * of the host's /run (bound back, symlinks recreated).  Nothing changes
 * for other CRIU users of the host, and nothing is written to the host's
 * /run.  Without a cache yet, CRIU finds /run a tmpfs and saves its
 * probes there; ferry keeps that file afterwards.
 *
 * Only CRIU processes spawned for one call get this (not one started
 * ahead, which may need mounts made after it started: a private
 * namespace of a host with private mounts would not see them).  Every
 * step is optional: on any failure CRIU runs as it would without ferry.
 */
#define LOG_PREFIX "criu-kdat: "
#include "criu_kdat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>

#include "log.h"
#include "util.h"

#define KDAT_NAME "criu.kdat"
#define KDAT_BLOB ".criu-kdat"
#define KDAT_KEY ".criu-kdat.key"
/* CRIU's kerndat struct is under 1 KiB (912 bytes for 4.2); anything far
 * larger is not one. */
#define KDAT_MAX (64 * 1024)

static char *kdat_root;

void
ferry_criu_kdat_configure(const char *state_root)
{
	free(kdat_root);
	kdat_root = state_root && getenv("FERRY_NO_CRIU_KDAT") == NULL ? xstrdup(state_root) : NULL;
}

/* The files CRIU itself writes in /run: never bound back from the host
 * (a stale criu.kdat.tmp there would stop CRIU from saving). */
static bool
criu_own(const char *name)
{
	return strcmp(name, KDAT_NAME) == 0 || strcmp(name, KDAT_NAME ".tmp") == 0 || strcmp(name, ".criu.kdat") == 0;
}

static char *
make_key(const char *criu_path)
{
	_cleanup_free_ char *boot = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	struct utsname u;
	struct stat sb;
	size_t len = 0;

	if (ferry_read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 128, &boot, &len, &e) < 0 || len < 8)
		return NULL;
	boot[strcspn(boot, "\n")] = '\0';
	if (uname(&u) < 0 || stat(criu_path, &sb) < 0)
		return NULL;
	return xasprintf("boot %s\nkernel %s %s\ncriu %llu %llu %lld %lld.%09ld %s\n", boot, u.release, u.version,
			 (unsigned long long) sb.st_dev, (unsigned long long) sb.st_ino, (long long) sb.st_size,
			 (long long) sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, criu_path);
}

/* The cached file for this key, copied into the tmpfs; false if none. */
static bool
install_cached(int root_fd, const char *key, int mnt_fd)
{
	_cleanup_free_ char *have = NULL;
	_cleanup_free_ char *blob = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	size_t len = 0, blen = 0;

	if (ferry_read_file_at(root_fd, KDAT_KEY, 4096, &have, &len, &e) < 0 || strcmp(have, key) != 0)
		return false;
	if (ferry_read_file_at(root_fd, KDAT_BLOB, KDAT_MAX, &blob, &blen, &e) < 0 || blen == 0)
		return false;
	if (ferry_write_file_replace_at(mnt_fd, KDAT_NAME, blob, blen, 0600, &e) < 0) {
		pr_debug("cannot place %s: %s", KDAT_NAME, e.msg);
		return false;
	}
	return true;
}

static void
add_entry(struct ferry_criu_kdat *k, int run_fd, int mnt_fd, const char *name, unsigned char type)
{
	struct stat sb;
	bool dir;

	if (type == DT_UNKNOWN) {
		if (fstatat(run_fd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			return;
		type = S_ISLNK(sb.st_mode) ? DT_LNK : S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
	}
	if (type == DT_LNK) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(run_fd, name, target, sizeof(target) - 1);

		if (n < 0)
			return;
		target[n] = '\0';
		if (symlinkat(target, mnt_fd, name) < 0)
			return;
		k->e = xrealloc(k->e, (k->n + 1) * sizeof(*k->e));
		k->e[k->n++] = (struct ferry_kdat_entry){ xasprintf("/run/%s", name), xstrdup(name), false };
		return;
	}
	dir = type == DT_DIR;
	if (dir ? mkdirat(mnt_fd, name, 0755) < 0 : mknodat(mnt_fd, name, S_IFREG | 0600, 0) < 0)
		return;
	k->e = xrealloc(k->e, (k->n + 1) * sizeof(*k->e));
	k->e[k->n++] = (struct ferry_kdat_entry){ xasprintf("/run/%s", name), xstrdup(name), true };
}

static void
free_entries(struct ferry_criu_kdat *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->e[i].path);
		free(k->e[i].name);
	}
	free(k->e);
	k->e = NULL;
	k->n = 0;
}

void
ferry_criu_kdat_prepare(const char *criu_path, struct ferry_criu_kdat *k)
{
	_cleanup_close_ int root_fd = -1;
	_cleanup_close_ int fs_fd = -1;
	_cleanup_close_ int run_fd = -1;
	struct statfs sf;
	DIR *d;
	struct dirent *de;

	*k = (struct ferry_criu_kdat) FERRY_CRIU_KDAT_INIT;
	if (kdat_root == NULL || statfs("/run", &sf) < 0 || sf.f_type == TMPFS_MAGIC)
		return;
	if ((k->key = make_key(criu_path)) == NULL)
		goto off;
	if ((root_fd = open(kdat_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto off;
	if ((k->ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
		goto off;
	if ((fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 || fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (k->mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0) {
		pr_debug("no tmpfs for CRIU's /run: %s", strerror(errno));
		goto off;
	}
	if ((run_fd = open("/run", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto off;
	d = fdopendir(run_fd);
	if (d == NULL)
		goto off;
	run_fd = -1; /* the DIR owns it */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || criu_own(de->d_name))
			continue;
		add_entry(k, dirfd(d), k->mnt_fd, de->d_name, de->d_type);
	}
	closedir(d);
	k->cached = install_cached(root_fd, k->key, k->mnt_fd);
	return;
off:
	ferry_criu_kdat_finish(k);
}

/* Child side: system calls only (the caller may be threaded). */
void
ferry_criu_kdat_child(const struct ferry_criu_kdat *k)
{
	int run_fd;

	if (k->mnt_fd < 0)
		return;
	if (unshare(CLONE_NEWNS) < 0)
		return;
	/* Nothing this process mounts may reach the caller's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		if (setns(k->ns_fd, CLONE_NEWNS) < 0)
			_exit(127); /* neither private nor back: do not run CRIU */
		return;
	}
	run_fd = open("/run", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (run_fd < 0)
		return;
	if (move_mount(k->mnt_fd, "", AT_FDCWD, "/run", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		close(run_fd);
		return;
	}
	for (size_t i = 0; i < k->n; i++) {
		int tree;

		if (!k->e[i].bind)
			continue;
		tree = open_tree(run_fd, k->e[i].name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
							       AT_SYMLINK_NOFOLLOW);
		if (tree < 0 && errno == ENOENT)
			continue; /* gone since the list was made */
		if (tree < 0 || move_mount(tree, "", AT_FDCWD, k->e[i].path, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			if (tree >= 0)
				close(tree);
			/* the host's /run, whole, rather than part of it */
			umount2("/run", MNT_DETACH);
			break;
		}
		close(tree);
	}
	close(run_fd);
}

void
ferry_criu_kdat_forked(struct ferry_criu_kdat *k)
{
	free_entries(k);
	ferry_closep(&k->ns_fd);
}

void
ferry_criu_kdat_finish(struct ferry_criu_kdat *k)
{
	if (k->mnt_fd >= 0 && !k->cached && kdat_root) {
		_cleanup_free_ char *blob = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_close_ int root_fd = open(kdat_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		size_t len = 0;

		/* The key goes last: a reader that finds it finds the file. */
		if (root_fd >= 0 && ferry_read_file_at(k->mnt_fd, KDAT_NAME, KDAT_MAX, &blob, &len, &e) == 0 &&
		    len > 0) {
			if (ferry_write_file_replace_at(root_fd, KDAT_BLOB, blob, len, 0600, &e) < 0 ||
			    ferry_write_file_replace_at(root_fd, KDAT_KEY, k->key, strlen(k->key), 0600, &e) < 0)
				pr_debug("cannot keep CRIU's kernel probes in %s: %s", kdat_root, e.msg);
		}
	}
	free_entries(k);
	ferry_closep(&k->mnt_fd);
	ferry_closep(&k->ns_fd);
	free(k->key);
	k->key = NULL;
	k->cached = false;
}
