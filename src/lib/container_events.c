/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * events: runc's stream of JSON objects about a container, one per line:
 * {"type":"stats","id":..,"data":{..}} every interval (cgroup_stats.c
 * builds it), and {"type":"oom","id":..} when the OOM killer struck in
 * between.  The stream ends when the container stops or is deleted.
 */
#define LOG_PREFIX "events: "
#include "container.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "container_internal.h"
#include "log.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct snapshot {
	char *json;
	pid_t pid;
	uint64_t start_time;
	bool has_oom;
	uint64_t oom_kills;
};

/* One look at the container under its lock.  The lock is not held
 * between looks: a stream may run for days and must never hold up a
 * kill or a delete.  *gone: the container stopped or was deleted. */
static int
snapshot(const ferry_ctx_t *ctx, const char *id, struct snapshot *out, bool *gone, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	int ret = -1;

	*gone = false;
	if (ferry_container_dir_open(ctx, id, &d, err) < 0) {
		if (err->errno_ == ENOENT)
			*gone = true;
		return -1;
	}
	if (ferry_state_read(&d, &st, err) < 0)
		goto out;
	if (ferry_state_status(&d, st) == FERRY_STATUS_STOPPED) {
		*gone = true;
		ferry_error_set(err, ESRCH, "container \"%s\" is not running", id);
		goto out;
	}
	if (st->cgroup_path == NULL) {
		ferry_error_set(err, ENOENT, "container \"%s\" has no cgroup", id);
		goto out;
	}
	if (ferry_cgroup_open(st->cgroup_path, &cg, err) < 0 || ferry_cgroup_stats_json(cg, id, &out->json, err) < 0)
		goto out;
	{
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

		/* Kernels before 4.13 do not count OOM kills on v1: then
		 * there are stats but no oom events. */
		out->has_oom = ferry_cgroup_oom_kills(cg, &out->oom_kills, &e) == 0;
	}
	out->pid = st->pid;
	out->start_time = st->start_time;
	ret = 0;
out:
	ferry_container_dir_close(&d);
	return ret;
}

int
ferry_container_stats(const ferry_ctx_t *ctx, const char *id, char **json, ferry_error_t *err)
{
	struct snapshot s = { 0 };
	bool gone;

	if (snapshot(ctx, id, &s, &gone, err) < 0)
		return ferry_error_prefix(err, "events %s", id);
	*json = s.json;
	return 0;
}

/* Sleeps for interval_ms or until the init exits, whichever is first.
 * Returns true when the init is gone. */
static bool
wait_interval(const struct snapshot *s, uint64_t interval_ms)
{
	struct ferry_state probe = { .pid = s->pid, .start_time = s->start_time };
	_cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, s->pid, 0);
	struct timespec ts = { .tv_sec = interval_ms / 1000, .tv_nsec = (interval_ms % 1000) * 1000000 };

	/* The pid may have been reused before the pidfd was taken: only a
	 * pidfd of the process with the recorded start time is the init's.
	 * (pidfd_open makes its fd close-on-exec.) */
	if (pidfd >= 0 && ferry_state_init_alive(&probe)) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int timeout = interval_ms > INT32_MAX ? INT32_MAX : (int) interval_ms;

		return poll(&p, 1, timeout) > 0;
	}
	if (!ferry_state_init_alive(&probe))
		return true;
	/* No pidfds (Linux < 5.3): plain sleep; the next look tells. */
	nanosleep(&ts, NULL);
	return false;
}

int
ferry_container_events(const ferry_ctx_t *ctx, const char *id, uint64_t interval_ms, ferry_event_fn fn, void *data,
		       ferry_error_t *err)
{
	uint64_t oom_seen = 0;
	bool have_oom = false, first = true;

	if (interval_ms == 0)
		return ferry_error_set(err, EINVAL, "events %s: the interval must be longer than 0", id);
	for (;;) {
		struct snapshot s = { 0 };
		_cleanup_free_ char *oom = NULL;
		bool gone;
		int r;

		if (snapshot(ctx, id, &s, &gone, err) < 0) {
			/* Stopping or deletion ends the stream; an error in
			 * between is still an error. */
			if (gone && !first) {
				ferry_error_clear(err);
				return 0;
			}
			return ferry_error_prefix(err, "events %s", id);
		}
		if (s.has_oom && have_oom && s.oom_kills > oom_seen)
			oom = xasprintf("{\"type\":\"oom\",\"id\":\"%s\"}", id);
		if (s.has_oom) {
			oom_seen = s.oom_kills;
			have_oom = true;
		}
		first = false;
		r = oom ? fn(oom, data) : 0;
		if (r >= 0)
			r = fn(s.json, data);
		free(s.json);
		if (r < 0)
			return ferry_error_sys(err, "events %s: write", id);
		if (wait_interval(&s, interval_ms))
			return 0;
	}
}
