/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating a container's cgroup in every hierarchy, applying its
 * resources (each controller where it is mounted, with that version's
 * files), and removing it again: after a failed create exactly what it
 * made, after destroy the whole subtree.
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

#define DESTROY_TIMEOUT_NS (1000ull * 1000 * 1000)

/* ---- create ------------------------------------------------------------ */

/* Removes a cgroup directory (a fake one with its files). */
static int
cg_rmdir_at(const struct ferry_cgroup *cg, int parent, const char *name)
{
	if (cg->fake) {
		_cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;

		if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
			fd = -1;
			while ((de = readdir(d)) != NULL) {
				struct stat st;

				if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    !S_ISDIR(st.st_mode))
					unlinkat(dirfd(d), de->d_name, 0);
			}
		}
	}
	return unlinkat(parent, name, AT_REMOVEDIR);
}

/* Removes dir and its sub-cgroups, children first.  Tasks that were just
 * killed keep a cgroup busy until they are gone: retry until deadline. */
static int
rm_tree(const struct ferry_cgroup *cg, int parent, const char *name, const char *shown, uint64_t deadline,
	ferry_error_t *err)
{
	_cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_ char **subdirs = cg_split("", "");
	struct dirent *de;

	if (fd < 0)
		return errno == ENOENT ? 0 : ferry_error_sys(err, "open %s", shown);
	d = fdopendir(fd);
	if (d == NULL)
		return ferry_error_sys(err, "open %s", shown);
	fd = -1;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* cgroupfs gives every entry's type: no stat of the 15-35
		 * interface files of each cgroup (a third of delete's time in
		 * a hybrid hierarchy). */
		if (de->d_type == DT_DIR ||
		    (de->d_type == DT_UNKNOWN && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		     S_ISDIR(st.st_mode)))
			ferry_strv_append(&subdirs, de->d_name);
	}
	for (char **s = subdirs; *s; s++) {
		_cleanup_free_ char *sub = xasprintf("%s/%s", shown, *s);

		if (rm_tree(cg, dirfd(d), *s, sub, deadline, err) < 0)
			return -1;
	}
	for (unsigned int delay_ms = 1;; delay_ms = delay_ms < 50 ? delay_ms * 2 : 50) {
		struct timespec ts = { 0, (long) delay_ms * 1000000L };

		if (cg_rmdir_at(cg, parent, name) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || ferry_now_ns() >= deadline)
			return ferry_error_sys(err, "rmdir %s", shown);
		nanosleep(&ts, NULL);
	}
}

/* Undoes hier_mkdir in one hierarchy: removes the topmost directory it
 * made, and with it everything below (all of which it made too);
 * pre-existing parents stay. */
static void
rollback_hier(struct ferry_cgroup *cg, struct cg_hier *h, uint64_t deadline)
{
	_cleanup_free_ char *shown = NULL, *parent = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_close_ int pfd = -1;
	const char *name;

	if (h->created_depth < 0)
		return;
	parent = xstrdup(h->mountpoint);
	for (int d = 0; d < h->created_depth; d++) {
		char *t = xasprintf("%s/%s", parent, cg->components[d]);

		free(parent);
		parent = t;
	}
	name = cg->components[h->created_depth];
	shown = xasprintf("%s/%s", parent, name);
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (pfd < 0)
		pr_pwarn("undo create: open %s", parent);
	else if (rm_tree(cg, pfd, name, shown, deadline, &e) < 0)
		pr_warn("undo create: %s", e.msg);
	ferry_error_clear(&e);
	h->created_depth = -1;
}

static void
rollback(struct ferry_cgroup *cg)
{
	uint64_t deadline = ferry_now_ns() + DESTROY_TIMEOUT_NS;

	for (size_t i = 0; i < cg->n_h; i++)
		rollback_hier(cg, &cg->h[i], deadline);
}

/* A new directory in a fake tree gets empty copies of its parent's files,
 * as the kernel gives a new cgroup its interface files. */
