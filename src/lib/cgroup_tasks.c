/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tasks of a cgroup: moving them in, freezing and thawing, listing
 * and signalling them.
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

#define SMALL_FILE_MAX (1u << 20)

int
cg_enter(ferry_cgroup_t *cg, pid_t pid, ferry_error_t *err)
{
	_cleanup_free_ char *before = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	char procpath[64];
	size_t i;

	snprintf(procpath, sizeof(procpath), "/proc/%d/cgroup", (int) pid);
	if (ferry_read_file(procpath, SMALL_FILE_MAX, &before, NULL, &e) < 0)
		ferry_error_clear(&e); /* only needed to undo a partial move */
	for (i = 0; i < cg->n_h; i++) {
		_cleanup_close_ int dfd = -1;

		if (cg->h[i].skipped)
			continue;
		if ((dfd = cg_hier_open(cg, &cg->h[i], err)) < 0 ||
		    cg_writef(cg, dfd, "cgroup.procs", err, "%d", (int) pid) < 0) {
			const char *what = cg->h[i].name[0] ? cg->h[i].name : "cgroup2";

			ferry_error_prefix(err, "add pid %d to %s", (int) pid, what);
			goto undo;
		}
	}
	return 0;
undo:
	/* Put the task back where it was, so no half-joined task keeps the
	 * new directories busy. */
	while (before && i-- > 0) {
		const struct cg_hier *h = &cg->h[i];
		_cleanup_free_ char *old = cg_proc_cgroup_of(before, h);
		_cleanup_free_ char *dir = NULL;
		_cleanup_close_ int dfd = -1;

		if (old == NULL || h->skipped || strcmp(h->mount_root, "/") != 0)
			continue;
		dir = xasprintf("%s%s", h->mountpoint, strcmp(old, "/") == 0 ? "" : old);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || cg_writef(cg, dfd, "cgroup.procs", &e, "%d", (int) pid) < 0)
			pr_warn("could not move %d back to %s", (int) pid, dir);
		ferry_error_clear(&e);
	}
	return -1;
}

