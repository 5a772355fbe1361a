/* SPDX-License-Identifier: GPL-2.0-or-later */
#define LOG_PREFIX "criu: "
#include "criu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "criu_kdat.h"
#include "log.h"
#include "util.h"

#define INSTALL_HINT "run scripts/install-deps (it provisions CRIU 4.2 into " FERRY_CRIU_PREFIX ")"

static bool
is_executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int
ferry_criu_locate(const ferry_ctx_t *ctx, char **path, ferry_error_t *err)
{
	_cleanup_free_ char *prefixed = xasprintf("%s/usr/sbin/criu", FERRY_CRIU_PREFIX);
	const char *envpath = getenv("PATH");

	if (ctx->criu_path) {
		if (!is_executable(ctx->criu_path))
			return ferry_error_set(err, ENOENT, "CRIU %s (from --criu or FERRY_CRIU): not an executable file",
					       ctx->criu_path);
		*path = xstrdup(ctx->criu_path);
		return 0;
	}
	if (is_executable(prefixed)) {
		*path = steal_pointer(&prefixed);
		return 0;
	}
	if (envpath) {
		_cleanup_free_ char *copy = xstrdup(envpath);
		char *save = NULL;

		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			_cleanup_free_ char *p = xasprintf("%s/criu", *d ? d : ".");
			if (is_executable(p)) {
				*path = steal_pointer(&p);
				return 0;
			}
		}
	}
	return ferry_error_set(err, ENOENT, "CRIU not found (looked at --criu, FERRY_CRIU, %s/usr/sbin/criu, PATH): %s",
			       FERRY_CRIU_PREFIX, INSTALL_HINT);
}

int
ferry_run_capture(char *const argv[], char **output, size_t max, ferry_error_t *err)
{
	int p[2];
	pid_t pid;
	int status;
	char *buf = xmalloc0(max + 1);
	size_t got = 0;

	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return ferry_error_sys(err, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(buf);
		return ferry_error_sys(err, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(p[0], tmp, sizeof(tmp));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got < max) {
			size_t n = (size_t) r < max - got ? (size_t) r : max - got;
			memcpy(buf + got, tmp, n);
			got += n;
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	if (output)
		*output = buf;
	else
		free(buf);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int
ferry_criu_get_version(const char *path, struct ferry_criu_version *v, ferry_error_t *err)
{
	char *argv[] = { (char *) path, "--version", NULL };
	_cleanup_free_ char *out = NULL;
	const char *p;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = ferry_run_capture(argv, &out, 4096, err);
	if (rc < 0)
		return -1;
	/* "Version: 4.2.1" or "Version: 4.2" */
	p = out ? strstr(out, "Version:") : NULL;
	if (rc != 0 || p == NULL || sscanf(p, "Version: %d.%d.%d", &v->major, &v->minor, &v->sublevel) < 2)
		return ferry_error_set(err, EINVAL, "%s --version failed (exit %d): %.200s", path, rc, out ? out : "");
	return 0;
}

void
ferry_kernel_version(int *major, int *minor)
{
	struct utsname u;

	*major = *minor = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", major, minor);
}

/*
 * `criu --version` costs an exec (4 ms, more under load), and a migration
 * asks on both sides inside the freeze.  One process asks once per binary:
 * the answer is kept with the binary's identity (device, inode, size,
 * mtime), so a CRIU replaced meanwhile is asked again.  A memo of a fact
 * about a file, not state (CONVENTIONS 5).
 */
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct ferry_criu_version v;
	bool valid;
} version_memo;

/* The same fact kept across commands, in the state root: the binary's
 * identity and path on one line, its version on the next.  Only ever a
 * shortcut: any mismatch or error asks CRIU again. */
#define VERSION_CACHE ".criu-version"

static void
identity_line(char *buf, size_t len, const struct stat *sb, const char *path)
{
	snprintf(buf, len, "%llu %llu %lld %lld %ld %s\n", (unsigned long long) sb->st_dev,
		 (unsigned long long) sb->st_ino, (long long) sb->st_size, (long long) sb->st_mtim.tv_sec,
		 sb->st_mtim.tv_nsec, path);
}

static bool
version_from_cache(int root_fd, const char *identity, struct ferry_criu_version *v)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	size_t len = 0, n = strlen(identity);
	struct ferry_criu_version got = { 0 };

	if (root_fd < 0 || ferry_read_file_at(root_fd, VERSION_CACHE, PATH_MAX + 256, &text, &len, &e) < 0)
		return false;
	if (len <= n || strncmp(text, identity, n) != 0 ||
	    sscanf(text + n, "%d.%d.%d", &got.major, &got.minor, &got.sublevel) != 3)
		return false;
	*v = got;
	return true;
}

static int
criu_version_cached(const ferry_ctx_t *ctx, const char *path, struct ferry_criu_version *v, ferry_error_t *err)
{
	_cleanup_close_ int root_fd = -1;
	char identity[PATH_MAX + 128];
	struct stat sb;

	if (stat(path, &sb) < 0)
		return ferry_criu_get_version(path, v, err);
	if (version_memo.valid && version_memo.dev == sb.st_dev && version_memo.ino == sb.st_ino &&
	    version_memo.size == sb.st_size && version_memo.mtime.tv_sec == sb.st_mtim.tv_sec &&
	    version_memo.mtime.tv_nsec == sb.st_mtim.tv_nsec) {
		*v = version_memo.v;
		return 0;
	}
	identity_line(identity, sizeof(identity), &sb, path);
	if (ctx && ctx->state_root)
		root_fd = open(ctx->state_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!version_from_cache(root_fd, identity, v)) {
		_cleanup_free_ char *text = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

		if (ferry_criu_get_version(path, v, err) < 0)
			return -1;
		text = xasprintf("%s%d.%d.%d\n", identity, v->major, v->minor, v->sublevel);
		if (root_fd >= 0 && ferry_write_file_replace_at(root_fd, VERSION_CACHE, text, strlen(text), 0600, &e) < 0)
			pr_debug("cannot keep CRIU's version in %s: %s", ctx->state_root, e.msg);
	}
	version_memo.dev = sb.st_dev;
	version_memo.ino = sb.st_ino;
	version_memo.size = sb.st_size;
	version_memo.mtime = sb.st_mtim;
	version_memo.v = *v;
	version_memo.valid = true;
	return 0;
}

int
ferry_criu_require(const ferry_ctx_t *ctx, char **path, struct ferry_criu_version *v, ferry_error_t *err)
{
	_cleanup_free_ char *p = NULL;
	int kmaj, kmin;

	if (ferry_criu_locate(ctx, &p, err) < 0)
		return -1;
	if (criu_version_cached(ctx, p, v, err) < 0)
		return -1;
	ferry_criu_kdat_configure(ctx ? ctx->state_root : NULL);
	ferry_kernel_version(&kmaj, &kmin);
	/* CRIU before 4.2 cannot dump TCP sockets on 6.16+ (the kernel
	 * changed the TCP repair interface it relies on); older CRIU also
	 * fails on newer vDSO layouts. */
	if ((kmaj > 6 || (kmaj == 6 && kmin >= 16)) && (v->major < 4 || (v->major == 4 && v->minor < 2)))
		return ferry_error_set(err, ENOTSUP,
				       "CRIU %s is version %d.%d, too old for kernel %d.%d (4.2 or newer is needed to "
				       "dump TCP sockets on kernels >= 6.16): %s, or point --criu at a newer one",
				       p, v->major, v->minor, kmaj, kmin, INSTALL_HINT);
	*path = steal_pointer(&p);
	return 0;
}
