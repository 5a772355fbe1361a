/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container state directory: creation, locking, removal (state.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"
#include "util.h"

static char root[] = "/tmp/ferry-state-test-XXXXXX";

static int
exists_at(const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, name);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void
test_create_modes(const ferry_ctx_t *ctx)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_container_dir d;
	_cleanup_free_ char *dir = xasprintf("%s/c1", root), *lock = xasprintf("%s/c1/lock", root);
	struct stat st;

	ok(ferry_container_dir_create(ctx, "c1", &d, &err) == 0, "create c1 (%s)", err.msg ? err.msg : "ok");
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "state directory is 0700 (%o)", st.st_mode & 07777);
	ok(stat(lock, &st) == 0 && (st.st_mode & 07777) == 0600, "lock file is 0600 (%o)", st.st_mode & 07777);
	ferry_container_dir_close(&d);
	ok(ferry_container_dir_create(ctx, "c1", &d, &err) < 0 && err.errno_ == EEXIST, "a second create is refused");
	ferry_error_clear(&err);
	ok(ferry_container_dir_open(ctx, "c1", &d, &err) == 0, "open c1");
	ok(ferry_container_dir_remove(&d, &err) == 0, "remove c1 (%s)", err.msg ? err.msg : "ok");
	ok(!exists_at("c1"), "c1 is gone");
}

/* A delete removes the lock file before the directory: a command that
 * opens the directory in between must find the container gone, not make
 * a new lock file (a lock of its own, and a directory the delete can no
 * longer remove: "rmdir: Directory not empty" with 50 parallel deletes). */
static void
test_open_during_delete(const ferry_ctx_t *ctx)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_container_dir d, d2;
	_cleanup_free_ char *lock = xasprintf("%s/c2/lock", root);

	ok(ferry_container_dir_create(ctx, "c2", &d, &err) == 0, "create c2");
	ferry_container_dir_close(&d);
	ok(unlink(lock) == 0, "a delete has removed the lock file");
	if (ferry_container_dir_open(ctx, "c2", &d2, &err) == 0) {
		ok(0, "open of a container being deleted: does not exist");
		ferry_container_dir_close(&d2);
	} else {
		ok(err.errno_ == ENOENT, "open of a container being deleted: does not exist");
	}
	is_str(err.msg, "container \"c2\" does not exist", "the error says so");
	ferry_error_clear(&err);
	ok(!exists_at("c2/lock"), "no new lock file was created");
	{
		_cleanup_free_ char *dir = xasprintf("%s/c2", root);

		ok(rmdir(dir) == 0, "the emptied directory can be removed");
	}
}

/* A command waiting for the lock while a delete holds it. */
static void
test_wait_for_delete(const ferry_ctx_t *ctx)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_container_dir d;
	int status = -1;
	pid_t pid;

	ok(ferry_container_dir_create(ctx, "c3", &d, &err) == 0, "create c3 (held)");
	pid = fork();
	if (pid == 0) {
		struct ferry_container_dir d2;
		ferry_error_t e = FERRY_ERROR_INIT;

		/* the inherited fd shares the parent's lock: drop it */
		ferry_container_dir_close(&d);
		/* blocks until the parent's remove releases the lock */
		_exit(ferry_container_dir_open(ctx, "c3", &d2, &e) < 0 && e.errno_ == ENOENT ? 0 : 1);
	}
	usleep(100000);
	ok(ferry_container_dir_remove(&d, &err) == 0, "remove c3 while another waits (%s)",
	   err.msg ? err.msg : "ok");
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the waiter finds c3 gone");
	ok(!exists_at("c3"), "nothing of c3 is left");
}

/* A bind mount below a directory being removed is never emptied (a dead
 * restore's criu-root is the container's rootfs); the container's state
 * dir is removed after detaching it. */
static void
test_rm_rf_stops_at_mounts(const ferry_ctx_t *ctx)
{
	char src[] = "/tmp/ferry-test-rmrf.XXXXXX";
	struct ferry_container_dir d;
	ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_free_ char *file = NULL, *m = NULL, *m2 = NULL;
	_cleanup_close_ int rfd = open(ctx->state_root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (mkdtemp(src) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	file = xasprintf("%s/keep", src);
	{
		FILE *f = fopen(file, "we");
		if (f)
			fclose(f);
	}
	ok(access(file, F_OK) == 0, "a file in the tree to be bind-mounted");
	/* plain directory tree with a bind mount inside */
	m = xasprintf("%s/tree/mnt", ctx->state_root);
	ferry_mkdir_p(m, 0700, &e);
	if (mount(src, m, NULL, MS_BIND, NULL) < 0) {
		ok(0, "bind mount: %s", strerror(errno));
		return;
	}
	ok(ferry_rm_rf_at(rfd, "tree", &e) == 0, "rm -rf detaches a mount below instead of emptying it: %s",
	   e.msg ? e.msg : "");
	ferry_error_clear(&e);
	ok(access(file, F_OK) == 0, "the mounted tree's file is untouched");
	ok(access(m, F_OK) < 0, "and the tree with its mount point is gone");
	/* a container dir with a leftover criu-root */
	if (ferry_container_dir_create(ctx, "c4", &d, &e) == 0) {
		m2 = xasprintf("%s/criu-root", d.path);
		mkdir(m2, 0700);
		mount(src, m2, NULL, MS_BIND, NULL);
		ok(ferry_container_dir_remove(&d, &e) == 0, "a container dir with a restore's criu-root is removed");
	} else {
		ok(0, "create c4: %s", e.msg);
	}
	ok(access(file, F_OK) == 0, "and the rootfs behind criu-root is untouched");
	unlink(file);
	rmdir(src);
}

int
main(void)
{
	ferry_ctx_t ctx = { 0 };

	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	ctx.state_root = root;
	test_create_modes(&ctx);
	test_open_during_delete(&ctx);
	test_wait_for_delete(&ctx);
	test_rm_rf_stops_at_mounts(&ctx);
	rmdir(root);
	return tap_done();
}