int
ferry_cgroup_enter(ferry_cgroup_t *cg, pid_t pid, ferry_error_t *err)
{
	if (cg_enter(cg, pid, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	return 0;
}

/* ---- joining by itself ---------------------------------------------- */

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* clone3's argument, version 2 (with .cgroup): linux/sched.h's struct
 * clone_args, spelt out so that its header need not meet glibc's. */
struct cg_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

void
ferry_cgroup_join_release(struct ferry_cgroup_join *j)
{
	ferry_closep(&j->into_fd);
	for (size_t i = 0; i < j->n; i++) {
		ferry_closep(&j->fds[i]);
		free(j->names[i]);
	}
	free(j->fds);
	free(j->names);
	free(j->path);
	j->fds = NULL;
	j->names = NULL;
	j->path = NULL;
	j->n = 0;
}

const char *
ferry_cgroup_join_where(const struct ferry_cgroup_join *j, char *buf, size_t size)
{
	if (j == NULL || j->path == NULL)
		return "";
	snprintf(buf, size, " into cgroup %s", j->path);
	return buf;
}

int
ferry_cgroup_join_prepare(ferry_cgroup_t *cg, struct ferry_cgroup_join *j, ferry_error_t *err)
{
	*j = (struct ferry_cgroup_join) FERRY_CGROUP_JOIN_INIT;
	j->fds = xmalloc0((cg->n_h + 1) * sizeof(int));
	j->names = xmalloc0((cg->n_h + 1) * sizeof(char *));
	j->fake = cg->fake;
	j->path = xstrdup(cg->path);
	/* v1 first, cgroup2 last: the child skips the last when clone3 put
	 * it there. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cg->n_h; i++) {
			const struct cg_hier *h = &cg->h[i];
			const char *file = h->v2 || cg->fake ? "cgroup.procs" : "tasks";
			_cleanup_close_ int dfd = -1;
			int fd;

			if (h->skipped || h->v2 != (pass == 1))
				continue;
			if ((dfd = cg_hier_open(cg, h, err)) < 0)
				goto fail;
			fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (cg->fake ? O_TRUNC : 0));
			if (fd < 0) {
				ferry_error_sys(err, "open %s of %s", file, h->name[0] ? h->name : "cgroup2");
				goto fail;
			}
			j->fds[j->n] = fd;
			j->names[j->n++] = xstrdup(h->name[0] ? h->name : "cgroup2");
			if (h->v2 && !cg->fake)
				j->into_fd = steal_fd(&dfd);
		}
	}
	return 0;
fail:
	ferry_cgroup_join_release(j);
	return ferry_error_prefix(err, "cgroup %s", cg->path);
}

/* Whether pid, just cloned, has SIGKILL pending or died of it. */
static bool
killed_at_birth(pid_t pid)
{
	char path[40], buf[2048];
	_cleanup_close_ int fd = -1;
	siginfo_t si = { 0 };
	ssize_t n;

	if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
		return si.si_code == CLD_KILLED && si.si_status == SIGKILL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	for (const char *key = "ShdPnd:"; key; key = strcmp(key, "ShdPnd:") == 0 ? "SigPnd:" : NULL) {
		const char *l = strstr(buf, key);
		unsigned long long mask;

		if (l && sscanf(l + strlen(key), "%llx", &mask) == 1 && (mask & (1ULL << (SIGKILL - 1))))
			return true;
	}
	return false;
}

pid_t
ferry_cgroup_clone(struct ferry_cgroup_join *j, unsigned long flags)
{
	pid_t pid;

	if (j && j->into_fd >= 0) {
		struct cg_clone_args a = {
			.flags = (uint64_t) flags | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t) j->into_fd,
		};

		pid = (pid_t) syscall(SYS_clone3, &a, sizeof(a));
		if (pid == 0)
			j->into_done = true;
		/* Linux 6.14 to at least 6.18 compare the cgroup.kill count of
		 * the caller's cgroup with the target's and kill the child at
		 * birth when they differ (the target's or ours was ever
		 * killed): it has SIGKILL pending when clone3 returns, and has
		 * not run.  Then join as before 5.7. */
		if (pid > 0 && killed_at_birth(pid)) {
			pr_debug("clone3 into the cgroup killed the child at birth; joining by cgroup.procs");
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			pid = -1;
			errno = EINVAL;
		}
		/* Before 5.3 no clone3; before 5.7 no CLONE_INTO_CGROUP. */
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
			return pid;
	}
	/* A raw clone with no new stack behaves like fork() but can create
	 * namespaces atomically with the child. */
	return (pid_t) syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int
ferry_cgroup_join_self(struct ferry_cgroup_join *j, ferry_error_t *err)
{
	char self[24];
	int len = snprintf(self, sizeof(self), "%d", j->fake ? (int) getpid() : 0);

	for (size_t i = 0; i < j->n; i++) {
		ssize_t w;

		if (i == j->n - 1 && j->into_done)
			break;
		do
			w = write(j->fds[i], self, (size_t) len);
		while (w < 0 && errno == EINTR);
		if (w != len) {
			if (w >= 0)
				errno = EIO; /* short */
			ferry_error_sys(err, "join the container's cgroup in %s", j->names[i]);
			ferry_cgroup_join_release(j);
			return -1;
		}
	}
	ferry_cgroup_join_release(j);
	return 0;
}

/* The freezer to use: v1's if mounted, else cgroup2's (core there). */
static int
freezer_open(const ferry_cgroup_t *cg, bool *v2, ferry_error_t *err)
{
	const struct cg_hier *h = cg_find_v1(cg, "freezer");

	*v2 = false;
	if (h == NULL && (h = cg_unified(cg)) != NULL)
		*v2 = true;
	if (h == NULL)
		return ferry_error_set(err, ENOTSUP, "no freezer: neither a v1 freezer hierarchy nor cgroup2 under %s",
				       cg->root);
	return cg_hier_open(cg, h, err);
}

int
cg_freeze(ferry_cgroup_t *cg, bool on, ferry_error_t *err)
{
	_cleanup_close_ int dfd = -1;
	bool v2;

	if ((dfd = freezer_open(cg, &v2, err)) < 0)
		return -1;
	return v2 ? cg_v2_freeze(cg, dfd, on, err) : cg_v1_freeze(cg, dfd, on, err);
}

int
ferry_cgroup_freeze(ferry_cgroup_t *cg, bool on, ferry_error_t *err)
{
	if (cg_freeze(cg, on, err) < 0)
		return ferry_error_prefix(err, "cgroup %s: %s", cg->path, on ? "freeze" : "thaw");
	return 0;
}

int
ferry_cgroup_is_frozen(ferry_cgroup_t *cg, bool *frozen, ferry_error_t *err)
{
	_cleanup_close_ int dfd = -1;
	bool v2;
	int r;

	if ((dfd = freezer_open(cg, &v2, err)) < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	r = v2 ? cg_v2_is_frozen(dfd, frozen, err) : cg_v1_is_frozen(dfd, frozen, err);
	if (r < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	return 0;
}

static void
pids_add(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*pids)[i] == pid)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*pids = xrealloc(*pids, *cap * sizeof(pid_t));
	}
	(*pids)[(*n)++] = pid;
}

static int
collect_pids(int dfd, const char *shown, pid_t **pids, size_t *n, size_t *cap, ferry_error_t *err)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (cg_read(dfd, "cgroup.procs", &procs, err) < 0)
		return ferry_error_prefix(err, "%s", shown);
	for (char *line = procs, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		int64_t v;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (ferry_parse_i64(line, &v) == 0 && v > 0 && v <= INT_MAX)
			pids_add(pids, n, cap, (pid_t) v);
	}
	if ((fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3)) < 0)
		return ferry_error_sys(err, "dup");
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return ferry_error_sys(err, "open %s", shown);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		_cleanup_close_ int sub = -1;
		_cleanup_free_ char *subshown = NULL;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0)
			continue; /* a file, or a cgroup removed meanwhile */
		subshown = xasprintf("%s/%s", shown, de->d_name);
		if (collect_pids(sub, subshown, pids, n, cap, err) < 0)
			return -1;
	}
	return 0;
}

