/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state, list, kill, delete, pause/resume, ps. */
#define LOG_PREFIX "container: "
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "container_internal.h"
#include "hooks.h"
#include "log.h"
#include "util.h"

int
ferry_container_state(const ferry_ctx_t *ctx, const char *id, char **json, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;

	if (ferry_container_dir_open(ctx, id, &d, err) < 0)
		return ferry_error_prefix(err, "state");
	if (ferry_state_read(&d, &st, err) < 0) {
		ferry_container_dir_close(&d);
		return ferry_error_prefix(err, "state");
	}
	*json = ferry_state_to_json(st, ferry_state_status(&d, st));
	ferry_container_dir_close(&d);
	return 0;
}

static int
cmp_info(const void *a, const void *b)
{
	const struct ferry_container_info *x = a, *y = b;

	return strcmp(x->state->id, y->state->id);
}

int
ferry_container_list(const ferry_ctx_t *ctx, struct ferry_container_info **out, size_t *n, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *dir = opendir(ctx->state_root);
	struct ferry_container_info *l = NULL;
	struct dirent *de;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (dir == NULL) {
		/* No root yet means no containers, as runc says. */
		if (errno == ENOENT)
			return 0;
		return ferry_error_sys(err, "list %s", ctx->state_root);
	}
	while ((de = readdir(dir)) != NULL) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		struct ferry_container_dir d;
		struct ferry_state *st = NULL;

		if (de->d_name[0] == '.' || !ferry_id_valid(de->d_name))
			continue;
		if (ferry_container_dir_open(ctx, de->d_name, &d, &e) < 0)
			continue;
		/* A directory without state.json is a create still running
		 * (it holds the lock, so we would not get here) or one that
		 * died: show it as stopped so it can be deleted. */
		if (ferry_state_read(&d, &st, &e) < 0) {
			st = xmalloc0(sizeof(*st));
			st->id = xstrdup(de->d_name);
		}
		l = xrealloc(l, sizeof(*l) * (k + 1));
		l[k].state = st;
		l[k].status = ferry_state_status(&d, st);
		k++;
		ferry_container_dir_close(&d);
	}
	if (k)
		qsort(l, k, sizeof(*l), cmp_info);
	*out = l;
	*n = k;
	return 0;
}

void
ferry_container_info_free(struct ferry_container_info *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry_state_free(l[i].state);
	free(l);
}

static int
open_cgroup(const struct ferry_state *st, ferry_cgroup_t **cg, ferry_error_t *err)
{
	if (st->cgroup_path == NULL)
		return ferry_error_set(err, ENOENT, "container \"%s\" has no cgroup", st->id);
	return ferry_cgroup_open(st->cgroup_path, cg, err);
}

int
ferry_container_kill(const ferry_ctx_t *ctx, const char *id, int sig, bool all, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	enum ferry_status s;
	int ret = -1;

	if (ferry_container_dir_open(ctx, id, &d, err) < 0)
		return ferry_error_prefix(err, "kill");
	if (ferry_state_read(&d, &st, err) < 0)
		goto out;
	s = ferry_state_status(&d, st);
	if (s == FERRY_STATUS_STOPPED && !all) {
		ferry_error_set(err, ESRCH, "container \"%s\" is not running", id);
		goto out;
	}
	if (all) {
		if (open_cgroup(st, &cg, err) < 0 || ferry_cgroup_kill(cg, sig, err) < 0)
			goto out;
	} else if (kill(st->pid, sig) < 0) {
		ferry_error_sys(err, "send signal %d to init %d", sig, st->pid);
		goto out;
	}
	/* v1 frozen tasks only die once thawed. */
	if (s == FERRY_STATUS_PAUSED && sig == SIGKILL) {
		if ((cg || open_cgroup(st, &cg, err) == 0) && ferry_cgroup_freeze(cg, false, err) < 0)
			goto out;
	}
	ret = 0;
out:
	ferry_container_dir_close(&d);
	return ret < 0 ? ferry_error_prefix(err, "kill %s", id) : 0;
}

/* Kills everything of the container and waits until the init is gone. */
static int
destroy_processes(const struct ferry_state *st, ferry_cgroup_t *cg, ferry_error_t *err)
{
	uint64_t deadline = ferry_now_ns() + 5ull * 1000000000ull;

	if (cg && ferry_cgroup_kill(cg, SIGKILL, err) < 0)
		return -1;
	if (ferry_state_init_alive(st))
		kill(st->pid, SIGKILL);
	if (cg) {
		bool frozen = false;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen)
			ferry_cgroup_freeze(cg, false, &e);
	}
	while (ferry_state_init_alive(st)) {
		if (ferry_now_ns() > deadline)
			return ferry_error_set(err, ETIMEDOUT, "init %d did not die after SIGKILL", st->pid);
		usleep(2000);
	}
	return 0;
}

