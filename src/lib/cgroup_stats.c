/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `events --stats`: cpu, memory and pids usage in the JSON shape runc
 * prints, so tools written for runc read ferry's output unchanged:
 *   {"type":"stats","id":"web1","data":{"cpu":{"usage":{"total":..}},
 *    "memory":{"usage":{"usage":..,"limit":..,"max":..}},"pids":{..}}}
 * Times are nanoseconds and sizes bytes whatever the cgroup version.
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

/* What v1 reports for "no limit" (LONG_MAX rounded down to a page): v2's
 * "max" is shown the same way, and it fits JSON's signed integers. */
#define UNLIMITED 9223372036854771712ull

static json_t *
jint(uint64_t v)
{
	return json_integer((json_int_t) (v > UNLIMITED ? UNLIMITED : v));
}

static uint64_t
read_or_zero(int dfd, const char *file)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	uint64_t v = 0;

	if (dfd < 0 || cg_read_u64(dfd, file, &v, &e) < 0) {
		ferry_error_clear(&e);
		return 0;
	}
	return v;
}

static uint64_t
keyed_or_zero(int dfd, const char *file, const char *key)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	uint64_t v = 0;

	if (dfd < 0 || cg_read_keyed(dfd, file, key, &v, &e) < 0) {
		ferry_error_clear(&e);
		return 0;
	}
	return v;
}

/* The cgroup's directory for a controller, or -1 when it has none. */
static int
ctl_open(const ferry_cgroup_t *cg, const char *controller, bool *v2)
{
	_cleanup_free_ char *dir = ferry_cgroup_dir(cg, controller);
	int fd;

	*v2 = false;
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && cg->unified >= 0) {
		_cleanup_free_ char *udir = ferry_cgroup_dir(cg, "");

		*v2 = udir && strcmp(udir, dir) == 0;
	}
	return fd;
}

static json_t *
raw_stat(int dfd, const char *file)
{
	_cleanup_free_ char *s = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	json_t *o = json_object();

	if (dfd < 0 || cg_read(dfd, file, &s, &e) < 0) {
		ferry_error_clear(&e);
		return o;
	}
	for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		char *sp;
		uint64_t v;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		if (ferry_parse_u64(sp + 1, &v) == 0)
			json_object_set_new(o, line, jint(v));
	}
	return o;
}

static json_t *
cpu_stats(const ferry_cgroup_t *cg)
{
	_cleanup_close_ int cpu = -1, acct = -1;
	json_t *usage = json_object(), *thr = json_object();
	bool v2;

	cpu = ctl_open(cg, "cpu", &v2);
	if (v2) {
		/* cpu.stat is core on cgroup2: there even without +cpu. */
		json_object_set_new(usage, "total", jint(keyed_or_zero(cpu, "cpu.stat", "usage_usec") * 1000));
		json_object_set_new(usage, "kernel", jint(keyed_or_zero(cpu, "cpu.stat", "system_usec") * 1000));
		json_object_set_new(usage, "user", jint(keyed_or_zero(cpu, "cpu.stat", "user_usec") * 1000));
		json_object_set_new(thr, "periods", jint(keyed_or_zero(cpu, "cpu.stat", "nr_periods")));
		json_object_set_new(thr, "throttledPeriods", jint(keyed_or_zero(cpu, "cpu.stat", "nr_throttled")));
		json_object_set_new(thr, "throttledTime",
				    jint(keyed_or_zero(cpu, "cpu.stat", "throttled_usec") * 1000));
	} else {
		_cleanup_free_ char *percpu = NULL;
		ferry_error_t e = FERRY_ERROR_INIT;
		bool unused;

		acct = ctl_open(cg, "cpuacct", &unused);
		json_object_set_new(usage, "total", jint(read_or_zero(acct, "cpuacct.usage")));
		if (acct >= 0 && cg_read(acct, "cpuacct.usage_percpu", &percpu, &e) == 0) {
			json_t *a = json_array();
			char *save = NULL;

			for (char *t = strtok_r(percpu, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
				uint64_t v;

				if (ferry_parse_u64(t, &v) == 0)
					json_array_append_new(a, jint(v));
			}
			json_object_set_new(usage, "percpu", a);
		}
		ferry_error_clear(&e);
		json_object_set_new(usage, "kernel", jint(read_or_zero(acct, "cpuacct.usage_sys")));
		json_object_set_new(usage, "user", jint(read_or_zero(acct, "cpuacct.usage_user")));
		json_object_set_new(thr, "periods", jint(keyed_or_zero(cpu, "cpu.stat", "nr_periods")));
		json_object_set_new(thr, "throttledPeriods", jint(keyed_or_zero(cpu, "cpu.stat", "nr_throttled")));
		json_object_set_new(thr, "throttledTime", jint(keyed_or_zero(cpu, "cpu.stat", "throttled_time")));
	}
	return json_pack("{s:o, s:o}", "usage", usage, "throttling", thr);
}

static json_t *
entry(uint64_t usage, uint64_t limit, uint64_t max, uint64_t failcnt)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "usage", jint(usage), "limit", jint(limit), "max", jint(max),
			 "failcnt", jint(failcnt));
}