/* Where to list tasks: cgroup2 holds them all on a v2 host; on v1 and
 * hybrid hosts a v1 hierarchy does (every task is placed in every one),
 * preferably one that cannot be missing for a ferry container. */
static const struct cg_hier *
tasks_hier(const ferry_cgroup_t *cg)
{
	static const char *const pref[] = { "pids",    "freezer", "memory", "cpu",
					    "cpuacct", "devices", "blkio",  "cpuset" };

	if (cg->layout == FERRY_CGROUP_V2)
		return cg_unified(cg);
	for (size_t i = 0; i < ARRAY_SIZE(pref); i++) {
		const struct cg_hier *h = cg_find_v1(cg, pref[i]);

		if (h)
			return h;
	}
	for (size_t i = 0; i < cg->n_h; i++)
		if (!cg->h[i].v2)
			return &cg->h[i];
	return cg_unified(cg);
}

static int
list_pids(ferry_cgroup_t *cg, pid_t **pids, size_t *n, ferry_error_t *err)
{
	const struct cg_hier *h = tasks_hier(cg);
	_cleanup_free_ pid_t *list = NULL;
	_cleanup_free_ char *shown = NULL;
	_cleanup_close_ int dfd = -1;
	size_t count = 0, cap = 0;

	if (h == NULL)
		return ferry_error_set(err, ENOENT, "no hierarchy to list tasks from");
	if ((dfd = cg_hier_open(cg, h, err)) < 0)
		return -1;
	shown = cg_hier_dir(cg, h);
	if (collect_pids(dfd, shown, &list, &count, &cap, err) < 0)
		return -1;
	*pids = steal_pointer(&list);
	*n = count;
	return 0;
}

int
ferry_cgroup_pids(ferry_cgroup_t *cg, pid_t **pids, size_t *n, ferry_error_t *err)
{
	if (list_pids(cg, pids, n, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	return 0;
}

static int
kill_all(ferry_cgroup_t *cg, int sig, ferry_error_t *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	bool was_frozen = false, froze = false;
	size_t n = 0;
	int ret = 0;

	/* cgroup.kill (Linux 5.14) kills the whole subtree atomically,
	 * forks in flight included.  On a hybrid host the tasks are in
	 * the cgroup2 hierarchy too, so it works there as well. */
	if (sig == SIGKILL && cg_unified(cg)) {
		_cleanup_close_ int dfd = cg_hier_open(cg, cg_unified(cg), &e);

		ferry_error_clear(&e);
		if (dfd >= 0 && cg_exists(dfd, "cgroup.kill"))
			return cg_write(cg, dfd, "cgroup.kill", "1", err);
	}
	/* Otherwise freeze first, so that nothing forks between reading the
	 * task list and signalling it (a fork bomb cannot escape). */
	if (ferry_cgroup_is_frozen(cg, &was_frozen, &e) < 0)
		ferry_error_clear(&e);
	if (!was_frozen) {
		if (cg_freeze(cg, true, &e) == 0)
			froze = true;
		else
			pr_debug("%s: kill without freezing: %s", cg->path, e.msg);
		ferry_error_clear(&e);
	}
	if (list_pids(cg, &pids, &n, err) < 0) {
		ret = -1;
		goto thaw;
	}
	for (size_t i = 0; i < n; i++) {
		if (kill(pids[i], sig) < 0 && errno != ESRCH && ret == 0)
			ret = ferry_error_sys(err, "kill %d with signal %d", (int) pids[i], sig);
	}
thaw:
	/* Thaw what we froze; a paused cgroup stays paused, except for
	 * SIGKILL: v1 frozen tasks only die once thawed. */
	if (froze || (was_frozen && sig == SIGKILL)) {
		if (cg_freeze(cg, false, &e) < 0 && ret == 0)
			return cg_error_move(err, &e);
		ferry_error_clear(&e);
	}
	return ret;
}

int
ferry_cgroup_kill(ferry_cgroup_t *cg, int sig, ferry_error_t *err)
{
	if (kill_all(cg, sig, err) < 0)
		return ferry_error_prefix(err, "cgroup %s: kill", cg->path);
	return 0;
}