static int
fake_populate(int parent, int child, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = fcntl(parent, F_DUPFD_CLOEXEC, 3);
	struct dirent *de;

	if (fd < 0)
		return ferry_error_sys(err, "dup");
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return ferry_error_sys(err, "fdopendir");
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int nfd;

		if (fstatat(parent, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		nfd = openat(child, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (nfd < 0 && errno != EEXIST)
			return ferry_error_sys(err, "create %s", de->d_name);
		if (nfd >= 0)
			close(nfd);
	}
	return 0;
}

/* A hierarchy whose controllers ferry uses must be created; others
 * (name=systemd, net_cls, perf_event...) are joined when possible. */
static bool
hier_essential(const struct cg_hier *h)
{
	static const char *const used[] = { "memory", "cpu",	 "cpuacct", "cpuset", "pids",
					    "blkio",  "devices", "freezer", "hugetlb" };

	if (h->v2)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(used); i++)
		if (cg_hier_has(h, used[i]))
			return true;
	return false;
}

static int
hier_mkdir(struct ferry_cgroup *cg, struct cg_hier *h, ferry_error_t *err)
{
	_cleanup_close_ int parent = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool cpuset = !h->v2 && cg_hier_has(h, "cpuset");

	if (parent < 0)
		return ferry_error_sys(err, "open %s", h->mountpoint);
	for (size_t d = 0; d < cg->n_components; d++) {
		const char *name = cg->components[d];
		int child;
		bool made;

		/* v2 controllers are enabled top-down: a cgroup's
		 * subtree_control decides which files its children get. */
		if (h->v2 && cg_v2_enable_controllers(cg, parent, err) < 0)
			return -1;
		made = mkdirat(parent, name, 0755) == 0;
		if (!made && errno != EEXIST) {
			_cleanup_free_ char *dir = cg_hier_dir(cg, h);

			if (!hier_essential(h) && (errno == EROFS || errno == EACCES || errno == EPERM)) {
				pr_pwarn("%s: not joining hierarchy %s", dir, h->name);
				rollback_hier(cg, h, ferry_now_ns() + DESTROY_TIMEOUT_NS);
				h->skipped = true;
				return 0;
			}
			return ferry_error_sys(err, "mkdir %s", dir);
		}
		if (made && h->created_depth < 0)
			h->created_depth = (int) d;
		child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (child < 0)
			return ferry_error_sys(err, "open %s/%s", h->mountpoint, name);
		ferry_closep(&parent);
		parent = child;
		if (made && cg->fake) {
			_cleanup_close_ int up = openat(parent, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (up < 0 || fake_populate(up, parent, err) < 0)
				return up < 0 ? ferry_error_sys(err, "open ..") : -1;
		}
		/* v1 cpuset: a new cgroup starts with no cpus and no mems,
		 * and no task can join it until they are set. */
		if (cpuset) {
			_cleanup_close_ int up = openat(parent, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (up < 0)
				return ferry_error_sys(err, "open ..");
			if (cg_v1_cpuset_inherit(cg, up, parent, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
apply(ferry_cgroup_t *cg, const struct ferry_resources *res, bool creating, ferry_error_t *err);

int
ferry_cgroup_create(const char *path, const struct ferry_resources *res, pid_t pid, ferry_cgroup_t **out,
		    ferry_error_t *err)
{
	static const struct ferry_resources none;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;

	if (cg_new(path, &cg, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", path);
	for (size_t i = 0; i < cg->n_h; i++)
		if (hier_mkdir(cg, &cg->h[i], err) < 0)
			goto fail;
	if (apply(cg, res ? res : &none, true, err) < 0)
		goto fail;
	if (pid > 0 && cg_enter(cg, pid, err) < 0)
		goto fail;
	*out = steal_pointer(&cg);
	return 0;
fail:
	rollback(cg);
	return ferry_error_prefix(err, "cgroup %s", cg->path);
}

void
ferry_cgroup_undo_create(ferry_cgroup_t *cg)
{
	bool made = true;

	for (size_t i = 0; i < cg->n_h; i++)
		if (!cg->h[i].skipped && cg->h[i].created_depth < 0)
			made = false;
	/* Only ours in there (hooks' leftovers, a restored tree): gone
	 * before their directories. */
	if (made) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_cgroup_kill(cg, SIGKILL, &e) < 0)
			pr_warn("cgroup %s: undo create: %s", cg->path, e.msg);
	}
	rollback(cg);
}

int
ferry_cgroup_open(const char *path, ferry_cgroup_t **out, ferry_error_t *err)
{
	if (cg_new(path, out, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", path);
	return 0;
}

/* ---- resources --------------------------------------------------------- */

static bool
wants_memory(const struct ferry_resources *r)
{
	return r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap || r->has_mem_swappiness ||
	       r->disable_oom_killer;
}

static bool
wants_cpu(const struct ferry_resources *r)
{
	return r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->has_cpu_rt_runtime ||
	       r->has_cpu_rt_period || r->has_cpu_idle;
}

static bool
wants_cpuset(const struct ferry_resources *r)
{
	return (r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems);
}

static bool
wants_blkio(const struct ferry_resources *r)
{
	return r->has_blkio_weight || r->has_blkio_leaf_weight || r->n_blkio_weight_devices ||
	       r->n_throttle_read_bps || r->n_throttle_write_bps || r->n_throttle_read_iops ||
	       r->n_throttle_write_iops;
}

typedef int (*setter_t)(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res,
			ferry_error_t *err);

static int
apply_one(ferry_cgroup_t *cg, const char *what, const char *v1name, const char *v2name, bool wanted, setter_t v1,
	  setter_t v2, const struct ferry_resources *res, ferry_error_t *err)
{
	_cleanup_close_ int dfd = -1;
	const struct cg_hier *h;
	bool is_v2;

	if (!wanted)
		return 0;
	h = cg_find_controller(cg, v1name, v2name, &is_v2);
	if (h == NULL)
		return ferry_error_set(err, ENOTSUP, "%s limits requested, but no %s controller is available under %s",
				       what, is_v2 || cg->layout == FERRY_CGROUP_V2 ? v2name : v1name, cg->root);
	dfd = cg_hier_open(cg, h, err);
	if (dfd < 0)
		return -1;
	return is_v2 ? v2(cg, dfd, res, err) : v1(cg, dfd, res, err);
}

static int
apply_devices(ferry_cgroup_t *cg, const struct ferry_resources *res, bool creating, ferry_error_t *err)
{
	_cleanup_close_ int dfd = -1;
	const struct cg_hier *h = cg_find_v1(cg, "devices");

	/* Creating always installs the rules (default deny plus the
	 * standard devices); an update only when it carries rules. */
	if (!creating && res->n_devices == 0)
		return 0;
	if (h) {
		if ((dfd = cg_hier_open(cg, h, err)) < 0)
			return -1;
		return cg_v1_set_devices(cg, dfd, res, err);
	}
	h = cg_unified(cg);
	if (h == NULL) {
		pr_warn("%s: no devices controller: device rules are not enforced", cg->path);
		return 0;
	}
	if ((dfd = cg_hier_open(cg, h, err)) < 0)
		return -1;
	return cg_v2_set_devices(cg, dfd, res, err);
}

static int
apply(ferry_cgroup_t *cg, const struct ferry_resources *res, bool creating, ferry_error_t *err)
{
	if (apply_one(cg, "memory", "memory", "memory", wants_memory(res), cg_v1_set_memory, cg_v2_set_memory, res,
		      err) < 0 ||
	    apply_one(cg, "cpuset", "cpuset", "cpuset", wants_cpuset(res), cg_v1_set_cpuset, cg_v2_set_cpuset, res,
		      err) < 0 ||
	    apply_one(cg, "cpu", "cpu", "cpu", wants_cpu(res), cg_v1_set_cpu, cg_v2_set_cpu, res, err) < 0 ||
	    apply_one(cg, "pids", "pids", "pids", res->has_pids_limit, cg_v1_set_pids, cg_v2_set_pids, res, err) < 0 ||
	    apply_one(cg, "blockIO", "blkio", "io", wants_blkio(res), cg_v1_set_blkio, cg_v2_set_io, res, err) < 0 ||
	    apply_one(cg, "hugepage", "hugetlb", "hugetlb", res->n_hugepage_limits > 0, cg_v1_set_hugetlb,
		      cg_v2_set_hugetlb, res, err) < 0)
		return -1;
	if (apply_devices(cg, res, creating, err) < 0)
		return -1;
	/* Raw v2 keys last, so that they win over the converted values. */
	if (res->n_unified > 0) {
		const struct cg_hier *h = cg_unified(cg);
		_cleanup_close_ int dfd = -1;

		if (h == NULL)
			return ferry_error_set(err, ENOTSUP,
					       "unified: cgroup v2 keys (%s...) given, but this host has only cgroup v1",
					       res->unified[0].key);
		if ((dfd = cg_hier_open(cg, h, err)) < 0)
			return -1;
		if (cg_v2_set_unified(cg, h, dfd, res, err) < 0)
			return -1;
	}
	return 0;
}

int
ferry_cgroup_update(ferry_cgroup_t *cg, const struct ferry_resources *res, ferry_error_t *err)
{
	if (apply(cg, res, false, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	return 0;
}

int
ferry_cgroup_destroy(ferry_cgroup_t *cg, ferry_error_t *err)
{
	uint64_t deadline = ferry_now_ns() + DESTROY_TIMEOUT_NS;
	int ret = 0;

	for (size_t i = 0; i < cg->n_h; i++) {
		const struct cg_hier *h = &cg->h[i];
		_cleanup_free_ char *parent = NULL, *shown = cg_hier_dir(cg, h);
		_cleanup_close_ int pfd = -1;
		const char *last = strrchr(shown, '/') + 1;
		ferry_error_t e = FERRY_ERROR_INIT;

		parent = xasprintf("%.*s", (int) (last - shown), shown);
		pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0) {
			if (errno == ENOENT)
				continue;
			if (ret == 0)
				ret = ferry_error_sys(err, "cgroup %s: open %s", cg->path, parent);
			continue;
		}
		if (rm_tree(cg, pfd, last, shown, deadline, &e) < 0) {
			if (ret == 0) {
				ret = cg_error_move(err, &e);
				ferry_error_prefix(err, "cgroup %s: destroy", cg->path);
			}
			ferry_error_clear(&e);
		}
	}
	return ret;
}