int
ferry_container_delete(const ferry_ctx_t *ctx, const char *id, bool force, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_free_ char *hook_json = NULL;
	enum ferry_status s;

	if (ferry_container_dir_open(ctx, id, &d, err) < 0) {
		/* runc delete --force of a missing container succeeds. */
		if (force && err->errno_ == ENOENT) {
			ferry_error_clear(err);
			return 0;
		}
		return ferry_error_prefix(err, "delete");
	}
	if (ferry_container_load(&d, &st, &spec, err) < 0) {
		if (err->errno_ != ENOENT)
			goto fail;
		/* The remains of a create or restore that died before writing
		 * its state; a restore names the cgroup it made. */
		ferry_error_clear(err);
		{
			_cleanup_free_ char *cgp = NULL;
			size_t len = 0;
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

			if (ferry_read_file_at(d.dir_fd, RESTORE_CGROUP_FILE, 4096, &cgp, &len, &e) == 0 && len > 0 &&
			    memchr(cgp, '\0', len) == NULL && ferry_cgroup_open(cgp, &cg, &e) == 0) {
				if (ferry_cgroup_kill(cg, SIGKILL, &e) < 0 || ferry_cgroup_destroy(cg, &e) < 0)
					pr_warn("delete %s: cgroup %s: %s", id, cgp, e.msg);
			}
		}
		return ferry_container_dir_remove(&d, err) < 0 ? ferry_error_prefix(err, "delete %s", id) : 0;
	}
	s = ferry_state_status(&d, st);
	if ((s == FERRY_STATUS_RUNNING || s == FERRY_STATUS_PAUSED) && !force) {
		ferry_error_set(err, EBUSY, "container \"%s\" is %s: stop it first or use --force", id,
				ferry_status_name(s));
		goto fail;
	}
	if (st->cgroup_path) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_cgroup_open(st->cgroup_path, &cg, &e) < 0)
			cg = NULL;
	}
	/* A created container is deleted without --force, as with runc;
	 * without a pid namespace, stray processes in the cgroup are ours to
	 * kill too. */
	if (destroy_processes(st, cg, err) < 0)
		goto fail;
	if (cg && ferry_cgroup_destroy(cg, err) < 0)
		goto fail;
	hook_json = ferry_state_hook_json(st, FERRY_STATUS_STOPPED);
	{
		_cleanup_error_ ferry_error_t herr = FERRY_ERROR_INIT;
		if (ferry_hooks_run(spec, FERRY_HOOK_POSTSTOP, hook_json, &herr) < 0)
			pr_warn("delete %s: %s", id, herr.msg);
	}
	if (ferry_container_dir_remove(&d, err) < 0)
		return ferry_error_prefix(err, "delete %s", id);
	ferry_remove_owned_bundle(st->bundle);
	return 0;
fail:
	ferry_container_dir_close(&d);
	return ferry_error_prefix(err, "delete %s", id);
}

int
ferry_container_pause(const ferry_ctx_t *ctx, const char *id, bool pause, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	const char *verb = pause ? "pause" : "resume";
	enum ferry_status s;
	int ret = -1;

	if (ferry_container_dir_open(ctx, id, &d, err) < 0)
		return ferry_error_prefix(err, "%s", verb);
	if (ferry_state_read(&d, &st, err) < 0)
		goto out;
	s = ferry_state_status(&d, st);
	if (pause && s != FERRY_STATUS_RUNNING && s != FERRY_STATUS_CREATED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s, not running", id, ferry_status_name(s));
		goto out;
	}
	if (!pause && s != FERRY_STATUS_PAUSED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s, not paused", id, ferry_status_name(s));
		goto out;
	}
	if (open_cgroup(st, &cg, err) < 0 || ferry_cgroup_freeze(cg, pause, err) < 0)
		goto out;
	ret = 0;
out:
	ferry_container_dir_close(&d);
	return ret < 0 ? ferry_error_prefix(err, "%s %s", verb, id) : 0;
}

int
ferry_container_pids(const ferry_ctx_t *ctx, const char *id, pid_t **pids, size_t *n, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	int ret = -1;

	*pids = NULL;
	*n = 0;
	if (ferry_container_dir_open(ctx, id, &d, err) < 0)
		return ferry_error_prefix(err, "ps");
	if (ferry_state_read(&d, &st, err) < 0)
		goto out;
	if (ferry_state_status(&d, st) == FERRY_STATUS_STOPPED) {
		ret = 0;
		goto out;
	}
	if (open_cgroup(st, &cg, err) < 0 || ferry_cgroup_pids(cg, pids, n, err) < 0)
		goto out;
	ret = 0;
out:
	ferry_container_dir_close(&d);
	return ret < 0 ? ferry_error_prefix(err, "ps %s", id) : 0;
}
