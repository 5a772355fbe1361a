/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <errno.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>

void *
xmalloc0(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (p == NULL) {
		fputs("ferry: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *n = realloc(p, size ? size : 1);

	if (n == NULL) {
		fputs("ferry: out of memory\n", stderr);
		abort();
	}
	return n;
}

char *
xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL) {
		fputs("ferry: out of memory\n", stderr);
		abort();
	}
	return d;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("ferry: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	return s;
}

void
ferry_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void
ferry_strvfreep(char ***v)
{
	ferry_strv_free(*v);
	*v = NULL;
}

size_t
ferry_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void
ferry_strv_append(char ***v, const char *s)
{
	size_t n = ferry_strv_len(*v);

	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

int
ferry_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len, ferry_error_t *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, cap = 0;

	if (fd < 0)
		return ferry_error_sys(err, "open %s", path);
	for (;;) {
		ssize_t r;

		if (cap - size < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + size, cap - size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ferry_error_sys(err, "read %s", path);
		}
		if (r == 0)
			break;
		size += r;
		if (size > max)
			return ferry_error_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
	}
	if (buf == NULL)
		buf = xmalloc0(1);
	buf[size] = '\0';
	*out = steal_pointer(&buf);
	if (len)
		*len = size;
	return 0;
}

int
ferry_in_child(int (*fn)(void *arg, ferry_error_t *err), void *arg, const char *what, ferry_error_t *err)
{
	return ferry_in_child_spawned(NULL, NULL, fn, arg, what, err);
}

int
ferry_in_child_spawned(pid_t (*spawn)(void *spawn_arg), void *spawn_arg, int (*fn)(void *arg, ferry_error_t *err),
		       void *arg, const char *what, ferry_error_t *err)
{
	char buf[4096];
	int p[2], status;
	ssize_t n = 0;
	pid_t child;

	if (pipe2(p, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "%s: pipe", what);
	child = spawn ? spawn(spawn_arg) : fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return ferry_error_sys(err, "%s: fork", what);
	}
	if (child == 0) {
		ferry_error_t e = FERRY_ERROR_INIT;
		char msg[4096];
		int r, len;

		close(p[0]);
		r = fn(arg, &e);
		if (r < 0) {
			_cleanup_free_ char *m = ferry_error_string(&e);
			len = snprintf(msg, sizeof(msg), "E%s", m);
		} else {
			len = snprintf(msg, sizeof(msg), "R%d", r);
		}
		_exit(ferry_write_all(p[1], msg, (size_t) len) < 0 ? 2 : 0);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], buf + n, sizeof(buf) - 1 - (size_t) n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if ((size_t) n >= sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	buf[n] = '\0';
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0 && buf[0] == 'R')
		return atoi(buf + 1);
	if (n > 0 && buf[0] == 'E')
		return ferry_error_set(err, 0, "%s", buf + 1);
	return ferry_error_set(err, EPROTO, "%s: the helper died (status 0x%x)", what, status);
}

bool
ferry_in_path(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;

	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

int
ferry_sysctl_set(const char *key, const char *value, ferry_error_t *err)
{
	_cleanup_free_ char *path = NULL;

	/* A key is a dotted name, never a path: refuse anything that could
	 * walk out of /proc/sys. */
	if (*key == '\0' || strchr(key, '/') || strstr(key, ".."))
		return ferry_error_set(err, EINVAL, "sysctl \"%s\": invalid key", key);
	path = xasprintf("/proc/sys/%s", key);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	if (ferry_write_file(path, value, err) < 0)
		return ferry_error_prefix(err, "sysctl %s=%s", key, value);
	return 0;
}

int
ferry_read_file(const char *path, size_t max, char **out, size_t *len, ferry_error_t *err)
{
	return ferry_read_file_at(AT_FDCWD, path, max, out, len, err);
}

int
ferry_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= w;
	}
	return 0;
}