static json_t *
memory_stats(const ferry_cgroup_t *cg)
{
	_cleanup_close_ int dfd = -1;
	json_t *m = json_object(), *raw;
	bool v2;

	dfd = ctl_open(cg, "memory", &v2);
	/* On cgroup2 the directory is there without the controller. */
	if (dfd < 0 || (v2 && !cg_exists(dfd, "memory.current")))
		return m;
	if (v2) {
		uint64_t cur = read_or_zero(dfd, "memory.current"), max = read_or_zero(dfd, "memory.max");
		uint64_t swap = read_or_zero(dfd, "memory.swap.current");
		uint64_t swapmax = read_or_zero(dfd, "memory.swap.max");
		/* Swap is reported as memory+swap, as v1's memsw is. */
		uint64_t both = max >= UNLIMITED || swapmax >= UNLIMITED ? UNLIMITED : max + swapmax;

		raw = raw_stat(dfd, "memory.stat");
		json_object_set_new(m, "cache", jint(keyed_or_zero(dfd, "memory.stat", "file")));
		json_object_set_new(m, "usage",
				    entry(cur, max, read_or_zero(dfd, "memory.peak"),
					  keyed_or_zero(dfd, "memory.events", "max")));
		json_object_set_new(m, "swap", entry(cur + swap, both, 0, 0));
	} else {
		raw = raw_stat(dfd, "memory.stat");
		json_object_set_new(m, "cache", jint(keyed_or_zero(dfd, "memory.stat", "cache")));
		json_object_set_new(m, "usage",
				    entry(read_or_zero(dfd, "memory.usage_in_bytes"),
					  read_or_zero(dfd, "memory.limit_in_bytes"),
					  read_or_zero(dfd, "memory.max_usage_in_bytes"),
					  read_or_zero(dfd, "memory.failcnt")));
		if (cg_exists(dfd, "memory.memsw.usage_in_bytes"))
			json_object_set_new(m, "swap",
					    entry(read_or_zero(dfd, "memory.memsw.usage_in_bytes"),
						  read_or_zero(dfd, "memory.memsw.limit_in_bytes"),
						  read_or_zero(dfd, "memory.memsw.max_usage_in_bytes"),
						  read_or_zero(dfd, "memory.memsw.failcnt")));
	}
	json_object_set_new(m, "raw", raw);
	return m;
}

static json_t *
pids_stats(const ferry_cgroup_t *cg)
{
	_cleanup_close_ int dfd = -1;
	uint64_t limit;
	bool v2;

	dfd = ctl_open(cg, "pids", &v2);
	if (dfd < 0 || !cg_exists(dfd, "pids.current"))
		return json_object();
	limit = read_or_zero(dfd, "pids.max");
	/* runc shows "max" as 0 (no limit). */
	if (limit == UINT64_MAX)
		limit = 0;
	return json_pack("{s:o, s:o}", "current", jint(read_or_zero(dfd, "pids.current")), "limit", jint(limit));
}

int
ferry_cgroup_stats_json(ferry_cgroup_t *cg, const char *id, char **out, ferry_error_t *err)
{
	json_t *data, *j;
	char *text;

	/* A cgroup that is gone has no stats, which is not a zero. */
	{
		_cleanup_free_ char *dir = ferry_cgroup_dir(cg, cg->layout == FERRY_CGROUP_V2 ? "" : "memory");

		if (dir == NULL)
			dir = ferry_cgroup_dir(cg, "pids");
		if (dir && faccessat(AT_FDCWD, dir, F_OK, 0) < 0)
			return ferry_error_sys(err, "cgroup %s: stats: %s", cg->path, dir);
	}
	data = json_pack("{s:o, s:o, s:o}", "cpu", cpu_stats(cg), "memory", memory_stats(cg), "pids", pids_stats(cg));
	j = json_object();
	json_object_set_new(j, "type", json_string("stats"));
	if (id)
		json_object_set_new(j, "id", json_string(id));
	json_object_set_new(j, "data", data);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text == NULL)
		return ferry_error_set(err, ENOMEM, "cgroup %s: stats: cannot encode JSON", cg->path);
	*out = text;
	return 0;
}

int
ferry_cgroup_oom_kills(ferry_cgroup_t *cg, uint64_t *out, ferry_error_t *err)
{
	_cleanup_close_ int dfd = -1;
	bool v2;

	*out = 0;
	dfd = ctl_open(cg, "memory", &v2);
	if (dfd < 0)
		return ferry_error_set(err, ENOENT, "cgroup %s: no memory cgroup", cg->path);
	if (cg_read_keyed(dfd, v2 ? "memory.events" : "memory.oom_control", "oom_kill", out, err) < 0)
		return ferry_error_prefix(err, "cgroup %s", cg->path);
	return 0;
}