ssize_t
ferry_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static int
write_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, bool sync,
		 ferry_error_t *err)
{
	_cleanup_free_ char *tmp = xasprintf(".%s.tmp.%d", name, (int) getpid());
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return ferry_error_sys(err, "create %s", tmp);
	if (ferry_write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		ferry_error_sys(err, "write %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		ferry_error_sys(err, "rename %s to %s", tmp, name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int
ferry_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			   ferry_error_t *err)
{
	return write_replace_at(dirfd, name, data, len, mode, true, err);
}

int
ferry_write_file_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			    ferry_error_t *err)
{
	return write_replace_at(dirfd, name, data, len, mode, false, err);
}

int
ferry_write_file_at(int dirfd, const char *path, const char *data, ferry_error_t *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(data);
	ssize_t w;

	if (fd < 0)
		return ferry_error_sys(err, "open %s", path);
	/* Kernel knobs take one write; a short write is a rejected value. */
	do
		w = write(fd, data, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return ferry_error_sys(err, "write '%s' to %s", data, path);
	return 0;
}

int
ferry_write_file(const char *path, const char *data, ferry_error_t *err)
{
	return ferry_write_file_at(AT_FDCWD, path, data, err);
}

int
ferry_mkdir_p(const char *path, mode_t mode, ferry_error_t *err)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return ferry_error_sys(err, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return ferry_error_sys(err, "mkdir %s", p);
	return 0;
}

int
ferry_rm_rf_at(int parent_fd, const char *name, ferry_error_t *err)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return ferry_error_sys(err, "unlink %s", name);
	/* Never into another mount: a bind mount left below (a restore's
	 * criu-root is the container's rootfs) would otherwise be emptied.
	 * A mount found on the way is detached instead, then its (empty)
	 * mount point removed. */
	for (int tries = 0;; tries++) {
		struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
					.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS };
		char mp[PATH_MAX];

		/* The top call may name a path (the caller's own, trusted
		 * as given); below, each step is one name. */
		if (strchr(name, '/') != NULL) {
			fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
		fd = (int) syscall(SYS_openat2, parent_fd, name, &how, sizeof(how));
		if (fd >= 0 || errno != EXDEV)
			break;
		snprintf(mp, sizeof(mp), "/proc/self/fd/%d/%s", parent_fd, name);
		if (tries >= 16 || umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return ferry_error_set(err, EBUSY, "%s: a mount point that cannot be detached, left in place",
					       name);
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : ferry_error_sys(err, "open %s", name);
	d = fdopendir(fd);
	if (d == NULL)
		return ferry_error_sys(err, "fdopendir %s", name);
	fd = -1; /* owned by d now */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (ferry_rm_rf_at(dirfd(d), de->d_name, err) < 0) {
			closedir(d);
			return ferry_error_prefix(err, "remove %s", name);
		}
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return ferry_error_sys(err, "rmdir %s", name);
	return 0;
}

int
ferry_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
ferry_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

uint64_t
ferry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

double
ferry_now_s(void)
{
	return (double) ferry_now_ns() / 1e9;
}

int
ferry_proc_stat(pid_t pid, char *state, uint64_t *start_time)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	unsigned long long st = 0;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may contain spaces and ')': the fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return -1;
	p += 2;
	if (state)
		*state = *p;
	/* p is at field 3 (state); the start time is field 22 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu", &st) != 1)
		return -1;
	if (start_time)
		*start_time = st;
	return 0;
}

uint64_t
ferry_proc_start_time(pid_t pid)
{
	uint64_t st = 0;

	return ferry_proc_stat(pid, NULL, &st) == 0 ? st : 0;
}

int
ferry_close_fds_from(int from, const int *keep, size_t nkeep)
{
	int lo = from;

	/* Close in ranges around the fds to keep, sorted ascending by caller
	 * or not: handle by scanning. */
	for (;;) {
		int next = INT_MAX;

		for (size_t i = 0; i < nkeep; i++)
			if (keep[i] >= lo && keep[i] < next)
				next = keep[i];
		if (next > lo) {
			unsigned int hi = next == INT_MAX ? ~0U : (unsigned int) next - 1;
#ifdef SYS_close_range
			if (syscall(SYS_close_range, (unsigned int) lo, hi, 0) < 0)
#endif
			{
				_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
				struct dirent *de;

				if (d == NULL)
					return -1;
				while ((de = readdir(d)) != NULL) {
					int64_t v;
					if (ferry_parse_i64(de->d_name, &v) < 0)
						continue;
					if (v >= lo && (unsigned long long) v <= hi && v != dirfd(d))
						close((int) v);
				}
			}
		}
		if (next == INT_MAX)
			break;
		lo = next + 1;
	}
	return 0;
}

bool
ferry_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL || id[0] == '\0')
		return false;
	for (const char *p = id; *p; p++, n++) {
		char c = *p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (p == id && !alnum)
			return false;
		if (!alnum && c != '_' && c != '.' && c != '+' && c != '-')
			return false;
	}
	return n <= 1024;
}

void
ferry_remove_owned_bundle(const char *bundle)
{
	_cleanup_free_ char *mark = NULL, *dir = NULL;
	_cleanup_close_ int parent = -1;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char *slash;

	if (bundle == NULL || bundle[0] != '/')
		return;
	mark = xasprintf("%s/.ferry-owned", bundle);
	if (access(mark, F_OK) < 0)
		return;
	dir = xstrdup(bundle);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	parent = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent >= 0)
		ferry_rm_rf_at(parent, slash + 1, &e);
}
